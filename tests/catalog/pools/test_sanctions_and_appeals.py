"""Sanctions on listings (警告, 限期整改, 停牌, 取消资格) and appeals (申诉) against them or
against a star rating: every allowed and refused move, the different-curator rule, the audit.
The helpers at the top are shared by the other pool-management test files."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from catalog.pools.models import PoolApplication, PoolSanction
from core.database import utcnow
from core.outbox import OutboxEvent
from tests.catalog.pools.test_application_lifecycle import Flow, new_flow
from tests.catalog.pools.test_pool_management import error, error_fields
from tests.support import Actor, Api

API = "/api/v1"


# --- shared helpers ------------------------------------------------------------------------------


def post(api: Api, actor: Actor | None, path: str, body: Any = None) -> httpx.Response:
    headers = actor.headers if actor else None
    return api.client.post(f"{API}{path}", json=body, headers=headers)


def get(api: Api, actor: Actor | None, path: str, **params: Any) -> httpx.Response:
    headers = actor.headers if actor else None
    return api.client.get(f"{API}{path}", headers=headers, params=params)


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def in_days(days: float) -> str:
    return (utcnow() + timedelta(days=days)).isoformat()


def listed(api: Api, **pool_overrides: Any) -> Flow:
    """A provider listed in a pool, with the curator and two reviewers who got it there."""
    return new_flow(api, **pool_overrides).listed()


def sanction(flow: Flow, kind: str, actor: Actor | None = None, **extra: Any) -> httpx.Response:
    body = {"kind": kind, "reason": f"{kind} 理由", **extra}
    if kind == "rectification" and "deadline" not in extra:
        body["deadline"] = in_days(10)
    return post(flow.api, actor or flow.curator, f"/applications/{flow.app['id']}/sanctions", body)


def sanctioned(flow: Flow, kind: str, **extra: Any) -> dict[str, Any]:
    response = sanction(flow, kind, **extra)
    assert response.status_code == 201, response.text
    flow.app = flow.read().json()
    result: dict[str, Any] = response.json()
    return result


def state(flow: Flow) -> str:
    flow.app = flow.read().json()
    return str(flow.app["state"])


def badges(api: Api, flow: Flow) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = ok(
        get(api, None, f"/providers/{flow.provider.provider_id}/badges")
    )
    return result


def pool_actions(flow: Flow, prefix: str = "pool.application") -> list[str]:
    """The pool's audit actions about this application, oldest first."""
    rows = ok(
        get(flow.api, flow.curator, f"/pools/{flow.pool['id']}/audit", action=prefix, size=100)
    )
    return [
        r["action"].removeprefix("pool.application.")
        for r in reversed(rows["items"])
        if r["target_id"] == flow.app["id"]
    ]


def expire_now(flow: Flow) -> dict[str, Any]:
    """Put the listing's validity in the past and run the pool's expiry."""
    with flow.api.db.transaction() as session:
        session.execute(
            update(PoolApplication)
            .where(PoolApplication.id == uuid.UUID(flow.app["id"]))
            .values(valid_until=utcnow() - timedelta(minutes=1))
        )
    result: dict[str, Any] = ok(
        post(flow.api, flow.curator, f"/pools/{flow.pool['id']}/expire-due")
    )
    flow.app = flow.read().json()
    return result


def outbox_topics(api: Api, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    with api.db.transaction() as session:
        events = session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic.startswith(prefix)).order_by(OutboxEvent.id)
        ).all()
        return [(e.topic, dict(e.payload)) for e in events]


def appeal(flow: Flow, body: dict[str, Any]) -> httpx.Response:
    return post(flow.api, flow.provider, f"/applications/{flow.app['id']}/appeals", body)


def decide(flow: Flow, appeal_id: str, actor: Actor, **body: Any) -> httpx.Response:
    return post(flow.api, actor, f"/appeals/{appeal_id}/decision", body)


@pytest.fixture
def flow(api: Api) -> Flow:
    return listed(api)


# --- warnings and rectification ----------------------------------------------------------------


