"""Who may do what in a pool: every role against the pool and application endpoints.

Each case states the status and error code a caller gets; refused writes must leave the
application as it was.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from catalog.pools import service
from tests.catalog.pools.test_application_lifecycle import (
    HIGH,
    Flow,
    new_flow,
    score_body,
)
from tests.catalog.pools.test_pool_management import APPLICATIONS, POOLS, error, pool_body
from tests.support import Actor, Api

SCORE = score_body(HIGH)
# Ids no row has; fixed so that every test worker collects the same test ids.
NOBODY = "00000000-0000-4000-8000-000000000000"
# (method, path, body); {pool} and {app} are filled in from the flow under test.
POOL_WRITES: list[tuple[str, str, Any]] = [
    ("PATCH", "/pools/{pool}", {"name": "改名"}),
    ("POST", "/pools/{pool}/open", None),
    ("POST", "/pools/{pool}/close", None),
    ("POST", "/pools/{pool}/notices/close-due", None),
]
POOL_CURATOR_READS: list[tuple[str, str, Any]] = [
    ("GET", "/pools/{pool}/applications", None),
    ("GET", "/pools/{pool}/audit", None),
]
APPLICATION_CURATOR_ACTIONS: list[tuple[str, str, Any]] = [
    ("POST", "/applications/{app}/return", {"reasons": ["缺材料"]}),
    ("POST", "/applications/{app}/accept", None),
    ("POST", "/applications/{app}/reviewers", {"user_ids": [NOBODY]}),
    ("POST", "/applications/{app}/score", SCORE),
    ("POST", "/applications/{app}/decision", {"decision": "reject", "reasons": ["不符"]}),
    ("GET", "/applications/{app}/objections", None),
    (
        "POST",
        "/applications/{app}/objections/{nobody}/resolve",
        {"outcome": "dismiss", "reason": "x"},
    ),
]
CURATOR_ACTIONS = [
    ("POST", "/pools", pool_body()),
    *POOL_WRITES,
    *POOL_CURATOR_READS,
    *APPLICATION_CURATOR_ACTIONS,
]
PROVIDER_ACTIONS: list[tuple[str, str, Any]] = [
    (
        "POST",
        "/pools/{pool}/applications",
        {"category_id": "injection", "solution_ids": [NOBODY], "declaration": True},
    ),
    ("POST", "/applications/{app}/resubmit", {"note": "补充"}),
    ("POST", "/applications/{app}/withdraw", None),
    ("GET", "/applications/mine", None),
]
OWNER_READS: list[tuple[str, str, Any]] = [
    ("GET", "/applications/{app}", None),
    ("GET", "/applications/{app}/decisions", None),
]
EVERY_AUTHENTICATED = [
    *CURATOR_ACTIONS,
    *PROVIDER_ACTIONS,
    *OWNER_READS,
    ("POST", "/applications/{app}/objections", {"text": "异议"}),
]


def call(
    flow: Flow, actor: Actor | None, method: str, path: str, body: Any = None
) -> httpx.Response:
    url = "/api/v1" + path.format(pool=flow.pool["id"], app=flow.app["id"], nobody=NOBODY)
    headers = dict(actor.headers) if actor else {}
    if method == "PATCH":
        headers["If-Match"] = flow.api.client.get(f"{POOLS}/{flow.pool['id']}").headers["ETag"]
    return flow.api.client.request(method, url, json=body, headers=headers)


def unchanged(flow: Flow) -> None:
    """The refused calls left the application and the pool as they were."""
    app = flow.read().json()
    assert (app["state"], app["version"]) == (flow.app["state"], flow.app["version"])
    pool = flow.api.client.get(f"{POOLS}/{flow.pool['id']}").json()
    assert (pool["version"], pool["applications_open"]) == (flow.pool["version"], True)


@pytest.fixture
def flow(api: Api) -> Flow:
    return new_flow(api).submitted()


def ids(cases: list[tuple[str, str, Any]]) -> list[str]:
    return [f"{method} {path}" for method, path, _ in cases]


@pytest.mark.parametrize(
    ("method", "path", "body"), EVERY_AUTHENTICATED, ids=ids(EVERY_AUTHENTICATED)
)
def test_anonymous_callers_must_log_in(flow: Flow, method: str, path: str, body: Any) -> None:
    response = call(flow, None, method, path, body)

    assert response.status_code == 401, response.text
    assert error(response)["code"] == "authentication_required"
    unchanged(flow)


@pytest.mark.parametrize("role", ["sme", "owner", "other_provider"])
def test_smes_and_providers_cannot_run_curator_actions(flow: Flow, role: str) -> None:
    actor = {
        "sme": flow.api.sme,
        "owner": lambda: flow.provider,
        "other_provider": flow.api.provider,
    }[role]()

    for method, path, body in CURATOR_ACTIONS:
        response = call(flow, actor, method, path, body)
        assert response.status_code == 403, (method, path, response.text)
        assert error(response)["code"] == "role_required", (method, path)
    unchanged(flow)


@pytest.mark.parametrize("role", ["sme", "curator", "admin"])
def test_only_provider_accounts_run_provider_actions(flow: Flow, role: str) -> None:
    actor = {
        "sme": flow.api.sme,
        "curator": lambda: flow.curator,
        "admin": lambda: flow.team.admin,
    }[role]()

    for method, path, body in PROVIDER_ACTIONS:
        response = call(flow, actor, method, path, body)
        assert response.status_code == 403, (method, path, response.text)
        assert error(response)["code"] == "role_required", (method, path)
    unchanged(flow)


def test_curators_of_another_agency_cannot_manage_the_pool(flow: Flow) -> None:
    outsider = flow.api.curator()

    for method, path, body in POOL_WRITES + POOL_CURATOR_READS:
        response = call(flow, outsider, method, path, body)
        assert response.status_code == 403, (method, path, response.text)
        assert error(response)["code"] == "not_pool_curator", (method, path)
    unchanged(flow)


def test_curators_of_another_agency_cannot_see_its_applications(flow: Flow) -> None:
    outsider = flow.api.curator()

    for method, path, body in APPLICATION_CURATOR_ACTIONS + OWNER_READS:
        response = call(flow, outsider, method, path, body)
        assert response.status_code == 404, (method, path, response.text)
        assert error(response)["code"] == "application_not_found", (method, path)
    unchanged(flow)


def test_provider_cannot_see_or_touch_a_competitors_application(flow: Flow) -> None:
    rival = flow.api.provider()

    cases = OWNER_READS + [
        ("POST", "/applications/{app}/resubmit", {"note": "补充"}),
        ("POST", "/applications/{app}/withdraw", None),
        ("POST", "/applications/{app}/objections", {"text": "异议"}),
    ]
    for method, path, body in cases:
        response = call(flow, rival, method, path, body)
        assert response.status_code == 404, (method, path, response.text)
        assert error(response)["code"] == "application_not_found", (method, path)
    mine = flow.api.client.get(f"{APPLICATIONS}/mine", headers=rival.headers).json()
    assert mine["items"] == []
    unchanged(flow)


def test_reviewer_who_is_not_assigned_cannot_score(flow: Flow) -> None:
    flow.ok(flow.curator, "accept")
    flow.ok(flow.curator, "reviewers", {"user_ids": [str(flow.reviewers[0].user_id)]})

    for actor in (flow.reviewers[1], flow.curator, flow.team.admin):
        response = flow.post(actor, "score", SCORE)
        assert response.status_code == 403, response.text
        assert error(response)["code"] == "not_assigned_reviewer"
    assert flow.read().json()["total_score"] is None


def test_admins_manage_every_pool(flow: Flow) -> None:
    admin = flow.api.admin()

    closed = call(flow, admin, "POST", "/pools/{pool}/close")
    returned = call(flow, admin, "POST", "/applications/{app}/return", {"reasons": ["缺材料"]})

    assert closed.status_code == 200
    assert returned.status_code == 200
    assert returned.json()["state"] == "returned"


def test_owner_sees_its_application_without_reviews_or_running_total(flow: Flow) -> None:
    flow.ok(flow.curator, "accept")
    flow.ok(flow.curator, "reviewers", {"user_ids": [str(flow.reviewers[0].user_id)]})
    flow.ok(flow.reviewers[0], "score", SCORE)

    as_owner = flow.read(flow.provider)
    as_curator = flow.read(flow.curator).json()

    assert as_owner.status_code == 200
    assert (as_owner.json()["reviews"], as_owner.json()["total_score"]) == (None, None)
    assert as_curator["total_score"] == 86
    assert as_curator["reviews"][0]["scores"][0]["comment"] == "评语"


def test_an_assigned_reviewer_sees_only_its_own_review(flow: Flow) -> None:
    first, second = flow.reviewers
    flow.ok(flow.curator, "accept")
    flow.ok(flow.curator, "reviewers", {"user_ids": [str(first.user_id), str(second.user_id)]})
    flow.ok(first, "score", SCORE)

    with flow.api.db.transaction() as session:
        loaded = service.load_application(session, uuid.UUID(flow.app["id"]))
        # Today every eligible reviewer also curates the pool; an outside expert (专家库) would
        # get this view.
        out = service.to_out(loaded, "reviewer", user_id=second.user_id)

    assert [r.reviewer_user_id for r in out.reviews or []] == [second.user_id]
    assert out.total_score is None


def test_public_lists_are_readable_anonymously(api: Api) -> None:
    flow = new_flow(api).listed()

    for path in (
        POOLS,
        f"{POOLS}/{flow.pool['id']}",
        f"{POOLS}/{flow.pool['id']}/notices",
        f"{POOLS}/{flow.pool['id']}/members",
        f"/api/v1/providers/{flow.provider.provider_id}/badges",
    ):
        response = api.client.get(path)
        assert response.status_code == 200, (path, response.text)
    assert api.client.get(f"/api/v1/providers/{uuid.uuid4()}/badges").status_code == 404


def test_any_logged_in_user_may_object_during_the_notice(api: Api) -> None:
    flow = new_flow(api).in_notice()

    for actor in (api.sme(), api.provider(), flow.provider, api.curator()):
        response = flow.post(actor, "objections", {"text": "请核查其案例真实性"})
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "open"


def test_decision_history_is_for_the_owner_and_the_pools_curators(
    flow: Flow,
) -> None:
    other_pool_curator = flow.api.curator()
    history = call(flow, flow.provider, "GET", "/applications/{app}/decisions")
    curator = call(flow, flow.curator, "GET", "/applications/{app}/decisions")
    outsider = call(flow, other_pool_curator, "GET", "/applications/{app}/decisions")

    assert history.status_code == 200
    assert curator.status_code == 200
    assert outsider.status_code == 404
