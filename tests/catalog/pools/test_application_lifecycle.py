"""An application's life in a pool: 申报, return and resubmission, expert review, decision,
公示 with objections, and listing (入库); every refused move and its error code."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from catalog.pools import lifecycle
from catalog.pools.models import PoolApplication, add_months, star_rating_for
from core.database import Database, utcnow
from core.outbox import OutboxEvent
from core.settings import Settings
from market.app import create_app
from migrations import runner
from tests.catalog.pools.test_pool_management import (
    APPLICATIONS,
    POOLS,
    Agency,
    agency,
    error,
    error_fields,
    open_pool,
)
from tests.support import Actor, Api, complete_solution, scratch_database_url

# Points per criterion of SCORECARD (40 / 35 / 25).
HIGH = {"capability": 36, "cases": 30, "service": 20}  # 86
GOOD = {"capability": 34, "cases": 28, "service": 18}  # 80
LOW = {"capability": 20, "cases": 15, "service": 10}  # 45


def score_body(points: dict[str, float], **extra: Any) -> dict[str, Any]:
    scores = [{"criterion_id": cid, "points": p, "comment": "评语"} for cid, p in points.items()]
    return {"no_conflict": True, "scores": scores, **extra}


@dataclass
class Flow:
    """A pool with a curator, two reviewers of the same agency, and a provider applying."""

    api: Api
    team: Agency
    reviewers: list[Actor]
    provider: Actor
    pool: dict[str, Any]
    solution_id: str
    app: dict[str, Any] = field(default_factory=dict)

    @property
    def curator(self) -> Actor:
        return self.team.curator

    @property
    def url(self) -> str:
        return f"{APPLICATIONS}/{self.app['id']}"

    def post(self, actor: Actor | None, path: str, body: Any = None) -> httpx.Response:
        headers = actor.headers if actor else None
        return self.api.client.post(f"{self.url}/{path}", json=body, headers=headers)

    def ok(self, actor: Actor, path: str, body: Any = None) -> dict[str, Any]:
        response = self.post(actor, path, body)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        if "state" in result:
            self.app = result
        return result

    def read(self, actor: Actor | None = None) -> httpx.Response:
        return self.api.client.get(self.url, headers=(actor or self.curator).headers)

    def apply(self, actor: Actor | None = None, **overrides: Any) -> httpx.Response:
        body = {
            "category_id": "injection",
            "solution_ids": [self.solution_id],
            "declaration": True,
            "note": "申报材料齐全",
            **overrides,
        }
        headers = (actor or self.provider).headers
        return self.api.client.post(
            f"{POOLS}/{self.pool['id']}/applications", json=body, headers=headers
        )

    def submitted(self, **overrides: Any) -> Flow:
        response = self.apply(**overrides)
        assert response.status_code == 201, response.text
        self.app = response.json()
        return self

    def under_review(self) -> Flow:
        self.submitted().ok(self.curator, "accept")
        user_ids = [str(r.user_id) for r in self.reviewers]
        self.ok(self.curator, "reviewers", {"user_ids": user_ids})
        return self

    def scored(self, *points: dict[str, float]) -> Flow:
        self.under_review()
        for reviewer, given in zip(self.reviewers, points or (HIGH, GOOD), strict=False):
            self.ok(reviewer, "score", score_body(given))
        return self

    def in_notice(self, **decision: Any) -> Flow:
        self.scored().ok(self.curator, "decision", {"decision": "approve", **decision})
        return self

    def end_notice(self) -> None:
        """Move the notice's end into the past, as if the days had run."""
        with self.api.db.transaction() as session:
            session.execute(
                update(PoolApplication)
                .where(PoolApplication.id == uuid.UUID(self.app["id"]))
                .values(notice_ends_at=utcnow() - timedelta(minutes=1))
            )

    def close_due(self) -> list[dict[str, Any]]:
        response = self.api.client.post(
            f"{POOLS}/{self.pool['id']}/notices/close-due", headers=self.curator.headers
        )
        assert response.status_code == 200, response.text
        listed: list[dict[str, Any]] = response.json()
        return listed

    def listed(self) -> Flow:
        self.in_notice().end_notice()
        self.close_due()
        self.app = self.read().json()
        return self


