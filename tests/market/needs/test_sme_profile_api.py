"""The SME organisation profile: size derivation, inventory validation, ETags, who may use it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.database import Database
from core.outbox import OutboxEvent
from core.settings import Settings
from market.app import create_app
from migrations import runner
from tests.support import PASSWORD, Actor, Api, scratch_database_url

URL = "/api/v1/sme/profile"

PROFILE: dict[str, Any] = {
    "industry_code": "C2929",
    "employees": 500,
    "revenue_wan": 1500,
    "region_code": "320400",
    "equipment": [
        {
            "machine_type": "注塑机",
            "brand": "海天",
            "controller": "弘讯",
            "count": 20,
            "protocol": "proto.modbus_tcp",
            "interface": "以太网",
            "networked": True,
        },
        {"machine_type": "机械手", "brand": "西门子", "controller": "S7-1200", "count": 4},
    ],
    "existing_systems": ["erp", "oa"],
    "maturity": {"scene.equipment": 1, "scene.planning": 2},
}


def put(api: Api, actor: Actor, body: dict[str, Any], etag: str | None = None) -> httpx.Response:
    headers = {**actor.headers, **({"If-Match": etag} if etag else {})}
    return api.client.put(URL, json=body, headers=headers)


def field_of(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    return str(response.json()["error"]["details"][0]["field"])


def colleague_of(api: Api, admin: Actor) -> dict[str, str]:
    email = f"colleague-{admin.user_id.hex[:8]}@example.com"
    invited = api.client.post(
        "/api/v1/organisations/me/invitations", headers=admin.headers, json={"email": email}
    )
    assert invited.status_code == 201, invited.text
    accepted = api.client.post(
        "/api/v1/auth/invitations/accept",
        json={"token": invited.json()["token"], "name": "同事", "password": PASSWORD},
    )
    assert accepted.status_code == 201, accepted.text
    return {"Authorization": f"Bearer {api.login(email)}"}


def test_unsaved_profile_is_empty_at_version_zero_in_the_registered_region(api: Api) -> None:
    sme = api.sme(region="441900")

    response = api.client.get(URL, headers=sme.headers)

    assert response.status_code == 200
    assert response.headers["ETag"] == 'W/"0"'
    body = response.json()
    assert body["org_id"] == str(sme.org_id)
    assert body["region_code"] == "441900"
    assert body["version"] == 0
    assert body["equipment"] == []
    assert body["size"] is None


def test_first_put_creates_the_profile_and_derives_the_size(api: Api) -> None:
    sme = api.sme()

    response = put(api, sme, PROFILE)

    assert response.status_code == 201, response.text
    assert response.headers["ETag"] == 'W/"1"'
    body = response.json()
    assert body["size"] == "small"  # X=500, Y=1500 (DOMAIN.md §3.1)
    assert body["industry_code"] == "2929"  # stored as digits, letter dropped
    assert body["existing_systems"] == ["erp", "oa"]
    assert body["maturity"] == {"scene.equipment": 1, "scene.planning": 2}
    assert api.client.get(URL, headers=sme.headers).json() == body


@pytest.mark.parametrize(
    ("employees", "revenue_wan", "size"),
    [
        (500, 1500, "small"),
        (1500, 30000, "medium"),  # an SME by revenue although it has 1,500 staff
        (1000, 40000, "large"),
        (300, 2000, "medium"),
        (20, 300, "small"),
        (15, 5000, "micro"),
        (200, 299, "micro"),
        (500, None, None),  # revenue unknown: size unknown, not guessed from headcount
        (None, None, None),
    ],
)
def test_size_follows_the_industry_rules(
    api: Api, employees: int | None, revenue_wan: int | None, size: str | None
) -> None:
    sme = api.sme()

    body = {"employees": employees, "revenue_wan": revenue_wan}
    response = put(api, sme, body)

    assert response.status_code == 201, response.text
    assert response.json()["size"] == size


def test_size_cannot_be_typed_in(api: Api) -> None:
    sme = api.sme()

    assert field_of(put(api, sme, {**PROFILE, "size": "micro"})) == "body.size"


@pytest.mark.parametrize(
    ("equipment", "field"),
    [
        ({"machine_type": "注塑机", "protocol": "proto.nonsense"}, "body.equipment.0.protocol"),
        ({"machine_type": "注塑机", "protocol": "Modbus"}, "body.equipment.0.protocol"),
        ({"machine_type": "注塑机", "count": 0}, "body.equipment.0.count"),
        ({"machine_type": ""}, "body.equipment.0.machine_type"),
        ({"brand": "海天"}, "body.equipment.0.machine_type"),
        ({"machine_type": "x" * 61}, "body.equipment.0.machine_type"),
        ({"machine_type": "注塑机", "brand": "x" * 61}, "body.equipment.0.brand"),
        ({"machine_type": "注塑机", "controller": "x" * 61}, "body.equipment.0.controller"),
        ({"machine_type": "注塑机", "interface": "x" * 61}, "body.equipment.0.interface"),
        ({"machine_type": "注塑机", "networked": "maybe"}, "body.equipment.0.networked"),
        ({"machine_type": "注塑机", "colour": "red"}, "body.equipment.0.colour"),
    ],
)
def test_inventory_lines_are_validated_field_by_field(
    api: Api, equipment: dict[str, Any], field: str
) -> None:
    sme = api.sme()

    assert field_of(put(api, sme, {"equipment": [equipment]})) == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"existing_systems": ["none", "erp"]}, "body.existing_systems"),
        ({"existing_systems": ["erp", "erp"]}, "body.existing_systems"),
        ({"existing_systems": ["sap"]}, "body.existing_systems.0"),
        ({"maturity": {"scene.quality": 5}}, "body.maturity.scene.quality"),
        ({"maturity": {"scene.quality": 0}}, "body.maturity.scene.quality"),
        ({"maturity": {"scene.nonsense": 2}}, "body.maturity.scene.nonsense.[key]"),
        ({"industry_code": "A01"}, "body.industry_code"),
        ({"industry_code": "99999"}, "body.industry_code"),
        ({"region_code": "999999"}, "body.region_code"),
        ({"employees": -1}, "body.employees"),
        ({"revenue_wan": -5}, "body.revenue_wan"),
    ],
)
def test_profile_fields_are_validated(api: Api, body: dict[str, Any], field: str) -> None:
    sme = api.sme()

    assert field_of(put(api, sme, body)) == field


def test_none_alone_says_there_are_no_systems(api: Api) -> None:
    sme = api.sme()

    response = put(api, sme, {"existing_systems": ["none"]})

    assert response.status_code == 201
    assert response.json()["existing_systems"] == ["none"]


def test_inventory_protocols_list_declared_then_guessed(api: Api) -> None:
    sme = api.sme()

    body = put(api, sme, PROFILE).json()

    assert [e["protocol_guess"] for e in body["equipment"]] == [None, "proto.s7.isotcp"]
    assert body["inventory_protocols"] == ["proto.modbus_tcp", "proto.s7.isotcp"]


def test_later_puts_need_the_current_etag(api: Api) -> None:
    sme = api.sme()
    put(api, sme, PROFILE)

    missing = put(api, sme, {**PROFILE, "employees": 600})
    stale = put(api, sme, {**PROFILE, "employees": 600}, etag='W/"7"')
    fresh = put(api, sme, {**PROFILE, "employees": 600}, etag='W/"1"')

    assert missing.status_code == 428
    assert missing.json()["error"]["code"] == "precondition_required"
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "version_conflict"
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] == 'W/"2"'
    assert fresh.json()["employees"] == 600
    # The refused attempts changed nothing in between.
    assert put(api, sme, PROFILE, etag='W/"1"').status_code == 412


def test_first_put_may_name_the_unsaved_version_but_no_other(api: Api) -> None:
    sme = api.sme()
    assert put(api, sme, PROFILE, etag='W/"3"').status_code == 412
    assert put(api, sme, PROFILE, etag='W/"0"').status_code == 201


def test_a_first_save_that_lost_a_race_is_asked_to_reload(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    sme = api.sme()
    put(api, sme, PROFILE)
    # As if this request had looked before a colleague's first save committed.
    monkeypatch.setattr("market.needs.service.find_profile", lambda *_a, **_k: None)

    response = put(api, sme, {**PROFILE, "employees": 9})

    assert response.status_code == 412
    assert response.json()["error"]["code"] == "version_conflict"
    monkeypatch.undo()
    assert api.client.get(URL, headers=sme.headers).json()["employees"] == 500


def test_put_replaces_the_whole_profile_and_defaults_the_region(api: Api) -> None:
    sme = api.sme(region="320400")
    put(api, sme, {**PROFILE, "region_code": "441900"})

    body = put(api, sme, {"employees": 10}, etag='W/"1"').json()

    assert body["equipment"] == []
    assert body["industry_code"] is None
    assert body["region_code"] == "320400"
    cleared = put(api, sme, {"region_code": None}, etag='W/"2"').json()
    assert cleared["region_code"] is None


def test_colleagues_share_one_profile_and_other_smes_have_their_own(api: Api) -> None:
    sme = api.sme()
    colleague = colleague_of(api, sme)
    put(api, sme, PROFILE)

    seen = api.client.get(URL, headers=colleague)
    edited = api.client.put(
        URL, json={**PROFILE, "employees": 520}, headers={**colleague, "If-Match": 'W/"1"'}
    )
    other = api.client.get(URL, headers=api.sme().headers)

    assert seen.json()["employees"] == 500
    assert edited.status_code == 200
    assert api.client.get(URL, headers=sme.headers).json()["employees"] == 520
    assert other.json()["version"] == 0
    assert other.json()["equipment"] == []


@pytest.mark.parametrize("role", ["provider", "curator", "admin"])
def test_only_sme_users_have_a_profile(api: Api, role: str) -> None:
    actor = {"provider": api.provider, "curator": api.curator, "admin": api.admin}[role]()

    for response in (api.client.get(URL, headers=actor.headers), put(api, actor, PROFILE)):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "role_required"


def test_anonymous_callers_must_log_in(api: Api) -> None:
    assert api.client.get(URL).status_code == 401
    assert api.client.put(URL, json=PROFILE).status_code == 401


def test_saving_the_profile_tells_subscribers(api: Api) -> None:
    sme = api.sme()
    put(api, sme, PROFILE)

    with api.db.sessions() as session:
        events = session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == "market.sme_profile.changed")
        ).all()
    assert [e.payload for e in events] == [{"org_id": str(sme.org_id)}]


# --- races (PostgreSQL, real concurrent connections) -------------------------------------------

postgres_only = pytest.mark.skipif(
    not os.environ.get("MARKET_TEST_DATABASE_URL"),
    reason="races are tested on PostgreSQL with real concurrent connections",
)


@pytest.fixture
def committed_api(tmp_path: Path) -> Iterator[Api]:
    """An app on its own scratch database whose requests really commit, so they can race."""
    url, drop = scratch_database_url(tmp_path, "sme_races")
    runner.upgrade(url)
    db = Database.from_url(url)
    try:
        with TestClient(create_app(Settings(env="test", database_url=url), db=db)) as client:
            yield Api(client=client, db=db)
    finally:
        db.engine.dispose()
        drop()


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


@postgres_only
def test_racing_first_saves_create_one_profile_and_ask_the_rest_to_reload(
    committed_api: Api,
) -> None:
    api = committed_api
    sme = api.sme()

    # Each names the unsaved version: whether a loser collides on insert or arrives after the
    # winner committed, it is told the profile changed under it.
    responses = at_once([lambda: put(api, sme, PROFILE, etag='W/"0"') for _ in range(3)])

    assert sorted(r.status_code for r in responses) == [201, 412, 412]
    assert api.client.get(URL, headers=sme.headers).json()["version"] == 1


@postgres_only
def test_racing_edits_of_one_need_with_the_same_etag_let_one_through(committed_api: Api) -> None:
    api = committed_api
    sme = api.sme()
    need = api.client.post("/api/v1/needs", json={"title": "设备联网"}, headers=sme.headers)
    assert need.status_code == 201, need.text
    url = f"/api/v1/needs/{need.json()['id']}"

    def edit(title: str) -> Callable[[], httpx.Response]:
        headers = {**sme.headers, "If-Match": 'W/"1"'}
        return lambda: api.client.patch(url, json={"title": title}, headers=headers)

    responses = at_once([edit("甲"), edit("乙")])

    assert sorted(r.status_code for r in responses) == [200, 412]
    winner = next(r for r in responses if r.status_code == 200).json()["title"]
    assert api.client.get(url, headers=sme.headers).json()["title"] == winner
