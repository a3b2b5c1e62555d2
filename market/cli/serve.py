"""``market serve`` and ``market worker``."""

from __future__ import annotations

import time

import typer
from rich.console import Console

from core.database import Database
from core.outbox import Relay
from core.settings import get_settings
from market.cli import scheduler

console = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="address to bind"),
        port: int = typer.Option(8000, help="port to bind"),
        workers: int = typer.Option(1, help="worker processes"),
    ) -> None:
        """Serve the web app and API (uvicorn)."""
        import uvicorn

        settings = get_settings()  # fails fast on unsafe production settings
        console.print(
            f"serving iimarket ({settings.env}) on http://{host}:{port}  "
            f"API docs: http://{host}:{port}/docs"
        )
        uvicorn.run(
            "market.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
        )

    @app.command()
    def worker(
        once: bool = typer.Option(False, help="drain pending events once and exit"),
        interval: float = typer.Option(1.0, help="seconds between polls"),
        jobs: bool = typer.Option(
            True, help="also run the scheduled jobs at their intervals (see `market jobs list`)"
        ),
    ) -> None:
        """Deliver outbox events (search indexing, notifications) and webhooks, and run the
        scheduled jobs, until stopped."""
        settings = get_settings()
        db = Database.from_url(settings.database_url)
        relay = Relay(db=db)
        from market.app import subscribe_handlers
        from market.webhooks import service as webhooks

        subscribe_handlers(relay)
        client = webhooks.make_client()
        schedule = scheduler.Schedule()
        while True:
            if jobs:
                for result in schedule.run_due(db):
                    if result.error:
                        console.print(f"[red]job {result.name} failed[/red]: {result.error}")
                    elif result.done:
                        console.print(f"job {result.name}: {result.done}")
            handled = relay.drain()
            if handled:
                console.print(f"delivered {handled} event(s)")
            # Webhooks are sent here, outside requests, and retried with back-off when due.
            with db.transaction() as session:
                sent = webhooks.deliver_due(session, client=client)
            if sent:
                console.print(f"attempted {sent} webhook delivery(ies)")
            if once:
                return
            time.sleep(interval)