def new_flow(api: Api, *, provider_type: str = "product", **pool_overrides: Any) -> Flow:
    team = agency(api)
    provider = api.provider(provider_type=provider_type, name=f"常州示例精工{uuid.uuid4().hex[:4]}")
    solution = api.client.post(
        "/api/v1/solutions", json=complete_solution(), headers=provider.headers
    )
    assert solution.status_code == 201, solution.text
    return Flow(
        api=api,
        team=team,
        reviewers=[team.colleague(), team.colleague()],
        provider=provider,
        pool=open_pool(api, team.curator, **pool_overrides),
        solution_id=solution.json()["id"],
    )


@pytest.fixture
def flow(api: Api) -> Flow:
    return new_flow(api)


def membership_events(api: Api, application_id: str) -> list[str]:
    with api.db.transaction() as session:
        events = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.topic == "pool.membership.changed")
            .order_by(OutboxEvent.id)
        ).all()
        return [e.payload["state"] for e in events if e.payload["application_id"] == application_id]


# --- the whole way ------------------------------------------------------------------------------


def test_application_goes_from_submission_to_listing_with_every_step_audited(flow: Flow) -> None:
    api, curator, provider = flow.api, flow.curator, flow.provider
    first, second = flow.reviewers

    flow.submitted()
    assert flow.app["state"] == "submitted"
    assert flow.app["next_actions"] == ["accept", "return", "withdraw"]

    reasons = ["营业执照扫描件不清晰", "缺少近三年服务案例"]
    flow.ok(curator, "return", {"reasons": reasons})
    mine = api.client.get(f"{APPLICATIONS}/mine", headers=provider.headers).json()["items"]
    assert [(a["id"], a["state"], a["reasons"]) for a in mine] == [
        (flow.app["id"], "returned", reasons)
    ]

    flow.ok(provider, "resubmit", {"note": "已补充营业执照与案例"})
    assert (flow.app["state"], flow.app["reasons"], flow.app["note"]) == (
        "submitted",
        [],
        "已补充营业执照与案例",
    )

    flow.ok(curator, "accept")
    flow.ok(curator, "reviewers", {"user_ids": [str(first.user_id), str(second.user_id)]})
    assert flow.app["state"] == "under_review"
    assert [r["reviewer_user_id"] for r in flow.app["reviews"]] == [
        str(first.user_id),
        str(second.user_id),
    ]

    flow.ok(first, "score", score_body(HIGH))
    flow.ok(second, "score", score_body(GOOD))
    as_curator = flow.read().json()
    assert [r["total"] for r in as_curator["reviews"]] == [86, 80]
    assert as_curator["total_score"] == 83

    decided = flow.ok(curator, "decision", {"decision": "approve", "reasons": ["综合评分合格"]})
    assert decided["state"] == "in_notice"
    ends = datetime.fromisoformat(decided["notice_ends_at"])
    assert abs(ends - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)

    notices = api.client.get(f"{POOLS}/{flow.pool['id']}/notices")
    assert notices.status_code == 200
    assert [(n["application_id"], n["category_name"]) for n in notices.json()] == [
        (flow.app["id"], "注塑行业")
    ]
    assert notices.json()[0]["provider_name"].startswith("常州示例精工")

    assert flow.close_due() == []  # the notice is still running
    flow.end_notice()
    listed = flow.close_due()
    assert [a["id"] for a in listed] == [flow.app["id"]]
    app = flow.read(provider).json()
    assert app["state"] == "listed"
    assert app["star_rating"] == 4
    listed_since = datetime.fromisoformat(app["listed_since"])
    assert datetime.fromisoformat(app["valid_until"]) == add_months(listed_since, 24)
    assert api.client.get(f"{POOLS}/{flow.pool['id']}/notices").json() == []

    members = api.client.get(f"{POOLS}/{flow.pool['id']}/members").json()
    injection = members["categories"][0]
    assert injection["id"] == "injection"
    assert [(m["provider_id"], m["star_rating"]) for m in injection["members"]] == [
        (str(provider.provider_id), 4)
    ]
    badges = api.client.get(f"/api/v1/providers/{provider.provider_id}/badges").json()
    assert [(b["pool_id"], b["category_id"], b["valid_until"]) for b in badges] == [
        (flow.pool["id"], "injection", app["valid_until"])
    ]
    summary = api.client.get(POOLS, params={"size": 100}).json()["items"]
    counts = next(p for p in summary if p["id"] == flow.pool["id"])
    assert (counts["listed_count"], counts["categories"][0]["listed_count"]) == (1, 1)

    log = api.client.get(
        f"{POOLS}/{flow.pool['id']}/audit",
        params={"action": "pool.application"},
        headers=curator.headers,
    ).json()["items"]
    steps = [(r["action"].removeprefix("pool.application."), r["actor_user_id"]) for r in log]
    assert steps[::-1] == [
        ("submitted", str(provider.user_id)),
        ("returned", str(curator.user_id)),
        ("resubmitted", str(provider.user_id)),
        ("accepted", str(curator.user_id)),
        ("reviewers_assigned", str(curator.user_id)),
        ("scored", str(first.user_id)),
        ("scored", str(second.user_id)),
        ("approved", str(curator.user_id)),
        ("listed", None),
    ]
    returned = next(r for r in log if r["action"] == "pool.application.returned")
    assert returned["reason"] == "\n".join(reasons)
    assert (returned["before"], returned["after"]["state"]) == ({"state": "submitted"}, "returned")
    assert log[0]["actor_role"] == "system"
    assert all(r["target_type"] == "pool_application" for r in log)

    history = api.client.get(f"{flow.url}/decisions", headers=provider.headers).json()
    assert [(d["action"], d["from_state"], d["to_state"]) for d in history] == [
        ("submitted", None, "submitted"),
        ("returned", "submitted", "returned"),
        ("resubmitted", "returned", "submitted"),
        ("accepted", "submitted", "under_review"),
        ("approved", "under_review", "in_notice"),
        ("listed", "in_notice", "listed"),
    ]
    assert history[1]["reasons"] == reasons
    assert "评语" not in str(history)
    assert membership_events(api, flow.app["id"]) == ["listed"]


