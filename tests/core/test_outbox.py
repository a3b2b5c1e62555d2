"""The outbox delivers events after commit, retries failures and never loses one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from core.database import Database, utcnow
from core.outbox import MAX_ATTEMPTS, OutboxEvent, Relay, emit


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
