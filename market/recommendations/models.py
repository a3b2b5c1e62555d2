"""Stored recommendation lists and the curators' per-pool weight overrides.

Every list the engine returns is stored, one row per list and one per shown result, so that
exposure can be audited (who was shown to whom, at which rank, under which weights) and later
outcomes (quote requests, engagements) can be linked back to the list that led to them.

Results name providers and solutions by id without foreign keys, like the audit trail does: a
stored list is a record of what was shown at the time and must outlive a solution that is later
deleted. The need id is kept the same way; ``need_id`` is null for an ad-hoc (anonymous) match.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.database import Base, new_id, utcnow

SOURCES = ("need", "adhoc")


class RecommendationList(Base):
    """One answer of the engine to one request, with everything needed to replay or audit it."""

    __tablename__ = "recommendation_lists"
    __table_args__ = (
        CheckConstraint("source IN ('need', 'adhoc')", name="source"),
        Index("ix_recommendation_lists_need_created", "need_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(8))
    need_id: Mapped[uuid.UUID | None]
    # Null for an anonymous ad-hoc match.
    requester_org_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    requester_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # The SME's region (GB/T 2260) as the engine saw it: exposure statistics per pool count
    # the lists asked from within the pool's jurisdiction.
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    engine_version: Mapped[str] = mapped_column(String(40))
    weights_fingerprint: Mapped[str] = mapped_column(String(16))
    # The pool whose curators' weight overrides were in force, if any.
    weights_pool_id: Mapped[uuid.UUID | None]
    text_mode: Mapped[str] = mapped_column(String(32))
    k: Mapped[int]
    prefer_local: Mapped[bool]
    # The need exactly as handed to the engine (matching.Need fields), so the list can be
    # replayed and a "why not" asked later against the same request.
    request: Mapped[dict[str, Any]]
    # [{step, constraint, zh, en, remaining_before, remaining_after}]
    relaxations: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    # Excluded solutions per first failing rule.
    excluded: Mapped[dict[str, Any]] = mapped_column(default=dict)
    candidates: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    results: Mapped[list[RecommendationResult]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="RecommendationResult.rank"
    )


class RecommendationResult(Base):
    """One shown result of a list: rank, score and the per-feature contributions."""

    __tablename__ = "recommendation_results"
    __table_args__ = (
        CheckConstraint("rank >= 1", name="rank"),
        # The exposure window sums these per provider over a date range: a range scan of this
        # index that never touches the table rows for the grouping column.
        Index("ix_recommendation_results_shown_provider", "shown_at", "provider_id"),
    )

    list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("recommendation_lists.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[uuid.UUID]
    solution_id: Mapped[uuid.UUID]
    score: Mapped[float]
    # 1 / log2(1 + rank), stored so the rolling window is a plain SUM.
    exposure_weight: Mapped[float]
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {"zh", "en", "caveats": [{"zh", "en"}]} exactly as shown, so a stored list reads back
    # as the SME saw it even after the catalogue has moved on.
    explanation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    exploration: Mapped[bool] = mapped_column(default=False)
    # Copied from the list so the exposure window needs no join.
    shown_at: Mapped[datetime] = mapped_column(default=utcnow)


class PoolMatchingWeights(Base):
    """A pool's curators' overrides of the engine's weights (see service.effective_weights)."""

    __tablename__ = "pool_matching_weights"

    pool_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pools.id", ondelete="CASCADE"), primary_key=True
    )
    # Name → value, validated by matching.Weights.with_overrides before it is stored.
    overrides: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
