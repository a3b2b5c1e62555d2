"""Who is browsing, CSRF for HTML forms, flash messages, and login-required redirects.

The JSON API's resolver accepts the session cookie only with an ``X-CSRF-Token`` header,
which a plain HTML form cannot send. Web routes therefore do not use that resolver at all:
they resolve the session cookie here and require the same synchronizer token in a hidden
``csrf_token`` form field instead. The API's header check is untouched.

The token is derived from a secret the browser holds in an HttpOnly cookie, so nothing is
stored server-side: the session token when someone is logged in, otherwise a random
pre-session cookie (so the login and registration forms are protected too, against forcing
a victim into an attacker's account).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core.deps import DbSession, Principal
from core.errors import Forbidden
from core.settings import Settings
from market.accounts import service as accounts
from market.accounts.resolver import SESSION_COOKIE
from market.accounts.security import csrf_matches, csrf_token_for
from market.inbox import service as inbox
from market.web import i18n, templating

CSRF_FIELD = "csrf_token"
# Random per browser; only ever an HMAC input, so its value reveals nothing.
PRE_SESSION_COOKIE = "market_csrf"
FLASH_COOKIE = "market_flash"
FlashKind = Literal["success", "info", "warning", "error"]


class LoginRequired(Exception):  # noqa: N818 - a signal caught by a handler, not a failure
    """Raised by page dependencies; the web error handler turns it into a redirect."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfFailed(Forbidden):
    code = "csrf_failed"


@dataclass(frozen=True)
class Flash:
    kind: FlashKind
    text: str


@dataclass
class WebContext:
    """Everything a page handler needs about the browser it is answering."""

    request: Request
    settings: Settings
    locale: str
    principal: Principal | None
    session_token: str | None
    csrf_seed: str
    new_csrf_seed: bool
    flashes: list[Flash]
    provider_id: Any = None
    # Unread notifications of the logged-in user, for the header's inbox link.
    unread: int = 0
    _set_cookies: list[tuple[str, str, int | None]] = field(default_factory=list)

    # --- language -------------------------------------------------------------------------

    def gettext(self, message: str, **values: Any) -> str:
        text = i18n.gettext(self.locale, message)
        return text % values if values else text

    # --- CSRF -------------------------------------------------------------------------------

    @property
    def csrf_token(self) -> str:
        return csrf_token_for(self.csrf_seed, secret_key=self.settings.secret_key)

    def csrf_valid(self, candidate: str | None) -> bool:
        return csrf_matches(self.csrf_seed, candidate, secret_key=self.settings.secret_key)

    # --- flash messages ---------------------------------------------------------------------

    def flash(self, kind: FlashKind, text: str) -> None:
        self.flashes.append(Flash(kind, text))

    # --- responses --------------------------------------------------------------------------

    def set_cookie(self, name: str, value: str, max_age: int | None = None) -> None:
        self._set_cookies.append((name, value, max_age))

    def _finish(self, response: Response, *, keep_flashes: bool) -> None:
        secure = self.settings.env == "production"
        if self.new_csrf_seed:
            response.set_cookie(
                PRE_SESSION_COOKIE, self.csrf_seed, httponly=True, samesite="lax", secure=secure
            )
        for name, value, max_age in self._set_cookies:
            response.set_cookie(
                name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure
            )
        if keep_flashes and self.flashes:
            response.set_cookie(
                FLASH_COOKIE,
                _sign_flashes(self.flashes, self.settings.secret_key),
                httponly=True,
                samesite="lax",
                secure=secure,
            )
        elif self.request.cookies.get(FLASH_COOKIE):
            response.delete_cookie(FLASH_COOKIE)

    def render(self, template: str, *, status_code: int = 200, **values: Any) -> HTMLResponse:
        context = {
            "ctx": self,
            "principal": self.principal,
            "csrf_token": self.csrf_token,
            "flashes": list(self.flashes),
            "current_path": _current_path(self.request),
            **values,
        }
        response = HTMLResponse(
            templating.render(self.locale, template, context), status_code=status_code
        )
        # Pages with forms or personal data must not be served to the next user from a cache.
        response.headers["Cache-Control"] = "no-store"
        self._finish(response, keep_flashes=False)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        """POST → redirect → GET: 303 so a reload never re-submits the form."""
        response = RedirectResponse(url, status_code=303)
        self._finish(response, keep_flashes=True)
        return response


