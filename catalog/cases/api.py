"""Routes for case studies."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from catalog.cases import service
from catalog.cases.schemas import CaseIn, CaseOut, CasePatch
from catalog.fields import IndustryCode
from catalog.status_routes import add_status_routes
from core.concurrency import IfMatch, set_etag
from core.deps import CurrentPrincipal, DbSession, OptionalPrincipal, ProviderPrincipal
from core.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


@router.get("", response_model=Page[CaseOut])
def list_cases(
    session: DbSession,
    principal: OptionalPrincipal,
    params: Annotated[PageParams, Depends(page_params)],
    provider_id: Annotated[uuid.UUID | None, Query()] = None,
    industry: Annotated[IndustryCode | None, Query(description="client GB/T code prefix")] = None,
    solution_id: Annotated[uuid.UUID | None, Query()] = None,
    mine: Annotated[bool, Query(description="providers: your own cases, any status")] = False,
) -> Page[CaseOut]:
    """Published case studies; sort by case_date, updated_at, created_at or title."""
    filters = service.CaseFilters(
        provider_id=provider_id, industry=industry, solution_id=solution_id, mine=mine
    )
    rows, total = service.list_cases(session, principal=principal, filters=filters, params=params)
    return Page(
        items=[service.to_out(r) for r in rows], total=total, page=params.page, size=params.size
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CaseOut)
def create_case(
    data: CaseIn, principal: ProviderPrincipal, session: DbSession, response: Response
) -> CaseOut:
    """Create a draft case study for your provider profile."""
    case = service.create_case(session, principal=principal, data=data)
    set_etag(response, case.version)
    response.headers["Location"] = f"/api/v1/cases/{case.id}"
    return service.to_out(case)


@router.get("/{case_id}", response_model=CaseOut)
def get_case(
    case_id: uuid.UUID, principal: OptionalPrincipal, session: DbSession, response: Response
) -> CaseOut:
    case = service.get_visible(session, principal=principal, case_id=case_id)
    set_etag(response, case.version)
    return service.to_out(case)


@router.patch("/{case_id}", response_model=CaseOut)
def update_case(
    case_id: uuid.UUID,
    data: CasePatch,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> CaseOut:
    """Edit your case study; ``If-Match`` with the ETag you read is required."""
    case = service.update_case(
        session, principal=principal, case_id=case_id, data=data, if_match=if_match
    )
    set_etag(response, case.version)
    return service.to_out(case)


add_status_routes(
    router,
    item="case",
    change=service.change_status,
    to_out=service.to_out,
    response_model=CaseOut,
)


@router.delete("/{case_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_case(case_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> None:
    """Delete a draft case study."""
    service.delete_case(session, principal=principal, case_id=case_id)