def test_warning_is_recorded_and_the_listing_stays_on_show(flow: Flow) -> None:
    warning = sanctioned(flow, "warning")

    assert (warning["kind"], warning["status"], warning["state_before"]) == (
        "warning",
        "active",
        "listed",
    )
    assert state(flow) == "listed"
    assert [b["pool_id"] for b in badges(flow.api, flow)] == [flow.pool["id"]]
    as_provider = ok(get(flow.api, flow.provider, f"/applications/{flow.app['id']}/sanctions"))
    assert [(s["kind"], s["reason"]) for s in as_provider] == [("warning", "warning 理由")]
    assert pool_actions(flow)[-1] == "warned"


def test_rectification_runs_report_reject_report_accept(flow: Flow) -> None:
    api, provider, curator = flow.api, flow.provider, flow.curator
    order = sanctioned(flow, "rectification", deadline=in_days(5))
    assert (order["status"], order["overdue"]) == ("open", False)

    reported = ok(post(api, provider, f"/sanctions/{order['id']}/report", {"report": "已整改"}))
    assert reported["status"] == "reported"
    again = post(api, provider, f"/sanctions/{order['id']}/report", {"report": "再次"})
    assert again.status_code == 409
    assert error(again)["details"]["allowed_actions"] == ["accept_report", "reject_report"]

    new_deadline = in_days(20)
    rejected = ok(
        post(
            api,
            curator,
            f"/sanctions/{order['id']}/review",
            {"outcome": "reject", "reason": "证明材料不足", "deadline": new_deadline},
        )
    )
    assert rejected["status"] == "open"
    assert rejected["deadline"][:16] == new_deadline[:16]
    ok(post(api, provider, f"/sanctions/{order['id']}/report", {"report": "补充了材料"}))
    accepted = ok(
        post(
            api, curator, f"/sanctions/{order['id']}/review", {"outcome": "accept", "reason": "可"}
        )
    )

    assert (accepted["status"], accepted["resolution_reason"]) == ("closed", "可")
    assert state(flow) == "listed"
    assert pool_actions(flow)[-5:] == [
        "rectification_ordered",
        "rectification_reported",
        "rectification_rejected",
        "rectification_reported",
        "rectification_accepted",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "rectification", "reason": "x"}, "body"),
        ({"kind": "warning", "reason": "x", "deadline": "2099-01-01T00:00:00+00:00"}, "body"),
        (
            {"kind": "rectification", "reason": "x", "deadline": "2099-01-01T00:00:00"},
            "body.deadline",
        ),
        (
            {"kind": "rectification", "reason": "x", "deadline": "2001-01-01T00:00:00+00:00"},
            "body.deadline",
        ),
        ({"kind": "fine", "reason": "x"}, "body.kind"),
        ({"kind": "warning", "reason": ""}, "body.reason"),
    ],
)
def test_invalid_sanctions_name_the_field(flow: Flow, body: dict[str, Any], field: str) -> None:
    response = post(flow.api, flow.curator, f"/applications/{flow.app['id']}/sanctions", body)

    assert response.status_code == 422, response.text
    assert error_fields(response)[0] == field


def test_rejecting_a_report_after_the_deadline_needs_a_new_one(flow: Flow) -> None:
    order = sanctioned(flow, "rectification", deadline=in_days(1))
    ok(post(flow.api, flow.provider, f"/sanctions/{order['id']}/report", {"report": "已整改"}))
    with flow.api.db.transaction() as session:
        session.execute(
            update(PoolSanction)
            .where(PoolSanction.id == uuid.UUID(order["id"]))
            .values(deadline=utcnow() - timedelta(hours=1))
        )

    response = post(
        flow.api,
        flow.curator,
        f"/sanctions/{order['id']}/review",
        {"outcome": "reject", "reason": "x"},
    )

    assert response.status_code == 422
    assert error_fields(response) == ["body.deadline"]


# --- suspension and removal --------------------------------------------------------------------


def test_suspension_hides_the_listing_and_lifting_shows_it_again(flow: Flow) -> None:
    suspension = sanctioned(flow, "suspension")
    assert state(flow) == "suspended"
    assert badges(flow.api, flow) == []

    lifted = ok(
        post(flow.api, flow.curator, f"/sanctions/{suspension['id']}/lift", {"reason": "已整改"})
    )

    assert lifted["status"] == "lifted"
    assert state(flow) == "listed"
    assert len(badges(flow.api, flow)) == 1
    events = [
        p["state"]
        for t, p in outbox_topics(flow.api, "pool.membership")
        if p["application_id"] == flow.app["id"]
    ]
    assert events[-2:] == ["suspended", "listed"]


