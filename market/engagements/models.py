"""Engagements, their milestones, post-award change requests and subsidy records.

Also home of :class:`Machine`, the small state-machine table every market object uses (RFQs,
invitations and quotes import it from here, since the engagement layer sits below them). A
machine names each action with the states it may start from and the state it leads to, so one
table is both the rule the services enforce and the text a refused caller is shown.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.database import Base, new_id, utcnow
from core.errors import Conflict

# --- state machines ----------------------------------------------------------------------------


class InvalidTransition(Conflict):
    code = "invalid_transition"


@dataclass(frozen=True)
class Machine:
    """Actions → (states they may start from, state they lead to; None keeps the state)."""

    entity: str
    moves: dict[str, tuple[frozenset[str], str | None]]

    @classmethod
    def of(cls, entity: str, moves: dict[str, tuple[str, str | None]]) -> Machine:
        # Sources are written as one space-separated string so each table reads as one line.
        return cls(entity, {a: (frozenset(s.split()), t) for a, (s, t) in moves.items()})

    @property
    def states(self) -> frozenset[str]:
        found: set[str] = set()
        for sources, target in self.moves.values():
            found |= sources
            if target is not None:
                found.add(target)
        return frozenset(found)

    def allowed(self, state: str) -> list[str]:
        return sorted(action for action, (sources, _) in self.moves.items() if state in sources)

    def target(self, state: str, action: str) -> str:
        """The state ``action`` leads to from ``state``, or a 409 naming what is allowed now."""
        sources, target = self.moves[action]
        if state not in sources:
            allowed = self.allowed(state)
            raise InvalidTransition(
                f"Cannot {action.replace('_', ' ')} this {self.entity.replace('_', ' ')}: it is "
                f"{state}; allowed now: {', '.join(allowed) if allowed else 'nothing'}",
                details={
                    "entity": self.entity,
                    "state": state,
                    "action": action,
                    "allowed_actions": allowed,
                },
            )
        return state if target is None else target


def in_sql(column: str, values: Iterable[str]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in sorted(values)))


# An engagement is born ``active`` when a quote is accepted. ``completed`` (after 验收) is where
# reviews and disputes will hang on; ``cancelled`` is final and carries a reason.
ENGAGEMENT = Machine.of(
    "engagement",
    {
        "update_plan": ("active", None),
        "milestone": ("active", None),
        "deliver": ("active", "delivered"),
        "reject_delivery": ("delivered", "active"),
        "accept": ("delivered", "accepted"),
        "complete": ("accepted", "completed"),
        "cancel": ("active delivered", "cancelled"),
        "change_price": ("active delivered", None),
        "apply_subsidy": ("active delivered accepted completed", None),
    },
)
# Engagements that occupy the provider: they count against its declared capacity.
OCCUPYING_STATES = ("active", "delivered")
# Engagements whose price the market agreed to: the reference band for abnormally low quotes.
PRICED_STATES = ("active", "delivered", "accepted", "completed")

MILESTONE = Machine.of(
    "milestone",
    {
        "submit": ("pending rejected", "submitted"),
        "accept": ("submitted", "accepted"),
        "reject": ("submitted", "rejected"),
    },
)

CHANGE_REQUEST = Machine.of(
    "change_request",
    {
        "accept": ("proposed", "accepted"),
        "reject": ("proposed", "rejected"),
        "withdraw": ("proposed", "withdrawn"),
    },
)

# Subsidy money is paid only where results were shown (DOMAIN §1): ``pay`` additionally needs
# the engagement accepted (验收) or completed, checked by the service.
SUBSIDY = Machine.of(
    "subsidy",
    {
        "approve": ("applied", "approved"),
        "reject": ("applied", "rejected"),
        "pay": ("approved", "paid"),
    },
)


# --- tables ------------------------------------------------------------------------------------


class Engagement(Base):
    """One awarded piece of work between an SME and a provider, created from the accepted quote.

    The money fields are copied from the quote when it is accepted, so later edits elsewhere can
    never change what was agreed; a price change goes through an accepted change request.
    """

    __tablename__ = "engagements"
    __table_args__ = (
        CheckConstraint(in_sql("status", ENGAGEMENT.states), name="status"),
        CheckConstraint("maturity_before IS NULL OR maturity_before BETWEEN 1 AND 4", name="mb"),
        CheckConstraint("maturity_after IS NULL OR maturity_after BETWEEN 1 AND 4", name="ma"),
        Index("ix_engagements_provider_status", "provider_id", "status"),
        Index("ix_engagements_sme_created", "sme_org_id", "created_at"),
        Index("ix_engagements_category_status", "category", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # Unique: one engagement per RFQ is the database's own guard behind exactly-once accept.
    rfq_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rfqs.id"), unique=True)
    quote_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quotes.id"), unique=True)
    need_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("needs.id", ondelete="SET NULL"))
    pool_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("pools.id"), index=True)
    sme_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    provider_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    title: Mapped[str] = mapped_column(String(200))
    # The need's primary capability: the category of the price reference band.
    category: Mapped[str | None] = mapped_column(String(60))
    pricing_model: Mapped[str] = mapped_column(String(32))
    contract_reference: Mapped[str] = mapped_column(String(100), default="")
    contract_value_fen: Mapped[int] = mapped_column(BigInteger)
    # The funding split over the three-year TCO (企业出一点、服务商让一点、政府补一点).
    list_fen: Mapped[int] = mapped_column(BigInteger)
    concession_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    subsidy_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    sme_net_fen: Mapped[int] = mapped_column(BigInteger)
    # The pool's subsidy rule when the quote was accepted, so an agreed price change re-applies
    # the rule the SME signed up under rather than whatever the pool says today.
    subsidy_rate_bp: Mapped[int] = mapped_column(default=0)
    subsidy_cap_fen: Mapped[int | None] = mapped_column(BigInteger)
    start_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Why it was cancelled, or why the SME sent a delivery back.
    status_reason: Mapped[str] = mapped_column(Text, default="")
    # [{code, name, unit, direction, baseline, target, measured}]
    kpis: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    maturity_before: Mapped[int | None]
    maturity_after: Mapped[int | None]
    delivery_note: Mapped[str] = mapped_column(Text, default="")
    acceptance_note: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    milestones: Mapped[list[EngagementMilestone]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="EngagementMilestone.position"
    )

    # Two parties acting at the same moment (deliver vs cancel): the second write gets 412.
    __mapper_args__ = {"version_id_col": version}


class EngagementMilestone(Base):
    __tablename__ = "engagement_milestones"
    __table_args__ = (
        CheckConstraint(in_sql("status", MILESTONE.states), name="status"),
        UniqueConstraint("engagement_id", "position"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    engagement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE")
    )
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    deliverable: Mapped[str] = mapped_column(Text, default="")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    submission_note: Mapped[str] = mapped_column(Text, default="")
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class ChangeRequest(Base):
    """A post-award price change proposed by the provider; it applies only if the SME accepts."""

    __tablename__ = "engagement_change_requests"
    __table_args__ = (
        CheckConstraint(in_sql("status", CHANGE_REQUEST.states), name="status"),
        # At most one proposal waits for the SME at a time, even when two are sent at once.
        Index(
            "uq_engagement_change_requests_one_open",
            "engagement_id",
            unique=True,
            sqlite_where=text("status = 'proposed'"),
            postgresql_where=text("status = 'proposed'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    engagement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE"), index=True
    )
    proposed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    contract_value_before_fen: Mapped[int] = mapped_column(BigInteger)
    contract_value_fen: Mapped[int] = mapped_column(BigInteger)
    # {milestone_id: new amount_fen}; milestones not named keep their amount.
    milestone_amounts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubsidyRecord(Base):
    """The SME's subsidy application for one engagement under the pool's programme."""

    __tablename__ = "subsidy_records"
    __table_args__ = (
        CheckConstraint(in_sql("status", SUBSIDY.states), name="status"),
        CheckConstraint("amount_fen >= 0", name="amount"),
        Index("ix_subsidy_records_pool_status", "pool_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    engagement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE"), unique=True
    )
    pool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pools.id"))
    application_reference: Mapped[str] = mapped_column(String(100))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    approved_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="applied")
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    applied_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