def test_close_notices_runs_for_every_pool_with_a_given_clock(api: Api) -> None:
    one, two = new_flow(api).in_notice(), new_flow(api).in_notice()
    later = utcnow() + timedelta(days=8)

    with api.db.transaction() as session:
        too_early = lifecycle.close_notices(session, now=utcnow())
        listed = lifecycle.close_notices(session, now=later)
        listed_ids = {str(loaded.app.id) for loaded in listed}

    assert not {one.app["id"], two.app["id"]} & {str(x.app.id) for x in too_early}
    assert {one.app["id"], two.app["id"]} <= listed_ids
    app = one.read().json()
    assert datetime.fromisoformat(app["listed_since"]) == later
    log = api.client.get(
        f"{POOLS}/{one.pool['id']}/audit",
        params={"action": "pool.application.listed"},
        headers=one.curator.headers,
    ).json()["items"]
    assert [(r["actor_user_id"], r["actor_role"]) for r in log] == [(None, "system")]


def test_provider_is_listed_in_several_pools_separately(api: Api) -> None:
    flow = new_flow(api).listed()
    other = open_pool(api, flow.curator, name="江苏省智改数转服务商库")
    second = Flow(
        api=api,
        team=flow.team,
        reviewers=flow.reviewers,
        provider=flow.provider,
        pool=other,
        solution_id=flow.solution_id,
    ).submitted()

    badges = api.client.get(f"/api/v1/providers/{flow.provider.provider_id}/badges").json()
    mine = api.client.get(f"{APPLICATIONS}/mine", headers=flow.provider.headers).json()

    assert [b["pool_id"] for b in badges] == [flow.pool["id"]]
    states = {a["pool_id"]: a["state"] for a in mine["items"]}
    assert states == {flow.pool["id"]: "listed", other["id"]: "submitted"}
    assert second.app["state"] == "submitted"


