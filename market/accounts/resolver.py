"""Turns a request's credentials into a Principal for core.deps."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from core.deps import Principal
from core.errors import Forbidden, Unauthenticated
from market.accounts import service
from market.accounts.security import csrf_matches

SESSION_COOKIE = "market_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def resolve_principal(session: Session, request: Request) -> Principal | None:
    header = request.headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Use 'Authorization: Bearer <token>'", code="invalid_token")
        principal = service.principal_for_token(session, token=token.strip(), kind="api")
        if principal is None:
            raise Unauthenticated(
                "The token is unknown, expired or revoked; log in again", code="invalid_token"
            )
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    principal = service.principal_for_token(session, token=cookie, kind="session")
    if principal is None:
        return None
    secret = request.app.state.settings.secret_key
    if request.method not in SAFE_METHODS and not csrf_matches(
        cookie, request.headers.get(CSRF_HEADER), secret_key=secret
    ):
        # A cookie rides along on cross-site requests; the token proves the page is ours.
        raise Forbidden(f"Missing or wrong {CSRF_HEADER} header", code="csrf_failed")
    return principal
