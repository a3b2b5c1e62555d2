"""The ``market`` command line."""

from __future__ import annotations

import typer

from market.cli.db import app as db_app
from market.cli.demo import app as demo_app
from market.cli.serve import register as register_serve
from market.cli.users import app as users_app

app = typer.Typer(
    help="iimarket: resource pools and marketplace for industrial-internet services",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(demo_app, name="demo")
register_serve(app)


def main() -> None:
    app()
