"""Who may ask for what: an SME's needs and lists are private to it, providers never see
recommendations for needs not theirs, curators see exposure only for their own pools."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.market.recommendations.test_recommendations_api import (
    NEEDS,
    Catalog,
    create_need,
    recommended,
    sme_with_profile,
    standard_catalog,
)
from tests.support import Actor, Api


@dataclass
class World:
    api: Api
    catalog: Catalog
    owner: Actor
    need_id: str
    list_id: str
    others: dict[str, Actor | None]


@pytest.fixture
def world(api: Api) -> World:
    catalog = standard_catalog(api)
    owner = sme_with_profile(api)
    shared_with = catalog.providers["常州数采"]
    assert shared_with.provider_id is not None
    need_id = create_need(
        api, owner, visibility="shared", shared_with=[str(shared_with.provider_id)]
    )
    listed = recommended(api, owner, need_id)
    admin = api.admin()
    return World(
        api=api,
        catalog=catalog,
        owner=owner,
        need_id=need_id,
        list_id=listed["list_id"],
        others={
            "colleague_sme_elsewhere": api.sme(),
            "provider_not_shared": catalog.providers["苏州数采"],
            "provider_shared": shared_with,
            "pool_curator": catalog.curator,
            "other_curator": api.curator(jurisdiction="441900", admin=admin),
            "admin": admin,
            "anonymous": None,
        },
    )


def call(world: World, actor: Actor | None, method: str, url: str, **kwargs: object) -> int:
    headers = actor.headers if actor is not None else None
    response: httpx.Response = world.api.client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]
    return response.status_code


Endpoint = Callable[[World], tuple[str, str, dict[str, object]]]


def _recommend(world: World) -> tuple[str, str, dict[str, object]]:
    return "POST", f"{NEEDS}/{world.need_id}/recommendations", {"json": {}}


def _read_list(world: World) -> tuple[str, str, dict[str, object]]:
    return "GET", f"{NEEDS}/{world.need_id}/recommendations/{world.list_id}", {}


def _why_not(world: World) -> tuple[str, str, dict[str, object]]:
    provider = world.catalog.provider_id("东莞数采")
    return "GET", f"{NEEDS}/{world.need_id}/why-not/{provider}", {}


def _why_not_in_list(world: World) -> tuple[str, str, dict[str, object]]:
    provider = world.catalog.provider_id("东莞数采")
    return (
        "GET",
        f"{NEEDS}/{world.need_id}/recommendations/{world.list_id}/why-not/{provider}",
        {},
    )


# Expected status per caller for every need-scoped endpoint: only the owner gets an answer; a
# provider the need was shared with knows it exists (403), everyone else cannot tell (404).
NEED_SCOPED = {
    "colleague_sme_elsewhere": 404,
    "provider_not_shared": 404,
    "provider_shared": 403,
    "pool_curator": 404,
    "other_curator": 404,
    "admin": 404,
    "anonymous": 401,
}


@pytest.mark.parametrize(
    ("endpoint", "owner_status"),
    [(_recommend, 201), (_read_list, 200), (_why_not, 200), (_why_not_in_list, 200)],
    ids=["recommend", "read_list", "why_not", "why_not_in_list"],
)
def test_need_scoped_endpoints_answer_only_the_owner(
    world: World, endpoint: Endpoint, owner_status: int
) -> None:
    method, url, kwargs = endpoint(world)
    assert call(world, world.owner, method, url, **kwargs) == owner_status
    for name, actor in world.others.items():
        assert call(world, actor, method, url, **kwargs) == NEED_SCOPED[name], name


def test_a_list_is_only_found_under_its_own_need(world: World) -> None:
    other_need = create_need(world.api, world.owner)
    url = f"{NEEDS}/{other_need}/recommendations/{world.list_id}"
    assert call(world, world.owner, "GET", url) == 404
    unknown = f"{NEEDS}/{world.need_id}/recommendations/{uuid.uuid4()}"
    assert call(world, world.owner, "GET", unknown) == 404
    assert call(world, world.owner, "POST", f"{NEEDS}/{uuid.uuid4()}/recommendations") == 404


def test_adhoc_match_is_open_to_everyone(world: World) -> None:
    body = {"must_capabilities": ["cap.data_acquisition"], "region_code": "320400"}
    for actor in [world.owner, *world.others.values()]:
        assert call(world, actor, "POST", "/api/v1/match", json=body) == 201


EXPOSURE = {
    "pool_curator": 200,
    "admin": 200,
    "other_curator": 403,
    "colleague_sme_elsewhere": 403,
    "provider_not_shared": 403,
    "provider_shared": 403,
    "anonymous": 401,
}


def test_exposure_is_for_the_pools_own_curators(world: World) -> None:
    url = f"/api/v1/pools/{world.catalog.pool_id}/exposure"
    assert call(world, world.owner, "GET", url) == 403
    for name, actor in world.others.items():
        assert call(world, actor, "GET", url) == EXPOSURE[name], name
    missing = f"/api/v1/pools/{uuid.uuid4()}/exposure"
    assert call(world, world.catalog.curator, "GET", missing) == 404


def test_matching_weights_are_for_the_pools_own_curators(world: World) -> None:
    url = f"/api/v1/pools/{world.catalog.pool_id}/matching-weights"
    body = {"overrides": {"region": 0.1}}
    assert call(world, world.owner, "PUT", url, json=body) == 403
    for name, actor in world.others.items():
        assert call(world, actor, "GET", url) == EXPOSURE[name], name
        expected = EXPOSURE[name]
        assert call(world, actor, "PUT", url, json=body) == expected, name


def test_weights_cannot_be_sent_with_a_recommendation_request(world: World) -> None:
    url = f"{NEEDS}/{world.need_id}/recommendations"
    status = call(world, world.owner, "POST", url, json={"weights": {"cap": 1.0}})
    assert status == 422
