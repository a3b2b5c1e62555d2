"""Exactly-once accept under real concurrency (PostgreSQL, committed data, one connection per
request): two users of the SME accepting two quotes of the same RFQ at the same moment get one
engagement and one clear 409, fifty rounds in a row; accept racing cancel leaves one outcome;
two retries with the same Idempotency-Key at once create one engagement."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.database import Database
from core.settings import Settings
from market.app import create_app
from market.engagements.models import Engagement
from market.rfqs.models import Quote, Rfq, RfqInvitation
from migrations import runner
from tests.market.rfqs.test_rfq_flow import Market, code, error, new_market
from tests.support import PASSWORD, Actor, Api, scratch_database_url

ROUNDS = 50
CANCEL = {"reason": "同事取消"}

pytestmark = pytest.mark.skipif(
    not os.environ.get("MARKET_TEST_DATABASE_URL"),
    reason="accept races are tested on PostgreSQL with real concurrent connections "
    "(set MARKET_TEST_DATABASE_URL); SQLite serialises writers, so it cannot race",
)


@pytest.fixture
def market(tmp_path: Path) -> Iterator[Market]:
    """An app on its own scratch database whose requests really commit, so they can race."""
    url, drop = scratch_database_url(tmp_path, "accept_race")
    runner.upgrade(url)
    db = Database.from_url(url)
    try:
        with TestClient(create_app(Settings(env="test", database_url=url), db=db)) as client:
            yield new_market(Api(client=client, db=db))
    finally:
        db.engine.dispose()
        drop()


def colleague(market: Market, owner: Actor) -> Actor:
    """A second user of the owner's SME organisation."""
    email = f"colleague-{uuid.uuid4().hex[:8]}@example.com"
    invited = market.ok(owner, "/api/v1/organisations/me/invitations", {"email": email})
    joined = market.api.client.post(
        "/api/v1/auth/invitations/accept",
        json={"token": invited["token"], "name": "同事", "password": PASSWORD},
    )
    assert joined.status_code == 201, joined.text
    return Actor(
        email=email,
        token=market.api.login(email),
        user_id=uuid.UUID(joined.json()["id"]),
        org_id=owner.org_id,
        role="sme",
    )


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def two_quotes(market: Market, sme: Actor, a: Actor, b: Actor) -> tuple[str, str, str]:
    rfq = market.rfq(sme, [a, b])
    first = market.quote(a, market.invitation(rfq, a))
    second = market.quote(b, market.invitation(rfq, b))
    return rfq["id"], first["id"], second["id"]


def engagements_of(market: Market, rfq_id: str) -> int:
    with market.api.db.transaction() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Engagement)
            .where(Engagement.rfq_id == uuid.UUID(rfq_id))
        )
    return int(count or 0)


def test_fifty_rounds_of_simultaneous_accepts_make_one_engagement_each(market: Market) -> None:
    owner = market.sme()
    other_user = colleague(market, owner)
    a, b = market.provider(capacity=ROUNDS + 1), market.provider(capacity=ROUNDS + 1)

    for round_ in range(ROUNDS):
        rfq_id, first, second = two_quotes(market, owner, a, b)

        responses = at_once(
            [
                partial(market.post, owner, f"/api/v1/quotes/{first}/accept", {}),
                partial(market.post, other_user, f"/api/v1/quotes/{second}/accept", {}),
            ]
        )

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201, 409], (round_, [r.text for r in responses])
        lost = next(r for r in responses if r.status_code == 409)
        assert code(lost) == "invalid_transition", lost.text
        assert error(lost)["details"]["entity"] == "rfq"
        assert error(lost)["details"]["state"] == "closed"
        won = next(r for r in responses if r.status_code == 201).json()
        assert engagements_of(market, rfq_id) == 1, round_
        with market.api.db.transaction() as session:
            rfq = session.get(Rfq, uuid.UUID(rfq_id))
            assert rfq is not None
            assert rfq.status == "closed"
            states = dict(
                session.execute(select(Quote.id, Quote.status).where(Quote.rfq_id == rfq.id)).all()
            )
            invitations = sorted(
                session.scalars(select(RfqInvitation.status).where(RfqInvitation.rfq_id == rfq.id))
            )
        winner = uuid.UUID(won["quote_id"])
        loser = uuid.UUID(second if won["quote_id"] == first else first)
        assert (states[winner], states[loser]) == ("accepted", "not_selected")
        assert invitations == ["awarded", "closed"]

    with market.api.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Engagement)) == ROUNDS


def test_accept_racing_cancel_leaves_exactly_one_outcome(market: Market) -> None:
    owner = market.sme()
    other_user = colleague(market, owner)
    a, b = market.provider(capacity=20), market.provider(capacity=20)

    for round_ in range(10):
        rfq_id, first, _ = two_quotes(market, owner, a, b)

        accept, cancel = at_once(
            [
                partial(market.post, owner, f"/api/v1/quotes/{first}/accept", {}),
                partial(market.post, other_user, f"/api/v1/rfqs/{rfq_id}/cancel", CANCEL),
            ]
        )

        outcome = (accept.status_code, cancel.status_code)
        assert outcome in ((201, 409), (409, 200)), (round_, accept.text, cancel.text)
        final = market.read_rfq(owner, rfq_id)["status"]
        if accept.status_code == 201:
            assert (final, engagements_of(market, rfq_id)) == ("closed", 1)
            assert code(cancel) == "invalid_transition"
        else:
            assert (final, engagements_of(market, rfq_id)) == ("cancelled", 0)
            assert code(accept) == "invalid_transition"


def test_simultaneous_retries_with_one_key_create_one_engagement(market: Market) -> None:
    owner = market.sme()
    a, b = market.provider(capacity=20), market.provider(capacity=20)

    for _ in range(10):
        rfq_id, first, _ = two_quotes(market, owner, a, b)
        key = {"Idempotency-Key": str(uuid.uuid4())}

        responses = at_once(
            [
                partial(market.post, owner, f"/api/v1/quotes/{first}/accept", {}, headers=key)
                for _ in range(2)
            ]
        )

        assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
        assert responses[0].json() == responses[1].json()
        assert engagements_of(market, rfq_id) == 1
