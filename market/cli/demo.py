"""``market demo load`` and ``market demo synth``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from core.database import Database
from core.settings import get_settings
from market.demo import loader, synth

app = typer.Typer(help="Demo and benchmark data", no_args_is_help=True)
console = Console()


@app.command()
def load(
    seed: int = typer.Option(2026, help="random seed; the same seed gives the same data"),
) -> None:
    """Load the fictional demo pool (idempotent: an existing demo is kept, not duplicated)."""
    db = Database.from_url(get_settings().database_url)
    with db.transaction() as session:
        report = loader.load_demo(session, seed=seed)
    verb = "loaded" if report.created else "already present"
    console.print(f"[green]demo data {verb}[/green]: {report.summary()}")
    if report.created:
        # The loader announced every new row on the outbox; deliver now so search finds the
        # demo on first start instead of after the first write or a `market worker` run.
        from core.outbox import Relay
        from market.app import subscribe_handlers

        relay = Relay(db=db)
        subscribe_handlers(relay)
        with console.status("indexing the demo for search …"):
            delivered = relay.drain()
        console.print(f"delivered {delivered} catalog event(s) to search and matching")
    table = Table(title="Demo logins (password for all: " + loader.DEMO_PASSWORD + ")")
    for column in ("role", "e-mail", "organisation"):
        table.add_column(column)
    for login in report.logins:
        table.add_row(login.role, login.email, login.organisation)
    console.print(table)


@app.command("synth")
def synthesise(
    providers: int = typer.Option(1000, min=1, max=200_000, help="number of providers"),
    solutions_per_provider: float = typer.Option(3.0, min=0.1, max=20.0),
    seed: int = typer.Option(7, help="random seed"),
) -> None:
    """Generate a large synthetic catalog for benchmarks (published, clearly fictional)."""
    db = Database.from_url(get_settings().database_url)
    result = synth.synthesise(
        db,
        providers=providers,
        solutions_per_provider=solutions_per_provider,
        seed=seed,
        progress=True,
    )
    console.print(
        f"[green]synthesised[/green] {result.providers} providers, "
        f"{result.solutions} solutions in {result.seconds:.1f} s"
    )