def test_lifting_after_the_validity_ended_expires_the_listing(flow: Flow) -> None:
    suspension = sanctioned(flow, "suspension")
    with flow.api.db.transaction() as session:
        session.execute(
            update(PoolApplication)
            .where(PoolApplication.id == uuid.UUID(flow.app["id"]))
            .values(valid_until=utcnow() - timedelta(days=1))
        )

    ok(post(flow.api, flow.curator, f"/sanctions/{suspension['id']}/lift", {"reason": "解除"}))

    assert state(flow) == "expired"
    rounds = ok(get(flow.api, flow.curator, f"/applications/{flow.app['id']}/rereviews"))
    assert [(r["trigger"], r["state"]) for r in rounds] == [("expiry", "open")]


def test_removal_ends_the_membership_and_supersedes_running_sanctions(flow: Flow) -> None:
    order = sanctioned(flow, "rectification")
    suspension = sanctioned(flow, "suspension")
    warning = sanctioned(flow, "warning")

    removal = sanctioned(flow, "removal")

    assert (removal["status"], removal["state_before"]) == ("active", "suspended")
    assert state(flow) == "removed"
    statuses = {
        s["id"]: s["status"]
        for s in ok(get(flow.api, flow.curator, f"/applications/{flow.app['id']}/sanctions"))
    }
    assert statuses == {
        order["id"]: "superseded",
        suspension["id"]: "superseded",
        warning["id"]: "active",
        removal["id"]: "active",
    }
    # The membership has ended: the provider may apply again.
    assert flow.apply().status_code == 201


# The moves each sanction kind may start from; every other combination is a 409.
ALLOWED_FROM = {
    "warning": {"listed", "suspended", "expired"},
    "rectification": {"listed", "suspended"},
    "suspension": {"listed"},
    "removal": {"listed", "suspended", "expired"},
}


def into(flow: Flow, target: str) -> None:
    if target == "suspended":
        sanctioned(flow, "suspension")
    elif target == "expired":
        expire_now(flow)
    elif target == "removed":
        sanctioned(flow, "removal")
    assert state(flow) == target


@pytest.mark.parametrize("start", ["listed", "suspended", "expired", "removed"])
def test_each_sanction_is_allowed_only_from_its_states(api: Api, start: str) -> None:
    for kind, allowed in ALLOWED_FROM.items():
        flow = listed(api)
        into(flow, start)

        response = sanction(flow, kind)

        if start in allowed:
            assert response.status_code == 201, (kind, start, response.text)
        else:
            assert response.status_code == 409, (kind, start, response.text)
            assert error(response)["code"] == "invalid_transition"
            assert error(response)["details"]["state"] == start


def test_sanctions_are_refused_before_listing(api: Api) -> None:
    flow = new_flow(api).in_notice()

    response = sanction(flow, "suspension")

    assert response.status_code == 409
    assert error(response)["details"]["state"] == "in_notice"


@pytest.mark.parametrize(
    ("kind", "action", "body"),
    [
        ("warning", "lift", {"reason": "x"}),
        ("warning", "report", {"report": "x"}),
        ("suspension", "report", {"report": "x"}),
        ("suspension", "review", {"outcome": "accept", "reason": "x"}),
        ("rectification", "lift", {"reason": "x"}),
        ("rectification", "review", {"outcome": "accept", "reason": "x"}),
    ],
)
def test_sanction_moves_that_do_not_fit_the_kind_or_status_are_refused(
    flow: Flow, kind: str, action: str, body: dict[str, Any]
) -> None:
    issued = sanctioned(flow, kind)
    actor = flow.provider if action == "report" else flow.curator

    response = post(flow.api, actor, f"/sanctions/{issued['id']}/{action}", body)

    assert response.status_code == 409, response.text
    assert error(response)["code"] == "invalid_transition"
    assert error(response)["details"]["kind"] == kind


# --- appeals -----------------------------------------------------------------------------------


