"""SME organisation profiles and their needs (需求), with the providers each need is shared with."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.database import Base, new_id, utcnow

# The business systems an SME may already run. A short fixed list rather than free text: the
# matching engine needs to know e.g. "has an ERP" to favour solutions that integrate with one.
# "none" says "we have checked, there are none", which is different from an empty list
# ("not answered yet"), and it cannot be combined with any other entry.
EXISTING_SYSTEMS: tuple[str, ...] = (
    "erp",
    "mes",
    "wms",
    "qms",
    "plm",
    "scada",
    "crm",
    "oa",
    "none",
)
VISIBILITIES = ("draft", "shared")
STATUSES = ("open", "closed")


class SmeProfile(Base):
    """One per SME organisation: what the factory is, what it runs, where it stands.

    The equipment inventory, existing systems and maturity self-assessment are stored as JSON:
    they are read and written whole with the profile and never queried row by row.
    """

    __tablename__ = "sme_profiles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), unique=True)
    # GB/T 4754 digits at whatever depth the SME knows ("29", "292", "2929").
    industry_code: Mapped[str | None] = mapped_column(String(4), index=True)
    employees: Mapped[int | None]
    revenue_wan: Mapped[int | None] = mapped_column(BigInteger)
    # Derived from employees and revenue with the "industry" rules; never typed in.
    size: Mapped[str | None] = mapped_column(String(8))
    region_code: Mapped[str | None] = mapped_column(String(6))
    equipment: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    existing_systems: Mapped[list[str]] = mapped_column(default=list)
    # Scene id → self-assessed MIIT level 1–4; absent scenes were not assessed.
    maturity: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class Need(Base):
    """A need (需求) stated by an SME: what it wants, under which constraints.

    Coded lists are JSON columns: the matching engine reads a need whole (it builds a request
    vector from it), so there is nothing to gain from join tables here.
    """

    __tablename__ = "needs"
    __table_args__ = (
        CheckConstraint("visibility IN ('draft', 'shared')", name="visibility"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        CheckConstraint(
            "budget_min_fen IS NULL OR budget_max_fen IS NULL OR budget_min_fen <= budget_max_fen",
            name="budget_range",
        ),
        CheckConstraint("duration_weeks IS NULL OR duration_weeks >= 1", name="duration"),
        Index("ix_needs_org_updated", "org_id", "updated_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    must_capabilities: Mapped[list[str]] = mapped_column(default=list)
    nice_capabilities: Mapped[list[str]] = mapped_column(default=list)
    # [{"scene", "current_level", "target_level"}]
    scenes: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    protocols: Mapped[list[str]] = mapped_column(default=list)
    budget_min_fen: Mapped[int | None] = mapped_column(BigInteger)
    budget_max_fen: Mapped[int | None] = mapped_column(BigInteger)
    preferred_pricing: Mapped[list[str]] = mapped_column(default=list)
    target_start: Mapped[date | None] = mapped_column(Date)
    duration_weeks: Mapped[int | None]
    onsite_required: Mapped[bool] = mapped_column(default=False)
    visibility: Mapped[str] = mapped_column(String(16), default="draft")
    status: Mapped[str] = mapped_column(String(16), default="open")
    # Field → sources ("text", "inventory") of values the platform filled in rather than the
    # SME; a field leaves this map as soon as the SME sends it, i.e. confirms or corrects it.
    prefilled: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    shares: Mapped[list[NeedShare]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="NeedShare.position"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def shared_with(self) -> list[uuid.UUID]:
        return [share.provider_id for share in self.shares]


class NeedShare(Base):
    """A provider a need is shared with. A table, not a JSON list, because providers ask the
    reverse question ("which needs are shared with me?") and that has to be an index lookup."""

    __tablename__ = "need_shares"

    need_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True
    )
    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    shared_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    shared_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Keeps shared_with in the order the SME chose; timestamps of one request can tie.
    position: Mapped[int] = mapped_column(default=0)
