"""Routes for engagements (项目): plan, milestones, delivery, 验收, completion, cancellation,
post-award price changes and the subsidy record.

Every route acting on an engagement takes any logged-in caller; ``market.engagements.service``
answers 404 to non-parties, 403 to the wrong party and 409 to a state that forbids the action.
Responses carrying the engagement send its ETag; the plan edit requires ``If-Match``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from core.concurrency import IfMatch, set_etag
from core.deps import CuratorPrincipal, CurrentPrincipal, DbSession, Principal
from core.pagination import Page, PageParams, page_params
from market import idempotency
from market.engagements import service
from market.engagements.models import Engagement
from market.engagements.schemas import (
    AcceptanceIn,
    ChangeRequestIn,
    ChangeRequestOut,
    EngagementOut,
    EngagementPatch,
    EngagementSummaryOut,
    NoteIn,
    OptionalReasonIn,
    ReasonIn,
    SubsidyDecisionIn,
    SubsidyIn,
    SubsidyOut,
)
from market.idempotency import IdempotencyKeyHeader

router = APIRouter(prefix="/api/v1", tags=["engagements"])

EngagementStatus = Literal["active", "delivered", "accepted", "completed", "cancelled"]
SubsidyStatus = Literal["applied", "approved", "paid", "rejected"]


def _out(session: Session, engagement: Engagement, response: Response) -> EngagementOut:
    out = service.to_out(session, engagement)
    set_etag(response, out.version)
    return out


@router.get("/engagements", response_model=Page[EngagementSummaryOut])
def list_engagements(
    principal: CurrentPrincipal,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
    status_: Annotated[EngagementStatus | None, Query(alias="status")] = None,
) -> Page[EngagementSummaryOut]:
    """Your organisation's engagements, as SME or as provider. Sort by created_at (default,
    newest first), start_date or title."""
    items, total = service.list_engagements(
        session, principal=principal, status=status_, params=params
    )
    return Page(items=items, total=total, page=params.page, size=params.size)


@router.get("/engagements/{engagement_id}", response_model=EngagementOut)
def get_engagement(
    engagement_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, response: Response
) -> EngagementOut:
    engagement, _ = service.get_for_party(session, principal=principal, engagement_id=engagement_id)
    return _out(session, engagement, response)


@router.patch("/engagements/{engagement_id}", response_model=EngagementOut)
def update_plan(
    engagement_id: uuid.UUID,
    data: EngagementPatch,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> EngagementOut:
    """SME: contract reference, baseline and target KPIs (设备联网率, 数控化率, 合格率,
    单位产值能耗 …) and the MIIT maturity level before. Only while active: the baseline is fixed
    before delivery. Send ``If-Match``."""
    engagement = service.update_plan(
        session, principal=principal, engagement_id=engagement_id, data=data, if_match=if_match
    )
    return _out(session, engagement, response)


# --- milestones ----------------------------------------------------------------------------------


@router.post(
    "/engagements/{engagement_id}/milestones/{milestone_id}/submit", response_model=EngagementOut
)
def submit_milestone(
    engagement_id: uuid.UUID,
    milestone_id: uuid.UUID,
    data: NoteIn,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
) -> EngagementOut:
    """Provider: hand in a milestone (again after a rejection)."""
    engagement = service.submit_milestone(
        session,
        principal=principal,
        engagement_id=engagement_id,
        milestone_id=milestone_id,
        note=data.note,
    )
    return _out(session, engagement, response)


@router.post(
    "/engagements/{engagement_id}/milestones/{milestone_id}/accept", response_model=EngagementOut
)
def accept_milestone(
    engagement_id: uuid.UUID,
    milestone_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
) -> EngagementOut:
    engagement = service.decide_milestone(
        session,
        principal=principal,
        engagement_id=engagement_id,
        milestone_id=milestone_id,
        accept=True,
        reason="",
    )
    return _out(session, engagement, response)


@router.post(
    "/engagements/{engagement_id}/milestones/{milestone_id}/reject", response_model=EngagementOut
)
def reject_milestone(
    engagement_id: uuid.UUID,
    milestone_id: uuid.UUID,
    data: ReasonIn,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
) -> EngagementOut:
    engagement = service.decide_milestone(
        session,
        principal=principal,
        engagement_id=engagement_id,
        milestone_id=milestone_id,
        accept=False,
        reason=data.reason,
    )
    return _out(session, engagement, response)


# --- delivery, 验收, completion, cancellation ----------------------------------------------------


@router.post("/engagements/{engagement_id}/deliver", response_model=EngagementOut)
def deliver(
    engagement_id: uuid.UUID,
    data: NoteIn,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
) -> EngagementOut:
    """Provider: declare delivery once every milestone is submitted or accepted."""
    engagement = service.deliver(
        session, principal=principal, engagement_id=engagement_id, note=data.note
    )
    return _out(session, engagement, response)


@router.post("/engagements/{engagement_id}/reject-delivery", response_model=EngagementOut)
def reject_delivery(
    engagement_id: uuid.UUID,
    data: ReasonIn,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
) -> EngagementOut:
    """SME: send the delivery back (the engagement is active again) with a reason."""
    engagement = service.reject_delivery(
        session, principal=principal, engagement_id=engagement_id, reason=data.reason
    )
    return _out(session, engagement, response)


@router.post("/engagements/{engagement_id}/accept", response_model=EngagementOut)
def accept_delivery(
    engagement_id: uuid.UUID,
    data: AcceptanceIn,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
) -> EngagementOut:
    """SME: 验收 — record every planned KPI as measured and the maturity level after. Needs every
    milestone accepted and no price change pending."""
    engagement = service.accept_delivery(
        session, principal=principal, engagement_id=engagement_id, data=data
    )
    return _out(session, engagement, response)


@router.post("/engagements/{engagement_id}/complete", response_model=EngagementOut)
def complete(
    engagement_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, response: Response
) -> EngagementOut:
    """SME: close the accepted engagement (final payment made)."""
    engagement = service.complete(session, principal=principal, engagement_id=engagement_id)
    return _out(session, engagement, response)


@router.post("/engagements/{engagement_id}/cancel", response_model=EngagementOut)
def cancel(
    engagement_id: uuid.UUID,
    data: ReasonIn,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
) -> EngagementOut:
    """Either party: cancel an active or delivered engagement with a reason."""
    engagement = service.cancel(
        session, principal=principal, engagement_id=engagement_id, reason=data.reason
    )
    return _out(session, engagement, response)


# --- price changes -------------------------------------------------------------------------------


@router.get("/engagements/{engagement_id}/change-requests", response_model=list[ChangeRequestOut])
def list_changes(
    engagement_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[ChangeRequestOut]:
    rows = service.list_changes(session, principal=principal, engagement_id=engagement_id)
    return [service.change_out(row) for row in rows]


@router.post(
    "/engagements/{engagement_id}/change-requests",
    status_code=status.HTTP_201_CREATED,
    response_model=ChangeRequestOut,
)
def propose_change(
    engagement_id: uuid.UUID,
    data: ChangeRequestIn,
    principal: CurrentPrincipal,
    session: DbSession,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Provider: propose a new contract value and milestone amounts. After award, no price
    changes without the SME's consent: nothing applies until the SME accepts."""

    def act() -> tuple[ChangeRequestOut, dict[str, str]]:
        change = service.propose_change(
            session, principal=principal, engagement_id=engagement_id, data=data
        )
        return service.change_out(change), {}

    return idempotency.run(
        session,
        principal=principal,
        key=idempotency_key,
        endpoint="POST /api/v1/engagements/{engagement_id}/change-requests",
        path={"engagement_id": engagement_id},
        body=data,
        status_code=status.HTTP_201_CREATED,
        action=act,
    )


