"""Request-scoped dependencies shared by every router: the database session and the caller."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Literal, Protocol

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from core.errors import AppError, Forbidden, Unauthenticated
from core.settings import Settings

Role = Literal["sme", "provider", "curator", "admin"]


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit when the endpoint returns, roll back when it raises.

    Services only flush. Used with ``scope="function"`` so the commit happens before the
    response is sent: a client never sees a success for data that then failed to commit.
    """
    session: Session = request.app.state.db.sessions()
    try:
        yield session
    except AppError as exc:
        if exc.keep_changes:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    else:
        session.commit()
        request.app.state.after_commit(session)
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_session, scope="function")]


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_app_settings)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: enough to authorise without another query."""

    user_id: uuid.UUID
    org_id: uuid.UUID
    org_kind: str
    role: Role
    email: str
    name: str
    is_org_admin: bool
    jurisdiction: str | None
    token_id: uuid.UUID
    via: Literal["bearer", "session"]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class PrincipalResolver(Protocol):
    def __call__(self, session: Session, request: Request) -> Principal | None: ...


def get_optional_principal(request: Request, session: DbSession) -> Principal | None:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    resolver: PrincipalResolver = request.app.state.resolve_principal
    principal = resolver(session, request)
    request.state.principal = principal
    return principal


def get_principal(
    principal: Annotated[Principal | None, Depends(get_optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthenticated(
            "Log in first: send 'Authorization: Bearer <token>' from POST /api/v1/auth/login"
        )
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    allowed = frozenset(roles)

    def _check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            wanted = " or ".join(sorted(allowed))
            raise Forbidden(
                f"This action needs the {wanted} role; you are logged in as {principal.role}",
                code="role_required",
            )
        return principal

    return _check


ProviderPrincipal = Annotated[Principal, Depends(require_role("provider"))]
CuratorPrincipal = Annotated[Principal, Depends(require_role("curator", "admin"))]
AdminPrincipal = Annotated[Principal, Depends(require_role("admin"))]
