"""The outbox delivers events after commit, retries failures and never loses one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select, update

from core.database import Database, utcnow
from core.outbox import (
    KEEP_DELIVERED,
    MAX_ATTEMPTS,
    BatchHandler,
    OutboxEvent,
    Relay,
    emit,
    prune,
)


def _events(db: Database) -> list[OutboxEvent]:
    with db.transaction() as session:
        return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


def test_subscriber_receives_event_after_commit(db: Database) -> None:
    seen: list[dict[str, object]] = []
    relay = Relay(db=db)
    relay.subscribe("catalog.solution", lambda _s, event: seen.append(event.payload))
    with db.transaction() as session:
        emit(session, "catalog.solution.changed", solution_id="abc")
        emit(session, "catalog.provider.changed", provider_id="p1")
    assert relay.drain() == 2
    assert seen == [{"solution_id": "abc"}]
    assert all(e.processed_at is not None for e in _events(db))


def test_rolled_back_change_emits_nothing(db: Database) -> None:
    session = db.sessions()
    emit(session, "catalog.solution.changed", solution_id="abc")
    session.rollback()
    session.close()
    assert _events(db) == []


def test_failing_subscriber_is_retried_with_backoff(db: Database) -> None:
    calls: list[int] = []

    def flaky(_session: object, event: OutboxEvent) -> None:
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("index unavailable")

    relay = Relay(db=db)
    relay.subscribe("catalog", flaky)
    with db.transaction() as session:
        emit(session, "catalog.case.changed", case_id="c1")
    relay.drain()
    (event,) = _events(db)
    assert event.processed_at is None
    assert event.attempts == 1
    assert event.last_error == "RuntimeError: index unavailable"
    assert event.available_at > utcnow()
    assert relay.drain() == 0  # not due yet
    with db.transaction() as session:
        session.execute(update(OutboxEvent).values(available_at=utcnow() - timedelta(seconds=1)))
    assert relay.drain() == 1
    (event,) = _events(db)
    assert event.processed_at is not None
    assert event.last_error is None
    assert len(calls) == 2


def test_event_gives_up_after_max_attempts_and_keeps_the_error(db: Database) -> None:
    def broken(_session: object, _event: OutboxEvent) -> None:
        raise ValueError("bad payload")

    relay = Relay(db=db)
    relay.subscribe("x", broken)
    with db.transaction() as session:
        emit(session, "x.y", n=1)
    for _ in range(MAX_ATTEMPTS):
        with db.transaction() as session:
            session.execute(update(OutboxEvent).values(available_at=utcnow()))
        relay.drain()
    (event,) = _events(db)
    assert event.attempts == MAX_ATTEMPTS
    assert event.processed_at is not None
    assert event.last_error == "ValueError: bad payload"


def test_handler_writes_roll_back_when_it_fails(db: Database) -> None:
    def writes_then_fails(session, _event: OutboxEvent) -> None:  # type: ignore[no-untyped-def]
        emit(session, "side.effect", n=2)
        session.flush()
        raise RuntimeError("boom")

    relay = Relay(db=db)
    relay.subscribe("first", writes_then_fails)
    with db.transaction() as session:
        emit(session, "first.event", n=1)
    relay.drain()
    assert [e.topic for e in _events(db)] == ["first.event"]


def test_batch_handler_gets_consecutive_events_of_a_topic_in_one_call(db: Database) -> None:
    calls: list[list[str]] = []
    relay = Relay(db=db)
    relay.subscribe(
        "catalog", BatchHandler(lambda _s, events: calls.append([e.payload["n"] for e in events]))
    )
    with db.transaction() as session:
        for n in ("a", "b", "c"):
            emit(session, "catalog.provider.changed", n=n)
        emit(session, "catalog.case.changed", n="d")
        emit(session, "catalog.provider.changed", n="e")

    assert relay.drain() == 5
    assert calls == [["a", "b", "c"], ["d"], ["e"]]


def test_a_failing_batch_is_retried_event_by_event(db: Database) -> None:
    def handle(_session: object, events: Sequence[OutboxEvent]) -> None:
        if any(e.payload["n"] == "bad" for e in events):
            raise RuntimeError("bad event")

    relay = Relay(db=db)
    relay.subscribe("catalog", BatchHandler(handle))
    with db.transaction() as session:
        for n in ("ok1", "bad", "ok2"):
            emit(session, "catalog.provider.changed", n=n)

    relay.drain()

    by_n = {e.payload["n"]: e for e in _events(db)}
    assert by_n["ok1"].processed_at is not None
    assert by_n["ok2"].processed_at is not None
    assert by_n["bad"].processed_at is None
    assert by_n["bad"].attempts == 1


def test_prune_keeps_pending_and_recent_events(db: Database) -> None:
    old = utcnow() - KEEP_DELIVERED - timedelta(minutes=1)
    with db.transaction() as session:
        session.add(OutboxEvent(topic="t.old", payload={}, processed_at=old))
        session.add(OutboxEvent(topic="t.pending", payload={}, created_at=old))
        session.add(OutboxEvent(topic="t.recent", payload={}, processed_at=utcnow()))

    with db.transaction() as session:
        assert prune(session) == 1
    assert sorted(e.topic for e in _events(db)) == ["t.pending", "t.recent"]
