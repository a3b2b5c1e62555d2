"""Who may do what with engagements: every caller against every endpoint, on its own and on
another party's engagement.

Contracts are private: only the SME and the provider party see an engagement (404 for everyone
else, curators and admins included); each party acts only on its side (403 ``wrong_party``);
curators of the engagement's pool see and decide its subsidy record, and nothing else. A refused
write leaves everything as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.market.engagements.test_engagements import ACCEPTANCE, KPIS, Deal, new_deal
from tests.market.rfqs.test_rfq_authorization import colleague_headers
from tests.market.rfqs.test_rfq_flow import Market, code, new_market
from tests.support import Api

ENGAGEMENTS = "/api/v1/engagements"
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
HIDDEN = (404, "engagement_not_found")
WRONG = (403, "wrong_party")


@dataclass
class World:
    market: Market
    deal: Deal
    # Ids made by the preparation (a pending change request), for the endpoint paths.
    ids: dict[str, str] = field(default_factory=dict)
    actors: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def api(self) -> Api:
        return self.market.api

    @property
    def url(self) -> str:
        return self.deal.url


def headers_for(world: World, role: str) -> dict[str, str]:
    if role not in world.actors:
        api, market, deal = world.api, world.market, world.deal
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


def sme_side(status: int) -> Expected:
    return expect({"sme": status, "colleague": status}, {"provider": WRONG})


def provider_side(status: int) -> Expected:
    return expect({"provider": status}, {"sme": WRONG, "colleague": WRONG})


PARTIES = {"sme": 200, "colleague": 200, "provider": 200}


# --- preparations: the state each endpoint acts in -----------------------------------------------


def _submitted(world: World) -> None:
    world.deal.ok(world.deal.provider, f"/milestones/{world.deal.milestone(0)}/submit", {})


def _all_submitted(world: World) -> None:
    world.deal.planned().submit_all()


def _delivered(world: World) -> None:
    world.deal.delivered()


def _accepted(world: World) -> None:
    world.deal.accepted()


def _pending_change(world: World) -> None:
    change = world.deal.ok(
        world.deal.provider, "/change-requests", {"reason": "追加", "contract_value_fen": 3_000_000}
    )
    world.ids["change"] = change["id"]


def _subsidy_applied(world: World) -> None:
    world.deal.ok(world.deal.sme, "/subsidy", {"application_reference": "ZG-7", "amount_fen": 100})


@dataclass(frozen=True)
class Endpoint:
    name: str
    send: Callable[[World, dict[str, str]], httpx.Response]
    expected: Expected
    prepare: Callable[[World], None] | None = None
    subsidy: bool = False
    is_write: bool = True


def _get(path: str) -> Callable[[World, dict[str, str]], httpx.Response]:
    return lambda w, h: w.api.client.get(w.url + path.format(**w.ids), headers=h)


def _post(path: str, body: Any = None) -> Callable[[World, dict[str, str]], httpx.Response]:
    def send(w: World, h: dict[str, str]) -> httpx.Response:
        where = path.format(m=w.deal.milestone(0), **w.ids)
        return w.api.client.post(w.url + where, json=body, headers=h)

    return send


def _patch(w: World, h: dict[str, str]) -> httpx.Response:
    etag = w.deal.read().headers["ETag"]
    return w.api.client.patch(
        w.url, json={"kpis": KPIS, "contract_reference": "HT-9"}, headers={**h, "If-Match": etag}
    )


CURATORS = {"pool_curator": 200, "admin": 200}
DECIDERS_REFUSED = {
    "sme": (403, "not_pool_curator"),
    "colleague": (403, "not_pool_curator"),
    "provider": (403, "not_pool_curator"),
}

ENDPOINTS = [
    Endpoint("GET engagement", _get(""), expect(PARTIES), is_write=False),
    Endpoint("PATCH engagement", _patch, sme_side(200)),
    Endpoint(
        "POST milestone submit",
        _post("/milestones/{m}/submit", {"note": "完成"}),
        provider_side(200),
    ),
    Endpoint("POST milestone accept", _post("/milestones/{m}/accept"), sme_side(200), _submitted),
    Endpoint(
        "POST milestone reject",
        _post("/milestones/{m}/reject", {"reason": "不合格"}),
        sme_side(200),
        _submitted,
    ),
    Endpoint(
        "POST deliver", _post("/deliver", {"note": "交付"}), provider_side(200), _all_submitted
    ),
    Endpoint(
        "POST reject-delivery",
        _post("/reject-delivery", {"reason": "不达标"}),
        sme_side(200),
        _delivered,
    ),
    Endpoint("POST accept (验收)", _post("/accept", ACCEPTANCE), sme_side(200), _delivered),
    Endpoint("POST complete", _post("/complete"), sme_side(200), _accepted),
    Endpoint("POST cancel", _post("/cancel", {"reason": "取消"}), expect(PARTIES)),
    Endpoint("GET change-requests", _get("/change-requests"), expect(PARTIES), is_write=False),
    Endpoint(
        "POST change-request",
        _post("/change-requests", {"reason": "追加点位", "contract_value_fen": 3_000_000}),
        provider_side(201),
    ),
    Endpoint(
        "POST change-request accept",
        _post("/change-requests/{change}/accept", {}),
        sme_side(200),
        _pending_change,
    ),
    Endpoint(
        "POST change-request reject",
        _post("/change-requests/{change}/reject", {"reason": "不同意"}),
        sme_side(200),
        _pending_change,
    ),
    Endpoint(
        "POST change-request withdraw",
        _post("/change-requests/{change}/withdraw", {}),
        provider_side(200),
        _pending_change,
    ),
    Endpoint(
        "GET subsidy",
        _get("/subsidy"),
        expect({**PARTIES, **CURATORS}),
        _subsidy_applied,
        subsidy=True,
        is_write=False,
    ),
    Endpoint(
        "POST subsidy",
        _post("/subsidy", {"application_reference": "ZG-8", "amount_fen": 100}),
        sme_side(201),
        subsidy=True,
    ),
    Endpoint(
        "POST subsidy decision",
        _post("/subsidy/decision", {"decision": "approve"}),
        expect(CURATORS, DECIDERS_REFUSED),
        _subsidy_applied,
        subsidy=True,
    ),
]


def make_world(api: Api, endpoint: Endpoint) -> World:
    market = new_market(api)
    world = World(market, new_deal(market, subsidy=endpoint.subsidy))
    if endpoint.prepare is not None:
        endpoint.prepare(world)
    return world


def fingerprint(world: World) -> Any:
    deal = world.deal
    body = deal.read().json()
    changes = world.api.client.get(f"{deal.url}/change-requests", headers=deal.sme.headers).json()
    subsidy = world.api.client.get(f"{deal.url}/subsidy", headers=deal.sme.headers)
    return (
        body["version"],
        body["status"],
        body["contract_reference"],
        body["contract_value_fen"],
        [(m["status"], m["amount_fen"]) for m in body["milestones"]],
        [(c["id"], c["status"]) for c in changes],
        subsidy.json() if subsidy.status_code == 200 else None,
    )


def check(world: World, endpoint: Endpoint, role: str) -> None:
    status, error_code = endpoint.expected[role]
    before = fingerprint(world) if endpoint.is_write and status >= 400 else None

    response = endpoint.send(world, headers_for(world, role))

    assert response.status_code == status, (endpoint.name, role, response.text)
    if error_code is not None:
        assert code(response) == error_code, (endpoint.name, role, response.text)
    if before is not None:
        assert fingerprint(world) == before, (endpoint.name, role, "refused write changed")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_every_role_on_every_engagement_endpoint(api: Api, endpoint: Endpoint) -> None:
    world = make_world(api, endpoint)
    for role in ROLES:
        status, _ = endpoint.expected[role]
        if endpoint.is_write and status < 400:
            check(make_world(api, endpoint), endpoint, role)
        else:
            check(world, endpoint, role)


def test_a_provider_never_sees_another_providers_engagement(api: Api) -> None:
    market = new_market(api)
    mine, theirs = new_deal(market), new_deal(market)

    peek = market.get(mine.provider, theirs.url)
    listed = market.get(mine.provider, ENGAGEMENTS).json()

    assert (peek.status_code, code(peek)) == HIDDEN
    assert [e["id"] for e in listed["items"]] == [mine.engagement["id"]]


@pytest.mark.parametrize("role", ROLES)
def test_engagement_lists_are_for_the_parties(api: Api, role: str) -> None:
    endpoint = ENDPOINTS[0]
    world = make_world(api, endpoint)

    response = api.client.get(ENGAGEMENTS, headers=headers_for(world, role))

    if role == "anonymous":
        assert response.status_code == 401
    elif role in ("sme", "colleague", "provider"):
        assert [e["id"] for e in response.json()["items"]] == [world.deal.engagement["id"]]
    elif role in ("other_sme", "other_provider"):
        assert response.json()["items"] == []
    else:
        assert (response.status_code, code(response)) == (403, "role_required")


@pytest.mark.parametrize("role", ROLES)
def test_pool_subsidy_lists_are_for_the_pools_curators(api: Api, role: str) -> None:
    endpoint = next(e for e in ENDPOINTS if e.name == "GET subsidy")
    world = make_world(api, endpoint)

    response = api.client.get(
        f"/api/v1/pools/{world.market.pool_id}/subsidies", headers=headers_for(world, role)
    )

    expected = {
        "anonymous": (401, "authentication_required"),
        "pool_curator": (200, None),
        "admin": (200, None),
        "other_curator": (403, "not_pool_curator"),
    }.get(role, (403, "role_required"))
    assert response.status_code == expected[0], response.text
    if expected[1]:
        assert code(response) == expected[1]
    else:
        assert response.json()["total"] == 1
