"""The one public rule (catalog.visibility): a provider is public while it is listed in at least
one pool and not suspended there. A suspension, an expiry or a removal hides it from every
public read at once; lifting or renewing shows it again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from catalog import visibility
from catalog.pools.models import APPLICATION_STATES, MEMBER_STATES
from core.settings import get_settings
from tests.catalog.pools.test_application_lifecycle import Flow, new_flow
from tests.catalog.pools.test_sanctions_and_appeals import (
    badges,
    expire_now,
    get,
    listed,
    ok,
    post,
    sanctioned,
    state,
)
from tests.support import Api

TITLE = "注塑车间设备联网与数据采集"


@pytest.fixture(autouse=True)
def embedded_search(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The relay's index handlers read the process settings: use the embedded SQL backend.
    monkeypatch.delenv("MARKET_MEILI_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def published(flow: Flow) -> Flow:
    path = f"/solutions/{flow.solution_id}/publish"
    ok(post(flow.api, flow.provider, path))
    return flow


def public_solutions(api: Api, flow: Flow) -> list[str]:
    body = ok(get(api, None, "/solutions", provider_id=str(flow.provider.provider_id)))
    return [s["id"] for s in body["items"]]


def found(api: Api, flow: Flow) -> list[str]:
    body = ok(get(api, None, "/search", q="注塑车间"))
    return [h["ref_id"] for h in body["hits"] if h["ref_id"] == flow.solution_id]


def members(api: Api, flow: Flow) -> list[str]:
    body = ok(get(api, None, f"/pools/{flow.pool['id']}/members"))
    return [m["provider_id"] for c in body["categories"] for m in c["members"]]


def on_show(api: Api, flow: Flow) -> dict[str, Any]:
    """Every public read at once: the solution list, search, badges, the pool's members."""
    return {
        "solutions": public_solutions(api, flow) == [flow.solution_id],
        "search": found(api, flow) == [flow.solution_id],
        "badges": [b["pool_id"] for b in badges(api, flow)] == [flow.pool["id"]],
        "members": str(flow.provider.provider_id) in members(api, flow),
    }


SHOWN = {"solutions": True, "search": True, "badges": True, "members": True}
HIDDEN = {"solutions": False, "search": False, "badges": False, "members": False}


@pytest.fixture
def flow(api: Api) -> Flow:
    return published(listed(api))


def test_a_listed_providers_published_solution_is_public(api: Api, flow: Flow) -> None:
    assert on_show(api, flow) == SHOWN


def test_unvetted_providers_are_not_shown(api: Api) -> None:
    flow = published(new_flow(api).in_notice())

    assert on_show(api, flow) == HIDDEN


def test_suspension_hides_at_once_and_lifting_shows_again(api: Api, flow: Flow) -> None:
    suspension = sanctioned(flow, "suspension")

    assert on_show(api, flow) == HIDDEN
    ok(post(api, flow.curator, f"/sanctions/{suspension['id']}/lift", {"reason": "已整改"}))
    assert on_show(api, flow) == SHOWN


def test_warnings_and_rectifications_leave_the_listing_on_show(api: Api, flow: Flow) -> None:
    sanctioned(flow, "warning")
    sanctioned(flow, "rectification")

    assert on_show(api, flow) == SHOWN


def test_expiry_hides_until_the_rereview_renews(api: Api, flow: Flow) -> None:
    from tests.catalog.pools.test_rereview_and_changes import decide_round, scored_round

    expire_now(flow)
    assert on_show(api, flow) == HIDDEN

    round_ = ok(get(api, flow.curator, f"/applications/{flow.app['id']}/rereviews"))[0]
    scored_round(flow, round_)
    ok(decide_round(flow, round_, decision="pass"))
    assert state(flow) == "listed"
    assert on_show(api, flow) == SHOWN


def test_removal_hides(api: Api, flow: Flow) -> None:
    sanctioned(flow, "removal")

    assert on_show(api, flow) == HIDDEN


def test_suspended_in_one_pool_but_listed_in_another_stays_public(api: Api) -> None:
    city = published(listed(api))
    # The same provider, listed in a second pool run by another agency.
    province = new_flow(api)
    province.provider, province.solution_id = city.provider, city.solution_id
    province.listed()

    sanctioned(city, "suspension")

    assert public_solutions(api, city) == [city.solution_id]
    assert found(api, city) == [city.solution_id]
    assert [b["pool_id"] for b in badges(api, city)] == [province.pool["id"]]
    assert str(city.provider.provider_id) not in members(api, city)


def test_the_states_split_into_shown_hidden_and_not_members() -> None:
    shown, hidden = set(visibility.SHOWN_STATES), set(visibility.HIDDEN_MEMBERSHIP_STATES)

    assert shown | hidden == set(MEMBER_STATES) | {"removed"}
    assert not shown & hidden
    assert (shown | hidden) <= set(APPLICATION_STATES)
