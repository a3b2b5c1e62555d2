"""Provider profiles over HTTP: public reads, listing, own-profile edits, certifications."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from core.database import today_in_china
from tests.support import Actor, Api

PROVIDERS = "/api/v1/providers"


def profile_url(actor: Actor) -> str:
    return f"{PROVIDERS}/{actor.provider_id}"


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def error_fields(response: httpx.Response) -> list[str]:
    return [detail["field"] for detail in error(response)["details"]]


def current_etag(api: Api, actor: Actor) -> str:
    return api.client.get(profile_url(actor), headers=actor.headers).headers["ETag"]


def patch_profile(
    api: Api, actor: Actor, body: dict[str, Any], *, etag: str | None = None
) -> httpx.Response:
    """PATCH the actor's own profile, based on the version it would read right now."""
    headers = {**actor.headers, "If-Match": etag or current_etag(api, actor)}
    return api.client.patch(profile_url(actor), json=body, headers=headers)


def read_profile(api: Api, actor: Actor) -> dict[str, Any]:
    """The profile as its owner reads it (unvetted profiles are not public)."""
    response = api.client.get(profile_url(actor), headers=actor.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def listed(api: Api, **params: Any) -> list[str]:
    response = api.client.get(PROVIDERS, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def set_size(api: Api, actor: Actor, employees: int, revenue_wan: int) -> None:
    response = patch_profile(api, actor, {"employees": employees, "revenue_wan": revenue_wan})
    assert response.status_code == 200, response.text


def add_cert(api: Api, actor: Actor, **fields: Any) -> httpx.Response:
    body = {"name": "ISO 9001 质量管理体系认证", "issuer": "中国质量认证中心", **fields}
    return api.client.post(f"{profile_url(actor)}/certifications", json=body, headers=actor.headers)


def cert_url(actor: Actor, cert_id: str) -> str:
    return f"{profile_url(actor)}/certifications/{cert_id}"


# --- public reads -----------------------------------------------------------------------------


def test_anyone_can_read_a_public_provider_profile_with_its_etag(api: Api) -> None:
    provider = api.provider(
        listed=True, region="320500", provider_type="integrator", name="苏州智造集成有限公司"
    )

    response = api.client.get(profile_url(provider))

    assert response.status_code == 200
    assert response.headers["ETag"] == 'W/"1"'
    body = response.json()
    assert body["id"] == str(provider.provider_id)
    assert body["org_id"] == str(provider.org_id)
    assert body["legal_name"] == "苏州智造集成有限公司"
    assert body["provider_type"] == "integrator"
    assert body["registered_region"] == "320500"
    assert body["service_regions"] == ["320500"]
    assert body["certifications"] == []
    assert body["size"] is None
    assert body["version"] == 1


def test_reading_an_unknown_provider_is_not_found(api: Api) -> None:
    response = api.client.get(f"{PROVIDERS}/00000000-0000-4000-8000-000000000000")

    assert response.status_code == 404
    assert error(response)["code"] == "provider_not_found"


# --- listing ----------------------------------------------------------------------------------


def test_list_filters_by_provider_type(api: Api) -> None:
    integrator = api.provider(listed=True, provider_type="integrator")
    api.provider(listed=True, provider_type="product")

    assert listed(api, provider_type="integrator") == [str(integrator.provider_id)]


def test_list_filters_by_city_region(api: Api) -> None:
    changzhou = api.provider(listed=True, region="320400")
    api.provider(listed=True, region="320500")

    assert listed(api, region="320400") == [str(changzhou.provider_id)]


def test_list_filters_by_province_code_finds_every_city_of_the_province(api: Api) -> None:
    changzhou = api.provider(listed=True, region="320400")
    suzhou = api.provider(listed=True, region="320500")
    api.provider(listed=True, region="330100")

    found = set(listed(api, region="320000"))

    assert found == {str(changzhou.provider_id), str(suzhou.provider_id)}


def test_list_filters_by_derived_size(api: Api) -> None:
    small = api.provider(listed=True)
    medium = api.provider(listed=True)
    api.provider(listed=True)  # size unknown: never matches a size filter
    set_size(api, small, employees=50, revenue_wan=3000)
    set_size(api, medium, employees=150, revenue_wan=2000)

    assert listed(api, company_size="small") == [str(small.provider_id)]
    assert listed(api, company_size="medium", size=1) == [str(medium.provider_id)]


@pytest.mark.parametrize(
    ("param", "value"),
    [("provider_type", "bogus"), ("region", "999999"), ("company_size", "giant")],
)
def test_list_rejects_unknown_filter_codes_naming_the_parameter(
    api: Api, param: str, value: str
) -> None:
    response = api.client.get(PROVIDERS, params={param: value})

    assert response.status_code == 422
    assert error(response)["code"] == "validation_error"
    assert error_fields(response) == [f"query.{param}"]


def test_list_sorts_by_legal_name_ascending_by_default_and_descending_with_minus(api: Api) -> None:
    b = api.provider(listed=True, name="Bravo Automation")
    c = api.provider(listed=True, name="Charlie Systems")
    a = api.provider(listed=True, name="Alpha Robotics")
    by_name = [str(a.provider_id), str(b.provider_id), str(c.provider_id)]

    assert listed(api) == by_name
    assert listed(api, sort="legal_name") == by_name
    assert listed(api, sort="-legal_name") == by_name[::-1]


def test_list_sorts_newest_first_with_minus_created_at(api: Api) -> None:
    first = api.provider(listed=True, name="Alpha First")
    second = api.provider(listed=True, name="Bravo Second")
    third = api.provider(listed=True, name="Charlie Third")

    newest_first = listed(api, sort="-created_at")

    assert newest_first == [str(third.provider_id), str(second.provider_id), str(first.provider_id)]


def test_list_rejects_an_unknown_sort_field_naming_query_sort(api: Api) -> None:
    response = api.client.get(PROVIDERS, params={"sort": "-credit_code"})

    assert response.status_code == 422
    assert error_fields(response) == ["query.sort"]
    assert "legal_name" in error(response)["details"][0]["message"]


def test_list_paginates_and_reports_the_total(api: Api) -> None:
    names = ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
    ids = [str(api.provider(listed=True, name=f"{n} Industrial").provider_id) for n in names]

    first = api.client.get(PROVIDERS, params={"page": 1, "size": 2}).json()
    third = api.client.get(PROVIDERS, params={"page": 3, "size": 2}).json()
    beyond = api.client.get(PROVIDERS, params={"page": 4, "size": 2}).json()

    assert (first["total"], first["page"], first["size"]) == (5, 1, 2)
    assert [item["id"] for item in first["items"]] == ids[:2]
    assert [item["id"] for item in third["items"]] == ids[4:]
    assert beyond["items"] == []
    assert beyond["total"] == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [({"size": 101}, "query.size"), ({"size": 0}, "query.size"), ({"page": 0}, "query.page")],
)
def test_list_refuses_out_of_range_paging(api: Api, params: dict[str, int], field: str) -> None:
    response = api.client.get(PROVIDERS, params=params)

    assert response.status_code == 422
    assert error_fields(response) == [field]


def test_list_accepts_the_largest_page_size(api: Api) -> None:
    response = api.client.get(PROVIDERS, params={"size": 100})

    assert response.status_code == 200
    assert response.json()["size"] == 100


# --- /providers/me ----------------------------------------------------------------------------


def test_provider_reads_its_own_profile_at_me(api: Api) -> None:
    provider = api.provider()

    response = api.client.get(f"{PROVIDERS}/me", headers=provider.headers)

    assert response.status_code == 200
    assert response.json()["id"] == str(provider.provider_id)
    assert response.headers["ETag"] == current_etag(api, provider)


def test_sme_has_no_provider_profile_at_me(api: Api) -> None:
    sme = api.sme()

    response = api.client.get(f"{PROVIDERS}/me", headers=sme.headers)

    assert response.status_code == 403
    assert error(response)["code"] == "role_required"


def test_anonymous_caller_must_log_in_to_read_me(api: Api) -> None:
    response = api.client.get(f"{PROVIDERS}/me")

    assert response.status_code == 401
    assert error(response)["code"] == "authentication_required"


# --- editing the own profile ------------------------------------------------------------------


def test_provider_edits_own_profile_and_the_fields_are_saved(api: Api) -> None:
    provider = api.provider(region="320400")
    edit = {
        "legal_name": "常州数智工业科技有限公司",
        "provider_type": "platform",
        "service_regions": ["320400", "320000", "330100"],
        "on_site_regions": ["320400"],
        "founded_year": 2015,
        "policy_tags": ["zjtx", "high_tech"],
        "patents_count": 12,
        "capacity": 8,
        "contact_name": "王工",
        "contact_phone": "+86 519-8888 6666",
        "contact_email": "Sales@Example.COM",
        "website": "https://example.com/iiot",
        "description_zh": "专注注塑与机加工行业的设备联网",
    }

    response = patch_profile(api, provider, edit)

    assert response.status_code == 200, response.text
    saved = read_profile(api, provider)
    expected = {**edit, "contact_email": "sales@example.com"}
    for key, value in expected.items():
        assert saved[key] == value, key
    assert response.json() == saved


def test_fields_left_out_of_a_patch_stay_as_they_were(api: Api) -> None:
    provider = api.provider()
    assert patch_profile(api, provider, {"capacity": 3, "founded_year": 2010}).status_code == 200

    assert patch_profile(api, provider, {"capacity": 9}).status_code == 200

    saved = read_profile(api, provider)
    assert (saved["capacity"], saved["founded_year"]) == (9, 2010)


@pytest.mark.parametrize(
    ("numbers", "size"),
    [
        ({"employees": 50, "revenue_wan": 3000}, "small"),
        ({"employees": 150, "revenue_wan": 2000}, "medium"),
        ({"employees": 5, "revenue_wan": 20}, "micro"),
        ({"employees": 400, "revenue_wan": 20000}, "large"),
        ({"employees": 150}, None),
    ],
)
def test_size_is_derived_from_employees_and_revenue(
    api: Api, numbers: dict[str, int], size: str | None
) -> None:
    provider = api.provider()

    response = patch_profile(api, provider, numbers)

    assert response.status_code == 200, response.text
    assert response.json()["size_sector"] == "software_it"
    assert response.json()["size"] == size
    assert read_profile(api, provider)["size"] == size


def test_changing_the_size_sector_derives_the_size_again(api: Api) -> None:
    provider = api.provider()
    set_size(api, provider, employees=150, revenue_wan=2000)  # software_it: medium

    response = patch_profile(api, provider, {"size_sector": "industry"})

    assert response.status_code == 200
    assert response.json()["size"] == "small"  # industry needs 300 staff for medium


def test_size_cannot_be_typed_in(api: Api) -> None:
    provider = api.provider()

    response = patch_profile(api, provider, {"size": "medium"})

    assert response.status_code == 422
    assert error(response)["details"] == [
        {
            "field": "body.size",
            "message": "Extra inputs are not permitted",
            "type": "extra_forbidden",
        }
    ]
    assert read_profile(api, provider)["size"] is None


def test_etag_changes_after_an_edit(api: Api) -> None:
    provider = api.provider()
    before = current_etag(api, provider)

    response = patch_profile(api, provider, {"capacity": 7}, etag=before)

    assert before == 'W/"1"'
    assert response.headers["ETag"] == 'W/"2"'
    assert current_etag(api, provider) == 'W/"2"'
    assert response.json()["version"] == 2


def test_edit_based_on_a_stale_etag_is_refused_and_changes_nothing(api: Api) -> None:
    provider = api.provider()
    stale = current_etag(api, provider)
    assert patch_profile(api, provider, {"capacity": 7}, etag=stale).status_code == 200

    response = patch_profile(api, provider, {"capacity": 2}, etag=stale)

    assert response.status_code == 412
    assert error(response)["code"] == "version_conflict"
    assert error(response)["details"]["current_etag"] == 'W/"2"'
    assert read_profile(api, provider)["capacity"] == 7


def test_edit_without_if_match_is_refused_with_428(api: Api) -> None:
    provider = api.provider()

    response = api.client.patch(
        profile_url(provider), json={"capacity": 2}, headers=provider.headers
    )

    assert response.status_code == 428
    assert error(response)["code"] == "precondition_required"
    assert error(response)["details"]["current_etag"] == 'W/"1"'
    assert read_profile(api, provider)["capacity"] == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"registered_region": "999999"}, "body.registered_region"),
        ({"service_regions": ["320400", "123456"]}, "body.service_regions.1"),
        ({"on_site_regions": ["000000"]}, "body.on_site_regions.0"),
        ({"policy_tags": ["zjtx", "famous_brand"]}, "body.policy_tags.1"),
        ({"provider_type": "reseller"}, "body.provider_type"),
        ({"size_sector": "mining"}, "body.size_sector"),
    ],
)
def test_unknown_codes_are_refused_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    provider = api.provider()

    response = patch_profile(api, provider, body)

    assert response.status_code == 422
    assert error_fields(response) == [field]
    assert current_etag(api, provider) == 'W/"1"'


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contact_email": "sales.example.com"}, "body.contact_email"),
        ({"contact_email": "sales@example"}, "body.contact_email"),
        ({"website": "not a url"}, "body.website"),
        ({"website": "example"}, "body.website"),
        ({"contact_phone": "call me"}, "body.contact_phone"),
        ({"employees": -1}, "body.employees"),
        ({"capacity": 0}, "body.capacity"),
    ],
)
def test_invalid_contact_details_and_numbers_are_refused(
    api: Api, body: dict[str, Any], field: str
) -> None:
    provider = api.provider()

    response = patch_profile(api, provider, body)

    assert response.status_code == 422
    assert error_fields(response) == [field]


