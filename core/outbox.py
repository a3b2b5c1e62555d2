"""Transactional outbox: side effects are rows written with the change, delivered after commit.

A relay hands each event to the handlers subscribed to its topic. The app drains in-process right
after a request commits (the embedded default); ``market worker`` drains in separate processes,
where PostgreSQL's ``FOR UPDATE SKIP LOCKED`` lets several workers share the table safely.

A :class:`BatchHandler` receives a run of consecutive events of one topic in a single call, so
that a bulk change (a pool list of ten thousand rows imported at once) costs one refresh per
batch instead of one per event. When a batch fails, its events are retried one by one so that
one bad event cannot hold back the others.

Delivered events are kept for a while for inspection; :func:`prune` deletes the old ones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, Database, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Delivered events older than this are deleted by the scheduler's outbox pruning.
KEEP_DELIVERED = timedelta(days=14)


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_pending", "processed_at", "available_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    topic: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    processed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


def emit(session: Session, topic: str, **payload: Any) -> None:
    """Record a side effect in the caller's transaction; it is delivered only if that commits."""
    session.add(OutboxEvent(topic=topic, payload=payload))
    session.info["outbox_pending"] = True


Handler = Callable[[Session, OutboxEvent], None]
BatchHandle = Callable[[Session, Sequence[OutboxEvent]], None]


@dataclass(frozen=True)
class BatchHandler:
    """A handler that takes a run of events of one topic at once.

    It is also an ordinary :data:`Handler` (one event is a batch of one), so subscriber lists
    need not tell the two kinds apart.
    """

    handle: BatchHandle

    def __call__(self, session: Session, event: OutboxEvent) -> None:
        self.handle(session, [event])


def _runs(events: Sequence[OutboxEvent]) -> Iterator[list[OutboxEvent]]:
    """Consecutive events of the same topic, in order."""
    run: list[OutboxEvent] = []
    for event in events:
        if run and run[-1].topic != event.topic:
            yield run
            run = []
        run.append(event)
    if run:
        yield run


@dataclass
class Relay:
    """Delivers pending events to subscribers; topics nobody subscribes to are simply closed."""

    db: Database
    handlers: dict[str, list[Handler]] = field(default_factory=dict)

    def subscribe(self, topic_prefix: str, handler: Handler) -> None:
        self.handlers.setdefault(topic_prefix, []).append(handler)

    def _handlers_for(self, topic: str) -> list[Handler]:
        found: list[Handler] = []
        for prefix, handlers in self.handlers.items():
            if topic == prefix or topic.startswith(prefix + "."):
                found.extend(handlers)
        return found

    def drain(self, *, batch: int = 200) -> int:
        """Process due events until none are left; returns how many were handled."""
        handled = 0
        while True:
            done = self._drain_batch(batch)
            handled += done
            if done < batch:
                return handled

    def _drain_batch(self, batch: int) -> int:
        with self.db.transaction() as session:
            stmt = (
                select(OutboxEvent)
                .where(OutboxEvent.processed_at.is_(None), OutboxEvent.available_at <= utcnow())
                .order_by(OutboxEvent.id)
                .limit(batch)
            )
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            events = list(session.scalars(stmt))
            for run in _runs(events):
                self._deliver_run(session, run)
            return len(events)

    def _deliver_run(self, session: Session, run: list[OutboxEvent]) -> None:
        handlers = self._handlers_for(run[0].topic)
        try:
            with session.begin_nested():
                for handler in handlers:
                    if isinstance(handler, BatchHandler):
                        handler.handle(session, run)
                    else:
                        for event in run:
                            handler(session, event)
        except Exception as exc:  # a failing subscriber must not block the others' events
            if len(run) > 1:
                # Find the culprit: the events that are fine are delivered after all.
                for event in run:
                    self._deliver_run(session, [event])
            else:
                self._failed(run[0], exc)
            return
        now = utcnow()
        for event in run:
            event.processed_at = now
            event.last_error = None

    def _failed(self, event: OutboxEvent, exc: Exception) -> None:
        event.attempts += 1
        event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if event.attempts >= MAX_ATTEMPTS:
            log.error("outbox event %s gave up after %s attempts", event.id, event.attempts)
            event.processed_at = utcnow()
        else:
            # Exponential back-off: 2, 4, 8 ... seconds.
            event.available_at = utcnow() + timedelta(seconds=2**event.attempts)


def prune(
    session: Session, *, now: datetime | None = None, keep: timedelta = KEEP_DELIVERED
) -> int:
    """Delete events delivered before ``now - keep``; returns how many went.

    Pending and failing events stay whatever their age. Safe to run concurrently: deleting a
    row another run deleted already is no error.
    """
    cutoff = (now or utcnow()) - keep
    result = session.execute(
        delete(OutboxEvent).where(
            OutboxEvent.processed_at.is_not(None), OutboxEvent.processed_at < cutoff
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
