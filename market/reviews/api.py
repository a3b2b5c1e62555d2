"""Routes for reviews: the SME's review of a completed engagement, the provider's reply, the
curators' queue and decisions, and every provider's public reviews with its trust summary."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from core.deps import CuratorPrincipal, CurrentPrincipal, DbSession
from core.pagination import Page, PageParams, page_params
from market.reviews import service
from market.reviews.schemas import (
    DecisionIn,
    ProviderReviewsOut,
    ReplyIn,
    ReviewIn,
    ReviewOut,
)

router = APIRouter(prefix="/api/v1", tags=["reviews"])


@router.get("/providers/{provider_id}/reviews", response_model=ProviderReviewsOut)
def provider_reviews(
    provider_id: uuid.UUID,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
) -> ProviderReviewsOut:
    """Anyone: the provider's published reviews (newest first) with their measured outcomes and
    replies, and its trust summary (Bayesian, time-decayed score; effective number of reviews;
    the 高评分 badge)."""
    return service.provider_reviews(session, provider_id=provider_id, params=params)


@router.post(
    "/engagements/{engagement_id}/review",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewOut,
)
def create_review(
    engagement_id: uuid.UUID, data: ReviewIn, principal: CurrentPrincipal, session: DbSession
) -> ReviewOut:
    """SME party of a completed engagement, once: five dimensions and the overall rating (1–5),
    a text and optional private feedback for curators. The engagement's measured KPI deltas and
    maturity levels are attached. Related parties' reviews are held for a curator."""
    review = service.create_review(
        session, principal=principal, engagement_id=engagement_id, data=data
    )
    return service.to_out(session, review, view="author")


@router.get("/engagements/{engagement_id}/review", response_model=ReviewOut)
def get_engagement_review(
    engagement_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> ReviewOut:
    """Either party: the engagement's review, with its status. Private feedback is shown to the
    SME side only."""
    review, side = service.get_for_engagement(
        session, principal=principal, engagement_id=engagement_id
    )
    return service.to_out(session, review, view="author" if side == "sme" else "provider")


@router.post("/reviews/{review_id}/reply", response_model=ReviewOut)
def reply(
    review_id: uuid.UUID, data: ReplyIn, principal: CurrentPrincipal, session: DbSession
) -> ReviewOut:
    """The reviewed provider: one public reply to a published review."""
    review = service.reply(session, principal=principal, review_id=review_id, data=data)
    return service.to_out(session, review, view="provider")


@router.get("/reviews/queue", response_model=Page[ReviewOut])
def review_queue(
    principal: CuratorPrincipal,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[ReviewOut]:
    """Curators (of pools the providers are in) and admins: held and burst-flagged reviews,
    oldest first, with private feedback and the reasons they wait."""
    rows, total = service.queue(session, principal=principal, params=params)
    return Page(
        items=service.to_outs(session, rows, view="curator"),
        total=total,
        page=params.page,
        size=params.size,
    )


@router.post("/reviews/{review_id}/decision", response_model=ReviewOut)
def decide(
    review_id: uuid.UUID, data: DecisionIn, principal: CuratorPrincipal, session: DbSession
) -> ReviewOut:
    """Curators of a pool the provider is in, and admins: publish a held review (or clear a
    flagged one's flag) or reject it, with a reason. Audited."""
    review = service.decide(session, principal=principal, review_id=review_id, data=data)
    return service.to_out(session, review, view="curator")
