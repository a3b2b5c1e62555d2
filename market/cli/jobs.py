"""``market jobs run`` and ``market jobs list``: the scheduled duties, for cron."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.database import Database
from core.outbox import Relay
from core.settings import get_settings
from market.cli import scheduler

app = typer.Typer(
    help="Scheduled duties (also run by `market worker` at their intervals)",
    no_args_is_help=True,
)
console = Console()


def print_results(results: list[scheduler.JobResult]) -> None:
    table = Table(title="scheduled jobs")
    for name in ("job", "done", "note"):
        table.add_column(name)
    for result in results:
        if result.error:
            note = f"[red]failed: {result.error}[/red]"
        elif not result.ran:
            note = "skipped: another worker is running it"
        else:
            note = ""
        table.add_row(result.name, str(result.done), note)
    console.print(table)


@app.command("list")
def list_jobs() -> None:
    """Name, interval and purpose of every job."""
    table = Table(title="scheduled jobs")
    for name in ("job", "every", "what it does"):
        table.add_column(name)
    for job in scheduler.JOBS:
        table.add_row(job.name, str(job.every), job.description)
    console.print(table)


@app.command("run")
def run(
    only: Annotated[
        str | None,
        typer.Option("--only", help=f"run just this job: {', '.join(scheduler.JOB_NAMES)}"),
    ] = None,
    deliver: Annotated[
        bool,
        typer.Option(help="deliver the events the jobs wrote (notifications, search) at once"),
    ] = True,
) -> None:
    """Run every job (or one) once now; exits with status 1 when a job failed."""
    if only is not None and only not in scheduler.JOB_NAMES:
        console.print(
            f"[red]no job named {only!r}[/red]; the jobs are: {', '.join(scheduler.JOB_NAMES)}"
        )
        raise typer.Exit(2)
    jobs = scheduler.JOBS if only is None else (scheduler.job_named(only),)
    db = Database.from_url(get_settings().database_url)
    results = scheduler.run_jobs(db, jobs)
    print_results(results)
    if deliver:
        from market.app import subscribe_handlers  # the app module is heavy; only load it here

        relay = Relay(db=db)
        subscribe_handlers(relay)
        console.print(f"delivered {relay.drain()} event(s)")
    if any(result.error for result in results):
        raise typer.Exit(1)
