"""Reviews of providers, one per completed engagement, and the state machine they move through.

A review is born ``published``, or ``held`` when the SME and the provider look related (see
``market.reviews.rules``); a curator publishes or rejects a held review. A published review
that arrived in a burst for its provider carries the ``burst`` flag: it is on show but weighs
nothing in the provider's trust until a curator clears the flag (or rejects the review).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, new_id, utcnow
from market.engagements.models import Machine, in_sql

REVIEW = Machine.of(
    "review",
    {
        "publish": ("held", "published"),
        "clear_flags": ("published", None),
        "reject": ("held published", "rejected"),
        "reply": ("published", None),
    },
)
# The rating dimensions, each 1–5, in the order forms and pages show them.
DIMENSIONS: tuple[str, ...] = ("quality", "schedule", "cost_value", "service", "recommend")


def _rating_check(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} BETWEEN 1 AND 5", name=f"{column}_range")


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint(in_sql("status", REVIEW.states), name="status"),
        *(_rating_check(name) for name in (*DIMENSIONS, "overall")),
        Index("ix_reviews_provider_status_published", "provider_id", "status", "published_at"),
        Index("ix_reviews_status_created", "status", "created_at"),
        Index("ix_reviews_flagged", "flagged"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # Unique: the database's own guard behind "one review per engagement".
    engagement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE"), unique=True
    )
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    provider_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    sme_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    author_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    quality: Mapped[int]
    schedule: Mapped[int]
    cost_value: Mapped[int]
    service: Mapped[int]
    recommend: Mapped[int]
    overall: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    # For curators only: never shown to the provider or the public.
    private_feedback: Mapped[str] = mapped_column(Text, default="")
    # Copied from the engagement at review time: KPI deltas and maturity before/after.
    outcomes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="published")
    # Why the review waits for a curator (related-party rules), e.g. ["same_organisation_code"].
    hold_reasons: Mapped[list[str]] = mapped_column(default=list)
    # Signals on a published review, e.g. ["burst"]; a flagged review carries no trust weight.
    flags: Mapped[list[str]] = mapped_column(default=list)
    # True while ``flags`` waits for a curator: the queue's index, which JSON cannot give.
    flagged: Mapped[bool] = mapped_column(default=False)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    reply_text: Mapped[str | None] = mapped_column(Text)
    replied_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    replied_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the review went on show; its age in the trust score counts from here.
    published_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