def _decide_change(
    session: Session,
    principal: Principal,
    engagement_id: uuid.UUID,
    change_id: uuid.UUID,
    action: Literal["accept", "reject", "withdraw"],
    reason: str,
) -> ChangeRequestOut:
    change = service.decide_change(
        session,
        principal=principal,
        engagement_id=engagement_id,
        change_id=change_id,
        action=action,
        reason=reason,
    )
    return service.change_out(change)


@router.post(
    "/engagements/{engagement_id}/change-requests/{change_id}/accept",
    response_model=ChangeRequestOut,
)
def accept_change(
    engagement_id: uuid.UUID,
    change_id: uuid.UUID,
    data: OptionalReasonIn,
    principal: CurrentPrincipal,
    session: DbSession,
) -> ChangeRequestOut:
    """SME: consent to the new price; the contract value, milestone amounts and funding split
    are updated."""
    return _decide_change(session, principal, engagement_id, change_id, "accept", data.reason)


@router.post(
    "/engagements/{engagement_id}/change-requests/{change_id}/reject",
    response_model=ChangeRequestOut,
)
def reject_change(
    engagement_id: uuid.UUID,
    change_id: uuid.UUID,
    data: ReasonIn,
    principal: CurrentPrincipal,
    session: DbSession,
) -> ChangeRequestOut:
    return _decide_change(session, principal, engagement_id, change_id, "reject", data.reason)


