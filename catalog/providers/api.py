"""Routes for provider profiles and certifications."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from catalog.fields import ProviderTypeId, RegionCode, SmeSizeId
from catalog.providers import service
from catalog.providers.schemas import (
    CertificationIn,
    CertificationOut,
    ProviderOut,
    ProviderSummaryOut,
    ProviderUpdate,
)
from core.concurrency import IfMatch, set_etag
from core.deps import CurrentPrincipal, DbSession, OptionalPrincipal
from core.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/providers", tags=["providers"])


@router.get("", response_model=Page[ProviderSummaryOut])
def list_providers(
    session: DbSession,
    principal: OptionalPrincipal,
    params: Annotated[PageParams, Depends(page_params)],
    provider_type: Annotated[ProviderTypeId | None, Query()] = None,
    region: Annotated[RegionCode | None, Query(description="city code, or province code")] = None,
    # Not "size": that query parameter is the page size.
    company_size: Annotated[
        SmeSizeId | None, Query(description="derived size class: micro, small, medium, large")
    ] = None,
) -> Page[ProviderSummaryOut]:
    """Public providers (listed in a pool, not suspended); curators and admins see every
    profile and a provider its own too. Sort by legal_name, created_at, updated_at or
    capacity."""
    filters = service.ProviderFilters(provider_type=provider_type, region=region, size=company_size)
    rows, total = service.list_providers(
        session, filters=filters, params=params, principal=principal
    )
    return Page(
        items=[ProviderSummaryOut.model_validate(r) for r in rows],
        total=total,
        page=params.page,
        size=params.size,
    )


@router.get("/me", response_model=ProviderOut)
def my_profile(principal: CurrentPrincipal, session: DbSession, response: Response) -> ProviderOut:
    provider = service.own_provider(session, principal=principal)
    set_etag(response, provider.version)
    return ProviderOut.model_validate(provider)


@router.get("/{provider_id}", response_model=ProviderOut)
def get_provider(
    provider_id: uuid.UUID, principal: OptionalPrincipal, session: DbSession, response: Response
) -> ProviderOut:
    """A public provider's profile; unvetted ones only for their owner, curators and admins."""
    provider = service.get_visible_provider(session, principal=principal, provider_id=provider_id)
    set_etag(response, provider.version)
    return ProviderOut.model_validate(provider)


@router.patch("/{provider_id}", response_model=ProviderOut)
def update_provider(
    provider_id: uuid.UUID,
    data: ProviderUpdate,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> ProviderOut:
    """Edit your profile. Send ``If-Match`` with the ETag you read; size is derived from
    employees and revenue (or assets), never typed."""
    provider = service.update_profile(
        session, principal=principal, provider_id=provider_id, data=data, if_match=if_match
    )
    set_etag(response, provider.version)
    return ProviderOut.model_validate(service.get_provider(session, provider.id))


@router.post(
    "/{provider_id}/certifications",
    status_code=status.HTTP_201_CREATED,
    response_model=CertificationOut,
)
def add_certification(
    provider_id: uuid.UUID, data: CertificationIn, principal: CurrentPrincipal, session: DbSession
) -> CertificationOut:
    cert = service.add_certification(
        session, principal=principal, provider_id=provider_id, data=data
    )
    return CertificationOut.model_validate(cert)


@router.put("/{provider_id}/certifications/{cert_id}", response_model=CertificationOut)
def replace_certification(
    provider_id: uuid.UUID,
    cert_id: uuid.UUID,
    data: CertificationIn,
    principal: CurrentPrincipal,
    session: DbSession,
) -> CertificationOut:
    cert = service.replace_certification(
        session, principal=principal, provider_id=provider_id, cert_id=cert_id, data=data
    )
    return CertificationOut.model_validate(cert)


@router.delete("/{provider_id}/certifications/{cert_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_certification(
    provider_id: uuid.UUID, cert_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> None:
    service.delete_certification(
        session, principal=principal, provider_id=provider_id, cert_id=cert_id
    )
