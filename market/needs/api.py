"""Routes for the SME profile, needs (需求) and free-text understanding."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status

from core.concurrency import IfMatch, set_etag
from core.deps import CurrentPrincipal, DbSession, Principal, require_role
from core.pagination import Page, PageParams, page_params
from market.needs import service
from market.needs.schemas import (
    NeedIn,
    NeedOut,
    NeedPatch,
    NeedSummaryOut,
    ShareIn,
    SmeProfileIn,
    SmeProfileOut,
    UnderstandIn,
    UnderstandingOut,
)
from market.needs.understanding import understand

router = APIRouter(prefix="/api/v1", tags=["sme"])

# Profiles and new needs belong to SME organisations; reading and changing an existing need is
# decided per need (owner, or a provider it is shared with), so those routes take any caller.
SmePrincipal = Annotated[Principal, Depends(require_role("sme"))]


# --- SME profile ------------------------------------------------------------------------------


@router.get("/sme/profile", response_model=SmeProfileOut)
def get_profile(principal: SmePrincipal, session: DbSession, response: Response) -> SmeProfileOut:
    """Your organisation's profile. Before the first save it is empty, version 0 (ETag W/"0")."""
    profile = service.read_profile(session, principal=principal)
    set_etag(response, profile.version)
    return profile


@router.put("/sme/profile", response_model=SmeProfileOut)
def put_profile(
    data: SmeProfileIn,
    principal: SmePrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> SmeProfileOut:
    """Save the whole profile (201 the first time). After the first save send ``If-Match``
    with the ETag you read. ``size`` is derived from employees and revenue (industry rules of
    工信部联企业〔2011〕300号), never typed."""
    profile, created = service.put_profile(
        session, principal=principal, data=data, if_match=if_match
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
    set_etag(response, profile.version)
    return profile


# --- understanding ----------------------------------------------------------------------------


@router.post("/needs/understand", response_model=UnderstandingOut, tags=["needs"])
def understand_text(data: UnderstandIn) -> UnderstandingOut:
    """What a free-text description says in taxonomy terms: capabilities, protocols, scenes,
    pricing models, an industry hint and pain points, each with the words that produced it,
    plus the words that were not understood. Open to everyone, logged in or not."""
    return service.understood_out(understand(data.text))


# --- needs ------------------------------------------------------------------------------------


@router.post("/needs", status_code=status.HTTP_201_CREATED, response_model=NeedOut, tags=["needs"])
def create_need(
    data: NeedIn, principal: SmePrincipal, session: DbSession, response: Response
) -> NeedOut:
    """State a need. Without capabilities, those understood from the title and description
    become nice-to-haves; without ``protocols``, your equipment inventory's are used. Check
    ``prefilled`` and ``understood`` in the response and correct with PATCH."""
    need = service.create_need(session, principal=principal, data=data)
    set_etag(response, need.version)
    response.headers["Location"] = f"/api/v1/needs/{need.id}"
    return service.to_out(session, need, principal=principal)


@router.get("/needs", response_model=Page[NeedSummaryOut], tags=["needs"])
def list_needs(
    principal: CurrentPrincipal,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
    status_: Annotated[Literal["open", "closed"] | None, Query(alias="status")] = None,
    visibility: Annotated[Literal["draft", "shared"] | None, Query()] = None,
) -> Page[NeedSummaryOut]:
    """SMEs: your organisation's needs. Providers: the needs shared with you. Sort by
    updated_at (default, newest first), created_at or title; prefix ``-`` for descending."""
    filters = service.NeedFilters(status=status_, visibility=visibility)
    rows, total = service.list_needs(session, principal=principal, filters=filters, params=params)
    return Page(
        items=[NeedSummaryOut.model_validate(row) for row in rows],
        total=total,
        page=params.page,
        size=params.size,
    )


@router.get("/needs/{need_id}", response_model=NeedOut, tags=["needs"])
def get_need(
    need_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, response: Response
) -> NeedOut:
    need = service.get_readable(session, principal=principal, need_id=need_id)
    set_etag(response, need.version)
    return service.to_out(session, need, principal=principal)


@router.patch("/needs/{need_id}", response_model=NeedOut, tags=["needs"])
def update_need(
    need_id: uuid.UUID,
    data: NeedPatch,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> NeedOut:
    """Edit a need; send ``If-Match`` with the ETag you read."""
    need = service.update_need(
        session, principal=principal, need_id=need_id, data=data, if_match=if_match
    )
    set_etag(response, need.version)
    return service.to_out(session, need, principal=principal)


@router.delete("/needs/{need_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["needs"])
def delete_need(
    need_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, if_match: IfMatch = None
) -> None:
    """Delete a need (``If-Match`` optional; checked when sent)."""
    service.delete_need(session, principal=principal, need_id=need_id, if_match=if_match)


@router.post("/needs/{need_id}/share", response_model=NeedOut, tags=["needs"])
def share_need(
    need_id: uuid.UUID,
    data: ShareIn,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> NeedOut:
    """Share the need with these providers (added to those already chosen); it becomes
    ``shared``. ``If-Match`` is optional and checked when sent."""
    need = service.share_need(
        session,
        principal=principal,
        need_id=need_id,
        provider_ids=data.provider_ids,
        if_match=if_match,
    )
    set_etag(response, need.version)
    return service.to_out(session, need, principal=principal)


@router.post("/needs/{need_id}/unshare", response_model=NeedOut, tags=["needs"])
def unshare_need(
    need_id: uuid.UUID,
    data: ShareIn,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> NeedOut:
    """Withdraw the need from these providers; with none left it returns to ``draft``."""
    need = service.unshare_need(
        session,
        principal=principal,
        need_id=need_id,
        provider_ids=data.provider_ids,
        if_match=if_match,
    )
    set_etag(response, need.version)
    return service.to_out(session, need, principal=principal)
