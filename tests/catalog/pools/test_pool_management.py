"""Running a resource pool: creating it with a 100-point card, editing, the application window,
and the public list. The helpers at the top are shared by the other pool test files."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support import PASSWORD, Actor, Api

POOLS = "/api/v1/pools"
APPLICATIONS = "/api/v1/applications"

SCORECARD: list[dict[str, Any]] = [
    {"id": "capability", "name": "产品服务能力", "max_points": 40, "guidance": "功能与适配度"},
    {"id": "cases", "name": "服务企业情况", "max_points": 35},
    {"id": "service", "name": "综合服务能力", "max_points": 25},
]
CATEGORIES: list[dict[str, Any]] = [
    {"id": "injection", "name": "注塑行业", "industries": ["29"], "quota": 5},
    {"id": "integrators", "name": "综合集成", "provider_types": ["integrator"]},
]


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def error_fields(response: httpx.Response) -> list[str]:
    return [detail["field"] for detail in error(response)["details"]]


def pool_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "常州市工业互联网服务商资源池",
        "description": "智改数转服务商遴选",
        "entry_criteria": "独立法人；近三年无重大安全事故",
        "categories": CATEGORIES,
        "scorecard": SCORECARD,
    }
    body.update(overrides)
    return body


def create_pool(api: Api, curator: Actor, **overrides: Any) -> dict[str, Any]:
    response = api.client.post(POOLS, json=pool_body(**overrides), headers=curator.headers)
    assert response.status_code == 201, response.text
    pool: dict[str, Any] = response.json()
    return pool


def open_pool(api: Api, curator: Actor, **overrides: Any) -> dict[str, Any]:
    return create_pool(api, curator, applications_open=True, **overrides)


@dataclass
class Agency:
    """An agency (主管部门) with its first curator, and the admin who set it up."""

    api: Api
    admin: Actor
    curator: Actor

    def colleague(self) -> Actor:
        """Another curator of the same agency (a reviewer, say)."""
        email = f"colleague-{uuid.uuid4().hex[:10]}@example.com"
        response = self.api.client.post(
            "/api/v1/admin/curators",
            headers=self.admin.headers,
            json={
                "agency_id": str(self.curator.org_id),
                "email": email,
                "name": "评审专家",
                "password": PASSWORD,
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Actor(
            email=email,
            token=self.api.login(email),
            user_id=uuid.UUID(body["id"]),
            org_id=uuid.UUID(body["org_id"]),
            role="curator",
        )


def agency(api: Api, jurisdiction: str = "320400") -> Agency:
    admin = api.admin()
    return Agency(api=api, admin=admin, curator=api.curator(jurisdiction=jurisdiction, admin=admin))


def pool_url(pool: dict[str, Any]) -> str:
    return f"{POOLS}/{pool['id']}"


# --- creating pools ----------------------------------------------------------------------------


def test_curator_creates_a_closed_pool_for_their_agency_with_defaults(api: Api) -> None:
    curator = api.curator()

    response = api.client.post(POOLS, json=pool_body(), headers=curator.headers)

    assert response.status_code == 201, response.text
    pool = response.json()
    assert response.headers["Location"] == pool_url(pool)
    assert response.headers["ETag"] == 'W/"1"'
    assert pool["agency_org_id"] == str(curator.org_id)
    assert pool["jurisdiction"] == "320400"
    assert pool["applications_open"] is False
    assert (pool["evaluation_period_months"], pool["notice_days"], pool["pass_score"]) == (
        24,
        7,
        60,
    )
    assert [c["max_points"] for c in pool["scorecard"]] == [40, 35, 25]
    assert {c["weight"] for c in pool["scorecard"]} == {1.0}
    assert pool["categories"][0] == {
        "id": "injection",
        "name": "注塑行业",
        "provider_types": [],
        "industries": ["29"],
        "quota": 5,
        "listed_count": 0,
    }
    assert pool["listed_count"] == 0


def test_scorecard_that_does_not_add_up_to_100_is_refused(api: Api) -> None:
    card = [{**SCORECARD[0], "max_points": 35}, *SCORECARD[1:]]

    response = api.client.post(POOLS, json=pool_body(scorecard=card), headers=api.curator().headers)

    assert response.status_code == 422
    assert error_fields(response) == ["body.scorecard"]
    assert "add up to 100" in error(response)["details"][0]["message"]
    assert "95" in error(response)["details"][0]["message"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"scorecard": [{**SCORECARD[0], "max_points": 0}, *SCORECARD[1:]]}, "body.scorecard.0"),
        ({"scorecard": [SCORECARD[0], SCORECARD[0], SCORECARD[2]]}, "body.scorecard"),
        ({"scorecard": [{**SCORECARD[0], "weight": 0}, *SCORECARD[1:]]}, "body.scorecard.0"),
        ({"categories": []}, "body.categories"),
        ({"categories": [CATEGORIES[0], CATEGORIES[0]]}, "body.categories"),
        ({"categories": [{"id": "Bad Id", "name": "x"}]}, "body.categories.0.id"),
        (
            {"categories": [{"id": "x", "name": "x", "provider_types": ["wizard"]}]},
            "body.categories.0.provider_types.0",
        ),
        ({"categories": [{"id": "x", "name": "x", "industries": ["65"]}]}, "body.categories"),
        ({"categories": [{"id": "x", "name": "x", "quota": 0}]}, "body.categories.0.quota"),
        ({"notice_days": 0}, "body.notice_days"),
        ({"notice_days": 61}, "body.notice_days"),
        ({"pass_score": 101}, "body.pass_score"),
        ({"evaluation_period_months": 0}, "body.evaluation_period_months"),
        ({"jurisdiction": "999999"}, "body.jurisdiction"),
        ({"applications_open": True, "status": "listed"}, "body.status"),
    ],
)
def test_invalid_pool_definitions_name_the_field(
    api: Api, overrides: dict[str, Any], field: str
) -> None:
    response = api.client.post(POOLS, json=pool_body(**overrides), headers=api.curator().headers)

    assert response.status_code == 422, response.text
    assert any(f.startswith(field) for f in error_fields(response)), error_fields(response)


def test_weights_are_kept_and_the_card_still_sums_max_points(api: Api) -> None:
    card = [{**SCORECARD[0], "weight": 2}, *SCORECARD[1:]]

    pool = create_pool(api, api.curator(), scorecard=card)

    assert [c["weight"] for c in pool["scorecard"]] == [2.0, 1.0, 1.0]


def test_admin_must_name_the_agency_and_the_pool_belongs_to_it(api: Api) -> None:
    team = agency(api)

    missing = api.client.post(POOLS, json=pool_body(), headers=team.admin.headers)
    not_agency = api.client.post(
        POOLS,
        json=pool_body(agency_org_id=str(api.sme().org_id)),
        headers=team.admin.headers,
    )
    made = api.client.post(
        POOLS,
        json=pool_body(agency_org_id=str(team.curator.org_id)),
        headers=team.admin.headers,
    )

    assert missing.status_code == 422
    assert error_fields(missing) == ["body.agency_org_id"]
    assert not_agency.status_code == 422
    assert error_fields(not_agency) == ["body.agency_org_id"]
    assert made.status_code == 201
    assert made.json()["agency_org_id"] == str(team.curator.org_id)


def test_curator_cannot_create_a_pool_for_another_agency(api: Api) -> None:
    mine, other = api.curator(), api.curator()

    response = api.client.post(
        POOLS, json=pool_body(agency_org_id=str(other.org_id)), headers=mine.headers
    )

    assert response.status_code == 403
    assert error(response)["code"] == "not_pool_curator"


def test_pool_jurisdiction_must_lie_within_the_agency(api: Api) -> None:
    province = api.curator(jurisdiction="320000")
    city = api.curator(jurisdiction="320400")

    in_province = create_pool(api, province, jurisdiction="320400")
    outside = api.client.post(POOLS, json=pool_body(jurisdiction="320500"), headers=city.headers)
    above = api.client.post(POOLS, json=pool_body(jurisdiction="320000"), headers=city.headers)

    assert in_province["jurisdiction"] == "320400"
    for response in (outside, above):
        assert response.status_code == 422
        assert error_fields(response) == ["body.jurisdiction"]


# --- editing -----------------------------------------------------------------------------------


def test_patch_needs_the_current_etag_and_is_audited(api: Api) -> None:
    curator = api.curator()
    pool = create_pool(api, curator)
    url = pool_url(pool)

    no_tag = api.client.patch(url, json={"notice_days": 10}, headers=curator.headers)
    ok = api.client.patch(
        url, json={"notice_days": 10}, headers={**curator.headers, "If-Match": 'W/"1"'}
    )
    stale = api.client.patch(
        url, json={"name": "新名称"}, headers={**curator.headers, "If-Match": 'W/"1"'}
    )

    assert no_tag.status_code == 428
    assert ok.status_code == 200, ok.text
    assert ok.json()["notice_days"] == 10
    assert ok.headers["ETag"] == 'W/"2"'
    assert stale.status_code == 412
    log = api.client.get(f"{url}/audit", headers=curator.headers).json()["items"]
    updated = [r for r in log if r["action"] == "pool.updated"]
    assert updated[0]["before"] == {"notice_days": 7}
    assert updated[0]["after"] == {"notice_days": 10}
    assert updated[0]["actor_user_id"] == str(curator.user_id)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "body"),
        ({"scorecard": [{**SCORECARD[0], "max_points": 50}, *SCORECARD[1:]]}, "body.scorecard"),
        ({"agency_org_id": str(uuid.uuid4())}, "body.agency_org_id"),
        ({"applications_open": True}, "body.applications_open"),
    ],
)
def test_patch_validates_like_create_and_refuses_privileged_fields(
    api: Api, body: dict[str, Any], field: str
) -> None:
    curator = api.curator()
    pool = create_pool(api, curator)

    response = api.client.patch(
        pool_url(pool), json=body, headers={**curator.headers, "If-Match": 'W/"1"'}
    )

    assert response.status_code == 422
    assert field in error_fields(response)


def test_open_and_close_the_application_window(api: Api) -> None:
    curator = api.curator()
    pool = create_pool(api, curator)

    opened = api.client.post(f"{pool_url(pool)}/open", headers=curator.headers)
    again = api.client.post(f"{pool_url(pool)}/open", headers=curator.headers)
    listed_open = api.client.get(POOLS, params={"applications_open": True}).json()["items"]
    closed = api.client.post(f"{pool_url(pool)}/close", headers=curator.headers)

    assert opened.status_code == 200
    assert opened.json()["applications_open"] is True
    assert again.json()["version"] == opened.json()["version"]
    assert pool["id"] in [p["id"] for p in listed_open]
    assert closed.json()["applications_open"] is False
    log = api.client.get(f"{pool_url(pool)}/audit", headers=curator.headers).json()["items"]
    assert [r["action"] for r in log] == ["pool.closed", "pool.opened", "pool.created"]


def test_stale_etag_on_open_is_refused(api: Api) -> None:
    curator = api.curator()
    pool = create_pool(api, curator)
    api.client.post(f"{pool_url(pool)}/open", headers=curator.headers)

    response = api.client.post(
        f"{pool_url(pool)}/close", headers={**curator.headers, "If-Match": 'W/"1"'}
    )

    assert response.status_code == 412


# --- public reads ------------------------------------------------------------------------------


def test_public_list_filters_by_jurisdiction_and_window(api: Api) -> None:
    changzhou = create_pool(api, api.curator(jurisdiction="320400"), name="常州池")
    dongguan = open_pool(api, api.curator(jurisdiction="441900"), name="东莞池")

    def ids(**params: Any) -> set[str]:
        response = api.client.get(POOLS, params={"size": 100, **params})
        assert response.status_code == 200, response.text
        return {p["id"] for p in response.json()["items"]}

    assert {changzhou["id"], dongguan["id"]} <= ids()
    assert changzhou["id"] in ids(jurisdiction="320000")
    assert dongguan["id"] not in ids(jurisdiction="320000")
    assert dongguan["id"] in ids(jurisdiction="441900", applications_open=True)
    assert changzhou["id"] not in ids(applications_open=True)


def test_pool_summary_and_detail_are_public(api: Api) -> None:
    pool = create_pool(api, api.curator())

    listed = api.client.get(POOLS, params={"size": 100})
    detail = api.client.get(pool_url(pool))

    summary = next(p for p in listed.json()["items"] if p["id"] == pool["id"])
    assert set(summary) == {
        "id",
        "name",
        "jurisdiction",
        "applications_open",
        "categories",
        "listed_count",
    }
    assert [c["listed_count"] for c in summary["categories"]] == [0, 0]
    assert detail.status_code == 200
    assert detail.headers["ETag"] == 'W/"1"'
    assert detail.json()["entry_criteria"] == "独立法人；近三年无重大安全事故"


def test_unknown_pool_is_404(api: Api) -> None:
    response = api.client.get(f"{POOLS}/{uuid.uuid4()}")

    assert response.status_code == 404
    assert error(response)["code"] == "pool_not_found"


def test_unknown_sort_field_is_refused(api: Api) -> None:
    response = api.client.get(POOLS, params={"sort": "secret"})

    assert response.status_code == 422
