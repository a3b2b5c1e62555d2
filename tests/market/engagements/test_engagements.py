"""An engagement's life: the plan (contract reference, baseline and target KPIs, maturity level),
milestones, delivery, 验收 against KPIs, completion or cancellation; post-award price changes
that need the SME's consent; the subsidy record; capacity. Every state machine's refusals."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from core.audit import AuditRecord
from market.engagements import service as engagements
from market.engagements.models import CHANGE_REQUEST, ENGAGEMENT, MILESTONE, SUBSIDY
from tests.market.rfqs.test_rfq_flow import Market, code, error, events, new_market
from tests.support import Actor, Api

ENGAGEMENTS = "/api/v1/engagements"

KPIS: list[dict[str, Any]] = [
    {"name": "设备联网率", "unit": "%", "direction": "increase", "baseline": 20, "target": 80},
    {
        "name": "单位产值能耗",
        "unit": "吨标煤/万元",
        "direction": "decrease",
        "baseline": 0.5,
        "target": 0.4,
    },
]
MEASURED = {
    "measured": [{"name": "设备联网率", "value": 85}, {"name": "单位产值能耗", "value": 0.42}]
}
ACCEPTANCE = {**MEASURED, "maturity_level_after": 3, "note": "现场验收通过"}


@dataclass
class Deal:
    """An engagement between an SME and a provider, with helpers for each party's actions."""

    market: Market
    sme: Actor
    provider: Actor
    engagement: dict[str, Any]

    @property
    def url(self) -> str:
        return f"{ENGAGEMENTS}/{self.engagement['id']}"

    def post(self, actor: Actor, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.market.post(actor, f"{self.url}{path}", body, **kw)

    def ok(self, actor: Actor, path: str, body: Any = None) -> dict[str, Any]:
        response = self.post(actor, path, body)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        if "milestones" in result:
            self.engagement = result
        return result

    def read(self, actor: Actor | None = None) -> httpx.Response:
        return self.market.get(actor or self.sme, self.url)

    def current(self) -> dict[str, Any]:
        response = self.read()
        assert response.status_code == 200, response.text
        self.engagement = response.json()
        return self.engagement

    def patch(self, body: dict[str, Any], etag: str | None = "current") -> httpx.Response:
        headers = dict(self.sme.headers)
        if etag == "current":
            headers["If-Match"] = self.read().headers["ETag"]
        elif etag is not None:
            headers["If-Match"] = etag
        return self.market.api.client.patch(self.url, json=body, headers=headers)

    def planned(self) -> Deal:
        response = self.patch({"kpis": KPIS, "maturity_level_before": 2})
        assert response.status_code == 200, response.text
        self.engagement = response.json()
        return self

    def milestone(self, index: int) -> str:
        return str(self.engagement["milestones"][index]["id"])

    def submit_all(self) -> Deal:
        for m in list(self.engagement["milestones"]):
            if m["status"] in ("pending", "rejected"):
                self.ok(self.provider, f"/milestones/{m['id']}/submit", {"note": "已完成"})
        return self

    def accept_all(self) -> Deal:
        for m in list(self.engagement["milestones"]):
            if m["status"] == "submitted":
                self.ok(self.sme, f"/milestones/{m['id']}/accept")
        return self

    def delivered(self) -> Deal:
        self.planned().submit_all().accept_all().ok(self.provider, "/deliver", {"note": "交付"})
        return self

    def accepted(self) -> Deal:
        self.delivered().ok(self.sme, "/accept", ACCEPTANCE)
        return self

    def completed(self) -> Deal:
        self.accepted().ok(self.sme, "/complete")
        return self

    def cancelled(self) -> Deal:
        self.ok(self.provider, "/cancel", {"reason": "客户厂房搬迁"})
        return self

    def in_state(self, state: str) -> Deal:
        steps = {
            "active": lambda: self,
            "delivered": self.delivered,
            "accepted": self.accepted,
            "completed": self.completed,
            "cancelled": self.cancelled,
        }
        steps[state]()
        assert self.current()["status"] == state
        return self


def new_deal(market: Market, *, subsidy: bool = False, **quote: Any) -> Deal:
    if subsidy:
        market.settings(
            subsidy_programme="常州市智改数转专项资金",
            subsidy_rate_bp=3_000,
            subsidy_cap_fen=1_000_000,
        )
    sme, provider, engagement = market.awarded(**quote)
    return Deal(market, sme, provider, engagement)


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


@pytest.fixture
def deal(market: Market) -> Deal:
    return new_deal(market)


# --- reading and the plan ------------------------------------------------------------------------


def test_both_parties_see_the_engagement_they_agreed(deal: Deal) -> None:
    by_sme = deal.read(deal.sme)
    by_provider = deal.read(deal.provider)

    assert by_sme.status_code == by_provider.status_code == 200
    assert by_sme.json() == by_provider.json()
    assert by_sme.headers["ETag"] == f'W/"{by_sme.json()["version"]}"'
    body = by_sme.json()
    assert (body["status"], body["next_actions"]) == (
        "active",
        ["apply_subsidy", "cancel", "change_price", "deliver", "milestone", "update_plan"],
    )
    assert [m["status"] for m in body["milestones"]] == ["pending", "pending"]
    assert body["milestones"][0]["next_actions"] == ["submit"]
    for actor in (deal.sme, deal.provider):
        listed = deal.market.get(actor, ENGAGEMENTS).json()
        assert [e["id"] for e in listed["items"]] == [body["id"]]
    changed = events(deal.market.api, "market.engagement.changed")[-1]
    assert (changed["engagement_id"], changed["status"]) == (body["id"], "active")


def test_sme_sets_contract_reference_kpis_and_maturity_with_if_match(deal: Deal) -> None:
    etag = deal.read().headers["ETag"]

    response = deal.patch(
        {"contract_reference": "HT-2026-031", "kpis": KPIS, "maturity_level_before": 2}, etag
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["contract_reference"] == "HT-2026-031"
    assert body["maturity_level_before"] == 2
    assert [(k["name"], k["baseline"], k["target"], k["measured"]) for k in body["kpis"]] == [
        ("设备联网率", 20, 80, None),
        ("单位产值能耗", 0.5, 0.4, None),
    ]
    assert response.headers["ETag"] != etag
    stale = deal.patch({"contract_reference": "旧版本"}, etag)
    blind = deal.patch({"contract_reference": "不带版本"}, None)
    assert (stale.status_code, code(stale)) == (412, "version_conflict")
    assert (blind.status_code, code(blind)) == (428, "precondition_required")


@pytest.mark.parametrize(
    "kpis",
    [
        [{"name": "合格率", "unit": "%", "baseline": 95, "target": 93}],
        [{"name": "单位产值能耗", "direction": "decrease", "baseline": 0.4, "target": 0.5}],
        [{"name": "合格率", "baseline": 90, "target": 95}] * 2,
    ],
)
def test_kpi_targets_must_improve_and_names_be_distinct(
    deal: Deal, kpis: list[dict[str, Any]]
) -> None:
    response = deal.patch({"kpis": kpis})

    assert response.status_code == 422, response.text


def test_measurements_must_be_finite_numbers(deal: Deal) -> None:
    raw = '{"kpis": [{"name": "合格率", "baseline": NaN, "target": 95}]}'
    headers = {
        **deal.sme.headers,
        "If-Match": deal.read().headers["ETag"],
        "Content-Type": "application/json",
    }

    response = deal.market.api.client.patch(deal.url, content=raw.encode(), headers=headers)

    assert response.status_code == 422


def test_the_provider_cannot_change_the_plan(deal: Deal) -> None:
    etag = deal.read().headers["ETag"]

    response = deal.market.api.client.patch(
        deal.url,
        json={"contract_reference": "X"},
        headers={**deal.provider.headers, "If-Match": etag},
    )

    assert (response.status_code, code(response)) == (403, "wrong_party")


# --- milestones ----------------------------------------------------------------------------------


def test_milestone_moves_submit_reject_resubmit_accept(deal: Deal) -> None:
    milestone = deal.milestone(0)
    path = f"/milestones/{milestone}"

    submitted = deal.ok(deal.provider, f"{path}/submit", {"note": "20台已联网"})
    rejected = deal.ok(deal.sme, f"{path}/reject", {"reason": "3台数据断续"})
    again = deal.ok(deal.provider, f"{path}/submit", {"note": "已修复"})
    accepted = deal.ok(deal.sme, f"{path}/accept")

    assert submitted["milestones"][0]["status"] == "submitted"
    assert (rejected["milestones"][0]["status"], rejected["milestones"][0]["rejection_reason"]) == (
        "rejected",
        "3台数据断续",
    )
    assert (again["milestones"][0]["status"], again["milestones"][0]["rejection_reason"]) == (
        "submitted",
        "",
    )
    assert accepted["milestones"][0]["status"] == "accepted"
    assert accepted["milestones"][0]["next_actions"] == []
    topics = [
        e["recipients"]["org_ids"]
        for e in events(deal.market.api, "notify.engagement.milestone_submitted")
    ]
    assert topics == [[str(deal.sme.org_id)]] * 2
    assert events(deal.market.api, "notify.engagement.milestone_rejected")[-1]["recipients"][
        "org_ids"
    ] == [str(deal.provider.org_id)]


@pytest.mark.parametrize("state", ["pending", "submitted", "rejected", "accepted"])
def test_milestone_refuses_every_move_its_state_does_not_allow(deal: Deal, state: str) -> None:
    milestone = deal.milestone(0)
    path = f"/milestones/{milestone}"
    # The moves that bring the milestone into ``state``.
    moves = {
        "pending": [],
        "submitted": [("submit", deal.provider, {})],
        "rejected": [("submit", deal.provider, {}), ("reject", deal.sme, {"reason": "不合格"})],
        "accepted": [("submit", deal.provider, {}), ("accept", deal.sme, None)],
    }[state]
    for action, actor, body in moves:
        deal.ok(actor, f"{path}/{action}", body)
    attempts = {
        "submit": (deal.provider, {"note": "再交"}),
        "accept": (deal.sme, None),
        "reject": (deal.sme, {"reason": "不合格"}),
    }
    allowed = MILESTONE.allowed(state)

    for action, (actor, body) in attempts.items():
        if action in allowed:
            continue
        response = deal.post(actor, f"{path}/{action}", body)
        assert (response.status_code, code(response)) == (409, "invalid_transition"), action
        assert error(response)["details"] == {
            "entity": "milestone",
            "state": state,
            "action": action,
            "allowed_actions": allowed,
        }


def test_each_party_acts_only_on_its_side_of_a_milestone(deal: Deal) -> None:
    path = f"/milestones/{deal.milestone(0)}"

    by_sme = deal.post(deal.sme, f"{path}/submit", {})
    deal.ok(deal.provider, f"{path}/submit", {})
    by_provider = deal.post(deal.provider, f"{path}/accept")
    unknown = deal.post(deal.provider, f"/milestones/{uuid.uuid4()}/submit", {})

    assert (by_sme.status_code, code(by_sme)) == (403, "wrong_party")
    assert (by_provider.status_code, code(by_provider)) == (403, "wrong_party")
    assert (unknown.status_code, code(unknown)) == (404, "milestone_not_found")


# --- delivery, 验收, completion ------------------------------------------------------------------


def test_delivery_needs_every_milestone_handed_in(deal: Deal) -> None:
    deal.planned().ok(deal.provider, f"/milestones/{deal.milestone(0)}/submit", {})

    early = deal.post(deal.provider, "/deliver", {"note": "交付"})
    deal.submit_all()
    delivered = deal.ok(deal.provider, "/deliver", {"note": "全部交付"})

    assert (early.status_code, code(early)) == (409, "milestones_open")
    assert error(early)["details"] == {"milestones": ["看板上线"]}
    assert (delivered["status"], delivered["delivery_note"]) == ("delivered", "全部交付")
    assert delivered["delivered_at"] is not None
    assert events(deal.market.api, "notify.engagement.delivered")[-1]["recipients"]["org_ids"] == [
        str(deal.sme.org_id)
    ]


def test_sme_sends_a_delivery_back_and_it_can_be_delivered_again(deal: Deal) -> None:
    deal.planned().submit_all().ok(deal.provider, "/deliver", {})

    back = deal.ok(deal.sme, "/reject-delivery", {"reason": "看板数据不准"})
    fixed = deal.ok(deal.provider, "/deliver", {"note": "已修正"})

    assert (back["status"], back["status_reason"], back["delivered_at"]) == (
        "active",
        "看板数据不准",
        None,
    )
    assert fixed["status"] == "delivered"


def test_acceptance_records_measured_kpis_and_the_level_after(deal: Deal) -> None:
    deal.delivered()

    accepted = deal.ok(deal.sme, "/accept", ACCEPTANCE)

    assert accepted["status"] == "accepted"
    assert accepted["accepted_at"] is not None
    assert (accepted["maturity_level_before"], accepted["maturity_level_after"]) == (2, 3)
    assert accepted["acceptance_note"] == "现场验收通过"
    kpis = {k["name"]: k for k in accepted["kpis"]}
    assert (kpis["设备联网率"]["measured"], kpis["设备联网率"]["delta"]) == (85, 65)
    assert kpis["设备联网率"]["target_met"] is True
    # Energy per output fell from 0.5 to 0.42 but missed the 0.4 target.
    assert kpis["单位产值能耗"]["delta"] == pytest.approx(-0.08)
    assert kpis["单位产值能耗"]["target_met"] is False
    assert events(deal.market.api, "notify.engagement.accepted")[-1]["recipients"]["org_ids"] == [
        str(deal.provider.org_id)
    ]


def test_acceptance_needs_kpis_every_milestone_accepted_and_every_kpi_measured(
    deal: Deal,
) -> None:
    deal.submit_all().ok(deal.provider, "/deliver", {})
    no_kpis = deal.post(deal.sme, "/accept", ACCEPTANCE)
    deal.ok(deal.sme, "/reject-delivery", {"reason": "先定指标"})
    deal.planned().ok(deal.provider, "/deliver", {})
    open_milestones = deal.post(deal.sme, "/accept", ACCEPTANCE)
    deal.ok(deal.sme, "/reject-delivery", {"reason": "先验里程碑"})
    deal.accept_all().ok(deal.provider, "/deliver", {})
    missing = deal.post(
        deal.sme, "/accept", {"measured": MEASURED["measured"][:1], "maturity_level_after": 3}
    )
    unknown = deal.post(
        deal.sme,
        "/accept",
        {
            "measured": [*MEASURED["measured"], {"name": "合格率", "value": 99}],
            "maturity_level_after": 3,
        },
    )

    assert (no_kpis.status_code, code(no_kpis)) == (409, "kpis_missing")
    assert (open_milestones.status_code, code(open_milestones)) == (409, "milestones_open")
    assert missing.status_code == 422
    assert error(missing)["details"][0]["type"] == "missing"
    assert unknown.status_code == 422
    assert error(unknown)["details"][0]["type"] == "unknown"
    assert deal.current()["status"] == "delivered"


def test_sme_completes_an_accepted_engagement(deal: Deal) -> None:
    deal.accepted()

    done = deal.ok(deal.sme, "/complete")

    # Only the subsidy claim remains possible; reviews and disputes will hang on from here.
    assert (done["status"], done["next_actions"]) == ("completed", ["apply_subsidy"])
    assert done["completed_at"] is not None
    told = events(deal.market.api, "notify.engagement.completed")[-1]["recipients"]["org_ids"]
    assert told == sorted([str(deal.sme.org_id), str(deal.provider.org_id)])
    changed = events(deal.market.api, "market.engagement.changed")[-1]
    assert changed["status"] == "completed"


@pytest.mark.parametrize("by", ["sme", "provider"])
@pytest.mark.parametrize("state", ["active", "delivered"])
def test_either_party_cancels_with_a_reason(market: Market, by: str, state: str) -> None:
    deal = new_deal(market).in_state(state)
    actor, other = (deal.sme, deal.provider) if by == "sme" else (deal.provider, deal.sme)

    cancelled = deal.ok(actor, "/cancel", {"reason": "资金未到位"})

    assert (cancelled["status"], cancelled["status_reason"]) == ("cancelled", "资金未到位")
    assert events(market.api, "notify.engagement.cancelled")[-1]["recipients"]["org_ids"] == [
        str(other.org_id)
    ]
    assert deal.post(actor, "/cancel", {}).status_code == 422


# --- the engagement state machine: every refused move --------------------------------------------


def _attempt(deal: Deal, action: str) -> httpx.Response:
    milestone = deal.milestone(0)
    calls = {
        "update_plan": lambda: deal.patch({"contract_reference": "变更"}),
        "milestone": lambda: deal.post(deal.provider, f"/milestones/{milestone}/submit", {}),
        "deliver": lambda: deal.post(deal.provider, "/deliver", {}),
        "reject_delivery": lambda: deal.post(deal.sme, "/reject-delivery", {"reason": "不行"}),
        "accept": lambda: deal.post(deal.sme, "/accept", ACCEPTANCE),
        "complete": lambda: deal.post(deal.sme, "/complete"),
        "cancel": lambda: deal.post(deal.provider, "/cancel", {"reason": "取消"}),
        "change_price": lambda: deal.post(
            deal.provider,
            "/change-requests",
            {"reason": "增加点位", "contract_value_fen": 9_999_999},
        ),
        "apply_subsidy": lambda: deal.post(
            deal.sme, "/subsidy", {"application_reference": "ZG-1", "amount_fen": 1}
        ),
    }
    assert set(calls) == set(ENGAGEMENT.moves)
    return calls[action]()


@pytest.mark.parametrize("state", ["active", "delivered", "accepted", "completed", "cancelled"])
def test_engagement_refuses_every_move_its_state_does_not_allow(market: Market, state: str) -> None:
    deal = new_deal(market).in_state(state)
    allowed = ENGAGEMENT.allowed(state)
    version = deal.current()["version"]

    for action in ENGAGEMENT.moves:
        if action in allowed:
            continue
        response = _attempt(deal, action)
        assert (response.status_code, code(response)) == (409, "invalid_transition"), action
        assert error(response)["details"] == {
            "entity": "engagement",
            "state": state,
            "action": action,
            "allowed_actions": allowed,
        }, action
    assert deal.current()["version"] == version


# --- price changes after award -------------------------------------------------------------------


def test_price_change_applies_only_once_the_sme_consents(market: Market) -> None:
    deal = new_deal(market, subsidy=True)
    before = deal.current()
    first, second = deal.milestone(0), deal.milestone(1)
    body = {
        "reason": "新增8台注塑机接入",
        "contract_value_fen": 2_560_000,
        "milestone_amounts": {first: 1_500_000, second: 500_000},
    }

    proposed = deal.post(deal.provider, "/change-requests", body)

    assert proposed.status_code == 201, proposed.text
    change = proposed.json()
    assert (change["status"], change["contract_value_before_fen"]) == ("proposed", 2_160_000)
    waiting = deal.current()
    assert waiting["contract_value_fen"] == before["contract_value_fen"]
    assert waiting["pending_change_request"]["id"] == change["id"]
    assert events(market.api, "notify.engagement.change_proposed")[-1]["recipients"]["org_ids"] == [
        str(deal.sme.org_id)
    ]

    decided = deal.ok(deal.sme, f"/change-requests/{change['id']}/accept", {"reason": "同意"})

    assert decided["status"] == "accepted"
    after = deal.current()
    assert after["contract_value_fen"] == 2_560_000
    assert [m["amount_fen"] for m in after["milestones"]] == [1_500_000, 500_000]
    # The three-year list price moves by the same 400,000; 30 % subsidy, capped at 1,000,000.
    assert after["split"] == {
        "list_fen": 4_480_000,
        "concession_fen": 0,
        "subsidy_fen": 1_000_000,
        "sme_net_fen": 3_480_000,
    }
    assert after["pending_change_request"] is None
    history = market.get(deal.sme, f"{deal.url}/change-requests").json()
    assert [c["status"] for c in history] == ["accepted"]


def test_rejected_or_withdrawn_change_leaves_the_price(deal: Deal) -> None:
    body = {"reason": "涨价", "contract_value_fen": 3_000_000}
    one = deal.ok(deal.provider, "/change-requests", body)
    pending = deal.post(deal.provider, "/change-requests", body)
    rejected = deal.ok(deal.sme, f"/change-requests/{one['id']}/reject", {"reason": "不同意"})
    two = deal.ok(deal.provider, "/change-requests", body)
    withdrawn = deal.ok(deal.provider, f"/change-requests/{two['id']}/withdraw", {})

    assert (pending.status_code, code(pending)) == (409, "change_request_pending")
    assert (rejected["status"], rejected["decision_reason"]) == ("rejected", "不同意")
    assert withdrawn["status"] == "withdrawn"
    assert deal.current()["contract_value_fen"] == 2_160_000
    for change in (rejected, withdrawn):
        for action, actor in (
            ("accept", deal.sme),
            ("reject", deal.sme),
            ("withdraw", deal.provider),
        ):
            response = deal.post(
                actor, f"/change-requests/{change['id']}/{action}", {"reason": "r"}
            )
            assert (response.status_code, code(response)) == (409, "invalid_transition")
            assert error(response)["details"]["state"] == change["status"]
            assert error(response)["details"]["allowed_actions"] == CHANGE_REQUEST.allowed(
                change["status"]
            )


def test_change_requests_are_checked(deal: Deal) -> None:
    first = deal.milestone(0)
    deal.ok(deal.provider, f"/milestones/{first}/submit", {})
    deal.ok(deal.sme, f"/milestones/{first}/accept")
    cases = [
        ({"reason": "无变化", "contract_value_fen": 2_160_000}, "body"),
        (
            {
                "reason": "改已验收",
                "contract_value_fen": 3_000_000,
                "milestone_amounts": {first: 1},
            },
            f"body.milestone_amounts.{first}",
        ),
        (
            {
                "reason": "不存在",
                "contract_value_fen": 3_000_000,
                "milestone_amounts": {str(uuid.uuid4()): 1},
            },
            "body.milestone_amounts",
        ),
        ({"reason": "低于里程碑", "contract_value_fen": 1_000_000}, "body.contract_value_fen"),
    ]

    for body, field in cases:
        response = deal.post(deal.provider, "/change-requests", body)
        assert response.status_code == 422, response.text
        assert error(response)["details"][0]["field"].startswith(field), body


def test_each_party_has_its_side_of_a_price_change(deal: Deal) -> None:
    by_sme = deal.post(deal.sme, "/change-requests", {"reason": "x", "contract_value_fen": 1})
    change = deal.ok(
        deal.provider, "/change-requests", {"reason": "涨价", "contract_value_fen": 3_000_000}
    )
    self_accept = deal.post(deal.provider, f"/change-requests/{change['id']}/accept", {})
    sme_withdraw = deal.post(deal.sme, f"/change-requests/{change['id']}/withdraw", {})
    unknown = deal.post(deal.sme, f"/change-requests/{uuid.uuid4()}/accept", {})

    assert (by_sme.status_code, code(by_sme)) == (403, "wrong_party")
    assert (self_accept.status_code, code(self_accept)) == (403, "wrong_party")
    assert (sme_withdraw.status_code, code(sme_withdraw)) == (403, "wrong_party")
    assert (unknown.status_code, code(unknown)) == (404, "change_request_not_found")


def test_pending_change_blocks_acceptance_and_cancel_withdraws_it(deal: Deal) -> None:
    deal.delivered()
    change = deal.ok(
        deal.provider, "/change-requests", {"reason": "追加", "contract_value_fen": 3_000_000}
    )

    blocked = deal.post(deal.sme, "/accept", ACCEPTANCE)
    deal.ok(deal.sme, "/cancel", {"reason": "不再继续"})

    assert (blocked.status_code, code(blocked)) == (409, "change_request_pending")
    history = deal.market.get(deal.sme, f"{deal.url}/change-requests").json()
    assert [(c["id"], c["status"]) for c in history] == [(change["id"], "withdrawn")]


# --- subsidy -------------------------------------------------------------------------------------


def test_sme_applies_and_the_pools_curator_approves_then_pays_after_acceptance(
    market: Market,
) -> None:
    deal = new_deal(market, subsidy=True)
    ceiling = deal.current()["split"]["subsidy_fen"]
    key = {"Idempotency-Key": "subsidy-1"}
    body = {"application_reference": "CZ-ZGSZ-2026-0042", "amount_fen": ceiling}

    applied = deal.post(deal.sme, "/subsidy", body, headers=key)
    replay = deal.post(deal.sme, "/subsidy", body, headers=key)
    curator = market.curator

    assert ceiling == 1_000_000  # 30 % of 4,080,000 is 1,224,000, capped at 1,000,000
    assert applied.status_code == replay.status_code == 201, applied.text
    assert replay.json() == applied.json()
    assert applied.json()["status"] == "applied"
    approved = deal.ok(
        curator, "/subsidy/decision", {"decision": "approve", "approved_amount_fen": 900_000}
    )
    assert (approved["status"], approved["approved_amount_fen"]) == ("approved", 900_000)
    early = deal.post(curator, "/subsidy/decision", {"decision": "pay"})
    assert (early.status_code, code(early)) == (409, "results_not_accepted")
    deal.accepted()
    paid = deal.ok(curator, "/subsidy/decision", {"decision": "pay", "reason": "已拨付"})
    assert (paid["status"], paid["paid_at"] is not None) == ("paid", True)
    assert deal.current()["subsidy"]["status"] == "paid"
    listed = market.get(curator, f"/api/v1/pools/{market.pool_id}/subsidies").json()
    assert [(s["id"], s["status"]) for s in listed["items"]] == [(paid["id"], "paid")]
    with market.api.db.transaction() as session:
        actions = list(
            session.scalars(
                select(AuditRecord.action)
                .where(AuditRecord.target_type == "subsidy_record")
                .order_by(AuditRecord.at)
            )
        )
    assert actions == ["subsidy.approved", "subsidy.paid"]
    told = events(market.api, "notify.engagement.subsidy_paid")[-1]["recipients"]["org_ids"]
    assert told == [str(deal.sme.org_id)]


def test_subsidy_claims_are_checked(market: Market) -> None:
    deal = new_deal(market, subsidy=True)

    too_much = deal.post(
        deal.sme, "/subsidy", {"application_reference": "A", "amount_fen": 1_000_001}
    )
    by_provider = deal.post(
        deal.provider, "/subsidy", {"application_reference": "A", "amount_fen": 1}
    )
    deal.ok(deal.sme, "/subsidy", {"application_reference": "A", "amount_fen": 500_000})
    twice = deal.post(deal.sme, "/subsidy", {"application_reference": "B", "amount_fen": 1})
    over = deal.post(
        market.curator, "/subsidy/decision", {"decision": "approve", "approved_amount_fen": 500_001}
    )
    unreasoned = deal.post(market.curator, "/subsidy/decision", {"decision": "reject"})

    assert (too_much.status_code, error(too_much)["details"][0]["field"]) == (
        422,
        "body.amount_fen",
    )
    assert (by_provider.status_code, code(by_provider)) == (403, "wrong_party")
    assert (twice.status_code, code(twice)) == (409, "subsidy_already_applied")
    assert over.status_code == 422
    assert unreasoned.status_code == 422


def test_no_programme_means_no_subsidy_record(deal: Deal) -> None:
    response = deal.post(deal.sme, "/subsidy", {"application_reference": "A", "amount_fen": 1})
    missing = deal.market.get(deal.sme, f"{deal.url}/subsidy")

    assert (response.status_code, code(response)) == (409, "no_subsidy_programme")
    assert deal.current()["split"]["subsidy_fen"] == 0
    assert (missing.status_code, code(missing)) == (404, "subsidy_not_found")


@pytest.mark.parametrize("state", ["approved", "rejected", "paid"])
def test_subsidy_refuses_every_decision_its_state_does_not_allow(
    market: Market, state: str
) -> None:
    deal = new_deal(market, subsidy=True)
    deal.ok(deal.sme, "/subsidy", {"application_reference": "A", "amount_fen": 100})
    curator = market.curator
    if state in ("approved", "paid"):
        deal.ok(curator, "/subsidy/decision", {"decision": "approve"})
    if state == "paid":
        deal.accepted()
        deal.ok(curator, "/subsidy/decision", {"decision": "pay"})
    if state == "rejected":
        deal.ok(
            curator, "/subsidy/decision", {"decision": "reject", "reason": "发票日期不在核算期内"}
        )
    allowed = SUBSIDY.allowed(state)

    for decision in ("approve", "reject", "pay"):
        if decision in allowed:
            continue
        response = deal.post(curator, "/subsidy/decision", {"decision": decision, "reason": "r"})
        assert (response.status_code, code(response)) == (409, "invalid_transition"), decision
        assert error(response)["details"]["state"] == state
        assert error(response)["details"]["allowed_actions"] == allowed


# --- capacity ------------------------------------------------------------------------------------


def test_active_and_delivered_engagements_occupy_the_provider(market: Market) -> None:
    provider = market.provider(capacity=3)
    deals: list[Deal] = []
    sme = market.sme()
    for _ in range(3):
        _, _, engagement = market.awarded(sme=sme, provider=provider)
        deals.append(Deal(market, sme, provider, engagement))
    deals[1].delivered()
    deals[2].accepted()

    with market.api.db.transaction() as session:
        counts = engagements.occupying_counts(session, [provider.provider_id, uuid.uuid4()])

    assert counts[provider.provider_id] == 2
    assert sorted(counts.values()) == [0, 2]
