"""Needs (需求): CRUD, validation with field paths, pre-filling, sharing, ETags, outbox events."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from core.outbox import OutboxEvent
from tests.support import Actor, Api

NEEDS = "/api/v1/needs"

NEED: dict[str, Any] = {
    "title": "注塑车间设备联网",
    "description": "20台注塑机联网，做数据采集和看板",
    "must_capabilities": ["cap.data_acquisition"],
    "nice_capabilities": ["cap.bi"],
    "scenes": [{"scene": "scene.equipment", "current_level": 1, "target_level": 3}],
    "protocols": ["proto.modbus_tcp"],
    "budget_min_fen": 5_000_000,
    "budget_max_fen": 20_000_000,
    "preferred_pricing": ["subscription", "lease"],
    "timeline": {"target_start": "2027-03-01", "duration_weeks": 8},
    "onsite_required": True,
}


def create(api: Api, sme: Actor, body: dict[str, Any] | None = None) -> httpx.Response:
    return api.client.post(NEEDS, json=NEED if body is None else body, headers=sme.headers)


def created(api: Api, sme: Actor, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = create(api, sme, body)
    assert response.status_code == 201, response.text
    need: dict[str, Any] = response.json()
    return need


def patch(
    api: Api, sme: Actor, need: dict[str, Any], body: dict[str, Any], etag: str | None = None
) -> httpx.Response:
    tag = etag if etag is not None else f'W/"{need["version"]}"'
    return api.client.patch(
        f"{NEEDS}/{need['id']}", json=body, headers={**sme.headers, "If-Match": tag}
    )


def error_field(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    return str(response.json()["error"]["details"][0]["field"])


def outbox(api: Api, need_id: str) -> list[str]:
    with api.db.sessions() as session:
        events = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.topic == "market.need.changed")
            .order_by(OutboxEvent.id)
        ).all()
    return [e.payload["change"] for e in events if e.payload["need_id"] == need_id]


# --- CRUD -------------------------------------------------------------------------------------


def test_an_sme_states_reads_edits_and_deletes_a_need(api: Api) -> None:
    sme = api.sme()

    response = create(api, sme)
    assert response.status_code == 201, response.text
    need = response.json()
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Location"] == f"{NEEDS}/{need['id']}"
    assert need["org_id"] == str(sme.org_id)
    assert need["created_by"] == str(sme.user_id)
    assert need["status"] == "open"
    assert need["visibility"] == "draft"
    assert need["scenes"] == NEED["scenes"]
    assert need["timeline"] == NEED["timeline"]
    assert need["prefilled"] == {}
    assert need["understood"]["capabilities"][0]["id"] == "cap.data_acquisition"

    read = api.client.get(f"{NEEDS}/{need['id']}", headers=sme.headers)
    assert read.status_code == 200
    assert read.json() == need
    assert read.headers["ETag"] == 'W/"1"'

    listed = api.client.get(NEEDS, headers=sme.headers).json()
    assert [n["id"] for n in listed["items"]] == [need["id"]]
    assert listed["total"] == 1

    edited = patch(api, sme, need, {"title": "注塑车间设备联网（一期）", "status": "closed"})
    assert edited.status_code == 200, edited.text
    assert edited.headers["ETag"] == 'W/"2"'
    assert edited.json()["title"] == "注塑车间设备联网（一期）"
    assert edited.json()["status"] == "closed"

    deleted = api.client.delete(f"{NEEDS}/{need['id']}", headers=sme.headers)
    assert deleted.status_code == 204
    gone = api.client.get(f"{NEEDS}/{need['id']}", headers=sme.headers)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "need_not_found"
    assert outbox(api, need["id"]) == ["created", "updated", "deleted"]


def test_a_title_alone_is_a_valid_need(api: Api) -> None:
    need = created(api, api.sme(), {"title": "想了解一下"})

    assert need["must_capabilities"] == []
    assert need["nice_capabilities"] == []
    assert need["protocols"] == []
    assert need["budget_min_fen"] is None
    assert need["timeline"] == {"target_start": None, "duration_weeks": None}


def test_patch_may_clear_the_budget_and_timeline_with_null(api: Api) -> None:
    sme = api.sme()
    need = created(api, sme)

    body = patch(
        api, sme, need, {"budget_min_fen": None, "budget_max_fen": None, "timeline": None}
    ).json()

    assert body["budget_min_fen"] is None
    assert body["budget_max_fen"] is None
    assert body["timeline"] == {"target_start": None, "duration_weeks": None}


def test_the_list_filters_and_sorts(api: Api) -> None:
    sme = api.sme()
    first = created(api, sme, {"title": "B 需求"})
    second = created(api, sme, {"title": "A 需求"})
    patch(api, sme, first, {"status": "closed"})

    def titles(query: str) -> list[str]:
        response = api.client.get(f"{NEEDS}?{query}", headers=sme.headers)
        assert response.status_code == 200, response.text
        return [n["title"] for n in response.json()["items"]]

    assert titles("status=open") == [second["title"]]
    assert titles("status=closed") == [first["title"]]
    assert titles("sort=title") == ["A 需求", "B 需求"]
    assert titles("sort=-title") == ["B 需求", "A 需求"]
    assert titles("visibility=shared") == []
    bad = api.client.get(f"{NEEDS}?sort=budget", headers=sme.headers)
    assert error_field(bad) == "query.sort"


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "body.title"),
        ({"title": None}, "body.title"),
        ({"description": "x" * 20_001}, "body.description"),
        ({"must_capabilities": ["cap.nonsense"]}, "body.must_capabilities.0"),
        ({"must_capabilities": ["cap.mes", "cap.mes"]}, "body.must_capabilities"),
        ({"nice_capabilities": ["cap.data_acquisition"]}, "body.nice_capabilities"),
        (
            {"scenes": [{"scene": "scene.quality", "current_level": 2, "target_level": 2}]},
            "body.scenes.0.target_level",
        ),
        (
            {"scenes": [{"scene": "scene.quality", "current_level": 3, "target_level": 1}]},
            "body.scenes.0.target_level",
        ),
        (
            {"scenes": [{"scene": "scene.quality", "current_level": 0, "target_level": 2}]},
            "body.scenes.0.current_level",
        ),
        (
            {"scenes": [{"scene": "scene.quality", "current_level": 1, "target_level": 5}]},
            "body.scenes.0.target_level",
        ),
        (
            {"scenes": [{"scene": "scene.nope", "current_level": 1, "target_level": 2}]},
            "body.scenes.0.scene",
        ),
        (
            {
                "scenes": [
                    {"scene": "scene.quality", "current_level": 1, "target_level": 2},
                    {"scene": "scene.quality", "current_level": 2, "target_level": 3},
                ]
            },
            "body.scenes",
        ),
        ({"protocols": ["proto.nonsense"]}, "body.protocols.0"),
        ({"budget_min_fen": 30_000_000}, "body.budget_max_fen"),
        ({"budget_min_fen": -1}, "body.budget_min_fen"),
        ({"budget_max_fen": 1.5}, "body.budget_max_fen"),
        ({"preferred_pricing": ["free"]}, "body.preferred_pricing.0"),
        ({"timeline": {"duration_weeks": 0}}, "body.timeline.duration_weeks"),
        ({"timeline": {"target_start": "next spring"}}, "body.timeline.target_start"),
        ({"onsite_required": "perhaps"}, "body.onsite_required"),
        ({"visibility": "public"}, "body.visibility"),
        ({"visibility": "shared"}, "body.visibility"),
        ({"visibility": "shared", "shared_with": []}, "body.shared_with"),
        ({"shared_with": ["not-a-uuid"]}, "body.shared_with.0"),
        ({"shared_with": [str(uuid.uuid4())]}, "body.shared_with.0"),
        ({"status": "closed"}, "body.status"),
        ({"org_id": str(uuid.uuid4())}, "body.org_id"),
    ],
)
def test_invalid_needs_are_refused_naming_the_field(
    api: Api, change: dict[str, Any], field: str
) -> None:
    response = create(api, api.sme(), {**NEED, **change})

    assert error_field(response) == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"must_capabilities": ["cap.bi"]}, "body.must_capabilities"),
        ({"nice_capabilities": ["cap.data_acquisition"]}, "body.nice_capabilities"),
        ({"budget_min_fen": 90_000_000}, "body.budget_min_fen"),
        ({"budget_max_fen": 1}, "body.budget_max_fen"),
        ({"visibility": "shared"}, "body.visibility"),
        ({"shared_with": [str(uuid.uuid4())]}, "body.shared_with.0"),
        ({"description": None}, "body.description"),
        ({"status": "archived"}, "body.status"),
        ({"created_by": str(uuid.uuid4())}, "body.created_by"),
        ({"prefilled": {}}, "body.prefilled"),
    ],
)
def test_invalid_patches_are_refused_against_the_merged_need(
    api: Api, change: dict[str, Any], field: str
) -> None:
    sme = api.sme()
    need = created(api, sme)

    response = patch(api, sme, need, change)

    assert error_field(response) == field
    assert api.client.get(f"{NEEDS}/{need['id']}", headers=sme.headers).json() == need


# --- pre-filling ------------------------------------------------------------------------------


INVENTORY: dict[str, Any] = {
    "equipment": [
        {"machine_type": "注塑机", "count": 20, "protocol": "proto.modbus_tcp"},
        {"machine_type": "机械手", "brand": "西门子", "controller": "S7-1200", "count": 2},
        {"machine_type": "空压机", "count": 1, "protocol": "proto.modbus_tcp"},
    ]
}


def with_inventory(api: Api) -> Actor:
    sme = api.sme()
    saved = api.client.put("/api/v1/sme/profile", json=INVENTORY, headers=sme.headers)
    assert saved.status_code == 201, saved.text
    return sme


def test_protocols_omitted_are_prefilled_from_the_equipment_inventory(api: Api) -> None:
    sme = with_inventory(api)

    need = created(api, sme, {"title": "设备联网", "must_capabilities": ["cap.data_acquisition"]})

    assert need["protocols"] == ["proto.modbus_tcp", "proto.s7.isotcp"]
    assert need["prefilled"] == {"protocols": ["inventory"]}


def test_protocols_named_in_the_text_follow_the_inventory(api: Api) -> None:
    sme = with_inventory(api)

    need = created(api, sme, {"title": "数采", "description": "还有几台发那科数控和 OPC UA 设备"})

    assert need["protocols"] == [
        "proto.modbus_tcp",
        "proto.s7.isotcp",
        "proto.fanuc_focas",
        "proto.opcua",
    ]
    assert need["prefilled"]["protocols"] == ["inventory", "text"]


def test_protocols_sent_are_taken_as_they_are_even_empty(api: Api) -> None:
    sme = with_inventory(api)

    need = created(api, sme, {"title": "设备联网", "protocols": []})

    assert need["protocols"] == []
    assert "protocols" not in need["prefilled"]


def test_without_a_profile_nothing_is_prefilled_from_inventory(api: Api) -> None:
    need = created(api, api.sme(), {"title": "一期改造"})

    assert need["protocols"] == []
    assert need["prefilled"] == {}


def test_free_text_alone_fills_nice_to_have_capabilities(api: Api) -> None:
    sme = api.sme()

    need = created(api, sme, {"title": "注塑车间", "description": "注塑 数采 西门子S7-1200"})

    assert need["must_capabilities"] == []
    assert need["nice_capabilities"] == ["cap.data_acquisition"]
    assert need["protocols"] == ["proto.s7.isotcp"]
    assert need["prefilled"] == {"nice_capabilities": ["text"], "protocols": ["text"]}
    understood = need["understood"]
    assert understood["capabilities"][0]["matched"] == "数采"
    assert understood["protocols"][0]["matched"] == "西门子S7-1200"
    assert understood["industry_hint"]["code"] == "29"


def test_free_text_pricing_and_pain_points_fill_the_need(api: Api) -> None:
    need = created(
        api,
        api.sme(),
        {"title": "MES 按月付费", "description": "排产靠经验，设备停机多"},
    )

    assert need["nice_capabilities"] == [
        "cap.mes",
        "cap.aps",
        "cap.predictive_maint",
        "cap.data_acquisition",
    ]
    assert need["preferred_pricing"] == ["subscription"]
    assert need["prefilled"]["preferred_pricing"] == ["text"]
    assert [p["id"] for p in need["understood"]["pain_points"]] == [
        "pain.manual_scheduling",
        "pain.downtime",
    ]


def test_capabilities_sent_are_never_overridden_by_the_text(api: Api) -> None:
    need = created(
        api,
        api.sme(),
        {"title": "MES", "description": "能耗高", "must_capabilities": ["cap.erp"]},
    )

    assert need["must_capabilities"] == ["cap.erp"]
    assert need["nice_capabilities"] == []
    assert "nice_capabilities" not in need["prefilled"]
    # The understanding is still shown, so the SME can add what it missed.
    assert need["understood"]["capabilities"][0]["id"] == "cap.mes"


def test_correcting_a_prefilled_field_removes_its_mark(api: Api) -> None:
    sme = with_inventory(api)
    need = created(api, sme, {"title": "数采 按月付费"})
    assert set(need["prefilled"]) == {"nice_capabilities", "protocols", "preferred_pricing"}

    body = patch(
        api,
        sme,
        need,
        {"must_capabilities": ["cap.data_acquisition"], "nice_capabilities": []},
    ).json()

    assert body["must_capabilities"] == ["cap.data_acquisition"]
    assert set(body["prefilled"]) == {"protocols", "preferred_pricing"}


# --- sharing ----------------------------------------------------------------------------------


def share(
    api: Api, sme: Actor, need_id: str, action: str, ids: list[Any], etag: str | None = None
) -> httpx.Response:
    headers = {**sme.headers, **({"If-Match": etag} if etag else {})}
    return api.client.post(
        f"{NEEDS}/{need_id}/{action}", json={"provider_ids": [str(i) for i in ids]}, headers=headers
    )


def test_sharing_opens_a_need_to_chosen_providers_and_unsharing_closes_it(api: Api) -> None:
    sme = api.sme()
    first, second = api.provider(), api.provider()
    need = created(api, sme)

    shared = share(api, sme, need["id"], "share", [first.provider_id])
    assert shared.status_code == 200, shared.text
    assert shared.json()["visibility"] == "shared"
    assert shared.headers["ETag"] == 'W/"2"'
    again = share(api, sme, need["id"], "share", [second.provider_id, first.provider_id])
    assert again.json()["shared_with"] == [str(first.provider_id), str(second.provider_id)]

    seen = api.client.get(NEEDS, headers=second.headers).json()
    assert [n["id"] for n in seen["items"]] == [need["id"]]

    partly = share(api, sme, need["id"], "unshare", [first.provider_id]).json()
    assert partly["shared_with"] == [str(second.provider_id)]
    assert partly["visibility"] == "shared"
    assert api.client.get(f"{NEEDS}/{need['id']}", headers=first.headers).status_code == 404

    none_left = share(api, sme, need["id"], "unshare", [second.provider_id, uuid.uuid4()])
    assert none_left.json()["visibility"] == "draft"
    assert none_left.json()["shared_with"] == []
    assert api.client.get(NEEDS, headers=second.headers).json()["total"] == 0


def test_a_need_can_be_created_shared(api: Api) -> None:
    sme = api.sme()
    provider = api.provider()

    need = created(
        api, sme, {**NEED, "visibility": "shared", "shared_with": [str(provider.provider_id)]}
    )

    assert need["shared_with"] == [str(provider.provider_id)]
    assert api.client.get(f"{NEEDS}/{need['id']}", headers=provider.headers).status_code == 200


def test_a_draft_keeps_its_chosen_providers_out_until_shared(api: Api) -> None:
    sme = api.sme()
    provider = api.provider()
    need = created(api, sme, {**NEED, "shared_with": [str(provider.provider_id)]})

    assert api.client.get(f"{NEEDS}/{need['id']}", headers=provider.headers).status_code == 404
    assert api.client.get(NEEDS, headers=provider.headers).json()["total"] == 0

    patch(api, sme, need, {"visibility": "shared"})
    assert api.client.get(f"{NEEDS}/{need['id']}", headers=provider.headers).status_code == 200


def test_a_provider_sees_itself_but_never_its_rivals_in_shared_with(api: Api) -> None:
    sme = api.sme()
    first, second = api.provider(), api.provider()
    need = created(api, sme)
    share(api, sme, need["id"], "share", [first.provider_id, second.provider_id])

    as_first = api.client.get(f"{NEEDS}/{need['id']}", headers=first.headers).json()
    as_owner = api.client.get(f"{NEEDS}/{need['id']}", headers=sme.headers).json()

    assert as_first["shared_with"] == [str(first.provider_id)]
    assert len(as_owner["shared_with"]) == 2


@pytest.mark.parametrize(
    ("ids", "field"),
    [
        (["unknown"], "body.provider_ids.0"),
        ([], "body.provider_ids"),
        ([str(uuid.uuid4()) for _ in range(21)], "body.provider_ids"),
    ],
)
def test_sharing_validates_the_provider_ids(api: Api, ids: list[Any], field: str) -> None:
    sme = api.sme()
    need = created(api, sme)
    ids = [str(uuid.uuid4())] if ids == ["unknown"] else ids

    assert error_field(share(api, sme, need["id"], "share", ids)) == field


def test_a_need_is_shared_with_a_limited_number_of_providers(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("market.needs.service.MAX_SHARES", 1)
    sme = api.sme()
    need = created(api, sme)
    assert share(api, sme, need["id"], "share", [api.provider().provider_id]).status_code == 200

    response = share(api, sme, need["id"], "share", [api.provider().provider_id])

    assert error_field(response) == "body.provider_ids"
    assert response.json()["error"]["details"][0]["type"] == "too_many"


# --- ETag / If-Match --------------------------------------------------------------------------


def test_edits_need_the_current_etag(api: Api) -> None:
    sme = api.sme()
    need = created(api, sme)
    url = f"{NEEDS}/{need['id']}"

    missing = api.client.patch(url, json={"title": "新标题"}, headers=sme.headers)
    stale = patch(api, sme, need, {"title": "新标题"}, etag='W/"9"')
    garbage = patch(api, sme, need, {"title": "新标题"}, etag="banana")
    fresh = patch(api, sme, need, {"title": "新标题"}, etag='"1"')
    replay = patch(api, sme, need, {"title": "旧标题"}, etag='W/"1"')

    assert (missing.status_code, missing.json()["error"]["code"]) == (428, "precondition_required")
    assert missing.json()["error"]["details"]["current_etag"] == 'W/"1"'
    assert (stale.status_code, stale.json()["error"]["code"]) == (412, "version_conflict")
    assert garbage.status_code == 412
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] == 'W/"2"'
    assert replay.status_code == 412
    assert api.client.get(url, headers=sme.headers).json()["title"] == "新标题"


def test_sharing_and_deleting_check_if_match_when_it_is_sent(api: Api) -> None:
    sme = api.sme()
    provider = api.provider()
    need = created(api, sme)
    url = f"{NEEDS}/{need['id']}"

    stale_share = share(api, sme, need["id"], "share", [provider.provider_id], etag='W/"5"')
    ok_share = share(api, sme, need["id"], "share", [provider.provider_id], etag='W/"1"')
    stale_delete = api.client.delete(url, headers={**sme.headers, "If-Match": 'W/"1"'})
    ok_delete = api.client.delete(url, headers={**sme.headers, "If-Match": 'W/"2"'})

    assert stale_share.status_code == 412
    assert ok_share.status_code == 200
    assert stale_delete.status_code == 412
    assert ok_delete.status_code == 204


def test_a_patch_that_only_changes_shares_still_moves_the_version(api: Api) -> None:
    sme = api.sme()
    provider = api.provider()
    need = created(api, sme)

    response = patch(api, sme, need, {"shared_with": [str(provider.provider_id)]})

    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert response.json()["shared_with"] == [str(provider.provider_id)]
    assert outbox(api, need["id"]) == ["created", "updated"]