# --- submitting --------------------------------------------------------------------------------


def test_closed_pool_refuses_applications(flow: Flow) -> None:
    flow.api.client.post(f"{POOLS}/{flow.pool['id']}/close", headers=flow.curator.headers)

    response = flow.apply()

    assert response.status_code == 409
    assert error(response)["code"] == "applications_closed"


def test_second_application_while_one_is_active_conflicts(flow: Flow) -> None:
    flow.submitted()

    again = flow.apply(category_id="injection")

    assert again.status_code == 409
    assert error(again)["code"] == "application_exists"
    assert error(again)["details"]["application_id"] == flow.app["id"]


def test_provider_may_apply_again_after_rejection_or_withdrawal(flow: Flow) -> None:
    flow.scored(LOW)
    flow.ok(flow.curator, "decision", {"decision": "reject", "reasons": ["案例不足"]})
    assert flow.app["state"] == "rejected"

    again = flow.apply()
    assert again.status_code == 201, again.text
    flow.app = again.json()
    flow.ok(flow.provider, "withdraw", {"reason": "材料需重新准备"})
    third = flow.apply()

    assert flow.app["state"] == "withdrawn"
    assert third.status_code == 201
    assert membership_events(flow.api, flow.app["id"]) == ["withdrawn"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"declaration": False}, "body.declaration"),
        ({"category_id": "nonexistent"}, "body.category_id"),
        ({"category_id": "integrators"}, "body.category_id"),  # admits integrators only
        ({"solution_ids": []}, "body.solution_ids"),
        ({"solution_ids": [str(uuid.uuid4())]}, "body.solution_ids.0"),
    ],
)
def test_invalid_application_names_the_field(
    flow: Flow, overrides: dict[str, Any], field: str
) -> None:
    response = flow.apply(**overrides)

    assert response.status_code == 422, response.text
    assert error_fields(response) == [field]


def test_solutions_must_be_the_providers_own_and_not_archived(flow: Flow) -> None:
    stranger = flow.api.provider()
    theirs = flow.api.client.post(
        "/api/v1/solutions", json=complete_solution(), headers=stranger.headers
    ).json()
    archived = flow.api.client.post(
        "/api/v1/solutions", json=complete_solution(), headers=flow.provider.headers
    ).json()
    flow.api.client.post(
        f"/api/v1/solutions/{archived['id']}/archive", headers=flow.provider.headers
    )

    for solution in (theirs, archived):
        response = flow.apply(solution_ids=[flow.solution_id, solution["id"]])
        assert response.status_code == 422
        assert error_fields(response) == ["body.solution_ids.1"]


def test_category_that_lists_provider_types_admits_them(api: Api) -> None:
    flow = new_flow(api, provider_type="integrator")

    response = flow.apply(category_id="integrators")

    assert response.status_code == 201, response.text


# --- refused moves -----------------------------------------------------------------------------


def test_moves_not_allowed_from_the_current_state_are_invalid_transitions(flow: Flow) -> None:
    flow.submitted()
    reviewer = flow.reviewers[0]

    score = flow.post(reviewer, "score", score_body(HIGH))
    resubmit = flow.post(flow.provider, "resubmit", {"note": "x"})
    reviewers = flow.post(flow.curator, "reviewers", {"user_ids": [str(reviewer.user_id)]})
    decide = flow.post(flow.curator, "decision", {"decision": "approve"})

    for response, action in (
        (score, "score"),
        (resubmit, "resubmit"),
        (reviewers, "assign_reviewers"),
        (decide, "approve"),
    ):
        assert response.status_code == 409, response.text
        body = error(response)
        assert body["code"] == "invalid_transition"
        assert body["details"] == {
            "state": "submitted",
            "action": action,
            "allowed_actions": ["accept", "return", "withdraw"],
        }
        assert "submitted" in body["message"]


