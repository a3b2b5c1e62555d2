"""The market's events reach the inboxes of the users they concern, titled in Chinese and
English: RFQ invitations, quotes (submitted, revised, accepted, lost), engagement milestones,
delivery and 验收, change requests, and disputes."""

from __future__ import annotations

from typing import Any

import pytest

from market.inbox import service
from market.notify.wording import MARKET_TEMPLATES
from tests.market.engagements.test_engagements import new_deal
from tests.market.rfqs.test_rfq_flow import Market, new_market
from tests.support import Actor, Api

# Every notify.* topic the RFQ, engagement and dispute services emit.
EMITTED = (
    "rfq.invited",
    "rfq.deadline_extended",
    "rfq.cancelled",
    "rfq.expired",
    "rfq.closed",
    "rfq.message",
    "invitation.declined",
    "quote.submitted",
    "quote.abnormally_low",
    "quote.cost_breakdown",
    "quote.accepted",
    "engagement.milestone_submitted",
    "engagement.milestone_accepted",
    "engagement.milestone_rejected",
    "engagement.delivered",
    "engagement.delivery_rejected",
    "engagement.accepted",
    "engagement.completed",
    "engagement.cancelled",
    "engagement.change_proposed",
    "engagement.change_accepted",
    "engagement.change_rejected",
    "engagement.change_withdrawn",
    "engagement.subsidy_approved",
    "engagement.subsidy_rejected",
    "engagement.subsidy_paid",
    "dispute.opened",
    "dispute.message",
    "dispute.evidence",
    "dispute.proposed",
    "dispute.proposal_accepted",
    "dispute.proposal_rejected",
    "dispute.resolved",
    "dispute.withdrawn",
    "dispute.closed",
)


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


def titles(market: Market, actor: Actor) -> dict[str, str]:
    items = market.get(actor, "/api/v1/inbox?size=100").json()["items"]
    return {item["topic"]: item["title"] for item in reversed(items)}


@pytest.mark.parametrize("topic", EMITTED)
def test_every_market_topic_has_a_bilingual_title_naming_its_subject(topic: str) -> None:
    payload: dict[str, Any] = {"title": "注塑车间数采", "reason": "理由", "revision": 1}

    title, body = service.render(f"notify.{topic}", payload)

    assert topic in MARKET_TEMPLATES
    zh, en = title.split(" / ", 1)
    assert zh
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)
    assert en[0].isascii()
    assert en.endswith("：注塑车间数采")
    assert body.strip()


def test_a_revised_quote_is_told_as_a_revision() -> None:
    title, body = service.render("notify.quote.submitted", {"title": "数采", "revision": 2})

    assert title == "报价已修改 / Quote revised：数采"
    assert "第 2 版" in body


def test_rfq_and_quote_events_reach_each_side(market: Market) -> None:
    sme, winner, loser = market.sme(), market.provider(), market.provider()
    rfq = market.rfq(sme, [winner, loser])
    market.quote(loser, market.invitation(rfq, loser))
    offered = market.quote(winner, market.invitation(rfq, winner))

    market.accept(sme, offered["id"])

    assert titles(market, winner)["rfq.invited"] == (
        f"收到询价邀请 / New RFQ invitation：{rfq['title']}"
    )
    assert titles(market, winner)["quote.accepted"].startswith("报价已被接受 / Quote accepted")
    assert titles(market, loser)["rfq.closed"].startswith("询价已结束 / RFQ closed")
    assert titles(market, sme)["quote.submitted"].startswith("收到报价 / Quote received")
    assert "quote.accepted" not in titles(market, loser)


def test_engagement_events_reach_the_party_that_must_act(market: Market) -> None:
    deal = new_deal(market)
    deal.planned()
    milestone = deal.milestone(0)
    deal.ok(deal.provider, f"/milestones/{milestone}/submit", {"note": "完成"})
    deal.ok(deal.sme, f"/milestones/{milestone}/reject", {"reason": "缺少测试报告"})
    deal.ok(deal.provider, "/change-requests", {"reason": "追加", "contract_value_fen": 3_000_000})

    to_sme, to_provider = titles(market, deal.sme), titles(market, deal.provider)

    assert to_sme["engagement.milestone_submitted"].startswith("里程碑待验收 / Milestone submitted")
    assert to_sme["engagement.change_proposed"].startswith("收到变更申请 / Change request")
    assert to_provider["engagement.milestone_rejected"].startswith("里程碑被退回")
    assert "engagement.milestone_submitted" not in to_provider


def test_delivery_and_acceptance_reach_the_other_party(market: Market) -> None:
    deal = new_deal(market).accepted()

    assert "engagement.delivered" in titles(market, deal.sme)
    assert titles(market, deal.provider)["engagement.accepted"].startswith(
        "项目已通过验收 / Engagement accepted"
    )
