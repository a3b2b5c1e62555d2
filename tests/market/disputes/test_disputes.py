"""A dispute's life: a party opens it on an engagement, the pool's curator mediates in a thread
with evidence, proposes a resolution the parties accept or reject, and the outcome is recorded
(by agreement, withdrawn, decided or closed without agreement). Every transition of the machine,
allowed and refused; the audit trail; the inbox; the provider's record for its re-review."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from catalog.pools import rereview
from catalog.pools.models import PoolApplication, PoolRereview
from catalog.pools.storage import LocalDirectoryStorage
from core.audit import AuditRecord
from core.database import utcnow
from market.disputes.models import DISPUTE
from tests.market.engagements.test_engagements import Deal, new_deal
from tests.market.rfqs.test_rfq_flow import Market, code, events, new_market
from tests.support import Actor, Api

DISPUTES = "/api/v1/disputes"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OPENING = {"category": "quality", "description": "设备联网率只有 40%，远低于合同约定的 80%"}


@dataclass
class Case:
    """A dispute on a deal, with helpers for the parties' and the mediator's calls."""

    deal: Deal
    dispute: dict[str, Any]

    @property
    def market(self) -> Market:
        return self.deal.market

    @property
    def url(self) -> str:
        return f"{DISPUTES}/{self.dispute['id']}"

    def post(self, actor: Actor, path: str, body: Any = None) -> httpx.Response:
        return self.market.post(actor, f"{self.url}{path}", body)

    def ok(self, actor: Actor, path: str, body: Any = None) -> dict[str, Any]:
        response = self.post(actor, path, body)
        assert response.status_code in (200, 201), response.text
        self.dispute = response.json()
        return self.dispute

    def read(self, actor: Actor) -> httpx.Response:
        return self.market.get(actor, self.url)

    def proposed(self) -> Case:
        self.ok(self.market.curator, "/proposal", {"proposal": "服务商免费返工两周，企业延后验收"})
        return self

    def in_state(self, state: str) -> Case:
        steps = {
            "open": lambda: None,
            "proposed": self.proposed,
            "resolved": lambda: self.proposed().both_accept(),
            "withdrawn": lambda: self.ok(self.deal.sme, "/withdraw", {"reason": "已私下解决"}),
            "closed": lambda: self.ok(
                self.market.curator,
                "/close",
                {"outcome": "closed_without_agreement", "reason": "双方分歧过大"},
            ),
        }
        steps[state]()
        assert self.dispute["status"] == state
        return self

    def both_accept(self) -> None:
        self.ok(self.deal.sme, "/response", {"accept": True})
        self.ok(self.deal.provider, "/response", {"accept": True})


def open_case(deal: Deal, by: Actor | None = None, **body: Any) -> Case:
    response = deal.market.post(by or deal.sme, f"{deal.url}/disputes", {**OPENING, **body})
    assert response.status_code == 201, response.text
    return Case(deal, response.json())


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


@pytest.fixture
def deal(market: Market) -> Deal:
    return new_deal(market)


@pytest.fixture
def case(deal: Deal) -> Case:
    return open_case(deal)


@pytest.fixture
def store(api: Api, tmp_path: Path) -> LocalDirectoryStorage:
    storage = LocalDirectoryStorage(tmp_path / "uploads")
    api.client.app.state.evidence_storage = storage  # type: ignore[attr-defined]
    return storage


# --- opening -------------------------------------------------------------------------------------


def test_either_party_opens_a_dispute_mediated_by_the_pool(deal: Deal) -> None:
    response = deal.market.post(deal.provider, f"{deal.url}/disputes", OPENING)

    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == f"{DISPUTES}/{body['id']}"
    assert (body["status"], body["opened_by_side"], body["viewer"]) == (
        "open",
        "provider",
        "provider",
    )
    assert body["pool_id"] == deal.market.pool_id
    assert body["engagement_title"] == deal.engagement["title"]
    assert body["next_actions"] == ["add_evidence", "message", "withdraw"]
    opened = events(deal.market.api, "notify.dispute.opened")[-1]
    assert opened["recipients"]["curators_of_pool"] == deal.market.pool_id
    assert opened["recipients"]["org_ids"] == sorted(
        [str(deal.sme.org_id), str(deal.provider.org_id)]
    )


def test_the_other_party_sees_what_it_may_do(case: Case) -> None:
    seen = case.read(case.deal.provider).json()

    assert seen["viewer"] == "provider"
    # Only the side that opened it may withdraw.
    assert seen["next_actions"] == ["add_evidence", "message"]
    mediator = case.read(case.market.curator).json()
    assert (mediator["viewer"], mediator["next_actions"]) == (
        "mediator",
        ["close", "message", "propose"],
    )


def test_one_live_dispute_per_engagement(case: Case) -> None:
    again = case.market.post(case.deal.provider, f"{case.deal.url}/disputes", OPENING)

    assert again.status_code == 409
    assert code(again) == "dispute_already_open"


def test_a_new_dispute_may_follow_a_finished_one(case: Case) -> None:
    case.in_state("withdrawn")

    again = case.market.post(case.deal.provider, f"{case.deal.url}/disputes", OPENING)

    assert again.status_code == 201, again.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "weather", "description": "x"}, "category"),
        ({"category": "quality", "description": ""}, "description"),
        ({"category": "quality", "description": "x", "status": "resolved"}, "status"),
    ],
)
def test_opening_checks_the_category_and_description(
    deal: Deal, body: dict[str, Any], field: str
) -> None:
    response = deal.market.post(deal.sme, f"{deal.url}/disputes", body)

    assert response.status_code == 422
    assert field in response.text


def test_a_dispute_without_an_engagement_pool_is_mediated_where_the_provider_is_listed(
    deal: Deal, api: Api
) -> None:
    from market.engagements.models import Engagement

    with api.db.transaction() as session:
        engagement = session.get(Engagement, uuid.UUID(deal.engagement["id"]))
        assert engagement is not None
        engagement.pool_id = None

    body = open_case(deal).dispute

    assert body["pool_id"] == deal.market.pool_id


# --- the thread and evidence ---------------------------------------------------------------------


def test_parties_and_mediator_write_in_one_thread(case: Case) -> None:
    case.ok(case.deal.sme, "/messages", {"body": "请提供联网率测试记录"})
    case.ok(case.market.curator, "/messages", {"body": "请双方在三日内提交证据"})
    body = case.ok(case.deal.provider, "/messages", {"body": "已上传测试报告"})

    assert [(m["author_side"], m["kind"]) for m in body["messages"]] == [
        ("sme", "message"),
        ("mediator", "message"),
        ("provider", "message"),
    ]
    # The mediator is told of the parties' messages, the parties of the mediator's.
    told = events(case.market.api, "notify.dispute.message")
    assert [e["recipients"]["curators_of_pool"] for e in told] == [
        case.market.pool_id,
        None,
        case.market.pool_id,
    ]


def test_a_party_uploads_evidence_that_both_sides_and_the_mediator_download(
    case: Case, store: LocalDirectoryStorage
) -> None:
    files = {"file": ("测试报告.pdf", PDF, "application/pdf")}
    response = case.market.api.client.post(
        f"{case.url}/evidence", files=files, headers=case.deal.provider.headers
    )

    assert response.status_code == 201, response.text
    evidence = response.json()
    assert (evidence["side"], evidence["filename"], evidence["size_bytes"]) == (
        "provider",
        "测试报告.pdf",
        len(PDF),
    )
    for actor in (case.deal.sme, case.deal.provider, case.market.curator):
        download = case.market.get(actor, f"{case.url}/evidence/{evidence['id']}")
        assert download.status_code == 200
        assert download.content == PDF
        assert download.headers["content-disposition"].startswith("attachment;")
    assert [e["id"] for e in case.read(case.deal.sme).json()["evidence"]] == [evidence["id"]]


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        ("fake.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"),
        ("page.html", b"<html><script>alert(1)</script>", "text/html"),
    ],
)
def test_evidence_must_be_what_it_claims(
    case: Case, store: LocalDirectoryStorage, name: str, content: bytes, declared: str
) -> None:
    response = case.market.api.client.post(
        f"{case.url}/evidence",
        files={"file": (name, content, declared)},
        headers=case.deal.sme.headers,
    )

    assert response.status_code == 415
    assert case.read(case.deal.sme).json()["evidence"] == []


def test_evidence_larger_than_the_limit_is_refused(
    case: Case, store: LocalDirectoryStorage, settings: Any
) -> None:
    big = PDF + b"0" * (settings.max_upload_mb * 1024 * 1024)
    response = case.market.api.client.post(
        f"{case.url}/evidence",
        files={"file": ("big.pdf", big, "application/pdf")},
        headers=case.deal.sme.headers,
    )

    assert response.status_code == 413


def test_evidence_of_another_dispute_is_not_found(
    case: Case, store: LocalDirectoryStorage, market: Market
) -> None:
    files = {"file": ("a.pdf", PDF, "application/pdf")}
    evidence = market.api.client.post(
        f"{case.url}/evidence", files=files, headers=case.deal.sme.headers
    ).json()
    other = open_case(new_deal(market))

    response = market.get(other.deal.sme, f"{other.url}/evidence/{evidence['id']}")

    assert response.status_code == 404


# --- proposals and outcomes ----------------------------------------------------------------------


def test_both_parties_accepting_the_proposal_resolves_the_dispute(case: Case) -> None:
    case.proposed()
    half = case.ok(case.deal.sme, "/response", {"accept": True})
    assert (half["status"], half["sme_response"], half["provider_response"]) == (
        "proposed",
        "accepted",
        "",
    )
    assert "accept_proposal" not in half["next_actions"]

    done = case.ok(case.deal.provider, "/response", {"accept": True})

    assert (done["status"], done["outcome"]) == ("resolved", "resolved_by_agreement")
    assert done["outcome_reason"] == "服务商免费返工两周，企业延后验收"
    assert done["closed_at"] is not None
    assert done["next_actions"] == []
    assert events(case.market.api, "notify.dispute.resolved")


def test_one_party_rejecting_sends_the_dispute_back_to_mediation(case: Case) -> None:
    case.proposed()

    back = case.ok(case.deal.provider, "/response", {"accept": False, "reason": "返工期太短"})

    assert (back["status"], back["provider_response"]) == ("open", "rejected")
    # A new proposal starts the answers afresh.
    again = case.ok(case.market.curator, "/proposal", {"proposal": "返工三周"})
    assert (again["sme_response"], again["provider_response"]) == ("", "")
    assert [m["kind"] for m in again["messages"]] == ["proposal", "rejected", "proposal"]


def test_rejecting_needs_a_reason(case: Case) -> None:
    case.proposed()

    response = case.post(case.deal.sme, "/response", {"accept": False})

    assert response.status_code == 422
    assert "reason" in response.text


def test_a_side_answers_a_proposal_once(case: Case) -> None:
    case.proposed().ok(case.deal.sme, "/response", {"accept": True})

    response = case.post(case.deal.sme, "/response", {"accept": True})

    assert response.status_code == 409
    assert code(response) == "already_answered"


def test_the_mediator_decides_and_the_decision_is_audited(case: Case, api: Api) -> None:
    body = case.ok(case.market.curator, "/close", {"outcome": "decided", "reason": "服务商返工"})

    assert (body["status"], body["outcome"], body["outcome_reason"]) == (
        "closed",
        "decided",
        "服务商返工",
    )
    with api.db.transaction() as session:
        records = session.scalars(
            select(AuditRecord).where(AuditRecord.target_id == case.dispute["id"])
        ).all()
        assert [(r.action, r.actor_role, r.reason) for r in records] == [
            ("dispute.close", "curator", "服务商返工")
        ]
        assert records[0].scope_id == uuid.UUID(case.market.pool_id)
        assert records[0].subject_org_id == case.deal.provider.org_id


def test_proposals_are_audited(case: Case, api: Api) -> None:
    case.proposed()

    with api.db.transaction() as session:
        actions = session.scalars(
            select(AuditRecord.action).where(AuditRecord.target_id == case.dispute["id"])
        ).all()
    assert actions == ["dispute.propose"]


def test_only_the_opening_side_withdraws(case: Case) -> None:
    refused = case.post(case.deal.provider, "/withdraw", {"reason": "不同意"})
    assert refused.status_code == 403
    assert code(refused) == "opener_required"

    body = case.ok(case.deal.sme, "/withdraw", {"reason": "已私下解决"})

    assert (body["status"], body["outcome"], body["outcome_reason"]) == (
        "withdrawn",
        "withdrawn",
        "已私下解决",
    )


# --- the state machine ---------------------------------------------------------------------------

STATES = ("open", "proposed", "resolved", "withdrawn", "closed")


def _attempt(case: Case, action: str) -> httpx.Response:
    deal, curator = case.deal, case.market.curator
    calls = {
        "message": lambda: case.post(deal.sme, "/messages", {"body": "补充说明"}),
        "propose": lambda: case.post(curator, "/proposal", {"proposal": "各让一步"}),
        "accept_proposal": lambda: case.post(deal.sme, "/response", {"accept": True}),
        "reject_proposal": lambda: case.post(
            deal.sme, "/response", {"accept": False, "reason": "不接受"}
        ),
        "withdraw": lambda: case.post(deal.sme, "/withdraw", {"reason": "撤回"}),
        "close": lambda: case.post(curator, "/close", {"outcome": "decided", "reason": "裁定"}),
    }
    return calls[action]()


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize(
    "action", ["message", "propose", "accept_proposal", "reject_proposal", "withdraw", "close"]
)
def test_every_transition_is_allowed_or_refused_as_the_machine_says(
    market: Market, state: str, action: str
) -> None:
    case = open_case(new_deal(market)).in_state(state)

    response = _attempt(case, action)

    if state in DISPUTE.moves[action][0]:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 409, response.text
        assert code(response) == "invalid_transition"
        assert response.json()["error"]["details"]["state"] == state
        assert case.read(case.deal.sme).json()["status"] == state


def test_the_machine_names_the_states_the_table_allows() -> None:
    assert DISPUTE.states == frozenset(STATES)
    assert DISPUTE.allowed("proposed") == [
        "accept_proposal",
        "add_evidence",
        "close",
        "message",
        "propose",
        "reject_proposal",
        "settle",
        "withdraw",
    ]
    assert all(DISPUTE.allowed(final) == [] for final in ("resolved", "withdrawn", "closed"))


# --- lists, inbox, re-review record --------------------------------------------------------------


def test_lists_show_each_caller_its_own_disputes(case: Case, market: Market, api: Api) -> None:
    other = open_case(new_deal(market), by=None)
    stranger_curator = api.curator(admin=market.admin)

    def ids(actor: Actor, query: str = "") -> list[str]:
        response = market.get(actor, f"{DISPUTES}{query}")
        assert response.status_code == 200, response.text
        return [d["id"] for d in response.json()["items"]]

    assert ids(case.deal.sme) == [case.dispute["id"]]
    assert ids(case.deal.provider) == [case.dispute["id"]]
    assert sorted(ids(market.curator)) == sorted([case.dispute["id"], other.dispute["id"]])
    assert ids(stranger_curator) == []
    other.in_state("withdrawn")
    assert ids(market.curator, "?status=live") == [case.dispute["id"]]
    assert set(ids(market.admin)) >= {case.dispute["id"], other.dispute["id"]}


def test_dispute_updates_reach_the_parties_and_mediators_inboxes(case: Case) -> None:
    case.proposed()

    def topics(actor: Actor) -> list[str]:
        return [i["topic"] for i in case.market.get(actor, "/api/v1/inbox").json()["items"]]

    assert "dispute.opened" in topics(case.market.curator)
    assert {"dispute.opened", "dispute.proposed"} <= set(topics(case.deal.provider))
    item = next(
        i
        for i in case.market.get(case.deal.sme, "/api/v1/inbox").json()["items"]
        if i["topic"] == "dispute.proposed"
    )
    assert item["title"].startswith("收到调解方案 / Resolution proposed")


def _rereview_round(api: Api, market: Market, provider: Actor) -> uuid.UUID:
    with api.db.transaction() as session:
        application = session.scalar(
            select(PoolApplication).where(
                PoolApplication.provider_id == provider.provider_id,
                PoolApplication.pool_id == uuid.UUID(market.pool_id),
            )
        )
        assert application is not None
        round_ = PoolRereview(
            application_id=application.id,
            trigger="on_demand",
            reason="定期考核",
            state="open",
            scorecard=[],
            opened_at=utcnow(),
        )
        session.add(round_)
        session.flush()
        return round_.id


def test_disputes_count_in_the_providers_rereview(market: Market, api: Api) -> None:
    deal = new_deal(market)
    open_case(deal).in_state("resolved")
    open_case(deal).in_state("closed")
    open_case(deal)
    round_id = _rereview_round(api, market, deal.provider)

    response = market.get(market.curator, f"/api/v1/rereviews/{round_id}/dispute-record")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "provider_id": str(deal.provider.provider_id),
        "opened": 3,
        "live": 1,
        "resolved_by_agreement": 1,
        "withdrawn": 0,
        "decided": 0,
        "closed_without_agreement": 1,
    }
    with api.db.transaction() as session:
        assert rereview.dispute_record(session, uuid.uuid4()) == rereview.DisputeRecord()
    for outsider in (deal.provider, deal.sme, api.curator(admin=market.admin)):
        refused = market.get(outsider, f"/api/v1/rereviews/{round_id}/dispute-record")
        assert refused.status_code in (403, 404)
