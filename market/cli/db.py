"""``market db upgrade|downgrade|current``."""

from __future__ import annotations

import typer
from rich.console import Console

from core.database import make_engine
from core.settings import get_settings
from migrations import runner

app = typer.Typer(help="Database schema migrations", no_args_is_help=True)
console = Console()


@app.command()
def upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    url = get_settings().database_url
    runner.upgrade(url, revision)
    console.print(f"[green]database at {revision}[/green] ({_safe(url)})")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="target revision, e.g. -1 or base")) -> None:
    """Migrate the database down to REVISION."""
    url = get_settings().database_url
    runner.downgrade(url, revision)
    console.print(f"[yellow]database downgraded to {revision}[/yellow] ({_safe(url)})")


@app.command()
def revision(
    message: str = typer.Option(..., "-m", "--message", help="what the change does"),
) -> None:
    """Write a new revision from the difference between the models and the database."""
    from alembic import command

    command.revision(
        runner.alembic_config(get_settings().database_url), message=message, autogenerate=True
    )


@app.command()
def current() -> None:
    """Show the database's revision and the newest one available."""
    url = get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as connection:
        rev = runner.current_revision(connection)
    engine.dispose()
    head = runner.head_revision()
    state = "up to date" if rev == head else "needs 'market db upgrade'"
    console.print(f"current: {rev or '(empty)'}  head: {head}  -> {state}")


def _safe(url: str) -> str:
    """Never print a password from the URL."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