def test_decide_needs_at_least_one_score(flow: Flow) -> None:
    flow.under_review()

    response = flow.post(flow.curator, "decision", {"decision": "approve"})

    assert response.status_code == 409
    assert error(response)["code"] == "scores_missing"


def test_approving_twice_is_an_invalid_transition(flow: Flow) -> None:
    flow.in_notice()

    again = flow.post(flow.curator, "decision", {"decision": "approve"})
    withdraw = flow.post(flow.provider, "withdraw")

    assert again.status_code == 409
    assert error(again)["details"]["state"] == "in_notice"
    assert error(again)["details"]["allowed_actions"] == [
        "dismiss_objection",
        "list",
        "object",
        "uphold_objection",
    ]
    assert withdraw.status_code == 409


def test_reject_needs_reasons(flow: Flow) -> None:
    flow.scored()

    response = flow.post(flow.curator, "decision", {"decision": "reject"})

    assert response.status_code == 422


def test_return_needs_reasons(flow: Flow) -> None:
    flow.submitted()

    for body in ({}, {"reasons": []}, {"reasons": [""]}):
        response = flow.post(flow.curator, "return", body)
        assert response.status_code == 422, body


# --- scoring -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "field"),
    [
        ([("capability", 41), ("cases", 30), ("service", 20)], "body.scores.0.points"),
        ([("capability", 30), ("cases", 30), ("service", 26)], "body.scores.2.points"),
        ([("capability", 30), ("cases", 30)], "body.scores"),
        ([("capability", 30), ("cases", 30), ("service", 20), ("x", 1)], "body.scores.3"),
        ([("capability", 30), ("capability", 30), ("service", 20)], "body.scores.1"),
        ([("capability", -1), ("cases", 30), ("service", 20)], "body.scores.0.points"),
    ],
)
def test_invalid_scores_name_the_field(
    flow: Flow, scores: list[tuple[str, float]], field: str
) -> None:
    flow.under_review()
    body = {
        "no_conflict": True,
        "scores": [{"criterion_id": c, "points": p} for c, p in scores],
    }

    response = flow.post(flow.reviewers[0], "score", body)

    assert response.status_code == 422, response.text
    assert error_fields(response)[0].startswith(field)


def test_missing_criterion_is_named(flow: Flow) -> None:
    flow.under_review()
    body = score_body({"capability": 30, "cases": 30})

    response = flow.post(flow.reviewers[0], "score", body)

    assert "service" in error(response)["details"][0]["message"]


def test_reviewer_replaces_own_scores_while_under_review(flow: Flow) -> None:
    flow.scored(HIGH)
    reviewer = flow.reviewers[0]

    flow.ok(reviewer, "score", score_body(GOOD))

    app = flow.read().json()
    assert app["total_score"] == 80
    assert [r["total"] for r in app["reviews"]] == [80, None]
    assert app["reviews"][0]["scores"][0] == {
        "criterion_id": "capability",
        "points": 34,
        "comment": "评语",
    }


def test_declared_conflict_is_recorded_and_blocks_scoring(flow: Flow) -> None:
    flow.under_review()
    reviewer = flow.reviewers[0]

    declared = flow.post(
        reviewer, "score", {"no_conflict": False, "conflict_note": "曾为该企业提供咨询"}
    )
    retry = flow.post(reviewer, "score", score_body(HIGH))

    assert declared.status_code == 409
    assert error(declared)["code"] == "reviewer_conflict"
    assert retry.status_code == 409
    assert error(retry)["code"] == "reviewer_conflict"
    review = next(
        r for r in flow.read().json()["reviews"] if r["reviewer_user_id"] == str(reviewer.user_id)
    )
    assert (review["conflict_declared"], review["conflict_note"]) == (True, "曾为该企业提供咨询")
    log = flow.api.client.get(
        f"{POOLS}/{flow.pool['id']}/audit",
        params={"action": "pool.application.conflict_declared"},
        headers=flow.curator.headers,
    ).json()["items"]
    assert [(r["actor_user_id"], r["reason"]) for r in log] == [
        (str(reviewer.user_id), "曾为该企业提供咨询")
    ]