@pytest.mark.parametrize("field", ["legal_name", "provider_type", "service_regions", "capacity"])
def test_null_for_a_required_profile_field_is_refused(api: Api, field: str) -> None:
    provider = api.provider()
    before = read_profile(api, provider)

    response = patch_profile(api, provider, {field: None})

    assert response.status_code == 422
    assert error_fields(response) == [f"body.{field}"]
    assert read_profile(api, provider)[field] == before[field]


def test_provider_cannot_edit_a_competitor_profile(api: Api) -> None:
    owner = api.provider()
    competitor = api.provider()
    headers = {**competitor.headers, "If-Match": current_etag(api, owner)}

    response = api.client.patch(profile_url(owner), json={"capacity": 1}, headers=headers)

    assert response.status_code == 403
    assert error(response)["code"] == "not_owner"
    assert read_profile(api, owner)["capacity"] == 5


# --- certifications ---------------------------------------------------------------------------


def test_provider_adds_a_certification_shown_on_its_profile(api: Api) -> None:
    provider = api.provider()
    valid_until = (today_in_china() + timedelta(days=365)).isoformat()

    response = add_cert(api, provider, number="00123Q45678R0M", valid_until=valid_until)

    assert response.status_code == 201, response.text
    cert = response.json()
    assert cert["name"] == "ISO 9001 质量管理体系认证"
    assert cert["number"] == "00123Q45678R0M"
    assert cert["valid_until"] == valid_until
    assert cert["expired"] is False
    assert read_profile(api, provider)["certifications"] == [cert]


