"""Routes for re-reviews (复核) of listings and the material changes providers report."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from catalog.pools import (
    changes,
    rereview,
)
from catalog.pools.schemas import (
    ChangeIn,
    ChangeOut,
    ChangeReviewIn,
    ExpiryOut,
    ReasonIn,
    RereviewDecisionIn,
    RereviewOut,
    ReviewersIn,
    ScoreIn,
)
from core.deps import (
    CuratorPrincipal,
    CurrentPrincipal,
    DbSession,
    ProviderPrincipal,
)

router = APIRouter(prefix="/api/v1", tags=["pools"])


# --- re-review ---------------------------------------------------------------------------------


@router.post(
    "/applications/{application_id}/rereviews",
    status_code=status.HTTP_201_CREATED,
    response_model=RereviewOut,
)
def request_rereview(
    application_id: uuid.UUID, data: ReasonIn, principal: CuratorPrincipal, session: DbSession
) -> RereviewOut:
    """Re-review (复审) a listing on demand; it stays as it is until the round is decided."""
    round_, loaded = rereview.request_rereview(
        session, principal=principal, application_id=application_id, reason=data.reason
    )
    return rereview.round_out(round_, loaded, "curator")


@router.get("/applications/{application_id}/rereviews", response_model=list[RereviewOut])
def application_rereviews(
    application_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[RereviewOut]:
    return rereview.rounds_of(session, principal=principal, application_id=application_id)


@router.get("/rereviews/{rereview_id}", response_model=RereviewOut)
def get_rereview(
    rereview_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> RereviewOut:
    """A round for the pool's curators, its assigned reviewers and the provider."""
    return rereview.get_round(session, principal=principal, rereview_id=rereview_id)


@router.post("/rereviews/{rereview_id}/reviewers", response_model=RereviewOut)
def assign_rereviewers(
    rereview_id: uuid.UUID, data: ReviewersIn, principal: CuratorPrincipal, session: DbSession
) -> RereviewOut:
    round_, loaded = rereview.assign(
        session, principal=principal, rereview_id=rereview_id, data=data
    )
    return rereview.round_out(round_, loaded, "curator")


@router.post("/rereviews/{rereview_id}/score", response_model=RereviewOut)
def score_rereview(
    rereview_id: uuid.UUID, data: ScoreIn, principal: CuratorPrincipal, session: DbSession
) -> RereviewOut:
    """Score the round's scorecard (assigned reviewers); ``no_conflict: false`` records a
    conflict of interest instead."""
    round_, loaded = rereview.score(
        session, principal=principal, rereview_id=rereview_id, data=data
    )
    return rereview.round_out(round_, loaded, "reviewer", user_id=principal.user_id)


@router.post("/rereviews/{rereview_id}/decision", response_model=RereviewOut)
def decide_rereview(
    rereview_id: uuid.UUID,
    data: RereviewDecisionIn,
    principal: CuratorPrincipal,
    session: DbSession,
) -> RereviewOut:
    """Pass (new star rating from this round, validity renewed) or fail (removal)."""
    round_, loaded = rereview.decide(
        session, principal=principal, rereview_id=rereview_id, data=data
    )
    return rereview.round_out(round_, loaded, "curator")


@router.post("/pools/{pool_id}/expire-due", response_model=ExpiryOut)
def expire_due(pool_id: uuid.UUID, principal: CuratorPrincipal, session: DbSession) -> ExpiryOut:
    """Expire the pool's listings whose validity ended and open their re-reviews (the
    scheduler does the same for all pools)."""
    return rereview.expire_due_for_pool(session, principal=principal, pool_id=pool_id)


# --- reported changes --------------------------------------------------------------------------


@router.post("/changes", status_code=status.HTTP_201_CREATED, response_model=ChangeOut)
def report_change(data: ChangeIn, principal: ProviderPrincipal, session: DbSession) -> ChangeOut:
    """Report a material change (name, credit code, key certificate); every pool you are in
    or applying to reviews it, and your listings show "change under review" meanwhile."""
    return changes.report_change(session, principal=principal, data=data)


@router.get("/changes/mine", response_model=list[ChangeOut])
def my_changes(principal: ProviderPrincipal, session: DbSession) -> list[ChangeOut]:
    return changes.my_changes(session, principal=principal)


@router.get("/pools/{pool_id}/changes", response_model=list[ChangeOut])
def pool_changes(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    review_status: Annotated[str | None, Query(alias="status", max_length=16)] = None,
) -> list[ChangeOut]:
    """Changes reported by the pool's providers, with this pool's review of each."""
    return changes.pool_changes(session, principal=principal, pool_id=pool_id, status=review_status)


@router.post("/applications/{application_id}/changes/{change_id}/review", response_model=ChangeOut)
def review_change(
    application_id: uuid.UUID,
    change_id: uuid.UUID,
    data: ChangeReviewIn,
    principal: CuratorPrincipal,
    session: DbSession,
) -> ChangeOut:
    """Confirm the listing stands after the change, or open a re-review of it."""
    return changes.review_change(
        session,
        principal=principal,
        application_id=application_id,
        change_id=change_id,
        data=data,
    )
