"""Who may do what to catalog objects: every role against every object endpoint.

Each cell states the status and error code a caller gets. A refused write must leave the object
exactly as it was; an allowed write must really change it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from catalog.cases.models import Case
from catalog.solutions.models import Solution
from tests.support import Actor, Api, complete_solution

ROLES = ("anonymous", "sme", "other_provider", "owner", "curator", "admin")
Expected = dict[str, tuple[int, str | None]]
Target = dict[str, Any]

CASE = {
    "title": "某机加工厂 MES 上线",
    "client_industry": "3484",
    "problem": "排产靠经验，交期经常延误",
    "solution_text": "上线轻量 MES 与 APS 排产",
    "outcomes": [{"kpi": "准时交付率", "before": 70, "after": 95, "unit": "%"}],
    "case_date": "2025-01-15",
}


def writes(ok: int, *, hidden: str | None = None) -> Expected:
    """A write to an owned object; ``hidden`` is the 404 code when outsiders cannot see it."""
    outsider = (404, hidden) if hidden else (403, "not_owner")
    return {
        "anonymous": (401, "authentication_required"),
        "sme": outsider,
        "other_provider": outsider,
        "owner": (ok, None),
        "curator": (403, "not_owner"),
        "admin": (403, "not_owner"),
    }


def reads_draft(hidden: str) -> Expected:
    return {
        "anonymous": (404, hidden),
        "sme": (404, hidden),
        "other_provider": (404, hidden),
        "owner": (200, None),
        "curator": (200, None),
        "admin": (200, None),
    }


CREATES: Expected = {
    "anonymous": (401, "authentication_required"),
    "sme": (403, "role_required"),
    "other_provider": (201, None),
    "owner": (201, None),
    "curator": (403, "role_required"),
    "admin": (403, "role_required"),
}


@dataclass(frozen=True)
class Endpoint:
    name: str
    prepare: Callable[[Api, Actor], Target]
    send: Callable[[Api, Target, dict[str, str]], httpx.Response]
    snapshot: Callable[[Api, Actor, Target], Any]
    expected: Expected
    is_write: bool = True


def caller(api: Api, role: str, owner: Actor) -> Actor | None:
    makers: dict[str, Callable[[], Actor | None]] = {
        "anonymous": lambda: None,
        "sme": api.sme,
        "other_provider": api.provider,
        "owner": lambda: owner,
        "curator": api.curator,
        "admin": api.admin,
    }
    return makers[role]()


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


# --- provider profile -------------------------------------------------------------------------


def profile(api: Api, owner: Actor) -> str:
    return f"/api/v1/providers/{owner.provider_id}"


def profile_target(api: Api, owner: Actor) -> Target:
    response = api.client.get(profile(api, owner), headers=owner.headers)
    return {"url": profile(api, owner), "etag": response.headers["ETag"]}


def cert_target(api: Api, owner: Actor) -> Target:
    url = f"{profile(api, owner)}/certifications"
    cert = ok(
        api.client.post(url, json={"name": "CMMI 3", "issuer": "CMMI"}, headers=owner.headers), 201
    )
    return {"url": f"{url}/{cert['id']}", "list": url}


def profile_snapshot(api: Api, owner: Actor, _target: Target) -> Any:
    return ok(api.client.get(profile(api, owner), headers=owner.headers))


CERT = {"name": "ISO 27001", "issuer": "中国网络安全审查认证和市场监管大数据中心"}

PROVIDER_ENDPOINTS = [
    Endpoint(
        "patch_profile",
        profile_target,
        lambda api, t, h: api.client.patch(
            t["url"], json={"capacity": 9}, headers={**h, "If-Match": t["etag"]}
        ),
        profile_snapshot,
        writes(200),
    ),
    Endpoint(
        "add_certification",
        lambda api, owner: {"list": f"{profile(api, owner)}/certifications"},
        lambda api, t, h: api.client.post(t["list"], json=CERT, headers=h),
        profile_snapshot,
        writes(201),
    ),
    Endpoint(
        "replace_certification",
        cert_target,
        lambda api, t, h: api.client.put(t["url"], json=CERT, headers=h),
        profile_snapshot,
        writes(200),
    ),
    Endpoint(
        "delete_certification",
        cert_target,
        lambda api, t, h: api.client.delete(t["url"], headers=h),
        profile_snapshot,
        writes(204),
    ),
]


# --- solutions and cases ----------------------------------------------------------------------


def item_endpoints(kind: str, collection: str, payload: dict[str, Any]) -> list[Endpoint]:
    """The same seven endpoints for solutions and cases, which share their rules."""
    hidden = f"{kind}_not_found"
    model = Solution if kind == "solution" else Case

    def make(api: Api, owner: Actor, *, publish: bool) -> Target:
        item = ok(api.client.post(collection, json=payload, headers=owner.headers), 201)
        url = f"{collection}/{item['id']}"
        if publish:
            item = ok(api.client.post(f"{url}/publish", headers=owner.headers))
        return {"url": url, "etag": f'W/"{item["version"]}"'}

    def draft(api: Api, owner: Actor) -> Target:
        return make(api, owner, publish=False)

    def public(api: Api, owner: Actor) -> Target:
        return make(api, owner, publish=True)

    def snapshot(api: Api, owner: Actor, target: Target) -> Any:
        response = api.client.get(target["url"], headers=owner.headers)
        return response.status_code, response.json()

    def count(api: Api, _owner: Actor, _target: Target) -> int:
        with api.db.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

    def patch(api: Api, target: Target, headers: dict[str, str]) -> httpx.Response:
        return api.client.patch(
            target["url"],
            json={"title": "被改写的标题"},
            headers={**headers, "If-Match": target["etag"]},
        )

    def action(name: str) -> Callable[[Api, Target, dict[str, str]], httpx.Response]:
        return lambda api, t, h: api.client.post(f"{t['url']}/{name}", headers=h)

    return [
        Endpoint(
            f"get_{kind}_draft",
            draft,
            lambda api, t, h: api.client.get(t["url"], headers=h),
            snapshot,
            reads_draft(hidden),
            is_write=False,
        ),
        Endpoint(f"patch_{kind}_draft", draft, patch, snapshot, writes(200, hidden=hidden)),
        Endpoint(f"patch_published_{kind}", public, patch, snapshot, writes(200)),
        Endpoint(f"publish_{kind}", draft, action("publish"), snapshot, writes(200, hidden=hidden)),
        Endpoint(f"archive_{kind}", public, action("archive"), snapshot, writes(200)),
        Endpoint(
            f"delete_{kind}_draft",
            draft,
            lambda api, t, h: api.client.delete(t["url"], headers=h),
            snapshot,
            writes(204, hidden=hidden),
        ),
        Endpoint(
            f"create_{kind}",
            lambda _api, _owner: {},
            lambda api, _t, h: api.client.post(collection, json=payload, headers=h),
            count,
            CREATES,
        ),
    ]


SOLUTION_ENDPOINTS = item_endpoints("solution", "/api/v1/solutions", complete_solution())
CASE_ENDPOINTS = item_endpoints("case", "/api/v1/cases", CASE)


def matrix(endpoints: list[Endpoint]) -> Any:
    return pytest.mark.parametrize(
        ("endpoint", "role"),
        [pytest.param(e, r, id=f"{e.name}-{r}") for e in endpoints for r in ROLES],
    )


def check_cell(api: Api, endpoint: Endpoint, role: str, *, listed: bool = True) -> None:
    """``listed``: the owner is a vetted (public) provider; unvetted ones are tested apart."""
    owner = api.provider(listed=listed)
    target = endpoint.prepare(api, owner)
    actor = caller(api, role, owner)
    before = endpoint.snapshot(api, owner, target)

    response = endpoint.send(api, target, actor.headers if actor else {})

    status, code = endpoint.expected[role]
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["error"]["code"] == code
    after = endpoint.snapshot(api, owner, target)
    if status >= 400:
        assert after == before
    elif endpoint.is_write:
        assert after != before


# --- the matrix -------------------------------------------------------------------------------


@matrix(PROVIDER_ENDPOINTS)
def test_only_the_owner_may_change_a_provider_profile(
    api: Api, endpoint: Endpoint, role: str
) -> None:
    check_cell(api, endpoint, role)


@matrix(SOLUTION_ENDPOINTS)
def test_solutions_are_changed_only_by_their_owner_and_drafts_stay_hidden(
    api: Api, endpoint: Endpoint, role: str
) -> None:
    check_cell(api, endpoint, role)


@matrix(CASE_ENDPOINTS)
def test_cases_are_changed_only_by_their_owner_and_drafts_stay_hidden(
    api: Api, endpoint: Endpoint, role: str
) -> None:
    check_cell(api, endpoint, role)


# --- reading by direct link: unvetted providers are not public ------------------------------


def _published(kind: str) -> Endpoint:
    (endpoint,) = [
        e
        for e in (SOLUTION_ENDPOINTS if kind == "solution" else CASE_ENDPOINTS)
        if e.name == f"archive_{kind}"
    ]
    return Endpoint(
        f"get_published_{kind}",
        endpoint.prepare,
        lambda api, t, h: api.client.get(t["url"], headers=h),
        endpoint.snapshot,
        reads_draft(f"{kind}_not_found"),
        is_write=False,
    )


UNVETTED_READS = [
    Endpoint(
        "get_profile",
        profile_target,
        lambda api, t, h: api.client.get(t["url"], headers=h),
        profile_snapshot,
        reads_draft("provider_not_found"),
        is_write=False,
    ),
    _published("solution"),
    _published("case"),
]


@matrix(UNVETTED_READS)
def test_an_unvetted_providers_profile_and_published_items_are_hidden_like_drafts(
    api: Api, endpoint: Endpoint, role: str
) -> None:
    check_cell(api, endpoint, role, listed=False)


@pytest.mark.parametrize("role", ROLES)
def test_a_vetted_providers_profile_and_published_items_are_readable_by_everyone(
    api: Api, role: str
) -> None:
    owner = api.provider(listed=True)
    urls = [
        profile(api, owner),
        *(e.prepare(api, owner)["url"] for e in UNVETTED_READS[1:]),
    ]
    actor = caller(api, role, owner)

    statuses = [api.client.get(url, headers=actor.headers if actor else {}) for url in urls]

    assert [r.status_code for r in statuses] == [200, 200, 200]


def test_a_provider_cannot_link_its_case_to_a_competitor_solution_it_can_see(api: Api) -> None:
    competitor = api.provider()
    solution = ok(
        api.client.post("/api/v1/solutions", json=complete_solution(), headers=competitor.headers),
        201,
    )
    assert (
        ok(
            api.client.post(
                f"/api/v1/solutions/{solution['id']}/publish", headers=competitor.headers
            )
        )["status"]
        == "published"
    )
    provider = api.provider()

    response = api.client.post(
        "/api/v1/cases", json={**CASE, "solution_ids": [solution["id"]]}, headers=provider.headers
    )

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.solution_ids.0"