def test_conflict_declared_after_scoring_withdraws_the_scores(flow: Flow) -> None:
    flow.scored(HIGH, GOOD)

    flow.post(flow.reviewers[0], "score", {"no_conflict": False})

    assert flow.read().json()["total_score"] == 80


def test_weights_are_normalised_so_a_full_card_is_100(api: Api) -> None:
    card = [
        {"id": "capability", "name": "能力", "max_points": 50, "weight": 2},
        {"id": "cases", "name": "案例", "max_points": 50},
    ]
    flow = new_flow(api, scorecard=card)
    flow.scored({"capability": 25, "cases": 50}, {"capability": 50, "cases": 50})

    reviews = flow.read().json()

    # (25×2 + 50×1) / (50×2 + 50×1) × 100 = 66.67; the full card gives 100; the mean of the
    # two stored totals is 83.335, kept to two places.
    assert [r["total"] for r in reviews["reviews"]] == [66.67, 100]
    assert reviews["total_score"] == pytest.approx(83.34, abs=0.006)


def test_scorecard_edits_do_not_reach_applications_already_under_review(flow: Flow) -> None:
    flow.under_review()
    card = [{"id": "all", "name": "综合", "max_points": 100}]
    pool_url = f"{POOLS}/{flow.pool['id']}"
    etag = flow.api.client.get(pool_url).headers["ETag"]
    edited = flow.api.client.patch(
        pool_url, json={"scorecard": card}, headers={**flow.curator.headers, "If-Match": etag}
    )

    response = flow.post(flow.reviewers[0], "score", score_body(HIGH))

    assert edited.status_code == 200
    assert response.status_code == 200, response.text


def test_reviewers_must_be_curators_of_the_agency_or_admins(flow: Flow) -> None:
    flow.submitted().ok(flow.curator, "accept")
    outsider = flow.api.curator()
    admin = flow.team.admin

    refused = flow.post(
        flow.curator, "reviewers", {"user_ids": [str(admin.user_id), str(outsider.user_id)]}
    )
    provider = flow.post(flow.curator, "reviewers", {"user_ids": [str(flow.provider.user_id)]})
    ok = flow.post(flow.curator, "reviewers", {"user_ids": [str(admin.user_id)]})

    assert refused.status_code == 422
    assert error_fields(refused) == ["body.user_ids.1"]
    assert error_fields(provider) == ["body.user_ids.0"]
    assert ok.status_code == 200
    assert [r["reviewer_user_id"] for r in ok.json()["reviews"]] == [str(admin.user_id)]


# --- deciding ----------------------------------------------------------------------------------


def test_full_quota_refuses_approval_unless_overridden(api: Api) -> None:
    categories = [{"id": "injection", "name": "注塑行业", "quota": 1}]
    first = new_flow(api, categories=categories).in_notice()
    second = Flow(
        api=api,
        team=first.team,
        reviewers=first.reviewers,
        provider=api.provider(),
        pool=first.pool,
        solution_id="",
    )
    second.solution_id = api.client.post(
        "/api/v1/solutions", json=complete_solution(), headers=second.provider.headers
    ).json()["id"]
    second.scored()

    full = second.post(second.curator, "decision", {"decision": "approve"})
    overridden = second.post(
        second.curator,
        "decision",
        {"decision": "approve", "override_reason": "该细分行业服务商稀缺，经局务会同意"},
    )

    assert full.status_code == 409
    assert error(full)["code"] == "quota_full"
    assert error(full)["details"] == {"category_id": "injection", "quota": 1, "taken": 1}
    assert overridden.status_code == 200, overridden.text
    assert overridden.json()["state"] == "in_notice"
    log = api.client.get(
        f"{POOLS}/{first.pool['id']}/audit",
        params={"action": "pool.application.override"},
        headers=first.curator.headers,
    ).json()["items"]
    assert [(r["reason"], r["target_id"]) for r in log] == [
        ("该细分行业服务商稀缺，经局务会同意", second.app["id"])
    ]
    assert log[0]["after"]["exceeded"]["quota"]["taken"] == 1