@pytest.mark.parametrize(
    ("valid_until", "expired"),
    [
        (today_in_china() - timedelta(days=1), True),
        (today_in_china(), False),
        (today_in_china() + timedelta(days=30), False),
        (None, False),
    ],
)
def test_certification_is_flagged_expired_only_after_its_valid_until(
    api: Api, valid_until: date | None, expired: bool
) -> None:
    provider = api.provider()
    until = valid_until.isoformat() if valid_until else None

    response = add_cert(api, provider, valid_until=until)

    assert response.status_code == 201
    assert response.json()["expired"] is expired
    assert read_profile(api, provider)["certifications"][0]["expired"] is expired


def test_provider_replaces_a_certification_as_a_whole(api: Api) -> None:
    provider = api.provider()
    cert = add_cert(api, provider, number="OLD-1", valid_until="2020-01-01").json()

    response = api.client.put(
        cert_url(provider, cert["id"]),
        json={"name": "两化融合管理体系评定", "issuer": "中国电子技术标准化研究院"},
        headers=provider.headers,
    )

    assert response.status_code == 200, response.text
    replaced = response.json()
    assert replaced == {
        "id": cert["id"],
        "name": "两化融合管理体系评定",
        "issuer": "中国电子技术标准化研究院",
        "number": None,
        "valid_until": None,
        "expired": False,
    }
    assert read_profile(api, provider)["certifications"] == [replaced]


