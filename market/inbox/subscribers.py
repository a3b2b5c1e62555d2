"""Outbox subscribers of the inbox: every ``notify.*`` event becomes rows for its readers."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.outbox import Handler, OutboxEvent
from market.inbox import service


def on_notify(session: Session, event: OutboxEvent) -> None:
    service.deliver(session, topic=event.topic, payload=event.payload, event_id=event.id)


# (topic prefix, handler) pairs for market.app.OUTBOX_SUBSCRIBERS.
SUBSCRIPTIONS: list[tuple[str, Handler]] = [("notify", on_notify)]