def test_upheld_appeal_against_a_suspension_puts_the_listing_back(flow: Flow) -> None:
    suspension = sanctioned(flow, "suspension")
    filed = ok(
        appeal(flow, {"subject": "sanction", "sanction_id": suspension["id"], "text": "处理过重"})
    )
    assert filed["status"] == "open"

    refused = decide(flow, filed["id"], flow.curator, outcome="uphold", reason="同意")
    assert refused.status_code == 403
    assert error(refused)["code"] == "same_curator"

    other = flow.team.colleague()
    decided = ok(decide(flow, filed["id"], other, outcome="uphold", reason="证据不足，撤销停牌"))

    assert (decided["status"], decided["decision_reason"]) == ("upheld", "证据不足，撤销停牌")
    assert state(flow) == "listed"
    sanctions = ok(get(flow.api, flow.provider, f"/applications/{flow.app['id']}/sanctions"))
    assert sanctions[0]["status"] == "revoked"
    assert pool_actions(flow)[-4:] == [
        "suspended",
        "appeal_filed",
        "appeal_upheld",
        "suspension_revoked",
    ]
    history = ok(get(flow.api, flow.provider, f"/applications/{flow.app['id']}/decisions"))
    assert [h["action"] for h in history][-3:] == [
        "appeal_filed",
        "appeal_upheld",
        "suspension_revoked",
    ]


def test_upheld_appeal_against_a_removal_restores_the_listing_as_it_was(flow: Flow) -> None:
    suspension = sanctioned(flow, "suspension")
    order = sanctioned(flow, "rectification")
    ok(post(flow.api, flow.provider, f"/sanctions/{order['id']}/report", {"report": "已整改"}))
    removal = sanctioned(flow, "removal")
    filed = ok(appeal(flow, {"subject": "sanction", "sanction_id": removal["id"], "text": "申诉"}))

    ok(decide(flow, filed["id"], flow.team.colleague(), outcome="uphold", reason="撤销"))

    assert state(flow) == "suspended"
    statuses = {
        s["id"]: s["status"]
        for s in ok(get(flow.api, flow.curator, f"/applications/{flow.app['id']}/sanctions"))
    }
    assert statuses == {
        suspension["id"]: "active",
        order["id"]: "reported",
        removal["id"]: "revoked",
    }


def test_a_removed_listing_cannot_come_back_beside_a_newer_application(flow: Flow) -> None:
    removal = sanctioned(flow, "removal")
    filed = ok(appeal(flow, {"subject": "sanction", "sanction_id": removal["id"], "text": "申诉"}))
    removed_app = dict(flow.app)
    assert flow.apply().status_code == 201
    flow.app = removed_app

    response = decide(flow, filed["id"], flow.team.colleague(), outcome="uphold", reason="撤销")

    assert response.status_code == 409
    assert error(response)["code"] == "application_exists"
    assert state(flow) == "removed"


def test_rating_appeal_goes_to_someone_who_did_not_rate(flow: Flow) -> None:
    assert flow.app["star_rating"] == 4  # mean of 86 and 80
    filed = ok(appeal(flow, {"subject": "rating", "text": "评分偏低"}))

    for insider in (*flow.reviewers, flow.curator):
        response = decide(flow, filed["id"], insider, outcome="uphold", reason="x", star_rating=5)
        assert response.status_code == 403, response.text
        assert error(response)["code"] == "same_curator"
    outsider = flow.team.colleague()
    missing = decide(flow, filed["id"], outsider, outcome="uphold", reason="x")
    assert missing.status_code == 422
    assert error_fields(missing) == ["body.star_rating"]

    decided = ok(
        decide(flow, filed["id"], outsider, outcome="uphold", reason="案例成效突出", star_rating=5)
    )

    assert (decided["star_rating_before"], decided["star_rating_after"]) == (4, 5)
    assert [b["star_rating"] for b in badges(flow.api, flow)] == [5]
    again = appeal(flow, {"subject": "rating", "text": "再申诉"})
    assert again.status_code == 409
    assert error(again)["code"] == "appeal_exists"


