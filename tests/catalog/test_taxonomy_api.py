"""The public, cached taxonomy API: vocabularies, size derivation and credit-code checks."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.support import Api

TAXONOMY = "/api/v1/taxonomy"
VOCABULARIES = [
    "industries",
    "regions",
    "capabilities",
    "protocols",
    "scenes",
    "provider_types",
    "pricing_models",
    "deployments",
    "policy_tags",
    "sme_sizes",
]


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def error_fields(response: httpx.Response) -> list[str]:
    return [detail["field"] for detail in error(response)["details"]]


def get(api: Api, path: str, **params: Any) -> httpx.Response:
    return api.client.get(f"{TAXONOMY}{path}", params=params)


# --- vocabularies -----------------------------------------------------------------------------


def test_index_lists_every_vocabulary_with_version_and_count(api: Api) -> None:
    response = get(api, "")

    assert response.status_code == 200
    body = response.json()
    assert [v["name"] for v in body["vocabularies"]] == VOCABULARIES
    for entry in body["vocabularies"]:
        assert entry["version"] == "2026.1", entry["name"]
        assert entry["href"] == f"{TAXONOMY}/{entry['name']}"
        assert entry["source"]
        items = get(api, f"/{entry['name']}").json()["items"]
        assert entry["count"] == len(items) > 0, entry["name"]
    assert body["version"] == response.headers["ETag"].strip('"')


def test_index_describes_industry_sections_and_size_sectors(api: Api) -> None:
    body = get(api, "").json()

    manufacturing = next(s for s in body["industry_sections"] if s["letter"] == "C")
    assert (manufacturing["from"], manufacturing["to"]) == ("13", "43")
    assert len(body["industry_sections"]) == 20
    assert body["size_sectors"] == [
        "industry",
        "software_it",
        "info_transmission",
        "leasing_business",
        "wholesale",
        "other",
    ]


@pytest.mark.parametrize("name", VOCABULARIES)
def test_each_vocabulary_returns_its_items(api: Api, name: str) -> None:
    response = get(api, f"/{name}")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == name
    assert body["version"] == "2026.1"
    ids = [item["id"] for item in body["items"]]
    assert len(ids) == len(set(ids)) > 0
    for item in body["items"]:
        assert item["zh"]
        assert item["en"]
        assert isinstance(item["synonyms"], list)


@pytest.mark.parametrize(
    ("name", "term_id", "expected"),
    [
        ("capabilities", "cap.data_acquisition", {"zh": "设备联网与数据采集"}),
        ("protocols", "proto.s7.isotcp", {"parent": "proto.s7"}),
        ("regions", "320400", {"level": "city", "parent": "320000"}),
        ("industries", "34", {"parent": None}),
        ("sme_sizes", "medium", {"zh": "中型"}),
    ],
)
def test_vocabulary_items_carry_names_parents_and_extra_data(
    api: Api, name: str, term_id: str, expected: dict[str, Any]
) -> None:
    items = {item["id"]: item for item in get(api, f"/{name}").json()["items"]}

    assert term_id in items
    for key, value in expected.items():
        assert items[term_id][key] == value


def test_protocol_aliases_are_listed_as_synonyms(api: Api) -> None:
    items = {item["id"]: item for item in get(api, "/protocols").json()["items"]}

    assert "OPC-UA" in items["proto.opcua"]["synonyms"]


@pytest.mark.parametrize("name", ["size_rules", "Industries", "nonsense"])
def test_unknown_vocabulary_is_not_found(api: Api, name: str) -> None:
    response = get(api, f"/{name}")

    assert response.status_code == 404
    assert error(response)["code"] == "vocabulary_not_found"
    assert "capabilities" in error(response)["message"]


# --- caching ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/capabilities", "/regions"])
def test_taxonomy_responses_carry_etag_and_cache_control(api: Api, path: str) -> None:
    response = get(api, path)

    etag = response.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{12}"', etag)
    assert response.headers["Cache-Control"] == "public, max-age=3600"


@pytest.mark.parametrize("path", ["", "/scenes"])
@pytest.mark.parametrize(
    "form", ["{etag}", "W/{etag}", '"older", {etag}', "*"], ids=["exact", "weak", "list", "any"]
)
def test_matching_if_none_match_returns_304_without_a_body(api: Api, path: str, form: str) -> None:
    etag = get(api, path).headers["ETag"]

    response = api.client.get(
        f"{TAXONOMY}{path}", headers={"If-None-Match": form.format(etag=etag)}
    )

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == "public, max-age=3600"


def test_a_different_if_none_match_returns_the_full_body(api: Api) -> None:
    response = api.client.get(f"{TAXONOMY}/scenes", headers={"If-None-Match": '"outdated"'})

    assert response.status_code == 200
    assert response.json()["items"]


def test_every_taxonomy_endpoint_shares_one_etag(api: Api) -> None:
    tags = {get(api, path).headers["ETag"] for path in ("", "/industries", "/deployments")}

    assert len(tags) == 1


# --- SME size derivation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({"sector": "industry", "employees": 1500, "revenue_wan": 30000}, "medium"),
        ({"sector": "industry", "employees": 1500, "revenue_wan": 50000}, "large"),
        ({"sector": "industry", "employees": 10, "revenue_wan": 100}, "micro"),
        ({"sector": "industry", "employees": 50, "revenue_wan": 500}, "small"),
        ({"sector": "software_it", "employees": 150, "revenue_wan": 2000}, "medium"),
        ({"sector": "leasing_business", "employees": 150, "assets_wan": 10000}, "medium"),
    ],
)
def test_sme_size_is_derived_from_the_numbers(api: Api, params: dict[str, Any], size: str) -> None:
    response = get(api, "/sme-size", **params)

    assert response.status_code == 200
    assert response.json() == {"sector": params["sector"], "size": size}


def test_sme_size_for_an_unknown_sector_names_the_sector(api: Api) -> None:
    response = get(api, "/sme-size", sector="mining", employees=10, revenue_wan=10)

    assert response.status_code == 422
    assert error_fields(response) == ["query.sector"]
    assert "industry" in error(response)["details"][0]["message"]


def test_sme_size_without_the_second_measure_asks_for_it(api: Api) -> None:
    response = get(api, "/sme-size", sector="industry", employees=500)

    assert response.status_code == 422
    assert error(response)["details"] == [
        {
            "field": "query.revenue_wan",
            "message": "this sector needs its second measure (revenue or assets)",
            "type": "missing",
        }
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sector": "industry", "employees": -1, "revenue_wan": 10}, "query.employees"),
        ({"sector": "industry", "employees": 10, "revenue_wan": -5}, "query.revenue_wan"),
        ({"sector": "industry", "revenue_wan": 10}, "query.employees"),
        ({"employees": 10, "revenue_wan": 10}, "query.sector"),
        ({"sector": "industry", "employees": "many", "revenue_wan": 10}, "query.employees"),
    ],
)
def test_sme_size_refuses_bad_or_missing_numbers(
    api: Api, params: dict[str, Any], field: str
) -> None:
    response = get(api, "/sme-size", **params)

    assert response.status_code == 422
    assert error_fields(response) == [field]


# --- credit codes -----------------------------------------------------------------------------


def test_a_valid_credit_code_is_confirmed(api: Api) -> None:
    response = get(api, "/credit-code/91320400000000000L")

    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True
    assert body["code"] == "91320400000000000L"
    assert body["warning"] is None


def test_a_lower_case_credit_code_with_spaces_is_normalised(api: Api) -> None:
    response = get(api, "/credit-code/9132 0400 0000 0000 0l")

    assert response.json()["valid"] is True
    assert response.json()["code"] == "91320400000000000L"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91320400000000000M", "check_character"),
        ("91320400000000000", "length"),
        ("9132040000000000OL", "characters"),
        ("9132A400000000000L", "shape"),
    ],
)
def test_an_invalid_credit_code_is_explained(api: Api, code: str, reason: str) -> None:
    response = get(api, f"/credit-code/{code}")

    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert body["reason"] == reason
    assert body["message"]