def test_provider_deletes_a_certification(api: Api) -> None:
    provider = api.provider()
    kept = add_cert(api, provider, name="CMMI 3").json()
    dropped = add_cert(api, provider, name="ISO 27001").json()

    response = api.client.delete(cert_url(provider, dropped["id"]), headers=provider.headers)

    assert response.status_code == 204
    assert response.content == b""
    assert [c["id"] for c in read_profile(api, provider)["certifications"]] == [kept["id"]]


def test_provider_cannot_touch_another_providers_certifications(api: Api) -> None:
    owner = api.provider()
    intruder = api.provider()
    cert = add_cert(api, owner, number="A-1").json()
    url = cert_url(owner, cert["id"])
    replacement = {"name": "伪造证书", "issuer": "无"}

    attempts = [
        api.client.post(
            f"{profile_url(owner)}/certifications", json=replacement, headers=intruder.headers
        ),
        api.client.put(url, json=replacement, headers=intruder.headers),
        api.client.delete(url, headers=intruder.headers),
    ]

    for response in attempts:
        assert response.status_code == 403, response.text
        assert error(response)["code"] == "not_owner"
    assert read_profile(api, owner)["certifications"] == [cert]


def test_certification_of_another_provider_is_not_found_under_the_own_profile(api: Api) -> None:
    owner = api.provider()
    other = api.provider()
    cert = add_cert(api, owner).json()

    response = api.client.delete(cert_url(other, cert["id"]), headers=other.headers)

    assert response.status_code == 404
    assert error(response)["code"] == "certification_not_found"
    assert read_profile(api, owner)["certifications"] == [cert]


