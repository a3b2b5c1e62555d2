"""Append-only audit trail of curator, reviewer and admin decisions.

Rows are written in the same transaction as the decision they record, so a decision and its
record commit or vanish together. There is no update or delete path: the service has none, and
database triggers (see the migration) refuse UPDATE and DELETE on the table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, new_id, utcnow
from core.deps import Principal


class AuditRecord(Base):
    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_records_scope_at", "scope_id", "at"),
        Index("ix_audit_records_target", "target_type", "target_id"),
        Index("ix_audit_records_subject_at", "subject_org_id", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(80), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(64))
    # The pool (or other governed space) the decision belongs to, for curators' filters.
    scope_id: Mapped[uuid.UUID | None]
    # The organisation the decision is about, so it can see the decisions about itself.
    subject_org_id: Mapped[uuid.UUID | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)


SYSTEM_ROLE = "system"


def record(
    session: Session,
    *,
    actor: Principal | None,
    action: str,
    target_type: str,
    target_id: uuid.UUID | str,
    reason: str = "",
    scope_id: uuid.UUID | None = None,
    subject_org_id: uuid.UUID | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append one record; ``actor=None`` marks an automatic step (e.g. a notice period ending)."""
    row = AuditRecord(
        actor_user_id=actor.user_id if actor else None,
        actor_role=actor.role if actor else SYSTEM_ROLE,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        scope_id=scope_id,
        subject_org_id=subject_org_id,
        reason=reason,
        before=before,
        after=after,
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class AuditFilter:
    scope_ids: tuple[uuid.UUID, ...] | None = None
    subject_org_id: uuid.UUID | None = None
    action: str | None = None
    actor_user_id: uuid.UUID | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def query(session: Session, *, filters: AuditFilter, limit: int, offset: int) -> list[AuditRecord]:
    stmt = select(AuditRecord)
    if filters.scope_ids is not None:
        stmt = stmt.where(AuditRecord.scope_id.in_(filters.scope_ids))
    if filters.subject_org_id is not None:
        stmt = stmt.where(AuditRecord.subject_org_id == filters.subject_org_id)
    if filters.action:
        # "pool.application" finds every action under that prefix.
        stmt = stmt.where(AuditRecord.action.startswith(filters.action))
    if filters.actor_user_id is not None:
        stmt = stmt.where(AuditRecord.actor_user_id == filters.actor_user_id)
    if filters.target_type:
        stmt = stmt.where(AuditRecord.target_type == filters.target_type)
    if filters.target_id:
        stmt = stmt.where(AuditRecord.target_id == filters.target_id)
    if filters.since is not None:
        stmt = stmt.where(AuditRecord.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditRecord.at < filters.until)
    stmt = stmt.order_by(AuditRecord.at.desc(), AuditRecord.id).limit(limit).offset(offset)
    return list(session.scalars(stmt))
