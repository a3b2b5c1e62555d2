"""Solutions (listings) with their coded attributes, scenes and prices."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.database import Base, new_id, utcnow

STATUSES = ("draft", "published", "archived")
# Multi-valued coded attributes share one narrow table, indexed by (facet, code), so list
# filters are index lookups and adding an attribute kind needs no migration.
FACETS = ("capability", "industry", "size", "protocol", "deployment")


class Solution(Base):
    __tablename__ = "solutions"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        Index("ix_solutions_provider_status", "provider_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    typical_delivery_days: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None]

    facets: Mapped[list[SolutionFacet]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="SolutionFacet.position"
    )
    scenes: Mapped[list[SolutionScene]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="SolutionScene.scene"
    )
    prices: Mapped[list[SolutionPrice]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="SolutionPrice.position"
    )

    __mapper_args__ = {"version_id_col": version}

    def codes(self, facet: str) -> list[str]:
        return [f.code for f in self.facets if f.facet == facet]


class SolutionFacet(Base):
    __tablename__ = "solution_facets"
    __table_args__ = (Index("ix_solution_facets_lookup", "facet", "code", "solution_id"),)

    solution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("solutions.id", ondelete="CASCADE"), primary_key=True
    )
    facet: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)


class SolutionScene(Base):
    """A MIIT business scene the solution serves and the level (1–4) it helps reach."""

    __tablename__ = "solution_scenes"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 4", name="level"),)

    solution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("solutions.id", ondelete="CASCADE"), primary_key=True
    )
    scene: Mapped[str] = mapped_column(String(40), primary_key=True)
    level: Mapped[int]


class SolutionPrice(Base):
    """One offered pricing model with its range in integer fen (分) and unit, e.g. 元/设备/月."""

    __tablename__ = "solution_prices"
    __table_args__ = (
        CheckConstraint("min_fen >= 0", name="min_nonnegative"),
        CheckConstraint("max_fen IS NULL OR max_fen >= min_fen", name="range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    solution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("solutions.id", ondelete="CASCADE"), index=True
    )
    model: Mapped[str] = mapped_column(String(32))
    min_fen: Mapped[int] = mapped_column(BigInteger)
    max_fen: Mapped[int | None] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)