def _current_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_next(value: str | None, default: str = "/") -> str:
    """Only same-site paths: a ``next`` parameter must not send people to another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def _sign(payload: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), b"flash:" + payload, hashlib.sha256).hexdigest()


def _sign_flashes(flashes: list[Flash], secret: str) -> str:
    payload = json.dumps([[f.kind, f.text] for f in flashes], ensure_ascii=False).encode()
    encoded = base64.urlsafe_b64encode(payload).decode()
    return f"{encoded}.{_sign(payload, secret)}"


def _read_flashes(raw: str | None, secret: str) -> list[Flash]:
    """Signed, because the text is shown as the site's own words."""
    if not raw or "." not in raw:
        return []
    encoded, _, signature = raw.rpartition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded.encode())
    except ValueError:
        return []
    if not hmac.compare_digest(_sign(payload, secret), signature):
        return []
    try:
        items = json.loads(payload)
    except ValueError:
        return []
    kinds = {"success", "info", "warning", "error"}
    return [Flash(k, str(t)) for k, t in items if k in kinds]


def resolve_session(session: Session, request: Request) -> tuple[Principal | None, str | None]:
    """The logged-in browser user, from the session cookie alone (never a bearer token)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None, None
    principal = accounts.principal_for_token(session, token=token, kind="session")
    return (principal, token) if principal is not None else (None, None)


def get_web_context(request: Request, session: DbSession) -> WebContext:
    cached = getattr(request.state, "web_context", None)
    if isinstance(cached, WebContext):
        return cached
    settings: Settings = request.app.state.settings
    principal, token = resolve_session(session, request)
    seed = token or request.cookies.get(PRE_SESSION_COOKIE)
    new_seed = seed is None
    context = WebContext(
        request=request,
        settings=settings,
        locale=i18n.locale_of(request),
        principal=principal,
        session_token=token,
        csrf_seed=seed or secrets.token_urlsafe(32),
        new_csrf_seed=new_seed,
        flashes=_read_flashes(request.cookies.get(FLASH_COOKIE), settings.secret_key),
    )
    if principal is not None:
        context.unread = inbox.unread_count(session, principal=principal)
    request.state.web_context = context
    return context


Web = Annotated[WebContext, Depends(get_web_context)]


async def checked_form(request: Request, ctx: Web) -> FormData:
    """The posted form, after its ``csrf_token`` field proved the page came from this site."""
    form = await request.form()
    candidate = form.get(CSRF_FIELD)
    if not isinstance(candidate, str) or not ctx.csrf_valid(candidate):
        raise CsrfFailed(
            ctx.gettext(
                "This form has expired or did not come from this site. "
                "Go back, reload the page and send it again."
            )
        )
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def login_url(next_url: str) -> str:
    return "/login?next=" + quote(next_url, safe="/")


def require_login(ctx: Web) -> WebContext:
    if ctx.principal is None:
        raise LoginRequired(_current_path(ctx.request))
    return ctx


def _role_gate(roles: tuple[str, ...], refusal: str) -> Callable[[WebContext], WebContext]:
    """A page dependency letting through logged-in users of ``roles`` and refusing the rest.

    Each pool, RFQ or engagement still checks that the object is the user's own; this only
    turns away the kinds of account a whole area is not for, with a message saying so.
    """

    def gate(ctx: Annotated[WebContext, Depends(require_login)]) -> WebContext:
        assert ctx.principal is not None
        if ctx.principal.role not in roles:
            raise Forbidden(ctx.gettext(refusal), code="role_required")
        return ctx

    return gate


require_provider = _role_gate(
    ("provider",),
    i18n.N_("These pages are for service providers. You are logged in as another kind of account."),
)
require_sme = _role_gate(
    ("sme",),
    i18n.N_(
        "These pages are for manufacturing companies. You are logged in as another kind of account."
    ),
)
# Curators of an agency (主管部门) and platform admins; each pool still checks its agency.
require_curator = _role_gate(
    ("curator", "admin"),
    i18n.N_(
        "These pages are for the staff of the bureaus that run resource pools. "
        "You are logged in as another kind of account."
    ),
)

LoggedIn = Annotated[WebContext, Depends(require_login)]
ProviderWeb = Annotated[WebContext, Depends(require_provider)]
SmeWeb = Annotated[WebContext, Depends(require_sme)]
CuratorWeb = Annotated[WebContext, Depends(require_curator)]


def start_session(ctx: WebContext, session: Session, *, user: Any) -> str:
    """Log a browser in: a fresh session token in an HttpOnly cookie.

    A new token on every login also means a CSRF token seen before login is useless after.
    """
    hours = ctx.settings.session_ttl_hours
    issued = accounts.issue_token(session, user=user, kind="session", ttl=timedelta(hours=hours))
    ctx.set_cookie(SESSION_COOKIE, issued.token, max_age=hours * 3600)
    return issued.token
