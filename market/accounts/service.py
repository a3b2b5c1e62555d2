"""Account use cases: registration, login, tokens, colleagues, curators."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from catalog.providers import service as providers
from catalog.taxonomy import province_of
from core.database import utcnow
from core.deps import Principal
from core.errors import Forbidden, InvalidInput, NotFound, field_error
from core.settings import Settings
from market.accounts.errors import (
    CreditCodeTaken,
    EmailTaken,
    InvalidCredentials,
    InvalidInvitation,
    LoginThrottled,
)
from market.accounts.models import ROLE_FOR_KIND, AuthToken, Invitation, LoginFailure, Organisation
from market.accounts.models import User as UserRow
from market.accounts.schemas import AgencyIn, CuratorIn, RegisterIn
from market.accounts.security import (
    burn_password_check,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    row: AuthToken
    user: UserRow


def _email_free(session: Session, email: str) -> None:
    if session.scalar(select(UserRow.id).where(UserRow.email == email)) is not None:
        raise EmailTaken(f"An account with {email} exists already; log in or use another e-mail")


def register(
    session: Session, *, data: RegisterIn
) -> tuple[Organisation, UserRow, uuid.UUID | None]:
    """Create an SME or provider organisation with its first user, who administers it."""
    org_in, user_in = data.organisation, data.user
    _email_free(session, user_in.email)
    taken = select(Organisation.id).where(Organisation.credit_code == org_in.credit_code)
    if session.scalar(taken) is not None:
        raise CreditCodeTaken(
            f"Organisation with credit code {org_in.credit_code} is registered already; "
            "ask its administrator to invite you"
        )
    org = Organisation(
        kind=org_in.kind,
        name=org_in.name,
        credit_code=org_in.credit_code,
        region_code=org_in.region_code,
    )
    session.add(org)
    session.flush()
    user = UserRow(
        org_id=org.id,
        email=user_in.email,
        name=user_in.name,
        password_hash=hash_password(user_in.password),
        role=ROLE_FOR_KIND[org.kind],
        is_org_admin=True,
    )
    session.add(user)
    provider_id = None
    if org.kind == "provider":
        assert org_in.provider_type is not None  # guaranteed by the schema
        provider_id = providers.create_profile(
            session,
            org_id=org.id,
            legal_name=org.name,
            credit_code=org_in.credit_code,
            provider_type=org_in.provider_type,
            registered_region=org_in.region_code,
        )
    session.flush()
    return org, user, provider_id


def _throttle_check(session: Session, *, email: str, address: str, settings: Settings) -> None:
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    for column, key, limit in (
        (LoginFailure.account, email, settings.login_max_failures_per_account),
        (LoginFailure.address, address, settings.login_max_failures_per_address),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(
                column == key, LoginFailure.at > since
            )
        ).one()
        if count >= limit and oldest is not None:
            retry = int((oldest - since).total_seconds()) + 1
            raise LoginThrottled(
                f"Too many failed logins; try again in {retry} seconds",
                details={"retry_after_seconds": retry},
                headers={"Retry-After": str(retry)},
            )


def authenticate(
    session: Session, *, email: str, password: str, address: str, settings: Settings
) -> UserRow:
    _throttle_check(session, email=email, address=address, settings=settings)
    user = session.scalar(select(UserRow).where(UserRow.email == email))
    if user is None:
        burn_password_check()
    elif verify_password(password, user.password_hash) and user.is_active:
        session.execute(delete(LoginFailure).where(LoginFailure.account == email))
        return user
    session.add(LoginFailure(account=email, address=address))
    raise InvalidCredentials("E-mail or password is wrong, or the account is deactivated")


def issue_token(
    session: Session, *, user: UserRow, kind: str, ttl: timedelta, label: str | None = None
) -> IssuedToken:
    token = new_token("imk" if kind == "api" else "ims")
    row = AuthToken(
        user_id=user.id,
        token_hash=token_digest(token),
        kind=kind,
        label=label,
        expires_at=utcnow() + ttl,
    )
    session.add(row)
    session.flush()
    return IssuedToken(token=token, row=row, user=user)


def principal_for_token(session: Session, *, token: str, kind: str) -> Principal | None:
    """Resolve a presented token to its caller, or None when unknown, expired or revoked."""
    now = utcnow()
    row = session.execute(
        select(AuthToken, UserRow, Organisation)
        .join(UserRow, UserRow.id == AuthToken.user_id)
        .join(Organisation, Organisation.id == UserRow.org_id)
        .where(
            AuthToken.token_hash == token_digest(token),
            AuthToken.kind == kind,
            AuthToken.revoked_at.is_(None),
            AuthToken.expires_at > now,
            UserRow.is_active.is_(True),
        )
    ).one_or_none()
    if row is None:
        return None
    auth, user, org = row
    # Writing on every request would serialise readers on SQLite; a minute's precision is enough.
    if auth.last_used_at is None or now - auth.last_used_at > timedelta(minutes=1):
        auth.last_used_at = now
    return Principal(
        user_id=user.id,
        org_id=org.id,
        org_kind=org.kind,
        role=user.role,  # type: ignore[arg-type]
        email=user.email,
        name=user.name,
        is_org_admin=user.is_org_admin,
        jurisdiction=user.jurisdiction,
        token_id=auth.id,
        via="bearer" if kind == "api" else "session",
    )


def revoke_token(session: Session, *, token_id: uuid.UUID) -> None:
    session.execute(
        update(AuthToken)
        .where(AuthToken.id == token_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def _revoke_all(session: Session, *, user_id: uuid.UUID, keep: uuid.UUID | None = None) -> None:
    stmt = update(AuthToken).where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(AuthToken.id != keep)
    session.execute(stmt.values(revoked_at=utcnow()))


def get_user(session: Session, user_id: uuid.UUID) -> UserRow:
    user = session.get(UserRow, user_id)
    if user is None:
        raise NotFound("No such user", code="user_not_found")
    return user


def get_organisation(session: Session, org_id: uuid.UUID) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound("No such organisation", code="organisation_not_found")
    return org


def change_password(
    session: Session, *, principal: Principal, current_password: str, new_password: str
) -> None:
    user = get_user(session, principal.user_id)
    if not verify_password(current_password, user.password_hash):
        raise field_error("body.current_password", "the current password is wrong")
    if verify_password(new_password, user.password_hash):
        raise field_error("body.new_password", "choose a password different from the current one")
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    # Anyone holding an old token of this user is logged out; the caller keeps this one.
    _revoke_all(session, user_id=user.id, keep=principal.token_id)


def invite(
    session: Session, *, principal: Principal, email: str, ttl: timedelta
) -> tuple[Invitation, str]:
    if not principal.is_org_admin:
        raise Forbidden(
            "Only your organisation's administrators can invite colleagues",
            code="org_admin_required",
        )
    _email_free(session, email)
    token = new_token("inv")
    row = Invitation(
        org_id=principal.org_id,
        email=email,
        role=principal.role,
        token_hash=token_digest(token),
        invited_by=principal.user_id,
        expires_at=utcnow() + ttl,
    )
    session.add(row)
    session.flush()
    return row, token


def accept_invitation(session: Session, *, token: str, name: str, password: str) -> UserRow:
    row = session.scalar(select(Invitation).where(Invitation.token_hash == token_digest(token)))
    now = utcnow()
    if row is None or row.accepted_at is not None or row.revoked_at is not None:
        raise InvalidInvitation("This invitation is unknown or was used already")
    if row.expires_at <= now:
        raise InvalidInvitation("This invitation has expired; ask for a new one")
    _email_free(session, row.email)
    inviter = get_user(session, row.invited_by)
    user = UserRow(
        org_id=row.org_id,
        email=row.email,
        name=name,
        password_hash=hash_password(password),
        role=row.role,
        jurisdiction=inviter.jurisdiction,
    )
    session.add(user)
    row.accepted_at = now
    session.flush()
    return user


def list_members(session: Session, *, principal: Principal) -> list[UserRow]:
    stmt = select(UserRow).where(UserRow.org_id == principal.org_id).order_by(UserRow.created_at)
    return list(session.scalars(stmt))


def deactivate_user(session: Session, *, principal: Principal, user_id: uuid.UUID) -> UserRow:
    user = get_user(session, user_id)
    same_org_admin = principal.is_org_admin and user.org_id == principal.org_id
    if not (principal.is_admin or same_org_admin):
        # Outsiders learn nothing about who exists elsewhere.
        if user.org_id != principal.org_id:
            raise NotFound("No such user", code="user_not_found")
        raise Forbidden(
            "Only your organisation's administrators can deactivate colleagues",
            code="org_admin_required",
        )
    if user.id == principal.user_id:
        raise InvalidInput("You cannot deactivate yourself", code="cannot_deactivate_self")
    if user.is_org_admin and user.is_active:
        admins = session.scalar(
            select(func.count()).where(
                UserRow.org_id == user.org_id,
                UserRow.is_org_admin.is_(True),
                UserRow.is_active.is_(True),
            )
        )
        if (admins or 0) <= 1:
            raise InvalidInput(
                "This is the organisation's last active administrator", code="last_org_admin"
            )
    user.is_active = False
    _revoke_all(session, user_id=user.id)
    session.flush()
    return user


def create_agency(session: Session, *, data: AgencyIn) -> Organisation:
    org = Organisation(
        kind="agency", name=data.name, jurisdiction=data.jurisdiction, region_code=data.jurisdiction
    )
    session.add(org)
    session.flush()
    return org


def _within(jurisdiction: str, area: str) -> bool:
    """A curator's area must be the agency's own region or a city of its province."""
    if area == jurisdiction:
        return True
    return jurisdiction.endswith("0000") and province_of(area) == jurisdiction


def create_curator(session: Session, *, data: CuratorIn) -> UserRow:
    agency = get_organisation(session, data.agency_id)
    if agency.kind != "agency":
        raise field_error("body.agency_id", "this organisation is not an agency")
    assert agency.jurisdiction is not None
    area = data.jurisdiction or agency.jurisdiction
    if not _within(agency.jurisdiction, area):
        raise field_error("body.jurisdiction", f"must be {agency.jurisdiction} or a city within it")
    _email_free(session, data.email)
    user = UserRow(
        org_id=agency.id,
        email=data.email,
        name=data.name,
        password_hash=hash_password(data.password),
        role="curator",
        jurisdiction=area,
    )
    session.add(user)
    session.flush()
    return user


def create_admin(session: Session, *, email: str, name: str, password: str) -> UserRow:
    """Admins belong to the platform operator's agency organisation, made on first use."""
    _email_free(session, email)
    operator = session.scalar(
        select(Organisation).where(
            Organisation.kind == "agency", Organisation.name == PLATFORM_OPERATOR
        )
    )
    if operator is None:
        operator = Organisation(kind="agency", name=PLATFORM_OPERATOR)
        session.add(operator)
        session.flush()
    user = UserRow(
        org_id=operator.id,
        email=email,
        name=name,
        password_hash=hash_password(password),
        role="admin",
        is_org_admin=True,
    )
    session.add(user)
    session.flush()
    return user


PLATFORM_OPERATOR = "iimarket 平台运营"
