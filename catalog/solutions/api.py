"""Routes for solutions (listings)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status

from catalog.fields import (
    CapabilityId,
    DeploymentId,
    IndustryCode,
    PricingModelId,
    ProtocolId,
    SceneId,
    SmeSizeId,
)
from catalog.solutions import service
from catalog.solutions.schemas import SolutionIn, SolutionOut, SolutionPatch
from catalog.status_routes import add_status_routes
from core.concurrency import IfMatch, set_etag
from core.deps import CurrentPrincipal, DbSession, OptionalPrincipal, ProviderPrincipal
from core.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/solutions", tags=["solutions"])


@router.get("", response_model=Page[SolutionOut])
def list_solutions(
    session: DbSession,
    principal: OptionalPrincipal,
    params: Annotated[PageParams, Depends(page_params)],
    provider_id: Annotated[uuid.UUID | None, Query()] = None,
    capability: Annotated[CapabilityId | None, Query()] = None,
    industry: Annotated[IndustryCode | None, Query(description="GB/T 4754 code, any depth")] = None,
    protocol: Annotated[ProtocolId | None, Query()] = None,
    # Not "size": that query parameter is the page size.
    target_size: Annotated[SmeSizeId | None, Query(description="target SME size")] = None,
    deployment: Annotated[DeploymentId | None, Query()] = None,
    pricing_model: Annotated[PricingModelId | None, Query()] = None,
    scene: Annotated[SceneId | None, Query()] = None,
    mine: Annotated[bool, Query(description="providers: list your own, any status")] = False,
    status_: Annotated[
        Literal["draft", "published", "archived"] | None, Query(alias="status")
    ] = None,
) -> Page[SolutionOut]:
    """Published solutions (or, with ``mine=true``, your own in any status). Sort by
    updated_at, created_at, published_at or title; prefix ``-`` for descending."""
    filters = service.SolutionFilters(
        provider_id=provider_id,
        capability=capability,
        industry=industry,
        protocol=protocol,
        size=target_size,
        deployment=deployment,
        pricing_model=pricing_model,
        scene=scene,
        status=status_,
        mine=mine,
    )
    rows, total = service.list_solutions(
        session, principal=principal, filters=filters, params=params
    )
    return Page(
        items=[service.to_out(r) for r in rows], total=total, page=params.page, size=params.size
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SolutionOut)
def create_solution(
    data: SolutionIn, principal: ProviderPrincipal, session: DbSession, response: Response
) -> SolutionOut:
    """Create a draft solution for your provider profile."""
    solution = service.create_solution(session, principal=principal, data=data)
    set_etag(response, solution.version)
    response.headers["Location"] = f"/api/v1/solutions/{solution.id}"
    return service.to_out(solution)


@router.get("/{solution_id}", response_model=SolutionOut)
def get_solution(
    solution_id: uuid.UUID, principal: OptionalPrincipal, session: DbSession, response: Response
) -> SolutionOut:
    solution = service.get_visible(session, principal=principal, solution_id=solution_id)
    set_etag(response, solution.version)
    return service.to_out(solution)


@router.patch("/{solution_id}", response_model=SolutionOut)
def update_solution(
    solution_id: uuid.UUID,
    data: SolutionPatch,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> SolutionOut:
    """Edit your solution; ``If-Match`` with the ETag you read is required."""
    solution = service.update_solution(
        session, principal=principal, solution_id=solution_id, data=data, if_match=if_match
    )
    set_etag(response, solution.version)
    return service.to_out(solution)


add_status_routes(
    router,
    item="solution",
    change=service.change_status,
    to_out=service.to_out,
    response_model=SolutionOut,
)


@router.delete("/{solution_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_solution(
    solution_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> None:
    """Delete a draft that was never needed; published solutions are archived instead."""
    service.delete_solution(session, principal=principal, solution_id=solution_id)
