"""The scheduled jobs: each does what is due, once, and a second run finds nothing left."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from catalog.pools.models import PoolApplication, PoolSanction
from core.database import utcnow
from core.outbox import KEEP_DELIVERED, OutboxEvent
from market.cli import app as cli
from market.cli import scheduler
from market.idempotency import RETENTION, IdempotencyRecord
from market.rfqs.models import Rfq
from tests.catalog.pools.test_application_lifecycle import new_flow
from tests.catalog.pools.test_sanctions_and_appeals import listed, sanctioned
from tests.market.rfqs.test_rfq_flow import Market, new_market
from tests.support import Api


def run(api: Api, name: str) -> scheduler.JobResult:
    (result,) = scheduler.run_jobs(api.db, [scheduler.job_named(name)])
    assert result.error is None
    assert result.ran
    return result


def application_state(api: Api, application_id: str) -> str:
    with api.db.transaction() as session:
        app = session.get(PoolApplication, uuid.UUID(application_id))
        assert app is not None
        return app.state


def test_close_notices_lists_providers_whose_notice_ended(api: Api) -> None:
    flow = new_flow(api).in_notice()
    flow.end_notice()

    assert run(api, "close_notices").done == 1
    assert application_state(api, flow.app["id"]) == "listed"
    assert run(api, "close_notices").done == 0


def test_expire_due_expires_listings_whose_validity_ended(api: Api) -> None:
    flow = listed(api)
    with api.db.transaction() as session:
        session.execute(
            update(PoolApplication)
            .where(PoolApplication.id == uuid.UUID(flow.app["id"]))
            .values(valid_until=utcnow() - timedelta(minutes=1))
        )

    assert run(api, "expire_due").done == 1
    assert application_state(api, flow.app["id"]) == "expired"
    assert run(api, "expire_due").done == 0


def test_remind_due_announces_a_rectification_deadline_once(api: Api) -> None:
    flow = listed(api)
    rectification = sanctioned(flow, "rectification")
    with api.db.transaction() as session:
        session.execute(
            update(PoolSanction)
            .where(PoolSanction.id == uuid.UUID(rectification["id"]))
            .values(deadline=utcnow() + timedelta(days=1))
        )

    assert run(api, "remind_due").done >= 1
    assert run(api, "remind_due").done == 0


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


def test_expire_rfqs_closes_quote_requests_past_their_deadline(market: Market) -> None:
    api = market.api
    rfq = market.rfq(market.sme(), [market.provider()])
    market.pass_deadline(rfq["id"])

    assert run(api, "expire_rfqs").done == 1
    with api.db.transaction() as session:
        found = session.get(Rfq, uuid.UUID(rfq["id"]))
        assert found is not None
        assert found.status == "expired"
    assert run(api, "expire_rfqs").done == 0


def test_purge_idempotency_keys_forgets_only_old_keys(api: Api) -> None:
    user = api.sme()
    old = utcnow() - RETENTION - timedelta(hours=1)
    with api.db.transaction() as session:
        for key, created in (("old", old), ("new", utcnow())):
            session.add(
                IdempotencyRecord(
                    user_id=user.user_id,
                    endpoint="test",
                    key=key,
                    request_hash="0" * 64,
                    created_at=created,
                )
            )

    assert run(api, "purge_idempotency_keys").done == 1
    with api.db.transaction() as session:
        keys = session.scalars(
            select(IdempotencyRecord.key).where(IdempotencyRecord.user_id == user.user_id)
        ).all()
    assert keys == ["new"]


def test_prune_outbox_deletes_only_old_delivered_events(api: Api) -> None:
    long_ago = utcnow() - KEEP_DELIVERED - timedelta(days=1)
    with api.db.transaction() as session:
        session.add_all(
            [
                OutboxEvent(
                    topic="test.old", payload={}, created_at=long_ago, processed_at=long_ago
                ),
                OutboxEvent(topic="test.pending", payload={}, created_at=long_ago),
                OutboxEvent(topic="test.recent", payload={}, processed_at=utcnow()),
            ]
        )

    assert run(api, "prune_outbox").done == 1
    with api.db.transaction() as session:
        topics = session.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.topic.startswith("test."))
        ).all()
    assert sorted(topics) == ["test.pending", "test.recent"]


def test_a_failing_job_is_reported_and_the_others_still_run(api: Api) -> None:
    def broken(_session: object, _now: object) -> int:
        raise RuntimeError("boom")

    jobs = [scheduler.Job("broken", timedelta(minutes=1), broken, ""), scheduler.JOBS[-1]]

    results = scheduler.run_jobs(api.db, jobs)

    assert results[0].error == "RuntimeError: boom"
    assert results[1].error is None


def test_the_schedule_runs_each_job_at_its_interval(api: Api) -> None:
    calls: list[str] = []
    job = scheduler.Job("counted", timedelta(minutes=10), lambda _s, _n: calls.append("x") or 0, "")
    schedule = scheduler.Schedule(jobs=(job,))
    start = utcnow()

    for minutes in (0, 5, 9, 10, 15, 21):
        schedule.run_due(api.db, now=start + timedelta(minutes=minutes))

    assert len(calls) == 3  # at 0, 10 and 21 minutes


def test_jobs_have_unique_names_and_lock_keys() -> None:
    assert len(set(scheduler.JOB_NAMES)) == len(scheduler.JOBS)
    assert len({scheduler._lock_key(name) for name in scheduler.JOB_NAMES}) == len(scheduler.JOBS)


@pytest.mark.parametrize("argv", [["jobs", "run", "--only", "nonsense"]])
def test_the_command_refuses_an_unknown_job_naming_the_real_ones(argv: list[str]) -> None:
    result = CliRunner().invoke(cli, argv)

    assert result.exit_code == 2
    assert "close_notices" in result.output


def test_the_command_lists_every_job() -> None:
    result = CliRunner().invoke(cli, ["jobs", "list"])

    assert result.exit_code == 0
    for name in scheduler.JOB_NAMES:
        assert name in result.output
