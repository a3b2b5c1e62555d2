"""Quote requests (询价), their invitations and Q&A, quotes with their revisions, and the market
settings a pool's curators give their pool.

Quotes are never edited: every revision is a new row, so the history an SME compared is kept
exactly as it was offered. Status changes that decide who wins (accept, close) are conditional
UPDATEs in the service, not version counters, because losing that race must be a clear 409.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, new_id, utcnow
from market.engagements.models import Machine, in_sql

# RFQ: born ``open``; ``closed`` when a quote is accepted; ``expired`` once the deadline has
# passed with nothing left to accept; ``cancelled`` by the SME with a reason.
RFQ = Machine.of(
    "rfq",
    {
        "invite": ("open", None),
        "extend": ("open", None),
        # Providers quote, decline and talk only while the RFQ is open.
        "respond": ("open", None),
        "accept": ("open", "closed"),
        "cancel": ("open", "cancelled"),
        "expire": ("open", "expired"),
    },
)

# Invitation: one provider's seat in one RFQ. ``quote`` again while ``quoted`` is a revision.
# ``closed``: the RFQ ended without this invitation winning (another award, cancel, expiry).
INVITATION = Machine.of(
    "invitation",
    {
        "quote": ("invited quoted", "quoted"),
        "decline": ("invited quoted", "declined"),
        "message": ("invited quoted", None),
        "expire": ("invited", "expired"),
        "award": ("quoted", "awarded"),
        "close": ("invited quoted", "closed"),
    },
)
# Invitations still in the running: they receive the RFQ's news and block nothing.
LIVE_INVITATIONS = ("invited", "quoted")

# Quote revision: only the latest ``submitted`` revision of an invitation can be accepted.
QUOTE = Machine.of(
    "quote",
    {
        "revise": ("submitted", "superseded"),
        "accept": ("submitted", "accepted"),
        "withdraw": ("submitted", "withdrawn"),
        "close": ("submitted", "not_selected"),
        "explain_cost": ("submitted accepted", None),
    },
)


class MarketPoolSettings(Base):
    """Market rules a pool's curators set for RFQs run under their pool.

    A table of its own keyed by pool id rather than columns on ``pools``: the pool model belongs
    to the catalog, and these rules belong to the market. No row means the defaults.
    """

    __tablename__ = "market_pool_settings"
    __table_args__ = (
        CheckConstraint("invitation_cap BETWEEN 1 AND 20", name="invitation_cap"),
        CheckConstraint("subsidy_rate_bp BETWEEN 0 AND 10000", name="subsidy_rate"),
        CheckConstraint("subsidy_cap_fen IS NULL OR subsidy_cap_fen >= 0", name="subsidy_cap"),
    )

    pool_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pools.id", ondelete="CASCADE"), primary_key=True
    )
    invitation_cap: Mapped[int] = mapped_column(default=5)
    # The programme's name as SMEs know it, e.g. 常州市智改数转专项资金; empty when none.
    subsidy_programme: Mapped[str] = mapped_column(String(200), default="")
    # Share of (list − provider concession) the government pays, in basis points (1/10000).
    subsidy_rate_bp: Mapped[int] = mapped_column(default=0)
    # The most one engagement can receive; None means no ceiling.
    subsidy_cap_fen: Mapped[int | None] = mapped_column(BigInteger)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class Rfq(Base):
    """An SME's request for quotes on one of its needs, sent to a capped set of providers."""

    __tablename__ = "rfqs"
    __table_args__ = (
        CheckConstraint(in_sql("status", RFQ.states), name="status"),
        Index("ix_rfqs_sme_created", "sme_org_id", "created_at"),
        Index("ix_rfqs_status_deadline", "status", "deadline"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # The need may be deleted later; the RFQ keeps its snapshot and outlives it.
    need_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("needs.id", ondelete="SET NULL"), index=True
    )
    sme_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # The pool whose programme the RFQ runs under: its invitation cap, its subsidy, its
    # curators' oversight. None: an RFQ to any listed provider, with the default cap.
    pool_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("pools.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    # The need's primary capability (first must, else first nice-to-have).
    category: Mapped[str | None] = mapped_column(String(60))
    # The need as it was sent: invited providers quote on this, and read it without the need
    # being shared with them.
    need_snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="open")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RfqInvitation(Base):
    __tablename__ = "rfq_invitations"
    __table_args__ = (
        CheckConstraint(in_sql("status", INVITATION.states), name="status"),
        UniqueConstraint("rfq_id", "provider_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    rfq_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rfqs.id", ondelete="CASCADE"))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="invited")
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    invited_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class Quote(Base):
    """One revision of one provider's quote. Money in integer fen throughout."""

    __tablename__ = "quotes"
    __table_args__ = (
        CheckConstraint(in_sql("status", QUOTE.states), name="status"),
        CheckConstraint("revision >= 1", name="revision"),
        UniqueConstraint("invitation_id", "revision"),
        Index("ix_quotes_rfq_status", "rfq_id", "status"),
        Index("ix_quotes_flagged", "abnormally_low", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    invitation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rfq_invitations.id", ondelete="CASCADE")
    )
    # Copied from the invitation so comparison and oversight queries need no join.
    rfq_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rfqs.id", ondelete="CASCADE"))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    revision: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    scope: Mapped[str] = mapped_column(Text)
    # [{description, quantity (decimal string), unit, unit_price_fen, amount_fen}]
    line_items: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    pricing_model: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    amount_unit: Mapped[str] = mapped_column(String(40))
    one_off_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    recurring_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    recurring_months: Mapped[int | None]
    # Model-specific terms (buyout, metered estimate, outcome share); see market.rfqs.tco.
    terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The provider's concession (让利) for the programme: 服务商让一点.
    concession_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # [{title, deliverable, amount_fen, due_in_days, due_date}]
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    valid_until: Mapped[date] = mapped_column(Date)
    attachments: Mapped[list[str]] = mapped_column(default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    # Computed when the revision is submitted, kept for the comparison and the price band.
    contract_value_fen: Mapped[int] = mapped_column(BigInteger)
    tco_3y_fen: Mapped[int] = mapped_column(BigInteger)
    # Flagged against the category's band as it stood at submission (a snapshot: the reason
    # shown to the SME and curators must not drift as new engagements arrive).
    abnormally_low: Mapped[bool] = mapped_column(Boolean, default=False)
    reference_p10_fen: Mapped[int | None] = mapped_column(BigInteger)
    reference_count: Mapped[int] = mapped_column(default=0)
    # {items: [{item, cost_fen}], note}: asked of a flagged quote, filled by its provider.
    cost_breakdown: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    cost_breakdown_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[datetime | None]


class RfqMessage(Base):
    """One message of the Q&A thread of an invitation: private to the SME and that provider."""

    __tablename__ = "rfq_messages"
    __table_args__ = (
        CheckConstraint("side IN ('sme', 'provider')", name="side"),
        Index("ix_rfq_messages_invitation_created", "invitation_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    invitation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("rfq_invitations.id", ondelete="CASCADE")
    )
    author_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    side: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
