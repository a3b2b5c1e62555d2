"""Server-rendered pages for SMEs, providers and curators, served by the API's own app.

``install_web(app)`` is the one entry point: it mounts ``/static``, adds the page routers and
makes errors on page routes render as HTML pages. The JSON API keeps its JSON errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import AppError
from market.web import i18n, templating
from market.web.forms import app_error_message
from market.web.security import LoginRequired, get_web_context, login_url

STATIC_DIR = Path(__file__).parent / "static"

# Paths whose errors stay in the API's JSON envelope, whatever the client accepts.
JSON_PREFIXES = ("/api/", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz")


def install_web(app: FastAPI) -> None:
    from market.web.pages_audit import router as audit_router
    from market.web.pages_auth import router as auth_router
    from market.web.pages_cases import router as cases_router
    from market.web.pages_curator import router as curator_router
    from market.web.pages_curator_notices import router as curator_notices_router
    from market.web.pages_curator_pools import router as curator_pools_router
    from market.web.pages_curator_sanctions import router as curator_sanctions_router
    from market.web.pages_curator_scoring import router as curator_scoring_router
    from market.web.pages_disputes import router as disputes_router
    from market.web.pages_engagement_money import router as money_router
    from market.web.pages_engagements import router as engagements_router
    from market.web.pages_inbox import router as inbox_router
    from market.web.pages_needs import router as needs_router
    from market.web.pages_pools import router as pools_router
    from market.web.pages_profile import router as profile_router
    from market.web.pages_provider import router as provider_router
    from market.web.pages_provider_listing import router as provider_listing_router
    from market.web.pages_provider_pools import router as provider_pools_router
    from market.web.pages_provider_rfqs import router as provider_rfqs_router
    from market.web.pages_provider_solutions import router as provider_solutions_router
    from market.web.pages_public import router as public_router
    from market.web.pages_reviews import router as reviews_router
    from market.web.pages_rfqs import router as rfqs_router
    from market.web.pages_search import router as search_router

    i18n.load_all()
    templating.load_all()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    routers = (
        public_router,
        auth_router,
        provider_router,
        provider_solutions_router,
        provider_rfqs_router,
        provider_pools_router,
        provider_listing_router,
        cases_router,
        pools_router,
        curator_router,
        curator_scoring_router,
        curator_notices_router,
        curator_sanctions_router,
        curator_pools_router,
        audit_router,
        reviews_router,
        disputes_router,
    )
    for router in routers:
        app.include_router(router)
    sme_routers = (search_router, profile_router, needs_router, rfqs_router)
    for router in (*sme_routers, engagements_router, money_router, inbox_router):
        app.include_router(router)
    _install_error_pages(app)


def is_page_request(request: Request) -> bool:
    return not request.url.path.startswith(JSON_PREFIXES)


def _install_error_pages(app: FastAPI) -> None:
    """Wrap the API's handlers: the same exceptions, rendered as pages off the API paths."""
    json_handlers = dict(app.exception_handlers)

    async def app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        if not is_page_request(request):
            return await json_handlers[AppError](request, exc)
        return await error_page(request, exc.status_code, exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not is_page_request(request):
            return await json_handlers[StarletteHTTPException](request, exc)
        return await error_page(request, exc.status_code, None)

    async def validation_error(request: Request, exc: Exception) -> Response:
        if not is_page_request(request):
            return await json_handlers[RequestValidationError](request, exc)
        # On a page, a malformed id in the address is simply a page that does not exist.
        return await error_page(request, 404, None)

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(login_url(exc.next_url), status_code=303)

    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(LoginRequired, login_required)


ERROR_TITLES = {
    403: i18n.N_("You cannot open this page"),
    404: i18n.N_("Page not found"),
    405: i18n.N_("This address does not accept that request"),
}


async def error_page(request: Request, status: int, exc: AppError | None) -> Response:
    return await run_in_threadpool(_render_error, request, status, exc)


def _render_error(request: Request, status: int, exc: AppError | None) -> HTMLResponse:
    ctx = getattr(request.state, "web_context", None)
    if ctx is None:
        # The error came before any page dependency ran (an unknown path): look the visitor
        # up in a short read-only session so the header still shows who is logged in.
        session = request.app.state.db.sessions()
        try:
            ctx = get_web_context(request, session)
        finally:
            session.rollback()
            session.close()
    title = ERROR_TITLES.get(status, i18n.N_("Something went wrong"))
    # Only a refusal explains itself; "not found" must not say what exists.
    message = app_error_message(ctx, exc) if exc is not None and status == 403 else None
    values: dict[str, Any] = {"status": status, "title": ctx.gettext(title), "message": message}
    return ctx.render("error.html", status_code=status, **values)
