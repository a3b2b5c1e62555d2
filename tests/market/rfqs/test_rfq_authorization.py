"""Who may do what with RFQs, invitations, quotes and Q&A: every caller against every endpoint,
on its own and on the other party's objects.

The SME organisation sees all of its RFQ; an invited provider sees the RFQ and its own
invitation, quotes and thread, never a rival's; curators see quotes only when flagged (tested in
test_quotes_and_comparison.py); everyone else is told the object does not exist. A refused write
leaves everything as it was; an allowed write succeeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from core.audit import AuditRecord
from tests.market.rfqs.test_rfq_flow import (
    RFQS,
    Market,
    code,
    deadline_in,
    invite,
    new_market,
    quote_body,
)
from tests.support import PASSWORD, Actor, Api

ROLES = (
    "anonymous",
    "owner",
    "colleague",
    "other_sme",
    "invited",
    "rival",
    "uninvited",
    "pool_curator",
    "other_curator",
    "admin",
)
Expected = dict[str, tuple[int, str | None]]


@dataclass
class World:
    """An SME's RFQ to two providers, both of whom quoted; ``invited`` is the one whose
    invitation and quote the endpoints act on, ``rival`` the other."""

    market: Market
    owner: Actor
    invited: Actor
    rival: Actor
    rfq: dict[str, Any]
    invitation: str
    quote: str
    actors: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def api(self) -> Api:
        return self.market.api


def make_world(api: Api) -> World:
    market = new_market(api)
    owner, invited, rival = market.sme(), market.provider(), market.provider()
    rfq = market.rfq(owner, [invited, rival])
    invitation = market.invitation(rfq, invited)
    quote = market.quote(invited, invitation)
    market.quote(rival, market.invitation(rfq, rival))
    return World(market, owner, invited, rival, rfq, invitation, quote["id"])


def colleague_headers(api: Api, owner: Actor) -> dict[str, str]:
    email = f"colleague-{owner.user_id.hex[:8]}@example.com"
    invited = api.client.post(
        "/api/v1/organisations/me/invitations", headers=owner.headers, json={"email": email}
    )
    assert invited.status_code == 201, invited.text
    accepted = api.client.post(
        "/api/v1/auth/invitations/accept",
        json={"token": invited.json()["token"], "name": "同事", "password": PASSWORD},
    )
    assert accepted.status_code == 201, accepted.text
    return {"Authorization": f"Bearer {api.login(email)}"}


def headers_for(world: World, role: str) -> dict[str, str]:
    if role not in world.actors:
        api, market = world.api, world.market
        makers: dict[str, Callable[[], dict[str, str]]] = {
            "anonymous": lambda: {},
            "owner": lambda: world.owner.headers,
            "colleague": lambda: colleague_headers(api, world.owner),
            "other_sme": lambda: api.sme().headers,
            "invited": lambda: world.invited.headers,
            "rival": lambda: world.rival.headers,
            "uninvited": lambda: market.provider().headers,
            "pool_curator": lambda: market.curator.headers,
            "other_curator": lambda: api.curator(admin=market.admin).headers,
            "admin": lambda: market.admin.headers,
        }
        world.actors[role] = makers[role]()
    return world.actors[role]


def _matrix(ok: dict[str, int], refused: dict[str, tuple[int, str]], hidden: str) -> Expected:
    """Roles in ``ok`` succeed, those in ``refused`` get their error; every other logged-in
    caller is told the object does not exist (``hidden``)."""
    expected: Expected = {"anonymous": (401, "authentication_required")}
    for role in ROLES[1:]:
        if role in ok:
            expected[role] = (ok[role], None)
        elif role in refused:
            expected[role] = refused[role]
        else:
            expected[role] = (404, hidden)
    return expected


SME = ("owner", "colleague")
WRONG = (403, "wrong_party")


def sme_only(status: int, hidden: str, *, providers: tuple[str, ...]) -> Expected:
    return _matrix(dict.fromkeys(SME, status), dict.fromkeys(providers, WRONG), hidden)


def provider_only(status: int, hidden: str) -> Expected:
    return _matrix({"invited": status}, dict.fromkeys(SME, WRONG), hidden)


def parties(status: int, hidden: str, *, rival: bool = False) -> Expected:
    allowed = (*SME, "invited", "rival") if rival else (*SME, "invited")
    return _matrix(dict.fromkeys(allowed, status), {}, hidden)


@dataclass(frozen=True)
class Endpoint:
    name: str
    send: Callable[[World, dict[str, str]], httpx.Response]
    expected: Expected
    is_write: bool = True


def _get(path: Callable[[World], str]) -> Callable[[World, dict[str, str]], httpx.Response]:
    return lambda w, h: w.api.client.get(path(w), headers=h)


def _post(
    path: Callable[[World], str], body: Callable[[World], Any]
) -> Callable[[World, dict[str, str]], httpx.Response]:
    return lambda w, h: w.api.client.post(path(w), json=body(w), headers=h)


def rfq_url(w: World) -> str:
    return f"{RFQS}/{w.rfq['id']}"


def inv_url(w: World) -> str:
    return f"/api/v1/invitations/{w.invitation}"


def quote_url(w: World) -> str:
    return f"/api/v1/quotes/{w.quote}"


PROVIDERS = ("invited", "rival")

ENDPOINTS = [
    Endpoint(
        "GET rfq",
        _get(rfq_url),
        parties(200, "rfq_not_found", rival=True),
        is_write=False,
    ),
    Endpoint(
        "POST rfq invitations",
        _post(lambda w: f"{rfq_url(w)}/invitations", lambda w: invite(w.market.provider())),
        sme_only(200, "rfq_not_found", providers=PROVIDERS),
    ),
    Endpoint(
        "POST rfq extend",
        _post(lambda w: f"{rfq_url(w)}/extend", lambda w: {"deadline": deadline_in(10)}),
        sme_only(200, "rfq_not_found", providers=PROVIDERS),
    ),
    Endpoint(
        "POST rfq cancel",
        _post(lambda w: f"{rfq_url(w)}/cancel", lambda w: {"reason": "取消"}),
        sme_only(200, "rfq_not_found", providers=PROVIDERS),
    ),
    Endpoint(
        "GET rfq comparison",
        _get(lambda w: f"{rfq_url(w)}/comparison"),
        sme_only(200, "rfq_not_found", providers=PROVIDERS),
        is_write=False,
    ),
    Endpoint(
        "GET invitation",
        _get(inv_url),
        parties(200, "invitation_not_found"),
        is_write=False,
    ),
    Endpoint(
        "POST invitation decline",
        _post(lambda w: f"{inv_url(w)}/decline", lambda w: {"reason": "排期已满"}),
        provider_only(200, "invitation_not_found"),
    ),
    Endpoint(
        "GET invitation quotes",
        _get(lambda w: f"{inv_url(w)}/quotes"),
        parties(200, "invitation_not_found"),
        is_write=False,
    ),
    Endpoint(
        "POST invitation quote",
        _post(lambda w: f"{inv_url(w)}/quotes", lambda w: quote_body()),
        provider_only(201, "invitation_not_found"),
    ),
    Endpoint(
        "GET invitation messages",
        _get(lambda w: f"{inv_url(w)}/messages"),
        parties(200, "invitation_not_found"),
        is_write=False,
    ),
    Endpoint(
        "POST invitation message",
        _post(lambda w: f"{inv_url(w)}/messages", lambda w: {"body": "请问工期？"}),
        parties(201, "invitation_not_found"),
    ),
    Endpoint(
        "GET quote",
        _get(quote_url),
        parties(200, "quote_not_found"),
        is_write=False,
    ),
    Endpoint(
        "POST quote accept",
        _post(lambda w: f"{quote_url(w)}/accept", lambda w: {}),
        sme_only(201, "quote_not_found", providers=("invited",)),
    ),
    Endpoint(
        "POST quote cost-breakdown",
        _post(
            lambda w: f"{quote_url(w)}/cost-breakdown",
            lambda w: {"items": [{"item": "人工", "cost_fen": 100}]},
        ),
        provider_only(200, "quote_not_found"),
    ),
]


def fingerprint(world: World) -> Any:
    """Everything a write could change, read by the owner."""
    client, headers = world.api.client, world.owner.headers
    rfq = client.get(rfq_url(world), headers=headers).json()
    quotes = client.get(f"{inv_url(world)}/quotes", headers=headers).json()
    messages = client.get(f"{inv_url(world)}/messages", headers=headers).json()
    return (
        rfq["status"],
        rfq["deadline"],
        [(i["provider"]["id"], i["status"]) for i in rfq["invitations"]],
        [(q["id"], q["status"], q["cost_breakdown"]) for q in quotes],
        len(messages),
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
def test_every_role_on_every_object_endpoint(api: Api, endpoint: Endpoint) -> None:
    world = make_world(api)
    for role in ROLES:
        status, _ = endpoint.expected[role]
        if endpoint.is_write and status < 400:
            # A successful write changes the world: each gets a fresh one.
            check(make_world(api), endpoint, role)
        else:
            check(world, endpoint, role)


def test_provider_never_sees_a_rivals_quote_or_the_other_invitations(api: Api) -> None:
    world = make_world(api)
    client = api.client
    rival_rfq = client.get(rfq_url(world), headers=world.rival.headers).json()
    rival_invitation = rival_rfq["invitations"][0]["id"]

    mine = client.get(rfq_url(world), headers=world.invited.headers).json()

    assert [i["id"] for i in mine["invitations"]] == [world.invitation]
    assert rival_invitation != world.invitation
    assert (
        client.get(
            f"/api/v1/invitations/{rival_invitation}", headers=world.invited.headers
        ).status_code
        == 404
    )
    rival_quote = rival_rfq["invitations"][0]["latest_quote"]["id"]
    peek = client.get(f"/api/v1/quotes/{rival_quote}", headers=world.invited.headers)
    assert (peek.status_code, code(peek)) == (404, "quote_not_found")
    listed = client.get(RFQS, headers=world.invited.headers).json()["items"]
    assert [(r["invitation_count"], r["quote_count"]) for r in listed] == [(None, None)]


# --- collection and settings endpoints -----------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_only_sme_users_send_rfqs(api: Api, role: str) -> None:
    world = make_world(api)
    need = world.market.need(world.owner)
    body = {
        "need_id": need,
        "provider_ids": [str(world.invited.provider_id)],
        "deadline": deadline_in(5),
    }
    expected = {
        "anonymous": (401, "authentication_required"),
        "owner": (201, None),
        "colleague": (201, None),
        "other_sme": (404, "need_not_found"),
    }.get(role, (403, "role_required"))

    response = api.client.post(RFQS, json=body, headers=headers_for(world, role))

    assert response.status_code == expected[0], response.text
    if expected[1]:
        assert code(response) == expected[1]


@pytest.mark.parametrize("role", ROLES)
def test_rfq_lists_hold_only_the_callers_own(api: Api, role: str) -> None:
    world = make_world(api)
    expected_ids = {
        "owner": [world.rfq["id"]],
        "colleague": [world.rfq["id"]],
        "invited": [world.rfq["id"]],
        "rival": [world.rfq["id"]],
        "other_sme": [],
        "uninvited": [],
    }

    response = api.client.get(RFQS, headers=headers_for(world, role))

    if role == "anonymous":
        assert response.status_code == 401
    elif role in expected_ids:
        assert response.status_code == 200, response.text
        assert [r["id"] for r in response.json()["items"]] == expected_ids[role]
    else:
        assert (response.status_code, code(response)) == (403, "role_required")


@pytest.mark.parametrize("role", ROLES)
def test_flagged_quotes_are_for_curators_and_admins(api: Api, role: str) -> None:
    world = make_world(api)

    response = api.client.get("/api/v1/curator/flagged-quotes", headers=headers_for(world, role))

    if role == "anonymous":
        assert response.status_code == 401
    elif role in ("pool_curator", "other_curator", "admin"):
        assert response.status_code == 200, response.text
        assert response.json()["total"] == 0
    else:
        assert (response.status_code, code(response)) == (403, "role_required")


@pytest.mark.parametrize("role", ROLES)
def test_pool_market_settings_are_public_and_set_by_the_pools_curators(api: Api, role: str) -> None:
    world = make_world(api)
    url = f"/api/v1/pools/{world.market.pool_id}/market-settings"
    headers = headers_for(world, role)

    read = api.client.get(url, headers=headers)
    write = api.client.put(url, json={"invitation_cap": 3}, headers=headers)

    assert read.status_code == 200
    assert read.json()["invitation_cap"] == 5
    expected = {
        "anonymous": (401, "authentication_required"),
        "pool_curator": (200, None),
        "admin": (200, None),
        "other_curator": (403, "not_pool_curator"),
    }.get(role, (403, "role_required"))
    assert write.status_code == expected[0], write.text
    if expected[1]:
        assert code(write) == expected[1]
    cap = api.client.get(url).json()["invitation_cap"]
    assert cap == (3 if expected[0] == 200 else 5)


def test_market_settings_use_if_match_after_the_first_save_and_are_audited(api: Api) -> None:
    world = make_world(api)
    url = f"/api/v1/pools/{world.market.pool_id}/market-settings"
    curator = world.market.curator.headers

    first = api.client.put(
        url,
        json={"subsidy_programme": "专项资金", "subsidy_rate_bp": 3000},
        headers={**curator, "If-Match": 'W/"0"'},
    )
    blind = api.client.put(url, json={"invitation_cap": 4}, headers=curator)
    stale = api.client.put(
        url, json={"invitation_cap": 4}, headers={**curator, "If-Match": 'W/"0"'}
    )
    unnamed = api.client.put(
        url, json={"subsidy_rate_bp": 1000}, headers={**curator, "If-Match": first.headers["ETag"]}
    )

    assert (first.status_code, first.json()["runs_subsidy"]) == (200, True)
    assert first.headers["ETag"] == 'W/"1"'
    assert (blind.status_code, code(blind)) == (428, "precondition_required")
    assert (stale.status_code, code(stale)) == (412, "version_conflict")
    assert unnamed.status_code == 422
    assert unnamed.json()["error"]["details"][0]["field"] == "body.subsidy_programme"
    with api.db.transaction() as session:
        rows = list(
            session.scalars(
                select(AuditRecord).where(AuditRecord.action == "pool.market_settings.updated")
            )
        )
    assert [(r.target_id, r.actor_user_id) for r in rows] == [
        (world.market.pool_id, world.market.curator.user_id)
    ]
    assert rows[0].after is not None
    assert rows[0].after["subsidy_rate_bp"] == 3000


def test_unknown_pool_settings_are_not_found(api: Api) -> None:
    response = api.client.get("/api/v1/pools/00000000-0000-0000-0000-000000000000/market-settings")

    assert (response.status_code, code(response)) == (404, "pool_not_found")
