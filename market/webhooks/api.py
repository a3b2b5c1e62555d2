"""Routes of an organisation's webhook endpoints and their delivery log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from core.deps import CurrentPrincipal, DbSession
from core.pagination import Page, PageParams, page_params
from market.webhooks import service
from market.webhooks.schemas import DeliveryOut, EndpointCreatedOut, EndpointIn, EndpointOut

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EndpointCreatedOut)
def register(
    data: EndpointIn, principal: CurrentPrincipal, session: DbSession
) -> EndpointCreatedOut:
    """Register an https (or http) endpoint on a public address for the chosen event families.
    The signing secret is in this response only; store it with your receiver."""
    endpoint = service.register(session, principal=principal, data=data)
    return EndpointCreatedOut.model_validate(endpoint)


@router.get("", response_model=list[EndpointOut])
def list_endpoints(principal: CurrentPrincipal, session: DbSession) -> list[EndpointOut]:
    return [
        EndpointOut.model_validate(e) for e in service.list_endpoints(session, principal=principal)
    ]


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(endpoint_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> Response:
    service.delete(session, principal=principal, endpoint_id=endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/deliveries", response_model=Page[DeliveryOut])
def deliveries(
    principal: CurrentPrincipal,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
    endpoint_id: uuid.UUID | None = None,
) -> Page[DeliveryOut]:
    """Your organisation's deliveries, newest first: status, attempts, last answer."""
    rows, total = service.deliveries(
        session, principal=principal, endpoint_id=endpoint_id, params=params
    )
    return Page(
        items=[DeliveryOut.model_validate(r) for r in rows],
        total=total,
        page=params.page,
        size=params.size,
    )
