"""Case studies over HTTP: drafts, completeness, linked solutions, filters, visibility, edits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from core.database import today_in_china
from tests.support import Actor, Api, complete_solution

CASES = "/api/v1/cases"
SOLUTIONS = "/api/v1/solutions"
OUTCOME = {"kpi": "设备联网率", "before": 20, "after": 85, "unit": "%"}


def complete_case(**overrides: Any) -> dict[str, Any]:
    """A case payload that may be published as it is."""
    body: dict[str, Any] = {
        "title": "常州某注塑厂设备联网改造",
        "client_industry": "29",
        "client_size": "small",
        "region_code": "320400",
        "problem": "40 台注塑机数据靠人工抄表，停机原因无法追溯",
        "solution_text": "部署边缘网关接入注塑机，上线设备看板与停机分析",
        "outcomes": [OUTCOME],
        "case_date": "2025-06-30",
    }
    body.update(overrides)
    return body


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def error_fields(response: httpx.Response) -> list[str]:
    return [detail["field"] for detail in error(response)["details"]]


def url(case: dict[str, Any]) -> str:
    return f"{CASES}/{case['id']}"


def post_case(api: Api, owner: Actor, **overrides: Any) -> httpx.Response:
    return api.client.post(CASES, json=complete_case(**overrides), headers=owner.headers)


def create(api: Api, owner: Actor, **overrides: Any) -> dict[str, Any]:
    response = post_case(api, owner, **overrides)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def act(api: Api, actor: Actor, case: dict[str, Any], action: str) -> httpx.Response:
    return api.client.post(f"{url(case)}/{action}", headers=actor.headers)


def published(api: Api, owner: Actor, **overrides: Any) -> dict[str, Any]:
    case = create(api, owner, **overrides)
    response = act(api, owner, case, "publish")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def read(api: Api, case: dict[str, Any], actor: Actor | None = None) -> httpx.Response:
    return api.client.get(url(case), headers=actor.headers if actor else None)


def patch(
    api: Api, owner: Actor, case: dict[str, Any], body: dict[str, Any], etag: str | None = None
) -> httpx.Response:
    etag = etag or read(api, case, owner).headers["ETag"]
    return api.client.patch(url(case), json=body, headers={**owner.headers, "If-Match": etag})


def listed(api: Api, actor: Actor | None = None, **params: Any) -> list[str]:
    response = api.client.get(CASES, params=params, headers=actor.headers if actor else None)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def solution_of(api: Api, owner: Actor) -> str:
    response = api.client.post(SOLUTIONS, json=complete_solution(), headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def viewer(api: Api, role: str) -> Actor | None:
    makers = {
        "anonymous": lambda: None,
        "sme": api.sme,
        "other_provider": api.provider,
        "curator": api.curator,
        "admin": api.admin,
    }
    return makers[role]()


# --- creating and publishing ------------------------------------------------------------------


def test_provider_creates_an_unverified_draft_case(api: Api) -> None:
    owner = api.provider()

    response = post_case(api, owner, client_industry="C3411")

    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == f"{CASES}/{body['id']}"
    assert response.headers["ETag"] == 'W/"1"'
    assert body["status"] == "draft"
    assert body["verified"] is False
    assert body["provider_id"] == str(owner.provider_id)
    assert body["client_industry"] == "3411"
    assert body["outcomes"] == [{"kpi": "设备联网率", "before": 20.0, "after": 85.0, "unit": "%"}]
    assert body["case_date"] == "2025-06-30"
    assert body["solution_ids"] == []


def test_publish_archive_and_republish_a_case(api: Api) -> None:
    owner = api.provider(listed=True)
    case = create(api, owner)

    first = act(api, owner, case, "publish")
    archived = act(api, owner, case, "archive")
    again = act(api, owner, case, "publish")

    assert [r.status_code for r in (first, archived, again)] == [200, 200, 200]
    assert first.json()["published_at"] is not None
    assert [r.json()["status"] for r in (first, archived, again)] == [
        "published",
        "archived",
        "published",
    ]
    assert read(api, case).json()["status"] == "published"


def test_archiving_a_case_twice_is_an_invalid_transition(api: Api) -> None:
    owner = api.provider()
    case = published(api, owner)
    assert act(api, owner, case, "archive").status_code == 200

    response = act(api, owner, case, "archive")

    assert response.status_code == 409
    assert error(response)["code"] == "invalid_transition"


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({"problem": ""}, ["body.problem"]),
        ({"solution_text": "   "}, ["body.solution_text"]),
        ({"outcomes": []}, ["body.outcomes"]),
        ({"case_date": None}, ["body.case_date"]),
        (
            {"problem": "", "solution_text": "", "outcomes": [], "case_date": None},
            ["body.problem", "body.solution_text", "body.outcomes", "body.case_date"],
        ),
    ],
)
def test_publishing_needs_problem_solution_outcomes_and_date(
    api: Api, overrides: dict[str, Any], missing: list[str]
) -> None:
    owner = api.provider()
    case = create(api, owner, **overrides)

    response = act(api, owner, case, "publish")

    assert response.status_code == 422
    assert error(response)["code"] == "incomplete"
    assert error_fields(response) == missing
    assert read(api, case, owner).json()["status"] == "draft"


def test_a_case_date_in_the_future_is_refused(api: Api) -> None:
    owner = api.provider()
    tomorrow = (today_in_china() + timedelta(days=1)).isoformat()

    response = post_case(api, owner, case_date=tomorrow)

    assert response.status_code == 422
    assert error_fields(response) == ["body.case_date"]
    assert listed(api, owner, mine="true") == []


def test_a_case_dated_today_is_accepted(api: Api) -> None:
    response = post_case(api, api.provider(), case_date=today_in_china().isoformat())

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"client_industry": "A34"}, "body.client_industry"),
        ({"client_size": "huge"}, "body.client_size"),
        ({"region_code": "999999"}, "body.region_code"),
        ({"outcomes": [{"kpi": "", "before": 1, "after": 2}]}, "body.outcomes.0.kpi"),
        ({"title": ""}, "body.title"),
    ],
)
def test_invalid_case_fields_are_refused_naming_the_field(
    api: Api, overrides: dict[str, Any], field: str
) -> None:
    response = post_case(api, api.provider(), **overrides)

    assert response.status_code == 422
    assert error_fields(response) == [field]


@pytest.mark.parametrize("field", ["verified", "status", "provider_id"])
def test_provider_cannot_set_fields_it_does_not_own(api: Api, field: str) -> None:
    owner = api.provider()
    value = "00000000-0000-4000-8000-000000000000" if field == "provider_id" else True

    response = post_case(api, owner, **{field: value})

    assert response.status_code == 422
    assert error(response)["details"][0]["type"] == "extra_forbidden"
    assert error_fields(response) == [f"body.{field}"]


def test_provider_cannot_mark_its_case_verified_by_editing_it(api: Api) -> None:
    owner = api.provider()
    case = create(api, owner)

    response = patch(api, owner, case, {"verified": True})

    assert response.status_code == 422
    assert error_fields(response) == ["body.verified"]
    assert read(api, case, owner).json()["verified"] is False


# --- linked solutions -------------------------------------------------------------------------


def test_case_links_the_providers_own_solutions(api: Api) -> None:
    owner = api.provider()
    first, second = solution_of(api, owner), solution_of(api, owner)

    case = create(api, owner, solution_ids=[first, second, first])

    assert sorted(case["solution_ids"]) == sorted([first, second])
    assert sorted(read(api, case, owner).json()["solution_ids"]) == sorted([first, second])


def test_linked_solutions_read_back_in_the_order_of_the_create_response(api: Api) -> None:
    owner = api.provider()
    ids = [solution_of(api, owner) for _ in range(4)]

    case = create(api, owner, solution_ids=ids)

    assert read(api, case, owner).json()["solution_ids"] == case["solution_ids"]
    assert sorted(case["solution_ids"]) == sorted(ids)


@pytest.mark.parametrize("own_first", [False, True])
def test_linking_a_solution_of_another_provider_is_refused(api: Api, own_first: bool) -> None:
    owner = api.provider()
    foreign = solution_of(api, api.provider())
    ids = [solution_of(api, owner), foreign] if own_first else [foreign]

    response = post_case(api, owner, solution_ids=ids)

    assert response.status_code == 422
    assert error_fields(response) == [f"body.solution_ids.{len(ids) - 1}"]
    assert listed(api, owner, mine="true") == []


def test_linking_an_unknown_solution_is_refused(api: Api) -> None:
    response = post_case(api, api.provider(), solution_ids=["00000000-0000-4000-8000-000000000000"])

    assert response.status_code == 422
    assert error_fields(response) == ["body.solution_ids.0"]


def test_relinking_to_a_foreign_solution_by_editing_is_refused(api: Api) -> None:
    owner = api.provider()
    own = solution_of(api, owner)
    case = create(api, owner, solution_ids=[own])

    response = patch(api, owner, case, {"solution_ids": [solution_of(api, api.provider())]})

    assert response.status_code == 422
    assert error_fields(response) == ["body.solution_ids.0"]
    assert read(api, case, owner).json()["solution_ids"] == [own]


def test_deleting_a_linked_draft_solution_unlinks_it_from_the_case(api: Api) -> None:
    owner = api.provider()
    kept, dropped = solution_of(api, owner), solution_of(api, owner)
    case = create(api, owner, solution_ids=[kept, dropped])

    response = api.client.delete(f"{SOLUTIONS}/{dropped}", headers=owner.headers)

    assert response.status_code == 204
    assert read(api, case, owner).json()["solution_ids"] == [kept]


# --- visibility -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", "sme", "other_provider"])
def test_draft_cases_are_invisible_to_outsiders(api: Api, role: str) -> None:
    case = create(api, api.provider())

    response = read(api, case, viewer(api, role))

    assert response.status_code == 404
    assert error(response)["code"] == "case_not_found"


@pytest.mark.parametrize("role", ["curator", "admin"])
def test_curators_and_admins_read_draft_cases(api: Api, role: str) -> None:
    case = create(api, api.provider())

    assert read(api, case, viewer(api, role)).status_code == 200


@pytest.mark.parametrize("role", ["anonymous", "sme", "other_provider", "curator", "admin"])
def test_published_cases_are_visible_to_everyone(api: Api, role: str) -> None:
    case = published(api, api.provider(listed=True))

    assert read(api, case, viewer(api, role)).status_code == 200


def test_owner_reads_and_lists_its_draft_cases(api: Api) -> None:
    owner = api.provider(listed=True)
    draft = create(api, owner)
    public = published(api, owner)
    competitor = published(api, api.provider(listed=True))

    assert read(api, draft, owner).status_code == 200
    assert set(listed(api, owner)) == {public["id"], competitor["id"]}
    assert set(listed(api, owner, mine="true")) == {draft["id"], public["id"]}


def test_mine_is_refused_for_an_sme(api: Api) -> None:
    sme = api.sme()

    response = api.client.get(CASES, params={"mine": "true"}, headers=sme.headers)

    assert response.status_code == 422
    assert error_fields(response) == ["query.mine"]


# --- filters ----------------------------------------------------------------------------------


def test_public_list_shows_only_published_cases(api: Api) -> None:
    owner = api.provider(listed=True)
    public = published(api, owner)
    create(api, owner)
    withdrawn = published(api, owner)
    assert act(api, owner, withdrawn, "archive").status_code == 200

    assert listed(api) == [public["id"]]


def test_cases_filter_by_provider(api: Api) -> None:
    owner = api.provider(listed=True)
    mine = published(api, owner)
    published(api, api.provider(listed=True))

    assert listed(api, provider_id=str(owner.provider_id)) == [mine["id"]]


@pytest.mark.parametrize(
    ("match", "miss", "query"),
    [
        ("3411", "2929", "34"),
        ("3411", "3421", "341"),
        ("3411", "3412", "C3411"),
    ],
)
def test_cases_filter_by_industry_prefix(api: Api, match: str, miss: str, query: str) -> None:
    owner = api.provider(listed=True)
    wanted = published(api, owner, client_industry=match)
    published(api, owner, client_industry=miss)

    assert listed(api, industry=query) == [wanted["id"]]


def test_cases_filter_by_linked_solution(api: Api) -> None:
    owner = api.provider(listed=True)
    solution = solution_of(api, owner)
    linked = published(api, owner, solution_ids=[solution])
    published(api, owner, solution_ids=[solution_of(api, owner)])

    assert listed(api, solution_id=solution) == [linked["id"]]


def test_cases_sort_newest_case_date_first_by_default(api: Api) -> None:
    owner = api.provider(listed=True)
    old = published(api, owner, case_date="2023-03-01")
    new = published(api, owner, case_date="2025-03-01")
    mid = published(api, owner, case_date="2024-03-01")

    assert listed(api) == [new["id"], mid["id"], old["id"]]
    assert listed(api, sort="case_date") == [old["id"], mid["id"], new["id"]]


# --- editing and deleting ---------------------------------------------------------------------


def test_owner_edits_a_case_with_if_match(api: Api) -> None:
    owner = api.provider()
    case = create(api, owner)

    response = patch(api, owner, case, {"outcomes": [OUTCOME, {**OUTCOME, "kpi": "OEE"}]})

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == 'W/"2"'
    assert [o["kpi"] for o in read(api, case, owner).json()["outcomes"]] == ["设备联网率", "OEE"]


def test_case_edit_with_stale_or_missing_if_match_is_refused(api: Api) -> None:
    owner = api.provider()
    case = create(api, owner)
    assert patch(api, owner, case, {"title": "第二版"}, etag='W/"1"').status_code == 200

    stale = patch(api, owner, case, {"title": "旧版修改"}, etag='W/"1"')
    missing = api.client.patch(url(case), json={"title": "无版本"}, headers=owner.headers)

    assert (stale.status_code, error(stale)["code"]) == (412, "version_conflict")
    assert (missing.status_code, error(missing)["code"]) == (428, "precondition_required")
    assert read(api, case, owner).json()["title"] == "第二版"


def test_editing_a_future_date_into_a_case_is_refused(api: Api) -> None:
    owner = api.provider()
    case = create(api, owner)

    response = patch(
        api, owner, case, {"case_date": (today_in_china() + timedelta(days=3)).isoformat()}
    )

    assert response.status_code == 422
    assert error_fields(response) == ["body.case_date"]


def test_editing_a_published_case_into_an_incomplete_state_saves_nothing(api: Api) -> None:
    owner = api.provider(listed=True)
    case = published(api, owner)

    response = patch(api, owner, case, {"title": "新标题", "outcomes": []})

    assert response.status_code == 422
    assert error(response)["code"] == "incomplete"
    assert error_fields(response) == ["body.outcomes"]
    after = read(api, case).json()
    assert (after["title"], after["outcomes"]) == (case["title"], case["outcomes"])
    assert after["version"] == case["version"]


def test_owner_deletes_a_draft_case_but_not_a_published_one(api: Api) -> None:
    owner = api.provider(listed=True)
    draft = create(api, owner)
    public = published(api, owner)

    deleted = api.client.delete(url(draft), headers=owner.headers)
    refused = api.client.delete(url(public), headers=owner.headers)

    assert deleted.status_code == 204
    assert read(api, draft, owner).status_code == 404
    assert refused.status_code == 409
    assert error(refused)["code"] == "case_not_draft"
    assert read(api, public).status_code == 200
