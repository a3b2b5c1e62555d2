"""Who may do what with reviews: every role against every review endpoint.

Writing needs the SME party of the engagement (the provider party gets 403 ``wrong_party``,
outsiders 404 as for the engagement itself); replying needs the reviewed provider; the queue and
decisions need a curator of a pool the provider is in, or an admin. A refused write changes
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from market.reviews.models import Review
from tests.market.engagements.test_engagements import Deal
from tests.market.reviews.test_reviews import (
    REVIEW_BODY,
    completed_deal,
    related_deal,
    reviewed,
)
from tests.market.rfqs.test_rfq_flow import Market, code, new_market
from tests.support import Api

ROLES = (
    "anonymous",
    "sme",
    "other_sme",
    "provider",
    "other_provider",
    "pool_curator",
    "other_curator",
    "admin",
)
Expected = dict[str, tuple[int, str | None]]
ANONYMOUS = (401, "authentication_required")
HIDDEN = (404, "engagement_not_found")
WRONG = (403, "wrong_party")
ROLE = (403, "role_required")


@dataclass
class World:
    market: Market
    deal: Deal
    review: dict[str, Any] = field(default_factory=dict)

    @property
    def api(self) -> Api:
        return self.market.api


def headers_for(world: World, role: str) -> dict[str, str]:
    market, deal = world.market, world.deal
    makers: dict[str, Callable[[], dict[str, str]]] = {
        "anonymous": lambda: {},
        "sme": lambda: deal.sme.headers,
        "other_sme": lambda: world.api.sme().headers,
        "provider": lambda: deal.provider.headers,
        "other_provider": lambda: market.provider().headers,
        "pool_curator": lambda: market.curator.headers,
        "other_curator": lambda: world.api.curator(admin=market.admin).headers,
        "admin": lambda: market.admin.headers,
    }
    return makers[role]()


def _plain(world: World) -> None:
    world.review = reviewed(world.deal)


def _state(world: World) -> list[tuple[str, str | None]]:
    with world.api.db.transaction() as session:
        rows = session.execute(select(Review.status, Review.reply_text)).all()
    return [(status, reply) for status, reply in rows]


@dataclass(frozen=True)
class Endpoint:
    name: str
    send: Callable[[World, dict[str, str]], httpx.Response]
    expected: Expected
    prepare: Callable[[World], None] | None = None
    related: bool = False
    is_write: bool = True


def _everyone(status: int) -> Expected:
    return dict.fromkeys(ROLES, (status, None))


ENDPOINTS = [
    Endpoint(
        "public reviews",
        lambda w, h: w.api.client.get(
            f"/api/v1/providers/{w.deal.provider.provider_id}/reviews", headers=h
        ),
        _everyone(200),
        prepare=_plain,
        is_write=False,
    ),
    Endpoint(
        "write review",
        lambda w, h: w.api.client.post(f"{w.deal.url}/review", json=REVIEW_BODY, headers=h),
        {
            "anonymous": ANONYMOUS,
            "sme": (201, None),
            "other_sme": HIDDEN,
            "provider": WRONG,
            "other_provider": HIDDEN,
            "pool_curator": HIDDEN,
            "other_curator": HIDDEN,
            "admin": HIDDEN,
        },
    ),
    Endpoint(
        "read the engagement's review",
        lambda w, h: w.api.client.get(f"{w.deal.url}/review", headers=h),
        {
            "anonymous": ANONYMOUS,
            "sme": (200, None),
            "other_sme": HIDDEN,
            "provider": (200, None),
            "other_provider": HIDDEN,
            "pool_curator": HIDDEN,
            "other_curator": HIDDEN,
            "admin": HIDDEN,
        },
        prepare=_plain,
        is_write=False,
    ),
    Endpoint(
        "reply",
        lambda w, h: w.api.client.post(
            f"/api/v1/reviews/{w.review['id']}/reply", json={"text": "感谢评价"}, headers=h
        ),
        {
            "anonymous": ANONYMOUS,
            "sme": WRONG,
            "other_sme": WRONG,
            "provider": (200, None),
            "other_provider": WRONG,
            "pool_curator": WRONG,
            "other_curator": WRONG,
            "admin": WRONG,
        },
        prepare=_plain,
    ),
    Endpoint(
        "curator queue",
        lambda w, h: w.api.client.get("/api/v1/reviews/queue", headers=h),
        {
            "anonymous": ANONYMOUS,
            "sme": ROLE,
            "other_sme": ROLE,
            "provider": ROLE,
            "other_provider": ROLE,
            "pool_curator": (200, None),
            "other_curator": (200, None),
            "admin": (200, None),
        },
        prepare=_plain,
        related=True,
        is_write=False,
    ),
    Endpoint(
        "decide",
        lambda w, h: w.api.client.post(
            f"/api/v1/reviews/{w.review['id']}/decision",
            json={"decision": "publish", "reason": "已核实"},
            headers=h,
        ),
        {
            "anonymous": ANONYMOUS,
            "sme": ROLE,
            "other_sme": ROLE,
            "provider": ROLE,
            "other_provider": ROLE,
            "pool_curator": (200, None),
            "other_curator": (403, "not_pool_curator"),
            "admin": (200, None),
        },
        prepare=_plain,
        related=True,
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_every_role_against_every_review_endpoint(api: Api, endpoint: Endpoint, role: str) -> None:
    market = new_market(api)
    world = World(market, related_deal(market) if endpoint.related else completed_deal(market))
    if endpoint.prepare is not None:
        endpoint.prepare(world)
    headers = headers_for(world, role)
    before = _state(world)

    response = endpoint.send(world, headers)

    status, error_code = endpoint.expected[role]
    assert response.status_code == status, response.text
    if error_code is not None:
        assert code(response) == error_code
    if status >= 400 and endpoint.is_write:
        assert _state(world) == before


def test_the_queue_shows_each_curator_only_the_pools_it_runs(api: Api) -> None:
    market = new_market(api)
    world = World(market, related_deal(market))
    _plain(world)

    mine = api.client.get("/api/v1/reviews/queue", headers=market.curator.headers).json()
    elsewhere = api.client.get(
        "/api/v1/reviews/queue", headers=headers_for(world, "other_curator")
    ).json()
    admin = api.client.get("/api/v1/reviews/queue", headers=market.admin.headers).json()

    assert [item["id"] for item in mine["items"]] == [world.review["id"]]
    assert elsewhere["items"] == []
    assert world.review["id"] in [item["id"] for item in admin["items"]]


def test_a_held_review_is_hidden_from_outsiders_who_try_to_reply(api: Api) -> None:
    market = new_market(api)
    world = World(market, related_deal(market))
    _plain(world)

    response = api.client.post(
        f"/api/v1/reviews/{world.review['id']}/reply",
        json={"text": "感谢"},
        headers=market.provider().headers,
    )

    assert response.status_code == 404
    assert code(response) == "review_not_found"
