"""Provider profile use cases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from catalog import visibility
from catalog.access import ensure_owner
from catalog.pools.models import ACTIVE_STATES, PoolApplication
from catalog.providers.models import Certification, Provider
from catalog.providers.schemas import CertificationIn, ProviderUpdate
from catalog.taxonomy import derive_size
from core.concurrency import check_version
from core.database import utcnow
from core.deps import Principal
from core.errors import Conflict, Forbidden, NotFound
from core.outbox import emit
from core.pagination import PageParams, order_by_clause, paginate

PROVIDER_SORTS = {
    "legal_name": Provider.legal_name,
    "created_at": Provider.created_at,
    "updated_at": Provider.updated_at,
    "capacity": Provider.capacity,
}


def changed(session: Session, provider_id: uuid.UUID) -> None:
    """Tell subscribers (search index, matching) that a provider's public face changed."""
    emit(session, "catalog.provider.changed", provider_id=str(provider_id))


def create_profile(
    session: Session,
    *,
    org_id: uuid.UUID,
    legal_name: str,
    credit_code: str,
    provider_type: str,
    registered_region: str,
) -> uuid.UUID:
    provider = Provider(
        org_id=org_id,
        legal_name=legal_name,
        credit_code=credit_code,
        provider_type=provider_type,
        registered_region=registered_region,
        service_regions=[registered_region],
        on_site_regions=[],
        policy_tags=[],
    )
    session.add(provider)
    session.flush()
    changed(session, provider.id)
    return provider.id


