"""Who may do what with sanctions, appeals, re-reviews, reported changes, evidence, imports and
exports: every new endpoint against every kind of caller. Refused writes change nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from catalog.pools.models import PoolRereviewReview
from core.database import utcnow
from tests.catalog.pools.test_application_lifecycle import HIGH, Flow, score_body
from tests.catalog.pools.test_evidence import (  # noqa: F401 (fixtures: uploads in tmp_path)
    PDF,
    settings,
    upload,
    upload_dir,
)
from tests.catalog.pools.test_pool_management import error
from tests.catalog.pools.test_sanctions_and_appeals import get, in_days, listed, ok, post
from tests.support import Actor, Api

NOBODY = "00000000-0000-4000-8000-000000000000"
SCORE = score_body(HIGH)

# (method, path, body); the {placeholders} are filled in from the scene.
CURATOR_ON_POOL: list[tuple[str, str, Any]] = [
    ("GET", "/pools/{pool}/sanctions", None),
    ("GET", "/pools/{pool}/appeals", None),
    ("GET", "/pools/{pool}/changes", None),
    ("POST", "/pools/{pool}/expire-due", None),
    ("GET", "/pools/{pool}/export", None),
    ("POST", "/pools/{pool}/import", "file"),
]
CURATOR_ON_APPLICATION: list[tuple[str, str, Any]] = [
    ("POST", "/applications/{app}/sanctions", {"kind": "warning", "reason": "x"}),
    ("POST", "/sanctions/{sanction}/review", {"outcome": "accept", "reason": "x"}),
    ("POST", "/sanctions/{sanction}/lift", {"reason": "x"}),
    ("POST", "/appeals/{appeal}/decision", {"outcome": "dismiss", "reason": "x"}),
    ("POST", "/applications/{app}/rereviews", {"reason": "x"}),
    ("POST", "/rereviews/{round}/reviewers", {"user_ids": [NOBODY]}),
    ("POST", "/rereviews/{round}/decision", {"decision": "pass"}),
    ("POST", "/applications/{app}/changes/{change}/review", {"outcome": "confirm", "reason": "x"}),
]
# Scoring is for reviewers, who today are curators of the agency (or admins).
REVIEWER_ACTIONS: list[tuple[str, str, Any]] = [("POST", "/rereviews/{round}/score", SCORE)]
PROVIDER_ACTIONS: list[tuple[str, str, Any]] = [
    ("POST", "/sanctions/{sanction}/report", {"report": "x"}),
    ("POST", "/applications/{app}/appeals", {"subject": "rating", "text": "x"}),
    ("POST", "/changes", {"kind": "certification", "new_value": "x"}),
    ("GET", "/changes/mine", None),
    ("POST", "/evidence", "evidence"),
    ("GET", "/evidence/mine", None),
    ("POST", "/applications/{app}/evidence", {"document_ids": ["{doc}"]}),
]
OBJECT_READS: list[tuple[str, str, Any]] = [
    ("GET", "/applications/{app}/sanctions", None),
    ("GET", "/applications/{app}/appeals", None),
    ("GET", "/applications/{app}/rereviews", None),
    ("GET", "/applications/{app}/evidence", None),
    ("GET", "/rereviews/{round}", None),
    ("GET", "/evidence/{doc}/download", None),
]
EVERY = [
    *CURATOR_ON_POOL,
    *CURATOR_ON_APPLICATION,
    *REVIEWER_ACTIONS,
    *PROVIDER_ACTIONS,
    *OBJECT_READS,
]


@dataclass
class Scene:
    """A listing with a rectification, an appeal against it, an open re-review round, a
    reported change and an evidence document put forward with the appeal."""

    flow: Flow
    ids: dict[str, str]

    @property
    def api(self) -> Api:
        return self.flow.api

    def call(self, actor: Actor | None, method: str, path: str, body: Any) -> httpx.Response:
        url = "/api/v1" + path.format(**self.ids)
        headers = actor.headers if actor else None
        if body == "file":
            files = {"file": ("a.csv", b"a,b\n", "text/csv")}
            return self.api.client.post(url, files=files, headers=headers)
        if body == "evidence":
            return upload(self.api, actor, PDF)
        if isinstance(body, dict):
            body = {k: self._filled(v) for k, v in body.items()}
        return self.api.client.request(method, url, json=body, headers=headers)

    def _filled(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._filled(v) for v in value]
        return value.format(**self.ids) if isinstance(value, str) else value

    def snapshot(self) -> tuple[Any, ...]:
        app = self.flow.read().json()
        sanctions = ok(
            get(self.api, self.flow.curator, f"/applications/{self.ids['app']}/sanctions")
        )
        appeals = ok(get(self.api, self.flow.curator, f"/applications/{self.ids['app']}/appeals"))
        round_ = ok(get(self.api, self.flow.curator, f"/rereviews/{self.ids['round']}"))
        return (
            app["version"],
            [(s["status"], s["version"]) for s in sanctions],
            [a["status"] for a in appeals],
            (round_["state"], round_["version"]),
        )


@pytest.fixture
def scene(api: Api) -> Scene:
    flow = listed(api)
    app_path = f"/applications/{flow.app['id']}"
    order = ok(
        post(
            api,
            flow.curator,
            f"{app_path}/sanctions",
            {"kind": "rectification", "reason": "整改", "deadline": in_days(9)},
        )
    )
    document = ok(upload(api, flow.provider, PDF))
    appeal = ok(
        post(
            api,
            flow.provider,
            f"{app_path}/appeals",
            {
                "subject": "sanction",
                "sanction_id": order["id"],
                "text": "申诉",
                "evidence_ids": [document["id"]],
            },
        )
    )
    round_ = ok(post(api, flow.curator, f"{app_path}/rereviews", {"reason": "复审"}))
    change = ok(
        post(api, flow.provider, "/changes", {"kind": "certification", "new_value": "证书到期"})
    )
    ids = {
        "pool": flow.pool["id"],
        "app": flow.app["id"],
        "sanction": order["id"],
        "appeal": appeal["id"],
        "round": round_["id"],
        "change": change["id"],
        "doc": document["id"],
    }
    return Scene(flow=flow, ids=ids)


def ids(cases: list[tuple[str, str, Any]]) -> list[str]:
    return [f"{method} {path}" for method, path, _ in cases]


def test_anonymous_callers_must_log_in(scene: Scene) -> None:
    before = scene.snapshot()

    for method, path, body in EVERY:
        response = scene.call(None, method, path, body)
        assert response.status_code == 401, (method, path, response.text)
        assert error(response)["code"] == "authentication_required"
    assert scene.snapshot() == before


@pytest.mark.parametrize("role", ["sme", "owner", "other_provider"])
def test_smes_and_providers_cannot_run_curator_actions(scene: Scene, role: str) -> None:
    api = scene.api
    actor = {"sme": api.sme, "owner": lambda: scene.flow.provider, "other_provider": api.provider}[
        role
    ]()
    before = scene.snapshot()

    for method, path, body in CURATOR_ON_POOL + CURATOR_ON_APPLICATION + REVIEWER_ACTIONS:
        response = scene.call(actor, method, path, body)
        assert response.status_code == 403, (method, path, response.text)
        assert error(response)["code"] == "role_required"
    assert scene.snapshot() == before


@pytest.mark.parametrize("role", ["sme", "curator", "admin"])
def test_only_provider_accounts_run_provider_actions(scene: Scene, role: str) -> None:
    api = scene.api
    actor = {
        "sme": api.sme,
        "curator": lambda: scene.flow.curator,
        "admin": lambda: scene.flow.team.admin,
    }[role]()
    before = scene.snapshot()

    for method, path, body in PROVIDER_ACTIONS:
        response = scene.call(actor, method, path, body)
        assert response.status_code == 403, (method, path, response.text)
        assert error(response)["code"] == "role_required"
    assert scene.snapshot() == before


def test_curators_of_another_agency_cannot_touch_this_pool(scene: Scene) -> None:
    outsider = scene.api.curator(jurisdiction="440000")
    before = scene.snapshot()

    for method, path, body in CURATOR_ON_POOL:
        response = scene.call(outsider, method, path, body)
        assert response.status_code == 403, (method, path, response.text)
        assert error(response)["code"] == "not_pool_curator"
    for method, path, body in CURATOR_ON_APPLICATION + REVIEWER_ACTIONS + OBJECT_READS:
        response = scene.call(outsider, method, path, body)
        # The pool's applications and everything hanging off them do not exist for outsiders.
        assert response.status_code == 404, (method, path, response.text)
        assert error(response)["code"].endswith("_not_found"), (method, path)
    assert scene.snapshot() == before


def test_a_provider_sees_and_touches_only_its_own(scene: Scene) -> None:
    rival = scene.api.provider()
    before = scene.snapshot()

    for method, path, body in OBJECT_READS + [
        ("POST", "/sanctions/{sanction}/report", {"report": "x"}),
        ("POST", "/applications/{app}/appeals", {"subject": "rating", "text": "x"}),
        ("POST", "/applications/{app}/evidence", {"document_ids": ["{doc}"]}),
    ]:
        response = scene.call(rival, method, path, body)
        assert response.status_code == 404, (method, path, response.text)
    assert ok(get(scene.api, rival, "/changes/mine")) == []
    assert ok(get(scene.api, rival, "/evidence/mine")) == []
    assert scene.snapshot() == before


def test_the_owner_reads_its_listing_but_cannot_run_the_pool(scene: Scene) -> None:
    owner = scene.flow.provider

    for method, path, body in OBJECT_READS:
        response = scene.call(owner, method, path, body)
        assert response.status_code == 200, (method, path, response.text)
    round_ = ok(get(scene.api, owner, f"/rereviews/{scene.ids['round']}"))
    assert round_["reviews"] is None


def test_reviewers_see_only_the_rounds_they_are_assigned(scene: Scene) -> None:
    api = scene.api
    # An outside expert assigned to this round only (today's reviewers are the agency's
    # curators; the rule is about the assignment).
    expert = api.curator(jurisdiction="440000")
    curator = scene.flow.curator
    with api.db.transaction() as session:
        session.add(
            PoolRereviewReview(
                rereview_id=uuid.UUID(scene.ids["round"]),
                reviewer_user_id=expert.user_id,
                assigned_by_user_id=curator.user_id,
                assigned_at=utcnow(),
                conflict_note="",
            )
        )
    colleague = scene.flow.team.colleague()
    ok(
        post(
            api,
            curator,
            f"/rereviews/{scene.ids['round']}/reviewers",
            {"user_ids": [str(colleague.user_id)]},
        )
    )
    ok(post(api, colleague, f"/rereviews/{scene.ids['round']}/score", SCORE))

    mine = ok(get(api, expert, f"/rereviews/{scene.ids['round']}"))
    scored = post(api, expert, f"/rereviews/{scene.ids['round']}/score", SCORE)
    decide = post(api, expert, f"/rereviews/{scene.ids['round']}/decision", {"decision": "pass"})
    listing = get(api, expert, f"/applications/{scene.ids['app']}/rereviews")
    document = get(api, expert, f"/evidence/{scene.ids['doc']}/download")

    assert [r["reviewer_user_id"] for r in mine["reviews"]] == [str(expert.user_id)]
    assert mine["total_score"] is None
    assert scored.status_code == 200, scored.text
    assert decide.status_code == 403
    assert error(decide)["code"] == "not_pool_curator"
    assert listing.status_code == 404
    assert document.status_code == 200  # put forward with this listing's appeal


def test_admins_run_every_pool(scene: Scene) -> None:
    admin = scene.api.admin()

    for method, path, body in CURATOR_ON_POOL[:3]:
        response = scene.call(admin, method, path, body)
        assert response.status_code == 200, (method, path, response.text)
    warning = scene.call(
        admin, "POST", "/applications/{app}/sanctions", {"kind": "warning", "reason": "x"}
    )
    assert warning.status_code == 201