@pytest.mark.parametrize("method", ["put", "delete"])
def test_unknown_certification_id_is_not_found(api: Api, method: str) -> None:
    provider = api.provider()
    url = cert_url(provider, "00000000-0000-4000-8000-000000000000")

    response = api.client.request(
        method,
        url,
        json={"name": "X", "issuer": "Y"} if method == "put" else None,
        headers=provider.headers,
    )

    assert response.status_code == 404
    assert error(response)["code"] == "certification_not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "issuer": "CQC"}, "body.name"),
        ({"name": "ISO 9001"}, "body.issuer"),
        ({"name": "ISO 9001", "issuer": "CQC", "valid_until": "next year"}, "body.valid_until"),
        ({"name": "ISO 9001", "issuer": "CQC", "expired": False}, "body.expired"),
    ],
)
def test_invalid_certification_is_refused_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    provider = api.provider()

    response = api.client.post(
        f"{profile_url(provider)}/certifications", json=body, headers=provider.headers
    )

    assert response.status_code == 422
    assert error_fields(response) == [field]
    assert read_profile(api, provider)["certifications"] == []


def test_certification_changes_move_the_profile_etag_on(api: Api) -> None:
    provider = api.provider()
    before = current_etag(api, provider)
    created = add_cert(api, provider, name="ISO 9001", issuer="示例认证中心")
    assert created.status_code == 201
    after_add = current_etag(api, provider)
    assert after_add != before
    deleted = api.client.delete(cert_url(provider, created.json()["id"]), headers=provider.headers)
    assert deleted.status_code == 204
    assert current_etag(api, provider) != after_add


def test_region_and_tag_lists_refuse_repeated_codes(api: Api) -> None:
    provider = api.provider()
    for field, value in (
        ("service_regions", ["320400", "320400"]),
        ("policy_tags", ["zjtx", "zjtx"]),
    ):
        response = patch_profile(api, provider, {field: value})
        assert response.status_code == 422
        assert "listed twice" in response.text


# --- renaming goes through the material change report ----------------------------------------


def test_a_listed_provider_cannot_rename_itself_on_the_profile(api: Api) -> None:
    provider = api.provider(listed=True, name="常州原名科技有限公司")

    response = patch_profile(api, provider, {"legal_name": "常州新名科技有限公司"})

    assert response.status_code == 409
    assert error(response)["code"] == "material_change_report_required"
    assert "/api/v1/changes" in error(response)["message"]
    assert read_profile(api, provider)["legal_name"] == "常州原名科技有限公司"


def test_a_listed_provider_still_edits_other_fields_and_may_resend_its_name(api: Api) -> None:
    provider = api.provider(listed=True, name="常州原名科技有限公司")

    response = patch_profile(api, provider, {"legal_name": "常州原名科技有限公司", "capacity": 7})

    assert response.status_code == 200, response.text
    assert read_profile(api, provider)["capacity"] == 7


def test_a_listed_provider_renames_through_the_change_report(api: Api) -> None:
    provider = api.provider(listed=True, name="常州原名科技有限公司")

    response = api.client.post(
        "/api/v1/changes",
        json={"kind": "name", "new_value": "常州新名科技有限公司", "note": "工商变更"},
        headers=provider.headers,
    )

    assert response.status_code == 201, response.text
    assert read_profile(api, provider)["legal_name"] == "常州新名科技有限公司"


def test_an_unvetted_provider_renames_itself_freely(api: Api) -> None:
    provider = api.provider(name="常州原名科技有限公司")

    response = patch_profile(api, provider, {"legal_name": "常州新名科技有限公司"})

    assert response.status_code == 200, response.text
    assert read_profile(api, provider)["legal_name"] == "常州新名科技有限公司"
