"""Who may do what with needs and SME profiles: every caller against every endpoint.

An SME's needs are private to its organisation and to the providers it shares them with (who may
read, never write). Everyone else, curators and admins included, is told the need does not
exist. A refused write must leave the need exactly as it was; an allowed write must change it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support import PASSWORD, Actor, Api

NEEDS = "/api/v1/needs"
ROLES = (
    "anonymous",
    "owner",
    "colleague",
    "other_sme",
    "provider_not_shared",
    "provider_shared",
    "curator",
    "admin",
)
Expected = dict[str, tuple[int, str | None]]

NEED: dict[str, Any] = {
    "title": "注塑车间设备联网",
    "description": "20台注塑机联网，做数据采集",
    "must_capabilities": ["cap.data_acquisition"],
    "budget_min_fen": 1_000_000,
    "budget_max_fen": 5_000_000,
}


@dataclass
class World:
    """An SME owner with one need, shared with one provider."""

    api: Api
    owner: Actor
    shared: Actor
    need_id: str
    etag: str

    @property
    def url(self) -> str:
        return f"{NEEDS}/{self.need_id}"


def make_world(api: Api) -> World:
    owner = api.sme()
    shared = api.provider()
    body = {**NEED, "visibility": "shared", "shared_with": [str(shared.provider_id)]}
    response = api.client.post(NEEDS, json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    return World(api, owner, shared, response.json()["id"], response.headers["ETag"])


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
    api = world.api
    makers: dict[str, Callable[[], dict[str, str]]] = {
        "anonymous": lambda: {},
        "owner": lambda: world.owner.headers,
        "colleague": lambda: colleague_headers(api, world.owner),
        "other_sme": lambda: api.sme().headers,
        "provider_not_shared": lambda: api.provider().headers,
        "provider_shared": lambda: world.shared.headers,
        "curator": lambda: api.curator().headers,
        "admin": lambda: api.admin().headers,
    }
    return makers[role]()


def hidden_write(ok: int) -> Expected:
    """A write to an existing need: only its SME's users; the shared provider learns it may
    only read; everybody else is told the need does not exist."""
    return {
        "anonymous": (401, "authentication_required"),
        "owner": (ok, None),
        "colleague": (ok, None),
        "other_sme": (404, "need_not_found"),
        "provider_not_shared": (404, "need_not_found"),
        "provider_shared": (403, "not_owner"),
        "curator": (404, "need_not_found"),
        "admin": (404, "need_not_found"),
    }


READ: Expected = {
    **hidden_write(200),
    "provider_shared": (200, None),
}


@dataclass(frozen=True)
class Endpoint:
    name: str
    send: Callable[[World, dict[str, str]], httpx.Response]
    expected: Expected
    is_write: bool = True


def _share_body(world: World) -> dict[str, Any]:
    # Another real provider, so that an allowed share has something to add.
    return {"provider_ids": [str(world.api.provider().provider_id)]}


ENDPOINTS = [
    Endpoint(
        "get",
        lambda w, h: w.api.client.get(w.url, headers=h),
        READ,
        is_write=False,
    ),
    Endpoint(
        "patch",
        lambda w, h: w.api.client.patch(
            w.url, json={"title": "被改写的标题"}, headers={**h, "If-Match": w.etag}
        ),
        hidden_write(200),
    ),
    Endpoint(
        "delete",
        lambda w, h: w.api.client.delete(w.url, headers=h),
        hidden_write(204),
    ),
    Endpoint(
        "share",
        lambda w, h: w.api.client.post(f"{w.url}/share", json=_share_body(w), headers=h),
        hidden_write(200),
    ),
    Endpoint(
        "unshare",
        lambda w, h: w.api.client.post(
            f"{w.url}/unshare", json={"provider_ids": [str(w.shared.provider_id)]}, headers=h
        ),
        hidden_write(200),
    ),
]


def snapshot(world: World) -> tuple[int, Any]:
    response = world.api.client.get(world.url, headers=world.owner.headers)
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("endpoint", "role"),
    [pytest.param(e, r, id=f"{e.name}-{r}") for e in ENDPOINTS for r in ROLES],
)
def test_a_need_is_read_by_its_sme_and_chosen_providers_and_written_by_its_sme_only(
    api: Api, endpoint: Endpoint, role: str
) -> None:
    world = make_world(api)
    headers = headers_for(world, role)
    before = snapshot(world)

    response = endpoint.send(world, headers)

    status, code = endpoint.expected[role]
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["error"]["code"] == code
    after = snapshot(world)
    if status >= 400 or not endpoint.is_write:
        assert after == before
    else:
        assert after != before


CREATE: Expected = {
    "anonymous": (401, "authentication_required"),
    "owner": (201, None),
    "colleague": (201, None),
    "other_sme": (201, None),
    "provider_not_shared": (403, "role_required"),
    "provider_shared": (403, "role_required"),
    "curator": (403, "role_required"),
    "admin": (403, "role_required"),
}


@pytest.mark.parametrize("role", ROLES)
def test_only_sme_users_state_needs(api: Api, role: str) -> None:
    world = make_world(api)

    response = api.client.post(NEEDS, json=NEED, headers=headers_for(world, role))

    status, code = CREATE[role]
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["error"]["code"] == code
    else:
        # The need belongs to the caller's own organisation.
        same_org = response.json()["org_id"] == str(world.owner.org_id)
        assert same_org is (role in ("owner", "colleague"))


LIST: dict[str, tuple[int, bool | None]] = {
    "anonymous": (401, None),
    "owner": (200, True),
    "colleague": (200, True),
    "other_sme": (200, False),
    "provider_not_shared": (200, False),
    "provider_shared": (200, True),
    "curator": (403, None),
    "admin": (403, None),
}


@pytest.mark.parametrize("role", ROLES)
def test_need_lists_show_only_what_the_caller_may_read(api: Api, role: str) -> None:
    world = make_world(api)

    response = api.client.get(NEEDS, headers=headers_for(world, role))

    status, sees_it = LIST[role]
    assert response.status_code == status, response.text
    if sees_it is not None:
        ids = [n["id"] for n in response.json()["items"]]
        assert (world.need_id in ids) is sees_it


PROFILE: dict[str, tuple[int, str | None]] = {
    "anonymous": (401, "authentication_required"),
    "owner": (200, None),
    "colleague": (200, None),
    "other_sme": (200, None),
    "provider_not_shared": (403, "role_required"),
    "provider_shared": (403, "role_required"),
    "curator": (403, "role_required"),
    "admin": (403, "role_required"),
}


@pytest.mark.parametrize("role", ROLES)
def test_an_sme_profile_is_read_by_its_own_organisation_only(api: Api, role: str) -> None:
    world = make_world(api)
    saved = api.client.put(
        "/api/v1/sme/profile",
        json={"employees": 42, "revenue_wan": 900},
        headers=world.owner.headers,
    )
    assert saved.status_code == 201, saved.text

    response = api.client.get("/api/v1/sme/profile", headers=headers_for(world, role))

    status, code = PROFILE[role]
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["error"]["code"] == code
    elif role in ("owner", "colleague"):
        assert response.json()["employees"] == 42
    else:
        # Another SME reads its own (empty) profile, never the owner's.
        assert response.json()["org_id"] != str(world.owner.org_id)
        assert response.json()["employees"] is None


def test_a_draft_need_is_hidden_even_from_providers_chosen_for_it(api: Api) -> None:
    world = make_world(api)
    unshared = api.client.patch(
        world.url,
        json={"visibility": "draft"},
        headers={**world.owner.headers, "If-Match": world.etag},
    )
    assert unshared.status_code == 200

    response = api.client.get(world.url, headers=world.shared.headers)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "need_not_found"


def test_an_unknown_need_and_another_smes_need_look_the_same(api: Api) -> None:
    world = make_world(api)
    stranger = api.sme()

    foreign = api.client.get(world.url, headers=stranger.headers)
    missing = api.client.get(
        f"{NEEDS}/00000000-0000-4000-8000-000000000000", headers=stranger.headers
    )

    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
