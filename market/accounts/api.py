"""Routes for registration, login, sessions, colleagues and (admin) agencies and curators."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from catalog.providers import service as providers
from core.deps import AdminPrincipal, AppSettings, CurrentPrincipal, DbSession
from market.accounts import service
from market.accounts.resolver import SESSION_COOKIE
from market.accounts.schemas import (
    AcceptInvitationIn,
    AgencyIn,
    CuratorIn,
    InvitationOut,
    InviteIn,
    LoginIn,
    MeOut,
    OrganisationOut,
    PasswordChangeIn,
    RegisteredOut,
    RegisterIn,
    SessionOut,
    TokenOut,
    UserOut,
)
from market.accounts.security import csrf_token_for

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, response_model=RegisteredOut)
def register(data: RegisterIn, session: DbSession) -> RegisteredOut:
    """Register an SME or provider organisation together with its first (administrator) user."""
    org, user, provider_id = service.register(session, data=data)
    return RegisteredOut(
        user=UserOut.model_validate(user),
        organisation=OrganisationOut.model_validate(org),
        provider_id=provider_id,
    )


@router.post("/auth/login", response_model=TokenOut)
def login(data: LoginIn, request: Request, session: DbSession, settings: AppSettings) -> TokenOut:
    """Exchange e-mail and password for a bearer token (``Authorization: Bearer <token>``)."""
    user = service.authenticate(
        session,
        email=data.email,
        password=data.password,
        address=client_address(request),
        settings=settings,
    )
    issued = service.issue_token(
        session,
        user=user,
        kind="api",
        label=data.label,
        ttl=timedelta(hours=settings.api_token_ttl_hours),
    )
    return TokenOut(
        token=issued.token, expires_at=issued.row.expires_at, user=UserOut.model_validate(user)
    )


@router.post("/auth/session", response_model=SessionOut)
def open_session(
    data: LoginIn,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
) -> SessionOut:
    """Log in a browser: sets an HttpOnly session cookie and returns the CSRF token to echo
    in ``X-CSRF-Token`` on every state-changing request."""
    user = service.authenticate(
        session,
        email=data.email,
        password=data.password,
        address=client_address(request),
        settings=settings,
    )
    issued = service.issue_token(
        session, user=user, kind="session", ttl=timedelta(hours=settings.session_ttl_hours)
    )
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        httponly=True,
        samesite="lax",
        secure=settings.env == "production",
        max_age=settings.session_ttl_hours * 3600,
        path="/",
    )
    return SessionOut(
        csrf_token=csrf_token_for(issued.token, secret_key=settings.secret_key),
        expires_at=issued.row.expires_at,
        user=UserOut.model_validate(user),
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(principal: CurrentPrincipal, response: Response, session: DbSession) -> None:
    """Revoke the token or session used for this request."""
    service.revoke_token(session, token_id=principal.token_id)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/auth/me", response_model=MeOut)
def me(principal: CurrentPrincipal, session: DbSession) -> MeOut:
    user = service.get_user(session, principal.user_id)
    org = service.get_organisation(session, principal.org_id)
    provider_id = providers.provider_id_for_org(session, org_id=org.id)
    return MeOut(
        user=UserOut.model_validate(user),
        organisation=OrganisationOut.model_validate(org),
        provider_id=provider_id,
    )


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(
    data: PasswordChangeIn, principal: CurrentPrincipal, session: DbSession
) -> None:
    """Change your password; every other token and session of yours is revoked."""
    service.change_password(
        session,
        principal=principal,
        current_password=data.current_password,
        new_password=data.new_password,
    )


@router.get("/organisations/me/users", response_model=list[UserOut])
def members(principal: CurrentPrincipal, session: DbSession) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in service.list_members(session, principal=principal)]


@router.post(
    "/organisations/me/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationOut,
)
def invite(
    data: InviteIn, principal: CurrentPrincipal, session: DbSession, settings: AppSettings
) -> InvitationOut:
    """Invite a colleague into your organisation (organisation administrators only)."""
    ttl = timedelta(hours=settings.invitation_ttl_hours)
    row, token = service.invite(session, principal=principal, email=data.email, ttl=ttl)
    return InvitationOut(
        id=row.id, email=row.email, role=row.role, expires_at=row.expires_at, token=token
    )


@router.post(
    "/auth/invitations/accept", status_code=status.HTTP_201_CREATED, response_model=UserOut
)
def accept_invitation(data: AcceptInvitationIn, session: DbSession) -> UserOut:
    user = service.accept_invitation(
        session, token=data.token, name=data.name, password=data.password
    )
    return UserOut.model_validate(user)


@router.post("/users/{user_id}/deactivate", response_model=UserOut)
def deactivate(user_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> UserOut:
    """Deactivate a colleague (organisation administrators) or anyone (platform admins)."""
    user = service.deactivate_user(session, principal=principal, user_id=user_id)
    return UserOut.model_validate(user)


@router.post("/admin/agencies", status_code=status.HTTP_201_CREATED, response_model=OrganisationOut)
def create_agency(data: AgencyIn, _admin: AdminPrincipal, session: DbSession) -> OrganisationOut:
    return OrganisationOut.model_validate(service.create_agency(session, data=data))


@router.post("/admin/curators", status_code=status.HTTP_201_CREATED, response_model=UserOut)
def create_curator(data: CuratorIn, _admin: AdminPrincipal, session: DbSession) -> UserOut:
    """Create a curator bound to an agency and a jurisdiction (region code)."""
    return UserOut.model_validate(service.create_curator(session, data=data))
