"""Inbox rows, one per recipient user."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, new_id, utcnow


class InboxItem(Base):
    """One notification for one user.

    Events addressed to an organisation or to the curators of a pool are expanded into a row
    per member when they are delivered, so each person has their own read state and a user
    only ever reads rows with their own id.
    """

    __tablename__ = "inbox_items"
    __table_args__ = (
        # The inbox page and the unread badge: a user's rows, unread first, newest first.
        Index("ix_inbox_items_user_read_created", "user_id", "read_at", "created_at"),
        # An event replayed by the relay must not notify anyone twice.
        Index("uq_inbox_items_event_user", "event_id", "user_id", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # Ids for links (pool, application, sanction …) and the facts the text was made from.
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The outbox event it came from; no foreign key, as delivered events may be purged.
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
