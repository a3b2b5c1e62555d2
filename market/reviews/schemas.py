"""Request and response bodies for reviews, replies, curator decisions and provider trust."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from core.schemas import InputModel, OutputModel

Rating = Annotated[int, Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")]
ReviewText = Annotated[str, StringConstraints(min_length=10, max_length=4000)]
ReplyText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class ReviewIn(InputModel):
    """The SME's review of a completed engagement; the measured outcomes are attached for it."""

    quality: Rating
    schedule: Rating
    cost_value: Rating
    service: Rating
    recommend: Rating = Field(description="willingness to recommend, 1–5")
    overall: Rating
    text: ReviewText
    private_feedback: str = Field(
        default="", max_length=4000, description="seen by the pool's curators only"
    )


class ReplyIn(InputModel):
    text: ReplyText


class DecisionIn(InputModel):
    """A curator's decision on a held or flagged review: publish (or clear the flag) or reject."""

    decision: Literal["publish", "reject"]
    reason: Reason


class KpiOutcomeOut(OutputModel):
    name: str
    unit: str
    direction: str
    baseline: float | None
    measured: float | None
    # measured − baseline, and whether that moved the way the KPI counts as better.
    delta: float | None
    improved: bool | None


class OutcomesOut(OutputModel):
    kpis: list[KpiOutcomeOut]
    maturity_before: int | None
    maturity_after: int | None
    maturity_delta: int | None


class ReplyOut(OutputModel):
    text: str
    replied_at: datetime


class ReviewOut(OutputModel):
    """One review. ``private_feedback`` is filled for its author and curators only;
    ``hold_reasons``, ``flags`` and the decision for curators only; both are null otherwise."""

    id: uuid.UUID
    engagement_id: uuid.UUID | None
    provider_id: uuid.UUID
    category: str | None
    quality: int
    schedule: int
    cost_value: int
    service: int
    recommend: int
    overall: int
    text: str
    outcomes: OutcomesOut
    status: str
    reply: ReplyOut | None
    created_at: datetime
    published_at: datetime | None
    private_feedback: str | None = None
    hold_reasons: list[str] | None = None
    flags: list[str] | None = None
    decision_reason: str | None = None
    sme_name: str | None = None
    provider_name: str | None = None
    next_actions: list[str] = []


class TrustOut(OutputModel):
    """A provider's trust from its published reviews (see README, "Ratings and reviews")."""

    provider_id: uuid.UUID
    review_count: int
    # Bayesian average R̃ on the 1–5 scale, time-decayed; exactly prior_mean without reviews.
    score: float
    effective_reviews: float
    positive_share: float
    wilson_lower_bound: float
    high_rating_badge: bool
    badge_threshold: float
    prior_mean: float
    prior_weight: float
    half_life_days: float
    # Plain means of each dimension over the published reviews; null without reviews.
    dimensions: dict[str, float | None]


class ProviderReviewsOut(OutputModel):
    trust: TrustOut
    items: list[ReviewOut]
    total: int
    page: int
    size: int
