"""Who may do what with disputes: every caller against every endpoint, on a dispute of its own
engagement and on another's.

The parties (both organisations' users) and the mediators (the pool's curators, admins) see a
dispute; everyone else is told it does not exist (404). Parties' actions refused to mediators and
mediators' to parties are 403 with a code naming who may act. A refused call changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalog.pools.storage import LocalDirectoryStorage
from tests.market.disputes.test_disputes import PDF, Case, open_case
from tests.market.engagements.test_engagements import new_deal
from tests.market.rfqs.test_rfq_authorization import colleague_headers
from tests.market.rfqs.test_rfq_flow import Market, code, new_market
from tests.support import Api

ROLES = (
    "anonymous",
    "sme",
    "colleague",
    "other_sme",
    "provider",
    "other_provider",
    "pool_curator",
    "other_curator",
    "admin",
)
Expected = dict[str, tuple[int, str | None]]
HIDDEN = (404, "dispute_not_found")
PARTY_ONLY = (403, "party_required")
MEDIATOR_ONLY = (403, "mediator_required")


@dataclass
class World:
    market: Market
    case: Case
    ids: dict[str, str] = field(default_factory=dict)
    actors: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def api(self) -> Api:
        return self.market.api


def headers_for(world: World, role: str) -> dict[str, str]:
    if role not in world.actors:
        api, market, deal = world.api, world.market, world.case.deal
        makers: dict[str, Callable[[], dict[str, str]]] = {
            "anonymous": lambda: {},
            "sme": lambda: deal.sme.headers,
            "colleague": lambda: colleague_headers(api, deal.sme),
            "other_sme": lambda: api.sme().headers,
            "provider": lambda: deal.provider.headers,
            "other_provider": lambda: market.provider().headers,
            "pool_curator": lambda: market.curator.headers,
            "other_curator": lambda: api.curator(admin=market.admin).headers,
            "admin": lambda: market.admin.headers,
        }
        world.actors[role] = makers[role]()
    return world.actors[role]


def expect(ok: dict[str, int], refused: dict[str, tuple[int, str]] | None = None) -> Expected:
    expected: Expected = {"anonymous": (401, "authentication_required")}
    for role in ROLES[1:]:
        if role in ok:
            expected[role] = (ok[role], None)
        else:
            expected[role] = (refused or {}).get(role, HIDDEN)
    return expected


EVERYONE_INVOLVED = dict.fromkeys(("sme", "colleague", "provider", "pool_curator", "admin"), 200)
MEDIATORS_REFUSED = {"pool_curator": PARTY_ONLY, "admin": PARTY_ONLY}
PARTIES_REFUSED = {"sme": MEDIATOR_ONLY, "colleague": MEDIATOR_ONLY, "provider": MEDIATOR_ONLY}


def _proposed(world: World) -> None:
    world.case.proposed()


def _with_evidence(world: World) -> None:
    response = world.api.client.post(
        f"{world.case.url}/evidence",
        files={"file": ("a.pdf", PDF, "application/pdf")},
        headers=world.case.deal.sme.headers,
    )
    assert response.status_code == 201, response.text
    world.ids["evidence"] = response.json()["id"]


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # relative to the dispute, or absolute when it starts with "/api"
    expected: Expected
    body: Any = None
    files: bool = False
    prepare: Callable[[World], None] | None = None


ENDPOINTS = [
    Endpoint("read", "GET", "", expect(EVERYONE_INVOLVED)),
    Endpoint("message", "POST", "/messages", expect(EVERYONE_INVOLVED), {"body": "补充"}),
    Endpoint(
        "upload_evidence",
        "POST",
        "/evidence",
        expect({"sme": 201, "colleague": 201, "provider": 201}, MEDIATORS_REFUSED),
        files=True,
    ),
    Endpoint(
        "download_evidence",
        "GET",
        "/evidence/{evidence}",
        expect(EVERYONE_INVOLVED),
        prepare=_with_evidence,
    ),
    Endpoint(
        "propose",
        "POST",
        "/proposal",
        expect({"pool_curator": 200, "admin": 200}, PARTIES_REFUSED),
        {"proposal": "各让一步"},
    ),
    Endpoint(
        "respond",
        "POST",
        "/response",
        expect({"sme": 200, "colleague": 200, "provider": 200}, MEDIATORS_REFUSED),
        {"accept": True},
        prepare=_proposed,
    ),
    Endpoint(
        "withdraw",
        "POST",
        "/withdraw",
        expect(
            {"sme": 200, "colleague": 200},
            {**MEDIATORS_REFUSED, "provider": (403, "opener_required")},
        ),
        {"reason": "撤回"},
    ),
    Endpoint(
        "close",
        "POST",
        "/close",
        expect({"pool_curator": 200, "admin": 200}, PARTIES_REFUSED),
        {"outcome": "decided", "reason": "裁定"},
    ),
]


@pytest.fixture
def world(api: Api, tmp_path: Path) -> World:
    api.client.app.state.evidence_storage = LocalDirectoryStorage(tmp_path)  # type: ignore[attr-defined]
    market = new_market(api)
    return World(market=market, case=open_case(new_deal(market)))


def call(world: World, endpoint: Endpoint, role: str) -> httpx.Response:
    path = endpoint.path.format(**world.ids)
    url = path if path.startswith("/api") else world.case.url + path
    headers = headers_for(world, role)
    if endpoint.files:
        files = {"file": ("a.pdf", PDF, "application/pdf")}
        return world.api.client.post(url, files=files, headers=headers)
    return world.api.client.request(endpoint.method, url, json=endpoint.body, headers=headers)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_every_role_on_every_dispute_endpoint(world: World, endpoint: Endpoint, role: str) -> None:
    if endpoint.prepare:
        endpoint.prepare(world)
    headers_for(world, role)  # make the caller before taking the "before" picture
    before = world.case.read(world.case.deal.sme).json()

    response = call(world, endpoint, role)

    status, error_code = endpoint.expected[role]
    assert response.status_code == status, response.text
    if error_code is not None:
        assert code(response) == error_code
        after = world.case.read(world.case.deal.sme).json()
        assert after == before


@pytest.mark.parametrize("role", ROLES)
def test_every_role_opening_a_dispute_on_an_engagement(api: Api, role: str) -> None:
    market = new_market(api)
    deal = new_deal(market)
    world = World(market=market, case=Case(deal, {"id": "unused"}))
    expected = {
        "anonymous": (401, "authentication_required"),
        "sme": (201, None),
        "colleague": (201, None),
        "provider": (201, None),
    }

    response = api.client.post(
        f"{deal.url}/disputes",
        json={"category": "delay", "description": "延期两周"},
        headers=headers_for(world, role),
    )

    status, error_code = expected.get(role, (404, "engagement_not_found"))
    assert response.status_code == status, response.text
    if error_code:
        assert code(response) == error_code


@pytest.mark.parametrize("role", ROLES)
def test_every_role_listing_disputes(world: World, role: str) -> None:
    response = world.api.client.get("/api/v1/disputes", headers=headers_for(world, role))

    if role == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == 200, response.text
    seen = [d["id"] for d in response.json()["items"]]
    involved = role in EVERYONE_INVOLVED
    assert (world.case.dispute["id"] in seen) is involved
