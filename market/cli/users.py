"""``market users create-admin``."""

from __future__ import annotations

from typing import Any

import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console

from core.database import Database
from core.schemas import Email, Name, NewPassword
from core.settings import get_settings
from market.accounts import service
from market.accounts.errors import EmailTaken

app = typer.Typer(help="User administration", no_args_is_help=True)
console = Console(stderr=True)


def _valid(kind: Any, value: str, what: str) -> str:
    try:
        return str(TypeAdapter(kind).validate_python(value))
    except ValidationError as exc:
        console.print(f"[red]{what}: {exc.errors()[0]['msg']}[/red]")
        raise typer.Exit(2) from exc


@app.command("create-admin")
def create_admin(
    email: str = typer.Option(..., help="login e-mail"),
    name: str = typer.Option(..., help="display name"),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="at least 10 characters; prompted when omitted",
    ),
) -> None:
    """Create a platform administrator (who then creates agencies and curators)."""
    email = _valid(Email, email, "email")
    name = _valid(Name, name, "name")
    password = _valid(NewPassword, password, "password")
    db = Database.from_url(get_settings().database_url)
    try:
        with db.transaction() as session:
            user = service.create_admin(session, email=email, name=name, password=password)
    except EmailTaken as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    Console().print(f"admin {user.email} created")