def test_a_decision_is_appealed_once_and_an_appeal_decided_once(flow: Flow) -> None:
    warning = sanctioned(flow, "warning")
    body = {"subject": "sanction", "sanction_id": warning["id"], "text": "不服"}
    filed = ok(appeal(flow, body))
    second = appeal(flow, body)
    other = flow.team.colleague()
    ok(decide(flow, filed["id"], other, outcome="dismiss", reason="警告有据"))
    twice = decide(flow, filed["id"], other, outcome="uphold", reason="x")

    assert second.status_code == 409
    assert error(second)["code"] == "appeal_exists"
    assert twice.status_code == 409
    assert error(twice)["code"] == "invalid_transition"
    sanctions = ok(get(flow.api, flow.curator, f"/applications/{flow.app['id']}/sanctions"))
    assert sanctions[0]["status"] == "active"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "sanction", "text": "x"}, "body"),
        ({"subject": "rating", "sanction_id": str(uuid.uuid4()), "text": "x"}, "body"),
        (
            {"subject": "sanction", "sanction_id": str(uuid.uuid4()), "text": "x"},
            "body.sanction_id",
        ),
        ({"subject": "rating", "text": ""}, "body.text"),
    ],
)
def test_invalid_appeals_name_the_field(flow: Flow, body: dict[str, Any], field: str) -> None:
    response = appeal(flow, body)

    assert response.status_code == 422, response.text
    assert error_fields(response)[0] == field


def test_only_sanctions_in_force_are_appealed(flow: Flow) -> None:
    suspension = sanctioned(flow, "suspension")
    ok(post(flow.api, flow.curator, f"/sanctions/{suspension['id']}/lift", {"reason": "解除"}))

    response = appeal(flow, {"subject": "sanction", "sanction_id": suspension["id"], "text": "x"})

    assert response.status_code == 409
    assert error(response)["code"] == "invalid_transition"


def test_appeals_are_listed_for_the_pool_and_the_listing(flow: Flow) -> None:
    warning = sanctioned(flow, "warning")
    filed = ok(appeal(flow, {"subject": "sanction", "sanction_id": warning["id"], "text": "不服"}))

    open_in_pool = ok(
        get(flow.api, flow.curator, f"/pools/{flow.pool['id']}/appeals", status="open")
    )
    mine = ok(get(flow.api, flow.provider, f"/applications/{flow.app['id']}/appeals"))
    in_pool = ok(get(flow.api, flow.curator, f"/pools/{flow.pool['id']}/sanctions", kind="warning"))

    assert [a["id"] for a in open_in_pool] == [filed["id"]]
    assert [a["id"] for a in mine] == [filed["id"]]
    assert [s["id"] for s in in_pool] == [warning["id"]]


def test_every_sanction_step_is_audited_with_actor_and_reason(flow: Flow) -> None:
    suspension = sanctioned(flow, "suspension", reason="多次投诉未处理")
    ok(post(flow.api, flow.curator, f"/sanctions/{suspension['id']}/lift", {"reason": "已处理"}))

    rows = ok(
        get(flow.api, flow.curator, f"/pools/{flow.pool['id']}/audit", action="pool.application.s")
    )["items"]

    suspended = next(r for r in rows if r["action"] == "pool.application.suspended")
    lifted = next(r for r in rows if r["action"] == "pool.application.suspension_lifted")
    assert (suspended["reason"], suspended["actor_user_id"]) == (
        "多次投诉未处理",
        str(flow.curator.user_id),
    )
    assert (suspended["before"], suspended["after"]["state"]) == ({"state": "listed"}, "suspended")
    assert (lifted["reason"], lifted["after"]["state"]) == ("已处理", "listed")


def test_sanctions_notify_the_provider(flow: Flow) -> None:
    sanctioned(flow, "rectification")

    notices = [p for t, p in outbox_topics(flow.api, "notify.sanction.issued")]

    assert notices[-1]["kind"] == "rectification"
    assert notices[-1]["recipients"]["org_ids"] == [str(flow.provider.org_id)]
    assert notices[-1]["deadline"]


def test_upholding_after_the_sanction_ended_is_a_finding_for_the_record(flow: Flow) -> None:
    suspension = sanctioned(flow, "suspension")
    body = {"subject": "sanction", "sanction_id": suspension["id"], "text": "不服"}
    filed = ok(appeal(flow, body))
    ok(post(flow.api, flow.curator, f"/sanctions/{suspension['id']}/lift", {"reason": "已整改"}))

    decided = ok(
        decide(flow, filed["id"], flow.team.colleague(), outcome="uphold", reason="原处理过重")
    )

    assert decided["status"] == "upheld"
    sanctions = ok(get(flow.api, flow.curator, f"/applications/{flow.app['id']}/sanctions"))
    assert sanctions[0]["status"] == "lifted"
    assert state(flow) == "listed"
