"""Solutions (listings) over HTTP: drafts, validation, publishing, visibility, filters, edits."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import Actor, Api, complete_solution

SOLUTIONS = "/api/v1/solutions"


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def error_fields(response: httpx.Response) -> list[str]:
    return [detail["field"] for detail in error(response)["details"]]


def url(solution: dict[str, Any]) -> str:
    return f"{SOLUTIONS}/{solution['id']}"


def create(api: Api, owner: Actor, **overrides: Any) -> dict[str, Any]:
    response = api.client.post(
        SOLUTIONS, json=complete_solution(**overrides), headers=owner.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def act(api: Api, actor: Actor, solution: dict[str, Any], action: str) -> httpx.Response:
    return api.client.post(f"{url(solution)}/{action}", headers=actor.headers)


def published(api: Api, owner: Actor, **overrides: Any) -> dict[str, Any]:
    solution = create(api, owner, **overrides)
    response = act(api, owner, solution, "publish")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def read(api: Api, solution: dict[str, Any], actor: Actor | None = None) -> httpx.Response:
    return api.client.get(url(solution), headers=actor.headers if actor else None)


def patch(
    api: Api, owner: Actor, solution: dict[str, Any], body: dict[str, Any], etag: str | None = None
) -> httpx.Response:
    etag = etag or read(api, solution, owner).headers["ETag"]
    return api.client.patch(url(solution), json=body, headers={**owner.headers, "If-Match": etag})


def listed(api: Api, actor: Actor | None = None, **params: Any) -> list[str]:
    response = api.client.get(SOLUTIONS, params=params, headers=actor.headers if actor else None)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def viewer(api: Api, role: str, owner: Actor | None = None) -> Actor | None:
    """A caller of the given kind; only "owner" is the provider that owns the solution."""
    makers = {
        "anonymous": lambda: None,
        "owner": lambda: owner,
        "sme": api.sme,
        "other_provider": api.provider,
        "curator": api.curator,
        "admin": api.admin,
    }
    return makers[role]()


# --- creating drafts --------------------------------------------------------------------------


def test_provider_creates_a_draft_with_location_and_etag(api: Api) -> None:
    owner = api.provider()

    response = api.client.post(SOLUTIONS, json=complete_solution(), headers=owner.headers)

    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == f"{SOLUTIONS}/{body['id']}"
    assert response.headers["ETag"] == 'W/"1"'
    assert body["status"] == "draft"
    assert body["provider_id"] == str(owner.provider_id)
    assert body["published_at"] is None
    for key, value in complete_solution().items():
        assert body[key] == value, key


def test_created_solution_reads_back_exactly_as_the_create_response(api: Api) -> None:
    owner = api.provider()
    scenes = [{"scene": "scene.quality", "level": 2}, {"scene": "scene.equipment", "level": 3}]
    created = create(api, owner, scenes=scenes, industries=["C3411", "c 29"])

    assert read(api, created, owner).json() == created
    assert created["industries"] == ["3411", "29"]  # stored without the section letter
    assert {s["scene"] for s in created["scenes"]} == {"scene.quality", "scene.equipment"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"capabilities": ["cap.telepathy"]}, "body.capabilities.0"),
        ({"capabilities": ["cap.mes", "cap.telepathy"]}, "body.capabilities.1"),
        ({"protocols": ["proto.carrier_pigeon"]}, "body.protocols.0"),
        ({"industries": ["A34"]}, "body.industries.0"),
        ({"industries": ["99"]}, "body.industries.0"),
        ({"industries": ["29", "65"]}, "body.industries.1"),
        ({"target_sizes": ["huge"]}, "body.target_sizes.0"),
        ({"deployments": ["mainframe"]}, "body.deployments.0"),
        ({"scenes": [{"scene": "scene.moon", "level": 2}]}, "body.scenes.0.scene"),
        ({"scenes": [{"scene": "scene.quality", "level": 5}]}, "body.scenes.0.level"),
        ({"scenes": [{"scene": "scene.quality", "level": 0}]}, "body.scenes.0.level"),
        (
            {"pricing": [{"model": "barter", "min_fen": 1, "unit": "元"}]},
            "body.pricing.0.model",
        ),
        (
            {"pricing": [{"model": "one_off", "min_fen": 500, "max_fen": 100, "unit": "元"}]},
            "body.pricing.0",
        ),
        (
            {"pricing": [{"model": "one_off", "min_fen": -1, "unit": "元"}]},
            "body.pricing.0.min_fen",
        ),
        ({"typical_delivery_days": 0}, "body.typical_delivery_days"),
        ({"title": ""}, "body.title"),
    ],
)
def test_create_refuses_invalid_values_naming_the_exact_field(
    api: Api, overrides: dict[str, Any], field: str
) -> None:
    owner = api.provider()

    response = api.client.post(
        SOLUTIONS, json=complete_solution(**overrides), headers=owner.headers
    )

    assert response.status_code == 422
    assert error(response)["code"] == "validation_error"
    assert error_fields(response) == [field]
    assert listed(api, owner, mine="true") == []


def test_unknown_code_message_points_at_the_taxonomy(api: Api) -> None:
    owner = api.provider()

    response = api.client.post(
        SOLUTIONS, json=complete_solution(capabilities=["cap.telepathy"]), headers=owner.headers
    )

    assert "/api/v1/taxonomy/capabilities" in error(response)["details"][0]["message"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"capabilities": ["cap.mes", "cap.erp", "cap.mes"]}, "body.capabilities"),
        ({"industries": ["34", "C34"]}, "body.industries"),
        ({"protocols": ["proto.opcua", "proto.opcua"]}, "body.protocols"),
        ({"target_sizes": ["small", "small"]}, "body.target_sizes"),
        ({"deployments": ["saas", "saas"]}, "body.deployments"),
        (
            {
                "scenes": [
                    {"scene": "scene.quality", "level": 2},
                    {"scene": "scene.quality", "level": 3},
                ]
            },
            "body.scenes",
        ),
    ],
)
def test_create_refuses_codes_listed_twice(api: Api, overrides: dict[str, Any], field: str) -> None:
    owner = api.provider()

    response = api.client.post(
        SOLUTIONS, json=complete_solution(**overrides), headers=owner.headers
    )

    assert response.status_code == 422
    assert error_fields(response) == [field]
    assert "listed twice" in error(response)["details"][0]["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "published"),
        ("provider_id", "00000000-0000-4000-8000-000000000000"),
        ("version", 7),
    ],
)
def test_create_refuses_fields_the_provider_does_not_set(api: Api, field: str, value: Any) -> None:
    owner = api.provider()

    response = api.client.post(
        SOLUTIONS, json=complete_solution(**{field: value}), headers=owner.headers
    )

    assert response.status_code == 422
    assert error(response)["details"] == [
        {
            "field": f"body.{field}",
            "message": "Extra inputs are not permitted",
            "type": "extra_forbidden",
        }
    ]


# --- publishing -------------------------------------------------------------------------------


def test_publishing_an_incomplete_draft_lists_the_missing_fields(api: Api) -> None:
    owner = api.provider()
    draft = create(api, owner, summary="  ", capabilities=[], pricing=[])

    response = act(api, owner, draft, "publish")

    assert response.status_code == 422
    assert error(response)["code"] == "incomplete"
    assert error_fields(response) == ["body.summary", "body.capabilities", "body.pricing"]
    assert read(api, draft, owner).json()["status"] == "draft"


def test_a_bare_draft_needs_every_publication_field(api: Api) -> None:
    owner = api.provider()
    response = api.client.post(SOLUTIONS, json={"title": "仅有标题"}, headers=owner.headers)
    assert response.status_code == 201, response.text

    refused = act(api, owner, response.json(), "publish")

    assert refused.status_code == 422
    assert error_fields(refused) == [
        "body.summary",
        "body.description",
        "body.capabilities",
        "body.target_sizes",
        "body.deployments",
        "body.pricing",
    ]


def test_publish_archive_and_republish(api: Api) -> None:
    owner = api.provider(listed=True)
    draft = create(api, owner)

    first = act(api, owner, draft, "publish")
    archived = act(api, owner, draft, "archive")
    again = act(api, owner, draft, "publish")

    assert (first.status_code, archived.status_code, again.status_code) == (200, 200, 200)
    assert first.json()["status"] == "published"
    assert first.json()["published_at"] is not None
    assert first.headers["ETag"] == 'W/"2"'
    assert archived.json()["status"] == "archived"
    assert archived.headers["ETag"] == 'W/"3"'
    assert again.json()["status"] == "published"
    assert read(api, draft).json()["status"] == "published"


def test_a_draft_can_be_archived_without_being_published(api: Api) -> None:
    owner = api.provider()
    draft = create(api, owner, pricing=[])

    response = act(api, owner, draft, "archive")

    assert response.status_code == 200
    assert response.json()["status"] == "archived"


@pytest.mark.parametrize(
    ("steps", "refused", "status"),
    [
        (["publish", "archive"], "archive", "archived"),
        (["publish"], "publish", "published"),
    ],
)
def test_repeating_a_transition_is_refused_as_invalid(
    api: Api, steps: list[str], refused: str, status: str
) -> None:
    owner = api.provider()
    solution = create(api, owner)
    for step in steps:
        assert act(api, owner, solution, step).status_code == 200

    response = act(api, owner, solution, refused)

    assert response.status_code == 409
    assert error(response)["code"] == "invalid_transition"
    assert error(response)["details"]["status"] == status
    assert read(api, solution, owner).json()["status"] == status


def test_publish_with_a_stale_if_match_is_refused(api: Api) -> None:
    owner = api.provider()
    draft = create(api, owner)
    assert patch(api, owner, draft, {"title": "新标题"}).status_code == 200

    response = api.client.post(
        f"{url(draft)}/publish", headers={**owner.headers, "If-Match": 'W/"1"'}
    )

    assert response.status_code == 412
    assert read(api, draft, owner).json()["status"] == "draft"


# --- visibility -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", "sme", "other_provider"])
def test_drafts_are_invisible_to_everyone_but_owner_and_vetters(api: Api, role: str) -> None:
    draft = create(api, api.provider())

    response = read(api, draft, viewer(api, role))

    assert response.status_code == 404
    assert error(response)["code"] == "solution_not_found"


@pytest.mark.parametrize("role", ["owner", "curator", "admin"])
def test_drafts_are_visible_to_owner_curators_and_admins(api: Api, role: str) -> None:
    owner = api.provider()
    draft = create(api, owner)

    response = read(api, draft, viewer(api, role, owner))

    assert response.status_code == 200
    assert response.json()["status"] == "draft"
    assert response.headers["ETag"] == 'W/"1"'


@pytest.mark.parametrize("role", ["anonymous", "sme", "other_provider", "curator", "admin"])
def test_published_solutions_are_visible_to_everyone(api: Api, role: str) -> None:
    solution = published(api, api.provider(listed=True))

    response = read(api, solution, viewer(api, role))

    assert response.status_code == 200
    assert response.json()["status"] == "published"


def test_archived_solutions_are_hidden_from_the_public(api: Api) -> None:
    owner = api.provider()
    solution = published(api, owner)
    assert act(api, owner, solution, "archive").status_code == 200

    assert read(api, solution).status_code == 404
    assert read(api, solution, owner).status_code == 200


def test_public_list_shows_only_published_solutions(api: Api) -> None:
    owner = api.provider(listed=True)
    public = published(api, owner)
    create(api, owner)
    withdrawn = published(api, owner)
    assert act(api, owner, withdrawn, "archive").status_code == 200

    for actor in (None, api.sme(), owner):
        assert listed(api, actor) == [public["id"]]


def test_published_solution_of_an_unvetted_provider_is_not_public(api: Api) -> None:
    unvetted = api.provider()
    solution = published(api, unvetted)

    assert listed(api, None) == []
    # Its owner still sees it among its own while the pool vetting is pending.
    assert listed(api, unvetted, mine="true") == [solution["id"]]


def test_mine_lists_own_solutions_in_every_status_but_not_others(api: Api) -> None:
    owner = api.provider()
    draft = create(api, owner, title="Alpha draft")
    public = published(api, owner, title="Bravo public")
    published(api, api.provider(), title="Charlie competitor")

    assert listed(api, owner, mine="true", sort="title") == [draft["id"], public["id"]]
    assert listed(api, owner, mine="true", status="draft") == [draft["id"]]


@pytest.mark.parametrize("role", ["anonymous", "sme"])
def test_mine_is_refused_for_callers_without_solutions(api: Api, role: str) -> None:
    actor = viewer(api, role)

    response = api.client.get(
        SOLUTIONS, params={"mine": "true"}, headers=actor.headers if actor else None
    )

    assert response.status_code == 422
    assert error_fields(response) == ["query.mine"]


def test_listing_drafts_without_mine_is_refused(api: Api) -> None:
    response = api.client.get(SOLUTIONS, params={"status": "draft"})

    assert response.status_code == 422
    assert error_fields(response) == ["query.status"]


# --- filters and sorting ----------------------------------------------------------------------


def priced(model: str) -> list[dict[str, Any]]:
    return [{"model": model, "min_fen": 100000, "max_fen": None, "unit": "元/月"}]


def scened(scene: str) -> list[dict[str, Any]]:
    return [{"scene": scene, "level": 2}]


@pytest.mark.parametrize(
    ("field", "match", "miss", "param", "value"),
    [
        ("capabilities", ["cap.mes"], ["cap.erp"], "capability", "cap.mes"),
        ("industries", ["34"], ["29"], "industry", "3411"),
        ("industries", ["3411"], ["35"], "industry", "34"),
        ("industries", ["3411"], ["3421"], "industry", "C3411"),
        ("industries", ["341"], ["342"], "industry", "3411"),
        ("protocols", ["proto.s7"], ["proto.modbus_tcp"], "protocol", "proto.s7.isotcp"),
        ("protocols", ["proto.s7.isotcp"], ["proto.opcua"], "protocol", "proto.s7"),
        ("protocols", ["proto.s7.isotcp"], ["proto.s7.mpi"], "protocol", "proto.s7.isotcp"),
        ("target_sizes", ["micro"], ["medium"], "target_size", "micro"),
        ("deployments", ["on_premises"], ["saas"], "deployment", "on_premises"),
        ("pricing", priced("lease"), priced("subscription"), "pricing_model", "lease"),
        ("scenes", scened("scene.quality"), scened("scene.energy"), "scene", "scene.quality"),
    ],
)
def test_filters_find_matching_solutions_only(
    api: Api, field: str, match: list[Any], miss: list[Any], param: str, value: str
) -> None:
    owner = api.provider(listed=True)
    wanted = published(api, owner, **{field: match})
    published(api, owner, **{field: miss})

    assert listed(api, **{param: value}) == [wanted["id"]]


def test_filters_combine_with_paging(api: Api) -> None:
    owner = api.provider(listed=True)
    ids = {published(api, owner, target_sizes=["small"])["id"] for _ in range(3)}
    published(api, owner, target_sizes=["large"])

    page = api.client.get(SOLUTIONS, params={"target_size": "small", "size": 2}).json()

    assert page["total"] == 3
    assert len(page["items"]) == 2
    assert {item["id"] for item in page["items"]} <= ids


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("capability", "cap.telepathy"),
        ("industry", "A34"),
        ("protocol", "proto.nope"),
        ("target_size", "huge"),
        ("scene", "scene.moon"),
        ("sort", "provider_id"),
    ],
)
def test_list_refuses_unknown_filter_values(api: Api, param: str, value: str) -> None:
    response = api.client.get(SOLUTIONS, params={param: value})

    assert response.status_code == 422
    assert error_fields(response) == [f"query.{param}"]


def test_list_sorts_by_title(api: Api) -> None:
    owner = api.provider(listed=True)
    bravo = published(api, owner, title="Bravo MES")
    alpha = published(api, owner, title="Alpha SCADA")
    charlie = published(api, owner, title="Charlie WMS")
    ordered = [alpha["id"], bravo["id"], charlie["id"]]

    assert listed(api, sort="title") == ordered
    assert listed(api, sort="-title") == ordered[::-1]


# --- editing ----------------------------------------------------------------------------------


def test_patch_replaces_whole_lists_and_leaves_other_fields(api: Api) -> None:
    owner = api.provider()
    draft = create(api, owner)

    response = patch(
        api,
        owner,
        draft,
        {
            "capabilities": ["cap.edge_gateway", "cap.mes", "cap.data_acquisition"],
            "scenes": [{"scene": "scene.equipment", "level": 4}],
            "pricing": [{"model": "one_off", "min_fen": 990000, "unit": "元/项目"}],
        },
    )

    assert response.status_code == 200, response.text
    saved = read(api, draft, owner).json()
    assert saved == response.json()
    assert saved["capabilities"] == ["cap.edge_gateway", "cap.mes", "cap.data_acquisition"]
    assert saved["scenes"] == [{"scene": "scene.equipment", "level": 4}]
    assert saved["pricing"] == [
        {"model": "one_off", "min_fen": 990000, "max_fen": None, "unit": "元/项目"}
    ]
    assert saved["protocols"] == draft["protocols"]
    assert saved["title"] == draft["title"]


def test_patch_of_only_a_list_bumps_the_version(api: Api) -> None:
    owner = api.provider()
    draft = create(api, owner)

    response = patch(api, owner, draft, {"protocols": ["proto.mqtt"]}, etag='W/"1"')

    assert response.status_code == 200
    assert response.headers["ETag"] == 'W/"2"'
    assert response.json()["version"] == 2
    assert read(api, draft, owner).headers["ETag"] == 'W/"2"'
    assert response.json()["updated_at"] > draft["updated_at"]


def test_patch_with_a_stale_or_missing_if_match_is_refused_and_saves_nothing(api: Api) -> None:
    owner = api.provider()
    draft = create(api, owner)
    assert patch(api, owner, draft, {"title": "第二版"}, etag='W/"1"').status_code == 200

    stale = patch(api, owner, draft, {"title": "基于旧版的修改"}, etag='W/"1"')
    missing = api.client.patch(url(draft), json={"title": "无版本"}, headers=owner.headers)

    assert (stale.status_code, error(stale)["code"]) == (412, "version_conflict")
    assert error(stale)["details"]["current_etag"] == 'W/"2"'
    assert (missing.status_code, error(missing)["code"]) == (428, "precondition_required")
    assert read(api, draft, owner).json()["title"] == "第二版"


def test_patch_refuses_null_for_a_list(api: Api) -> None:
    owner = api.provider()
    draft = create(api, owner)

    response = patch(api, owner, draft, {"capabilities": None})

    assert response.status_code == 422
    assert read(api, draft, owner).json()["capabilities"] == draft["capabilities"]


def test_patch_validates_codes_like_create(api: Api) -> None:
    owner = api.provider()
    draft = create(api, owner)

    response = patch(api, owner, draft, {"protocols": ["proto.opcua", "proto.nope"]})

    assert response.status_code == 422
    assert error_fields(response) == ["body.protocols.1"]


def test_editing_a_published_solution_into_an_incomplete_state_saves_nothing(api: Api) -> None:
    owner = api.provider(listed=True)
    solution = published(api, owner)

    response = patch(api, owner, solution, {"title": "改名", "pricing": [], "deployments": []})

    assert response.status_code == 422
    assert error(response)["code"] == "incomplete"
    assert error_fields(response) == ["body.deployments", "body.pricing"]
    after = read(api, solution).json()
    assert after["title"] == solution["title"]
    assert after["pricing"] == solution["pricing"]
    assert after["deployments"] == solution["deployments"]
    assert after["version"] == solution["version"]


def test_editing_a_published_solution_that_stays_complete_keeps_it_public(api: Api) -> None:
    owner = api.provider(listed=True)
    solution = published(api, owner)

    response = patch(api, owner, solution, {"summary": "更新后的简介"})

    assert response.status_code == 200
    assert read(api, solution).json()["summary"] == "更新后的简介"
    assert read(api, solution).json()["status"] == "published"


# --- deleting ---------------------------------------------------------------------------------


def test_owner_deletes_a_draft(api: Api) -> None:
    owner = api.provider()
    draft = create(api, owner)

    response = api.client.delete(url(draft), headers=owner.headers)

    assert response.status_code == 204
    assert read(api, draft, owner).status_code == 404


@pytest.mark.parametrize("steps", [["publish"], ["publish", "archive"]])
def test_solutions_that_were_public_cannot_be_deleted(api: Api, steps: list[str]) -> None:
    owner = api.provider()
    solution = create(api, owner)
    for step in steps:
        assert act(api, owner, solution, step).status_code == 200

    response = api.client.delete(url(solution), headers=owner.headers)

    assert response.status_code == 409
    assert error(response)["code"] == "solution_not_draft"
    assert read(api, solution, owner).status_code == 200