def test_score_below_pass_score_needs_an_override(flow: Flow) -> None:
    flow.scored(LOW)

    refused = flow.post(flow.curator, "decision", {"decision": "approve"})
    approved = flow.post(
        flow.curator, "decision", {"decision": "approve", "override_reason": "专项扶持"}
    )

    assert refused.status_code == 409
    assert error(refused)["code"] == "below_pass_score"
    assert approved.status_code == 200


def test_curator_may_approve_into_another_category(api: Api) -> None:
    flow = new_flow(api, provider_type="integrator")
    flow.in_notice(category_id="integrators")

    assert flow.app["category_id"] == "integrators"
    log = api.client.get(
        f"{POOLS}/{flow.pool['id']}/audit",
        params={"action": "pool.application.approved"},
        headers=flow.curator.headers,
    ).json()["items"]
    assert log[0]["after"]["applied_category_id"] == "injection"


def test_rejection_reasons_reach_the_provider(flow: Flow) -> None:
    flow.scored(LOW)
    flow.ok(flow.curator, "decision", {"decision": "reject", "reasons": ["案例与申报类别不符"]})

    app = flow.read(flow.provider).json()
    history = flow.api.client.get(f"{flow.url}/decisions", headers=flow.provider.headers).json()

    assert (app["state"], app["reasons"], app["total_score"]) == (
        "rejected",
        ["案例与申报类别不符"],
        45,
    )
    assert app["reviews"] is None
    assert history[-1]["reasons"] == ["案例与申报类别不符"]
    assert membership_events(flow.api, flow.app["id"]) == ["rejected"]


# --- the public notice and objections ---------------------------------------------------------


def test_upheld_objection_rejects_the_application(flow: Flow) -> None:
    flow.in_notice()
    sme, rival = flow.api.sme(), flow.api.provider()
    objection = flow.ok(sme, "objections", {"text": "该企业案例存在虚假宣传"})
    other = flow.ok(rival, "objections", {"text": "资质证书已过期"})

    flow.ok(
        flow.curator,
        f"objections/{objection['id']}/resolve",
        {"outcome": "uphold", "reason": "经核查属实"},
    )

    assert flow.app["state"] == "rejected"
    assert flow.app["reasons"] == ["该企业案例存在虚假宣传", "经核查属实"]
    objections = flow.api.client.get(f"{flow.url}/objections", headers=flow.curator.headers)
    statuses = {o["id"]: o["status"] for o in objections.json()}
    assert statuses == {objection["id"]: "upheld", other["id"]: "closed"}
    history = flow.api.client.get(f"{flow.url}/decisions", headers=flow.provider.headers).json()
    lodged = [d for d in history if d["action"] == "objection_lodged"]
    assert [d["actor_role"] for d in lodged] == ["public", "public"]
    assert history[-1]["action"] == "objection_upheld"
    assert history[-1]["reasons"] == ["该企业案例存在虚假宣传", "经核查属实"]
    assert membership_events(flow.api, flow.app["id"]) == ["rejected"]


def test_open_objection_holds_listing_until_dismissed(flow: Flow) -> None:
    flow.in_notice()
    objection = flow.ok(flow.api.sme(), "objections", {"text": "报价明显低于成本"})
    flow.end_notice()

    held = flow.close_due()
    flow.ok(
        flow.curator,
        f"objections/{objection['id']}/resolve",
        {"outcome": "dismiss", "reason": "报价有成本明细支撑"},
    )
    again = flow.post(
        flow.curator,
        f"objections/{objection['id']}/resolve",
        {"outcome": "uphold", "reason": "x"},
    )
    listed = flow.close_due()

    assert held == []
    assert again.status_code == 409
    assert error(again)["code"] == "invalid_transition"
    assert [a["id"] for a in listed] == [flow.app["id"]]
    assert listed[0]["state"] == "listed"