@router.post(
    "/engagements/{engagement_id}/change-requests/{change_id}/withdraw",
    response_model=ChangeRequestOut,
)
def withdraw_change(
    engagement_id: uuid.UUID,
    change_id: uuid.UUID,
    data: OptionalReasonIn,
    principal: CurrentPrincipal,
    session: DbSession,
) -> ChangeRequestOut:
    """Provider: take back a proposal the SME has not decided yet."""
    return _decide_change(session, principal, engagement_id, change_id, "withdraw", data.reason)


# --- subsidy -------------------------------------------------------------------------------------


@router.get("/engagements/{engagement_id}/subsidy", response_model=SubsidyOut)
def get_subsidy(
    engagement_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> SubsidyOut:
    """The parties and the curators of the engagement's pool."""
    record = service.get_subsidy(session, principal=principal, engagement_id=engagement_id)
    return service.subsidy_out(record)


@router.post(
    "/engagements/{engagement_id}/subsidy",
    status_code=status.HTTP_201_CREATED,
    response_model=SubsidyOut,
)
def apply_subsidy(
    engagement_id: uuid.UUID,
    data: SubsidyIn,
    principal: CurrentPrincipal,
    session: DbSession,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """SME: record the subsidy application (reference, amount up to the engagement's ceiling)
    when its pool runs a programme."""

    def act() -> tuple[SubsidyOut, dict[str, str]]:
        record = service.apply_subsidy(
            session, principal=principal, engagement_id=engagement_id, data=data
        )
        return service.subsidy_out(record), {}

    return idempotency.run(
        session,
        principal=principal,
        key=idempotency_key,
        endpoint="POST /api/v1/engagements/{engagement_id}/subsidy",
        path={"engagement_id": engagement_id},
        body=data,
        status_code=status.HTTP_201_CREATED,
        action=act,
    )


@router.post("/engagements/{engagement_id}/subsidy/decision", response_model=SubsidyOut)
def decide_subsidy(
    engagement_id: uuid.UUID,
    data: SubsidyDecisionIn,
    principal: CurrentPrincipal,
    session: DbSession,
) -> SubsidyOut:
    """Curators of the pool: approve (optionally a lower amount), reject with a reason, or mark
    paid — only after 验收, since subsidies go where results are shown. Audited."""
    record = service.decide_subsidy(
        session, principal=principal, engagement_id=engagement_id, data=data
    )
    return service.subsidy_out(record)


@router.get(
    "/pools/{pool_id}/subsidies", response_model=Page[SubsidyOut], tags=["engagements", "pools"]
)
def list_pool_subsidies(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
    status_: Annotated[SubsidyStatus | None, Query(alias="status")] = None,
) -> Page[SubsidyOut]:
    """The pool's subsidy applications, for its curators."""
    rows, total = service.list_pool_subsidies(
        session, principal=principal, pool_id=pool_id, status=status_, params=params
    )
    return Page(
        items=[service.subsidy_out(row) for row in rows],
        total=total,
        page=params.page,
        size=params.size,
    )
