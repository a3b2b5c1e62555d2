"""Webhook endpoints of organisations and the log of each delivery attempt's result."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, new_id, utcnow
from market.engagements.models import in_sql

# Families of market events an endpoint may subscribe to (the first part of the topic).
TOPICS = ("rfq", "invitation", "quote", "engagement", "dispute")
DELIVERY_STATES = ("pending", "delivered", "failed")


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    topics: Mapped[list[str]] = mapped_column(default=list)
    # The receiver needs the same secret to check signatures, so it is kept as it is; it is
    # shown once when the endpoint is registered and never returned again.
    secret: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(200), default="")
    created_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one endpoint, retried with back-off until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(in_sql("status", DELIVERY_STATES), name="status"),
        # An outbox event replayed by the relay is queued for an endpoint once.
        Index("uq_webhook_deliveries_endpoint_event", "endpoint_id", "event_id", unique=True),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    topic: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
