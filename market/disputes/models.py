"""Disputes, their message thread and their evidence files.

A dispute belongs to one engagement and is mediated by the curators of the pool the work came
through. Its state machine is the one rule both the service and the pages follow:

* ``open`` — the parties and the mediator talk; the mediator may put a proposal forward.
* ``proposed`` — a resolution is on the table; each party accepts or rejects it. Both accepting
  settles the dispute (``resolved``); one rejecting sends it back to ``open``.
* ``resolved``, ``withdrawn`` (by the party who opened it) and ``closed`` (the mediator decided,
  or closed it without agreement) are final, each with its outcome and reason.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, new_id, utcnow
from market.engagements.models import Machine, in_sql

DISPUTE = Machine.of(
    "dispute",
    {
        "message": ("open proposed", None),
        "add_evidence": ("open proposed", None),
        "propose": ("open proposed", "proposed"),
        "accept_proposal": ("proposed", None),
        "reject_proposal": ("proposed", "open"),
        "settle": ("proposed", "resolved"),
        "withdraw": ("open proposed", "withdrawn"),
        "close": ("open proposed", "closed"),
    },
)
LIVE_STATES = ("open", "proposed")
CATEGORIES = ("quality", "delay", "scope", "payment", "acceptance", "conduct", "other")
OUTCOMES = ("resolved_by_agreement", "withdrawn", "decided", "closed_without_agreement")
RESPONSES = ("", "accepted", "rejected")
SIDES = ("sme", "provider")


class Dispute(Base):
    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint(in_sql("status", DISPUTE.states), name="status"),
        CheckConstraint(in_sql("category", CATEGORIES), name="category"),
        CheckConstraint(in_sql("opened_by_side", SIDES), name="side"),
        CheckConstraint(f"outcome IS NULL OR {in_sql('outcome', OUTCOMES)}", name="outcome"),
        CheckConstraint(in_sql("sme_response", RESPONSES), name="sme_response"),
        CheckConstraint(in_sql("provider_response", RESPONSES), name="provider_response"),
        # One live dispute per engagement, even when both parties open one at the same moment.
        Index(
            "uq_disputes_one_live",
            "engagement_id",
            unique=True,
            sqlite_where=text("status IN ('open', 'proposed')"),
            postgresql_where=text("status IN ('open', 'proposed')"),
        ),
        Index("ix_disputes_pool_status", "pool_id", "status"),
        Index("ix_disputes_provider_status", "provider_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    engagement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE")
    )
    # The pool whose curators mediate; None leaves mediation to platform admins.
    pool_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("pools.id"))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    sme_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    provider_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    opened_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    opened_by_side: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    proposal: Mapped[str] = mapped_column(Text, default="")
    proposed_at: Mapped[datetime | None]
    sme_response: Mapped[str] = mapped_column(String(16), default="")
    provider_response: Mapped[str] = mapped_column(String(16), default="")
    outcome: Mapped[str | None] = mapped_column(String(32))
    outcome_reason: Mapped[str] = mapped_column(Text, default="")
    closed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class DisputeMessage(Base):
    """One entry of the thread: a message, or the record of a proposal, response or outcome."""

    __tablename__ = "dispute_messages"
    __table_args__ = (Index("ix_dispute_messages_dispute_at", "dispute_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dispute_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("disputes.id", ondelete="CASCADE"))
    author_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # "sme", "provider" or "mediator": how the thread labels the author.
    author_side: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default="message")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DisputeEvidence(Base):
    """A file a party put forward; the bytes live in the evidence store under ``storage_key``."""

    __tablename__ = "dispute_evidence"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dispute_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("disputes.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    side: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
