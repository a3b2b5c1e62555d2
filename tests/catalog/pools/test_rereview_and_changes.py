"""Validity and re-review (定期考核): expiry with a clock, rounds scored and decided, the star
rating from the latest review, reminders of approaching deadlines, and the material changes
providers report (重大事项变更)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from catalog.pools import rereview
from catalog.pools.models import PoolApplication, PoolReminder, PoolSanction
from catalog.providers.models import Provider
from core.database import utcnow
from tests.catalog.pools.test_application_lifecycle import GOOD, HIGH, LOW, Flow, score_body
from tests.catalog.pools.test_pool_management import error, error_fields
from tests.catalog.pools.test_sanctions_and_appeals import (
    badges,
    expire_now,
    get,
    in_days,
    listed,
    ok,
    outbox_topics,
    pool_actions,
    post,
    sanctioned,
    state,
)
from tests.support import Actor, Api, credit_code


@pytest.fixture
def flow(api: Api) -> Flow:
    return listed(api)


def open_round(flow: Flow, reason: str = "年度考核") -> dict[str, Any]:
    result: dict[str, Any] = ok(
        post(
            flow.api, flow.curator, f"/applications/{flow.app['id']}/rereviews", {"reason": reason}
        )
    )
    return result


def scored_round(flow: Flow, round_: dict[str, Any], *points: dict[str, float]) -> None:
    reviewers = [str(r.user_id) for r in flow.reviewers]
    ok(
        post(
            flow.api, flow.curator, f"/rereviews/{round_['id']}/reviewers", {"user_ids": reviewers}
        )
    )
    for reviewer, given in zip(flow.reviewers, points or (HIGH, HIGH), strict=False):
        ok(post(flow.api, reviewer, f"/rereviews/{round_['id']}/score", score_body(given)))


def decide_round(flow: Flow, round_: dict[str, Any], **body: Any) -> Any:
    return post(flow.api, flow.curator, f"/rereviews/{round_['id']}/decision", body)


def set_valid_until(flow: Flow, moment: Any) -> None:
    with flow.api.db.transaction() as session:
        session.execute(
            update(PoolApplication)
            .where(PoolApplication.id == uuid.UUID(flow.app["id"]))
            .values(valid_until=moment)
        )


# --- expiry ------------------------------------------------------------------------------------


def test_listing_expires_when_its_validity_ends_and_a_rereview_opens(flow: Flow) -> None:
    ran = expire_now(flow)

    assert ran["expired"] == [flow.app["id"]]
    assert flow.app["state"] == "expired"
    assert badges(flow.api, flow) == []
    rounds = ok(get(flow.api, flow.provider, f"/applications/{flow.app['id']}/rereviews"))
    assert [(r["trigger"], r["state"], r["reviews"]) for r in rounds] == [("expiry", "open", None)]
    assert pool_actions(flow)[-2:] == ["expired", "rereview_opened"]
    again = ok(post(flow.api, flow.curator, f"/pools/{flow.pool['id']}/expire-due"))
    assert again == {"expired": [], "rereviews_opened": []}


def test_expiry_runs_for_every_pool_with_a_given_clock(api: Api) -> None:
    first, second = listed(api), listed(api)
    valid_until = max(first.app["valid_until"], second.app["valid_until"])

    with api.db.transaction() as session:
        too_early = rereview.expire_due(session, now=utcnow())
    with api.db.transaction() as session:
        later = utcnow() + timedelta(days=365 * 3)
        result = rereview.expire_due(session, now=later)
        expired = {str(loaded.app.id) for loaded in result.expired}

    assert too_early.expired == []
    assert valid_until < later.isoformat()
    assert {first.app["id"], second.app["id"]} <= expired
    assert state(first) == state(second) == "expired"


def test_a_renewed_listing_is_on_show_again_with_a_new_rating_and_validity(flow: Flow) -> None:
    expire_now(flow)
    round_ = ok(get(flow.api, flow.curator, f"/applications/{flow.app['id']}/rereviews"))[0]
    scored_round(flow, round_, HIGH, {"capability": 38, "cases": 33, "service": 22})

    decided = ok(decide_round(flow, round_, decision="pass"))

    assert (decided["state"], decided["total_score"], decided["star_rating"]) == ("passed", 89.5, 4)
    assert state(flow) == "listed"
    assert flow.app["valid_until"] > utcnow().isoformat()
    assert flow.app["star_rating"] == 4
    assert [b["star_rating"] for b in badges(flow.api, flow)] == [4]
    assert pool_actions(flow)[-1] == "renewed"


def test_on_demand_rereview_rates_from_the_latest_review(flow: Flow) -> None:
    assert flow.app["star_rating"] == 4
    round_ = open_round(flow)
    assert state(flow) == "listed"  # a re-review alone hides nothing
    scored_round(flow, round_, {"capability": 40, "cases": 35, "service": 25}, HIGH)

    ok(decide_round(flow, round_, decision="pass"))

    assert state(flow) == "listed"
    assert flow.app["star_rating"] == 5  # (100 + 86) / 2 = 93
    assert flow.app["rated_at"] > flow.app["listed_since"]
    assert pool_actions(flow)[-1] == "rereview_passed"


def test_one_open_round_at_a_time(flow: Flow) -> None:
    open_round(flow)

    second = post(
        flow.api, flow.curator, f"/applications/{flow.app['id']}/rereviews", {"reason": "x"}
    )

    assert second.status_code == 409
    assert error(second)["code"] == "rereview_open"


def test_passing_below_the_pass_score_needs_an_override(flow: Flow) -> None:
    round_ = open_round(flow)
    scored_round(flow, round_, LOW, LOW)

    refused = decide_round(flow, round_, decision="pass")
    passed = decide_round(flow, round_, decision="pass", override_reason="整改后能力达标")

    assert refused.status_code == 409
    assert error(refused)["code"] == "below_pass_score"
    assert passed.status_code == 200
    assert pool_actions(flow)[-2:] == ["rereview_passed", "override"]


def test_failing_a_rereview_removes_the_listing_as_an_appealable_removal(flow: Flow) -> None:
    round_ = open_round(flow)
    scored_round(flow, round_, LOW, LOW)

    decided = ok(decide_round(flow, round_, decision="fail", reasons=["考核不合格"]))

    assert decided["state"] == "failed"
    assert state(flow) == "removed"
    removal = ok(get(flow.api, flow.provider, f"/applications/{flow.app['id']}/sanctions"))[0]
    assert (removal["kind"], removal["reason"]) == ("removal", "考核不合格")
    appeal = post(
        flow.api,
        flow.provider,
        f"/applications/{flow.app['id']}/appeals",
        {"subject": "sanction", "sanction_id": removal["id"], "text": "评审有误"},
    )
    assert appeal.status_code == 201, appeal.text


def test_rounds_are_decided_once_with_scores(flow: Flow) -> None:
    round_ = open_round(flow)
    unscored = decide_round(flow, round_, decision="pass")
    no_reasons = decide_round(flow, round_, decision="fail")
    scored_round(flow, round_)
    ok(decide_round(flow, round_, decision="pass"))
    twice = decide_round(flow, round_, decision="fail", reasons=["x"])
    late_score = post(
        flow.api, flow.reviewers[0], f"/rereviews/{round_['id']}/score", score_body(GOOD)
    )

    assert unscored.status_code == 409
    assert error(unscored)["code"] == "scores_missing"
    assert no_reasons.status_code == 422
    assert twice.status_code == 409
    assert error(twice)["code"] == "invalid_transition"
    assert late_score.status_code == 409


def test_rereview_reviewers_score_only_when_assigned_and_may_declare_conflicts(flow: Flow) -> None:
    round_ = open_round(flow)
    first, second = flow.reviewers
    ok(
        post(
            flow.api,
            flow.curator,
            f"/rereviews/{round_['id']}/reviewers",
            {"user_ids": [str(first.user_id)]},
        )
    )

    unassigned = post(flow.api, second, f"/rereviews/{round_['id']}/score", score_body(HIGH))
    conflict = post(
        flow.api,
        first,
        f"/rereviews/{round_['id']}/score",
        {"no_conflict": False, "conflict_note": "曾为其顾问"},
    )
    blocked = post(flow.api, first, f"/rereviews/{round_['id']}/score", score_body(HIGH))

    assert unassigned.status_code == 403
    assert error(unassigned)["code"] == "not_assigned_reviewer"
    assert conflict.status_code == 409
    assert error(conflict)["details"] == {"recorded": True}
    assert blocked.status_code == 409
    as_curator = ok(get(flow.api, flow.curator, f"/rereviews/{round_['id']}"))
    assert as_curator["reviews"][0]["conflict_declared"] is True


def test_the_provider_sees_its_round_without_reviews_and_the_total_once_decided(flow: Flow) -> None:
    round_ = open_round(flow)
    scored_round(flow, round_)
    before = ok(get(flow.api, flow.provider, f"/rereviews/{round_['id']}"))
    ok(decide_round(flow, round_, decision="pass"))
    after = ok(get(flow.api, flow.provider, f"/rereviews/{round_['id']}"))

    assert (before["reviews"], before["total_score"]) == (None, None)
    assert (after["reviews"], after["total_score"]) == (None, 86.0)
    rival = flow.api.provider()
    assert get(flow.api, rival, f"/rereviews/{round_['id']}").status_code == 404
    assert get(flow.api, flow.api.curator(), f"/rereviews/{round_['id']}").status_code == 404


# --- reminders ---------------------------------------------------------------------------------


def reminders(api: Api) -> list[tuple[str, dict[str, Any]]]:
    return outbox_topics(api, "notify.deadline")


def test_reminders_announce_each_deadline_once(flow: Flow) -> None:
    order = sanctioned(flow, "rectification", deadline=in_days(2))
    set_valid_until(flow, utcnow() + timedelta(days=10))

    with flow.api.db.transaction() as session:
        first = rereview.remind_due(session)
    with flow.api.db.transaction() as session:
        second = rereview.remind_due(session)

    assert (first, second) == (2, 0)
    sent = reminders(flow.api)
    assert sorted(t for t, _ in sent) == [
        "notify.deadline.rectification",
        "notify.deadline.validity",
        "notify.deadline.validity",
    ]
    rectification = next(p for t, p in sent if t == "notify.deadline.rectification")
    assert rectification["sanction_id"] == order["id"]
    assert rectification["recipients"]["org_ids"] == [str(flow.provider.org_id)]


def test_overdue_rectifications_are_reported_to_the_curators(flow: Flow) -> None:
    order = sanctioned(flow, "rectification", deadline=in_days(1))
    with flow.api.db.transaction() as session:
        session.execute(
            update(PoolSanction)
            .where(PoolSanction.id == uuid.UUID(order["id"]))
            .values(deadline=utcnow() - timedelta(hours=2))
        )
        rereview.remind_due(session)

    sent = reminders(flow.api)
    assert [t for t, _ in sent] == ["notify.deadline.rectification_overdue"]
    assert sent[0][1]["recipients"]["curators_of_pool"] == flow.pool["id"]
    listed_sanctions = ok(get(flow.api, flow.curator, f"/applications/{flow.app['id']}/sanctions"))
    assert listed_sanctions[0]["overdue"] is True


def test_the_end_of_a_notice_is_announced_to_the_curators(api: Api) -> None:
    from tests.catalog.pools.test_application_lifecycle import new_flow

    flow = new_flow(api).in_notice()
    with api.db.transaction() as session:
        session.execute(
            update(PoolApplication)
            .where(PoolApplication.id == uuid.UUID(flow.app["id"]))
            .values(notice_ends_at=utcnow() + timedelta(hours=12))
        )
        sent = rereview.remind_due(session)
        kinds = session.scalars(select(PoolReminder.kind)).all()

    assert sent == 1
    assert kinds == ["notice"]
    assert [t for t, _ in reminders(api)] == ["notify.deadline.notice"]


def test_scheduled_run_lists_expires_and_reminds_in_one_go(api: Api) -> None:
    from tests.catalog.pools.test_application_lifecycle import new_flow

    in_notice = new_flow(api).in_notice()
    in_notice.end_notice()
    expiring = listed(api)
    set_valid_until(expiring, utcnow() - timedelta(days=1))

    with api.db.transaction() as session:
        run = rereview.run_scheduled(session)

    assert (run.listed, run.expired, run.rereviews_opened) == (1, 1, 1)
    assert state(in_notice) == "listed"
    assert state(expiring) == "expired"


# --- reported changes --------------------------------------------------------------------------


def report(api: Api, provider: Actor, **body: Any) -> Any:
    return post(api, provider, "/changes", body)


def test_a_name_change_is_applied_and_flags_every_listing_for_review(api: Api) -> None:
    flow = listed(api)
    second = listed(api)  # another provider, not affected
    response = report(
        api, flow.provider, kind="name", new_value="常州新名称智能科技有限公司", note="更名"
    )

    change = ok(response)
    assert response.status_code == 201
    assert (change["before"], change["after"]) == (
        {"legal_name": flow.app["provider_name"]},
        {"legal_name": "常州新名称智能科技有限公司"},
    )
    assert [r["application_id"] for r in change["reviews"]] == [flow.app["id"]]
    state(flow)  # reads the application afresh
    assert flow.app["change_under_review"] is True
    assert flow.app["provider_name"] == "常州新名称智能科技有限公司"
    state(second)
    assert second.app["change_under_review"] is False
    assert pool_actions(flow)[-1] == "change_reported"
    assert [p["kind"] for t, p in outbox_topics(api, "notify.change.reported")] == ["name"]
    queue = ok(get(api, flow.curator, f"/pools/{flow.pool['id']}/changes", status="open"))
    assert [c["id"] for c in queue] == [change["id"]]

    confirmed = ok(
        post(
            api,
            flow.curator,
            f"/applications/{flow.app['id']}/changes/{change['id']}/review",
            {"outcome": "confirm", "reason": "名称变更不影响资质"},
        )
    )

    assert confirmed["reviews"][0]["status"] == "confirmed"
    state(flow)
    assert flow.app["change_under_review"] is False
    assert ok(get(api, flow.curator, f"/pools/{flow.pool['id']}/changes", status="open")) == []
    twice = post(
        api,
        flow.curator,
        f"/applications/{flow.app['id']}/changes/{change['id']}/review",
        {"outcome": "confirm", "reason": "x"},
    )
    assert twice.status_code == 409


def test_a_credit_code_change_can_send_the_listing_to_rereview(flow: Flow) -> None:
    api = flow.api
    new_code = credit_code()
    change = ok(report(api, flow.provider, kind="credit_code", new_value=new_code.lower()))

    reviewed = ok(
        post(
            api,
            flow.curator,
            f"/applications/{flow.app['id']}/changes/{change['id']}/review",
            {"outcome": "rereview", "reason": "主体变更需复审"},
        )
    )

    assert change["after"] == {"credit_code": new_code}
    assert reviewed["reviews"][0]["status"] == "rereview"
    rounds = ok(get(api, flow.curator, f"/applications/{flow.app['id']}/rereviews"))
    assert [(r["trigger"], r["reason"]) for r in rounds] == [("change", "主体变更需复审")]
    with api.db.transaction() as session:
        code = session.scalar(
            select(Provider.credit_code).where(Provider.id == flow.provider.provider_id)
        )
    assert code == new_code
    mine = ok(get(api, flow.provider, "/changes/mine"))
    assert [c["id"] for c in mine] == [change["id"]]


def test_a_certificate_change_is_recorded_against_the_certificates_on_file(flow: Flow) -> None:
    change = ok(
        report(flow.api, flow.provider, kind="certification", new_value="ISO 9001 证书已过期")
    )

    assert change["before"] == {"certifications": []}
    assert change["after"] == {"certification": "ISO 9001 证书已过期"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "credit_code", "new_value": "91320400MA1XXXXXX0"}, 422, "validation_error"),
        ({"kind": "name", "new_value": "x" * 201}, 422, "validation_error"),
        ({"kind": "colour", "new_value": "red"}, 422, "validation_error"),
    ],
)
def test_invalid_change_reports_are_refused(
    flow: Flow, body: dict[str, Any], status: int, code: str
) -> None:
    response = report(flow.api, flow.provider, **body)

    assert response.status_code == status, response.text
    assert error(response)["code"] == code


def test_an_unchanged_value_or_a_taken_code_is_refused(flow: Flow) -> None:
    same = report(flow.api, flow.provider, kind="name", new_value=flow.app["provider_name"])
    rival = flow.api.provider()
    with flow.api.db.transaction() as session:
        taken = session.scalar(select(Provider.credit_code).where(Provider.id == rival.provider_id))
    clash = report(flow.api, flow.provider, kind="credit_code", new_value=taken)

    assert same.status_code == 422
    assert error_fields(same) == ["body.new_value"]
    assert clash.status_code == 409
    assert error(clash)["code"] == "credit_code_taken"


def test_rereview_outcome_needs_a_listing(api: Api) -> None:
    from tests.catalog.pools.test_application_lifecycle import new_flow

    flow = new_flow(api).submitted()
    change = ok(report(api, flow.provider, kind="name", new_value="另一个名称有限公司"))

    response = post(
        api,
        flow.curator,
        f"/applications/{flow.app['id']}/changes/{change['id']}/review",
        {"outcome": "rereview", "reason": "x"},
    )

    assert response.status_code == 409
    assert error(response)["details"]["allowed_outcomes"] == ["confirm"]


def test_change_review_of_an_unknown_change_is_404(flow: Flow) -> None:
    response = post(
        flow.api,
        flow.curator,
        f"/applications/{flow.app['id']}/changes/{uuid.uuid4()}/review",
        {"outcome": "confirm", "reason": "x"},
    )

    assert response.status_code == 404
    assert error(response)["code"] == "change_not_found"
