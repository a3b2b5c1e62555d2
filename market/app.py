"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from catalog.cases.api import router as cases_router
from catalog.discovery import sync as search_sync
from catalog.discovery.api import router as search_router
from catalog.discovery.backends import search_health
from catalog.pools.api import router as pools_router
from catalog.providers.api import router as providers_router
from catalog.solutions.api import router as solutions_router
from catalog.taxonomy_api import router as taxonomy_router
from core.database import Database
from core.errors import error_body, install_error_handlers
from core.outbox import Handler, Relay
from core.settings import Settings, get_settings
from market.accounts.api import router as accounts_router
from market.accounts.resolver import resolve_principal
from market.disputes.api import router as disputes_router
from market.engagements.api import router as engagements_router
from market.inbox import subscribers as inbox_subscribers
from market.inbox.api import router as inbox_router
from market.mail import service as mail_service
from market.mail.api import router as mail_router
from market.needs.api import router as needs_router
from market.recommendations import index_cache as recommendation_index
from market.recommendations.api import router as recommendations_router
from market.reviews.api import router as reviews_router
from market.rfqs.api import router as rfqs_router
from market.web import install_web
from market.webhooks import service as webhooks_service
from market.webhooks.api import router as webhooks_router

log = logging.getLogger(__name__)

API_DESCRIPTION = """
iimarket connects manufacturing SMEs with vetted industrial-internet service providers
(工业互联网服务商). Authenticate with `POST /api/v1/auth/login` and send
`Authorization: Bearer <token>`. Errors are `{"error": {"code", "message", "details"}}`.
"""


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = db or Database.from_url(settings.database_url)
    relay = Relay(db=db)
    subscribe_handlers(relay)

    app = FastAPI(
        title="iimarket",
        version="0.1.0",
        description=API_DESCRIPTION,
        docs_url="/docs",
        redoc_url="/redoc",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.relay = relay
    app.state.resolve_principal = resolve_principal
    app.state.after_commit = _after_commit(relay)
    install_error_handlers(app)

    for router in (
        accounts_router,
        taxonomy_router,
        providers_router,
        solutions_router,
        cases_router,
        pools_router,
        search_router,
        needs_router,
        recommendations_router,
        rfqs_router,
        engagements_router,
        reviews_router,
        inbox_router,
        disputes_router,
        webhooks_router,
        mail_router,
    ):
        app.include_router(router)
    # Pages, /static and HTML error pages off the /api paths; the API's routes stay as they are.
    install_web(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is alive (no dependencies checked)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz(request: Request) -> Any:
        """Ready to serve: the database answers; the search backend's state is reported."""
        checks: dict[str, Any] = {"search": _search_state(settings, db)}
        try:
            db.ping()
            checks["database"] = {"status": "ok", "dialect": db.engine.dialect.name}
        except Exception as exc:  # report, do not crash: this endpoint exists to say "not ready"
            checks["database"] = {"status": "error", "message": type(exc).__name__}
            body = error_body("not_ready", "The database is not reachable", checks)
            return JSONResponse(body, status_code=503)
        return {"status": "ok", "checks": checks}

    return app


# (topic prefix, handler) pairs run by the outbox relay, in-process and in `market worker`.
OUTBOX_SUBSCRIBERS: list[tuple[str, Handler]] = [
    *search_sync.SUBSCRIPTIONS,
    *recommendation_index.SUBSCRIPTIONS,
    *inbox_subscribers.SUBSCRIPTIONS,
    *webhooks_service.SUBSCRIPTIONS,
    *mail_service.SUBSCRIPTIONS,
]


def subscribe_handlers(relay: Relay) -> None:
    for topic, handler in OUTBOX_SUBSCRIBERS:
        relay.subscribe(topic, handler)


def _search_state(settings: Settings, db: Database) -> dict[str, Any]:
    # Reported, not required: search being down must not take the whole API out of rotation.
    return search_health(db, settings)


def _after_commit(relay: Relay) -> Callable[[Session], None]:
    def run(session: Session) -> None:
        # Deliver what this request wrote to the outbox; a failure is retried later by
        # the relay and must never turn a committed request into an error.
        if not session.info.pop("outbox_pending", False):
            return
        try:
            relay.drain()
        except Exception:
            log.exception("outbox relay failed after commit; events stay pending")

    return run
