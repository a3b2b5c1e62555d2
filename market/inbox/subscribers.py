"""Outbox subscribers of the inbox: every ``notify.*`` event becomes rows for its readers."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.outbox import Handler, OutboxEvent
from market.inbox import service
from market.notify.wording import MARKET_TEMPLATES

# The market's events (RFQs, quotes, engagements, disputes) are worded next to the pool
# workflow's, in the one table the inbox renders from.
service.TEMPLATES.update(MARKET_TEMPLATES)


def on_notify(session: Session, event: OutboxEvent) -> None:
    service.deliver(session, topic=event.topic, payload=event.payload, event_id=event.id)


# (topic prefix, handler) pairs for market.app.OUTBOX_SUBSCRIBERS.
SUBSCRIPTIONS: list[tuple[str, Handler]] = [("notify", on_notify)]