def provider_id_for_org(session: Session, *, org_id: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(select(Provider.id).where(Provider.org_id == org_id))


def get_provider(session: Session, provider_id: uuid.UUID) -> Provider:
    provider = session.scalar(
        select(Provider)
        .where(Provider.id == provider_id)
        .options(selectinload(Provider.certifications))
    )
    if provider is None:
        raise NotFound("No such provider", code="provider_not_found")
    return provider


def get_visible_provider(
    session: Session, *, principal: Principal | None, provider_id: uuid.UUID
) -> Provider:
    """The profile by direct link: unvetted providers (not listed in any pool, or suspended)
    do not exist for the public and other providers (the rule in catalog.visibility)."""
    provider = get_provider(session, provider_id)
    if not visibility.may_see_provider(
        session, principal, provider_id=provider.id, owner_org_id=provider.org_id
    ):
        raise NotFound("No such provider", code="provider_not_found")
    return provider


def own_provider(session: Session, *, principal: Principal) -> Provider:
    """The caller's own provider profile; only provider users have one."""
    if principal.role != "provider":
        raise Forbidden("Only provider accounts have a provider profile", code="role_required")
    provider_id = provider_id_for_org(session, org_id=principal.org_id)
    if provider_id is None:
        raise NotFound("Your organisation has no provider profile", code="provider_not_found")
    return get_provider(session, provider_id)


def update_profile(
    session: Session,
    *,
    principal: Principal,
    provider_id: uuid.UUID,
    data: ProviderUpdate,
    if_match: str | None,
) -> Provider:
    provider = get_provider(session, provider_id)
    ensure_owner(principal, provider.org_id, "provider profile")
    check_version(if_match, provider.version)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if changes.get("legal_name", provider.legal_name) != provider.legal_name:
        _ensure_rename_allowed(session, provider)
    if "website" in changes and changes["website"] is not None:
        changes["website"] = str(changes["website"])
    for key, value in changes.items():
        setattr(provider, key, value)
    provider.size = derive_size(
        sector=provider.size_sector,
        employees=provider.employees,
        revenue_wan=provider.revenue_wan,
        assets_wan=provider.assets_wan,
    )
    session.flush()
    changed(session, provider.id)
    return provider


# Profile fields a vetted firm changes only through a material change report (重大事项变更,
# catalog.pools.changes): its pools reviewed the firm under the old ones. The credit code is not
# editable on the profile at all.
REPORTED_FIELDS = ("legal_name",)


def in_pool_process(session: Session, provider_id: uuid.UUID) -> bool:
    """Whether the provider is listed in, or applying to, any pool (applications that ended
    in a rejection, a withdrawal or a removal do not count)."""
    stmt = select(PoolApplication.id).where(
        PoolApplication.provider_id == provider_id,
        PoolApplication.state.in_(ACTIVE_STATES),
    )
    return session.scalar(stmt.limit(1)) is not None


def _ensure_rename_allowed(session: Session, provider: Provider) -> None:
    if in_pool_process(session, provider.id):
        raise Conflict(
            "Your firm is listed in or applying to a resource pool, so its legal name changes "
            'only through a material change report: POST /api/v1/changes with kind "name" '
            "(the pools' curators review it)",
            code="material_change_report_required",
            details={"fields": list(REPORTED_FIELDS), "report_at": "/api/v1/changes"},
        )


@dataclass(frozen=True)
class ProviderFilters:
    provider_type: str | None = None
    region: str | None = None
    size: str | None = None


def _filtered(filters: ProviderFilters) -> Select[Any]:
    stmt = select(Provider)
    if filters.provider_type:
        stmt = stmt.where(Provider.provider_type == filters.provider_type)
    if filters.region:
        if filters.region.endswith("0000"):
            # A province code matches every registered region within that province.
            prefix = filters.region[:2]
            stmt = stmt.where(Provider.registered_region.startswith(prefix))
        else:
            stmt = stmt.where(Provider.registered_region == filters.region)
    if filters.size:
        stmt = stmt.where(Provider.size == filters.size)
    return stmt


def list_providers(
    session: Session,
    *,
    filters: ProviderFilters,
    params: PageParams,
    principal: Principal | None = None,
) -> tuple[list[Provider], int]:
    """Public providers; curators and admins see every profile, a provider its own as well."""
    stmt = _filtered(filters)
    if not visibility.sees_every_provider(principal):
        shown = visibility.is_public_provider(Provider.id)
        if principal is not None and principal.role == "provider":
            shown = or_(shown, Provider.org_id == principal.org_id)
        stmt = stmt.where(shown)
    order = order_by_clause(
        params.sort, PROVIDER_SORTS, default="legal_name", tiebreaker=Provider.id
    )
    return paginate(session, stmt, params, order)


def _touch(session: Session, provider: Provider) -> None:
    """Certifications are part of the profile: a change moves its version and ETag on."""
    provider.updated_at = utcnow()
    session.flush()
    changed(session, provider.id)


def _own_certification(
    session: Session, *, principal: Principal, provider_id: uuid.UUID, cert_id: uuid.UUID | None
) -> tuple[Provider, Certification | None]:
    provider = get_provider(session, provider_id)
    ensure_owner(principal, provider.org_id, "provider profile")
    if cert_id is None:
        return provider, None
    cert = session.get(Certification, cert_id)
    if cert is None or cert.provider_id != provider.id:
        raise NotFound("No such certification", code="certification_not_found")
    return provider, cert


def add_certification(
    session: Session, *, principal: Principal, provider_id: uuid.UUID, data: CertificationIn
) -> Certification:
    provider, _ = _own_certification(
        session, principal=principal, provider_id=provider_id, cert_id=None
    )
    cert = Certification(provider_id=provider.id, **data.model_dump())
    session.add(cert)
    _touch(session, provider)
    return cert


def replace_certification(
    session: Session,
    *,
    principal: Principal,
    provider_id: uuid.UUID,
    cert_id: uuid.UUID,
    data: CertificationIn,
) -> Certification:
    provider, cert = _own_certification(
        session, principal=principal, provider_id=provider_id, cert_id=cert_id
    )
    assert cert is not None
    for key, value in data.model_dump().items():
        setattr(cert, key, value)
    _touch(session, provider)
    return cert


def delete_certification(
    session: Session, *, principal: Principal, provider_id: uuid.UUID, cert_id: uuid.UUID
) -> None:
    provider, cert = _own_certification(
        session, principal=principal, provider_id=provider_id, cert_id=cert_id
    )
    session.delete(cert)
    _touch(session, provider)
