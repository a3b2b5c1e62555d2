"""Provider profiles and their certifications."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.database import Base, new_id, utcnow


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # One profile per provider organisation; the FK names the table, not the accounts model,
    # so the catalog does not import the market package.
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), unique=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    provider_type: Mapped[str] = mapped_column(String(32), index=True)
    registered_region: Mapped[str] = mapped_column(String(6), index=True)
    service_regions: Mapped[list[str]] = mapped_column(default=list)
    on_site_regions: Mapped[list[str]] = mapped_column(default=list)
    size_sector: Mapped[str] = mapped_column(String(32), default="software_it")
    employees: Mapped[int | None]
    revenue_wan: Mapped[int | None]
    assets_wan: Mapped[int | None]
    # Derived from the numbers above, never typed in.
    size: Mapped[str | None] = mapped_column(String(8))
    founded_year: Mapped[int | None]
    policy_tags: Mapped[list[str]] = mapped_column(default=list)
    patents_count: Mapped[int] = mapped_column(default=0)
    capacity: Mapped[int] = mapped_column(default=5)
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(300))
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    certifications: Mapped[list[Certification]] = relationship(
        back_populates="provider",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="Certification.created_at",
    )

    __mapper_args__ = {"version_id_col": version}


class Certification(Base):
    __tablename__ = "certifications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(100))
    valid_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    provider: Mapped[Provider] = relationship(back_populates="certifications", lazy="raise")
