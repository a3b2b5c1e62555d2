"""Lists and direct links follow the one public rule (catalog.visibility): a provider that is
not listed in a pool, or is suspended there, is not public, whoever knows its address."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from catalog.pools.models import PoolApplication
from tests.support import Actor, Api, complete_solution

PROVIDERS = "/api/v1/providers"


def published_solution(api: Api, owner: Actor) -> str:
    created = api.client.post("/api/v1/solutions", json=complete_solution(), headers=owner.headers)
    assert created.status_code == 201, created.text
    solution_id = str(created.json()["id"])
    published = api.client.post(f"/api/v1/solutions/{solution_id}/publish", headers=owner.headers)
    assert published.status_code == 200, published.text
    return solution_id


def suspend(api: Api, application_id: uuid.UUID) -> None:
    with api.db.transaction() as session:
        session.execute(
            update(PoolApplication)
            .where(PoolApplication.id == application_id)
            .values(state="suspended")
        )


def listed_ids(api: Api, actor: Actor | None) -> set[str]:
    response = api.client.get(
        PROVIDERS, params={"size": 100}, headers=actor.headers if actor else {}
    )
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


@pytest.fixture
def three(api: Api) -> tuple[Actor, Actor, Actor]:
    """A vetted provider, an unvetted one and a suspended one."""
    vetted = api.provider(listed=True)
    unvetted = api.provider()
    suspended = api.provider()
    suspend(api, api.list_in_pool(suspended))
    return vetted, unvetted, suspended


def test_the_public_provider_list_shows_only_vetted_providers(
    api: Api, three: tuple[Actor, Actor, Actor]
) -> None:
    vetted, unvetted, suspended = three

    assert listed_ids(api, None) == {str(vetted.provider_id)}
    assert listed_ids(api, api.sme()) == {str(vetted.provider_id)}


def test_a_provider_sees_the_public_list_and_its_own_profile(
    api: Api, three: tuple[Actor, Actor, Actor]
) -> None:
    vetted, unvetted, suspended = three

    assert listed_ids(api, unvetted) == {str(vetted.provider_id), str(unvetted.provider_id)}
    assert listed_ids(api, suspended) == {str(vetted.provider_id), str(suspended.provider_id)}


@pytest.mark.parametrize("role", ["curator", "admin"])
def test_curators_and_admins_list_every_provider(
    api: Api, three: tuple[Actor, Actor, Actor], role: str
) -> None:
    actor = api.curator() if role == "curator" else api.admin()

    assert {str(a.provider_id) for a in three} <= listed_ids(api, actor)


def test_a_suspended_providers_solution_is_not_found_by_direct_link(api: Api) -> None:
    owner = api.provider()
    application_id = api.list_in_pool(owner)
    solution_id = published_solution(api, owner)
    url = f"/api/v1/solutions/{solution_id}"
    assert api.client.get(url).status_code == 200

    suspend(api, application_id)

    assert api.client.get(url).json()["error"]["code"] == "solution_not_found"
    assert api.client.get(url, headers=owner.headers).status_code == 200


def test_public_pages_of_an_unvetted_provider_are_not_found(api: Api) -> None:
    unvetted = api.provider()
    solution_id = published_solution(api, unvetted)

    assert api.client.get(f"/providers/{unvetted.provider_id}").status_code == 404
    assert api.client.get(f"/solutions/{solution_id}").status_code == 404


def test_public_pages_of_a_vetted_provider_are_shown(api: Api) -> None:
    vetted = api.provider(listed=True)
    solution_id = published_solution(api, vetted)

    assert api.client.get(f"/providers/{vetted.provider_id}").status_code == 200
    assert api.client.get(f"/solutions/{solution_id}").status_code == 200