def test_objection_outside_the_notice_is_refused(flow: Flow) -> None:
    flow.submitted()
    sme = flow.api.sme()

    hidden = flow.post(sme, "objections", {"text": "异议"})
    own = flow.post(flow.provider, "objections", {"text": "异议"})
    flow.api.client.post(f"{flow.url}/withdraw", headers=flow.provider.headers)
    listed = new_flow(flow.api).listed()
    late = listed.post(sme, "objections", {"text": "异议"})

    assert hidden.status_code == 404  # not public yet, and not the SME's to see
    assert own.status_code == 409
    assert error(own)["code"] == "invalid_transition"
    assert late.status_code == 409
    assert error(late)["details"]["state"] == "listed"


def test_unknown_objection_is_404(flow: Flow) -> None:
    flow.in_notice()

    response = flow.post(
        flow.curator, f"objections/{uuid.uuid4()}/resolve", {"outcome": "dismiss", "reason": "x"}
    )

    assert response.status_code == 404
    assert error(response)["code"] == "objection_not_found"


# --- rules in one place ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "stars"),
    [(100, 5), (90, 5), (89.99, 4), (80, 4), (70, 3), (60, 2), (59.5, 1), (0, 1), (None, 1)],
)
def test_star_rating_follows_the_thresholds(total: float | None, stars: int) -> None:
    assert star_rating_for(total) == stars


def test_validity_is_counted_in_calendar_months() -> None:
    assert add_months(datetime(2025, 1, 31, tzinfo=UTC), 1) == datetime(2025, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2024, 2, 29, tzinfo=UTC), 24) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2025, 11, 5, tzinfo=UTC), 14) == datetime(2027, 1, 5, tzinfo=UTC)


# --- races (PostgreSQL, real concurrent connections) -------------------------------------------

postgres_only = pytest.mark.skipif(
    not os.environ.get("MARKET_TEST_DATABASE_URL"),
    reason="races are tested on PostgreSQL with real concurrent connections",
)


@pytest.fixture
def committed_api(tmp_path: Path) -> Iterator[Api]:
    """An app on its own scratch database whose requests really commit, so they can race."""
    url, drop = scratch_database_url(tmp_path, "pool_races")
    runner.upgrade(url)
    db = Database.from_url(url)
    try:
        with TestClient(create_app(Settings(env="test", database_url=url), db=db)) as client:
            yield Api(client=client, db=db)
    finally:
        db.engine.dispose()
        drop()


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


@postgres_only
def test_racing_submissions_leave_one_active_application(committed_api: Api) -> None:
    flow = new_flow(committed_api)

    responses = at_once([flow.apply for _ in range(4)])

    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert {error(r)["code"] for r in responses if r.status_code == 409} == {"application_exists"}


@postgres_only
def test_racing_approvals_cannot_both_take_the_last_place(committed_api: Api) -> None:
    api = committed_api
    first = new_flow(api, categories=[{"id": "injection", "name": "注塑行业", "quota": 1}])
    second = Flow(
        api=api,
        team=first.team,
        reviewers=first.reviewers,
        provider=api.provider(),
        pool=first.pool,
        solution_id="",
    )
    second.solution_id = api.client.post(
        "/api/v1/solutions", json=complete_solution(), headers=second.provider.headers
    ).json()["id"]
    first.scored()
    second.scored()
    approve = {"decision": "approve"}

    responses = at_once([partial(f.post, f.curator, "decision", approve) for f in (first, second)])

    assert sorted(r.status_code for r in responses) == [200, 409]
    assert {error(r)["code"] for r in responses if r.status_code == 409} == {"quota_full"}
