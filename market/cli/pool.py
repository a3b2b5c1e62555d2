"""``market pool import``, ``market pool export`` and ``market pool expire``."""

from __future__ import annotations

import uuid
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from catalog.pools import exporting, importing, rereview
from core.database import Database
from core.errors import AppError
from core.outbox import Relay
from core.settings import get_settings

app = typer.Typer(
    help="Resource pools: import and export pool lists, run the scheduled duties",
    no_args_is_help=True,
)
console = Console()
# Enough lines to fix a file by; the rest is counted, not printed.
MAX_PRINTED = 200
PHASES = {"validate": "checking rows", "write": "writing rows"}


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


class _NothingToKeep(Exception):
    """Ends the import's transaction with a rollback (dry run, or rows failed)."""


def _print_report(report: importing.ImportReport) -> None:
    if report.columns:
        mapped = ", ".join(f"{field}←{header}" for field, header in report.columns.items())
        console.print(f"columns: {escape(mapped)}")
    issues = list(importing.iter_issues(report))
    if issues:
        table = Table(title="row-level report")
        for name in ("row", "level", "column", "value", "message"):
            table.add_column(name)
        for level, issue in issues[:MAX_PRINTED]:
            colour = "red" if level == "error" else "yellow"
            table.add_row(
                str(issue.row) if issue.row else "-",
                f"[{colour}]{level}[/{colour}]",
                issue.column or "",
                escape(issue.value or ""),
                escape(issue.message),
            )
        console.print(table)
        if len(issues) > MAX_PRINTED:
            console.print(f"… and {len(issues) - MAX_PRINTED} more")
    out = report.out()
    console.print(
        f"{out.rows} rows: {out.rows_ok} ok, {out.rows_failed} failed; "
        f"{out.new_providers} new providers, {out.existing_providers} already registered; "
        f"{report.seconds:.1f} s"
    )


@app.command("import")
def import_list(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    pool: Annotated[uuid.UUID, typer.Option("--pool", help="the pool to list the providers in")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check and report, import nothing")
    ] = False,
    category: Annotated[
        str | None, typer.Option("--category", help="category id for rows that name none")
    ] = None,
    deliver: Annotated[
        bool,
        typer.Option(help="update search and matching now instead of leaving it to the worker"),
    ] = True,
) -> None:
    """Import an existing pool list (XLSX, or CSV in UTF-8 or GBK), all or nothing.

    Prints the row-level report; exits with status 1, having imported nothing, when any row
    fails.
    """
    db = Database.from_url(get_settings().database_url)
    data = file.read_bytes()
    columns = (
        TextColumn("[bold]{task.description}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    report: importing.ImportReport | None = None
    with Progress(*columns, console=console) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            with db.transaction() as session:
                report = importing.import_pool_list(
                    session,
                    actor=None,
                    pool_id=pool,
                    filename=file.name,
                    data=data,
                    dry_run=dry_run,
                    category_id=category,
                    progress=progress,
                )
                if not report.imported:
                    raise _NothingToKeep
        except _NothingToKeep:
            pass
        except AppError as exc:
            console.print(f"[red]{escape(exc.message)}[/red]")
            raise typer.Exit(2) from None
    assert report is not None
    _print_report(report)
    if report.errors:
        console.print("[red]nothing imported[/red]: fix the rows above and run again")
        raise typer.Exit(1)
    if dry_run:
        console.print("[green]dry run passed[/green]: run again without --dry-run to import")
    else:
        console.print(f"[green]imported[/green] {len(report.valid)} listings")
        if deliver:
            # One membership event per listing; delivered here, the operator waits for it
            # rather than the next web request that happens to drain the outbox.
            with console.status(f"updating search and matching for {len(report.valid)} listings"):
                delivered = _deliver(db)
            console.print(f"delivered {delivered} event(s)")
        else:
            console.print("search and matching pick them up as `market worker` delivers events")


@app.command("export")
def export_list(
    pool: Annotated[uuid.UUID, typer.Argument(help="the pool to export")],
    out: Annotated[Path, typer.Option("--out", help="file to write", dir_okay=False)],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or xlsx")] = (
        ExportFormat.xlsx
    ),
) -> None:
    """Write the pool's listed providers with badges and solutions to a CSV or XLSX file."""
    db = Database.from_url(get_settings().database_url)
    try:
        with db.transaction() as session:
            export = exporting.export_pool(session, pool_id=pool, fmt=fmt.value)
    except AppError as exc:
        console.print(f"[red]{escape(exc.message)}[/red]")
        raise typer.Exit(2) from None
    out.write_bytes(export.content)
    console.print(f"[green]wrote[/green] {out} ({len(export.content)} bytes)")


@app.command("expire")
def expire(
    deliver: Annotated[
        bool,
        typer.Option(
            help="deliver the notifications at once instead of leaving them to the worker"
        ),
    ] = True,
) -> None:
    """Run the pools' scheduled duties (for cron).

    Lists providers whose 公示 ended, expires listings whose validity ended (opening their
    re-review) and sends deadline reminders.
    """
    settings = get_settings()
    db = Database.from_url(settings.database_url)
    with db.transaction() as session:
        run = rereview.run_scheduled(session)
    console.print(
        f"listed {run.listed}, expired {run.expired} (re-reviews opened {run.rereviews_opened}), "
        f"reminders {run.reminders}"
    )
    if deliver:
        console.print(f"delivered {_deliver(db)} event(s)")


def _deliver(db: Database) -> int:
    """Drain the outbox with the app's subscribers, as ``market worker --once`` does."""
    from market.app import subscribe_handlers  # the app module is heavy; only load it here

    relay = Relay(db=db)
    subscribe_handlers(relay)
    return relay.drain()
