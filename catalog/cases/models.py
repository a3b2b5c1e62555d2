"""Case studies: delivered projects with measured outcomes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.database import Base, new_id, utcnow


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    # The client may stay anonymous; industry and size still tell an SME whether it fits.
    client_name: Mapped[str | None] = mapped_column(String(200))
    client_industry: Mapped[str] = mapped_column(String(4), index=True)
    client_size: Mapped[str | None] = mapped_column(String(8))
    region_code: Mapped[str | None] = mapped_column(String(6))
    problem: Mapped[str] = mapped_column(Text, default="")
    solution_text: Mapped[str] = mapped_column(Text, default="")
    outcomes: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    case_date: Mapped[date | None] = mapped_column(Date)
    # Set by curators when the outcome is checked; providers cannot set it.
    verified: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None]

    solution_links: Mapped[list[CaseSolution]] = relationship(
        lazy="raise", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class CaseSolution(Base):
    __tablename__ = "case_solutions"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    solution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("solutions.id", ondelete="CASCADE"), primary_key=True, index=True
    )
