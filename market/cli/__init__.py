"""The ``market`` command line."""

from __future__ import annotations

import typer

from market.cli.db import app as db_app
from market.cli.demo import app as demo_app
from market.cli.jobs import app as jobs_app
from market.cli.match import app as match_app
from market.cli.pool import app as pool_app
from market.cli.search import app as search_app
from market.cli.serve import register as register_serve
from market.cli.users import app as users_app

app = typer.Typer(
    help="iimarket: resource pools and marketplace for industrial-internet services",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(demo_app, name="demo")
app.add_typer(pool_app, name="pool")
app.add_typer(search_app, name="search")
app.add_typer(match_app, name="match")
app.add_typer(jobs_app, name="jobs")
register_serve(app)


def main() -> None:
    app()
