"""``market search reindex`` and ``market search check``."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from catalog.discovery import sync
from catalog.discovery.backends import search_backend
from catalog.discovery.documents import count_documents
from core.database import Database
from core.settings import get_settings
from search.sql_backend import SqlBackend, maintain

app = typer.Typer(
    help="The search index: rebuild it, or check it against the database", no_args_is_help=True
)
console = Console()


@app.command()
def reindex() -> None:
    """Rebuild the search index from the database (atomically: searches see the old index
    until the new one is complete)."""
    settings = get_settings()
    db = Database.from_url(settings.database_url)
    started = time.perf_counter()
    with db.transaction() as session:
        backend = search_backend(session, settings)
        columns = (
            TextColumn(f"[bold]indexing into {backend.name}[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("documents"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("documents", total=count_documents(session))
            count = sync.reindex(session, backend, on_progress=lambda n: bar.advance(task, n))
    if isinstance(backend, SqlBackend):
        maintain(db.engine)
    console.print(
        f"[green]indexed[/green] {count} documents in {time.perf_counter() - started:.1f} s"
    )


@app.command()
def check(
    samples: int = typer.Option(5, min=0, max=100, help="ids to show per kind of drift"),
) -> None:
    """Compare the index with the database; exits with status 1 when they differ."""
    settings = get_settings()
    db = Database.from_url(settings.database_url)
    with db.transaction() as session:
        drift = sync.check(session, search_backend(session, settings))
    table = Table(title=f"search index: {drift.indexed} indexed, {drift.expected} expected")
    for name in ("drift", "documents", "samples"):
        table.add_column(name)
    for name, ids, meaning in (
        ("missing", drift.missing, "should be found but are not indexed"),
        ("stale", drift.stale, "indexed from older data"),
        ("extra", drift.extra, "indexed but should not be found"),
    ):
        table.add_row(f"{name} ({meaning})", str(len(ids)), "\n".join(ids[:samples]))
    console.print(table)
    if not drift.ok:
        console.print("[red]the index has drifted[/red]: run `market search reindex`")
        raise typer.Exit(code=1)
    console.print("[green]the index matches the database[/green]")
