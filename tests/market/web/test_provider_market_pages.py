"""The provider's market pages: dashboard figures, invitations, the need as sent, Q&A, the quote
editor with its rows, revisions, declining, the cost breakdown of a flagged quote, and who may
open them."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from market.rfqs.models import Quote
from tests.market.rfqs.test_rfq_flow import Market, day_in, new_market
from tests.market.web.test_pages import Browser, _text
from tests.support import Actor, Api


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client)


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


def _invited(market: Market, provider: Actor | None = None, **need: Any) -> tuple[Actor, str]:
    """An SME's RFQ to a listed provider; returns the provider and its invitation id."""
    provider = provider or market.provider()
    rfq = _invited_by(market, market.sme(), provider, **need)
    return provider, market.invitation(rfq, provider)


def _invited_by(market: Market, sme: Actor, provider: Actor, **need: Any) -> dict[str, Any]:
    return market.rfq(sme, [provider], need_id=market.need(sme, **need))


def quote_form(**overrides: str) -> dict[str, str]:
    """The quote editor as a person fills it: amounts in yuan, two line items, two milestones."""
    form = {
        "scope": "20台注塑机联网与数据采集，含设备看板",
        "pricing_model": "subscription",
        "amount": "800",
        "amount_unit": "元/月",
        "one_off": "12,000",
        "recurring": "800",
        "recurring_months": "12",
        "line_items.0.description": "边缘网关",
        "line_items.0.quantity": "4",
        "line_items.0.unit": "台",
        "line_items.0.unit_price": "2500",
        "line_items.1.description": "实施",
        "line_items.1.quantity": "2.5",
        "line_items.1.unit": "人天",
        "line_items.1.unit_price": "800.50",
        "milestones.0.title": "设备接入",
        "milestones.0.deliverable": "20台注塑机联网",
        "milestones.0.amount": "12000",
        "milestones.0.due_in_days": "30",
        "milestones.1.title": "看板上线",
        "milestones.1.amount": "4000",
        "milestones.1.due_date": day_in(60),
        "valid_until": day_in(30),
        "attachments": "方案书.pdf\nhttps://example.com/报价单.pdf",
    }
    form.update(overrides)
    return form


def _latest_quote(api: Api, invitation_id: str) -> Quote:
    with api.db.transaction() as session:
        quote = session.scalars(
            select(Quote)
            .where(Quote.invitation_id == uuid.UUID(invitation_id))
            .order_by(Quote.revision.desc())
        ).first()
        assert quote is not None
        session.expunge(quote)
        return quote


# --- dashboard -------------------------------------------------------------------------------


def test_dashboard_shows_invitations_engagements_listing_and_win_figures(
    api: Api, market: Market, browser: Browser
) -> None:
    provider = market.provider()
    sme = market.sme()
    _invited_by(market, sme, provider, title="冲压车间能耗监测")
    market.awarded(sme=sme, provider=provider)
    browser.login(provider.email)
    text = _text(browser.get("/provider"))
    assert re.search(r"冲压车间能耗监测\s+待报价", text)
    assert "报价截止" in text
    assert "进行中的项目" in text
    assert "注塑车间设备联网" in text
    assert re.search(r"测试资源池|" + re.escape(market.pool["name"]), text)
    assert "已入库" in text
    # Two invitations, one quoted and won: a win rate of 100 %.
    assert re.search(r"受邀报价\s+2\s+已报价\s+1\s+中选\s+1\s+中选率\s+100 %", text)


def test_workbench_nav_leads_to_quote_requests_and_pools(
    api: Api, market: Market, browser: Browser
) -> None:
    provider = market.provider()
    browser.login(provider.email)
    page = browser.get("/provider").text
    assert 'href="/provider/rfqs"' in page
    assert 'href="/provider/pools"' in page


# --- invitations -----------------------------------------------------------------------------


def test_invitation_list_puts_open_requests_first_and_filters_by_status(
    api: Api, market: Market, browser: Browser
) -> None:
    provider = market.provider()
    sme = market.sme()
    first = _invited_by(market, sme, provider, title="先收到的询价")
    second = _invited_by(market, sme, provider, title="已报价的询价")
    market.quote(provider, market.invitation(second, provider))
    market.pass_deadline(first["id"])
    browser.login(provider.email)
    text = _text(browser.get("/provider/rfqs"))
    assert text.index("已报价的询价") < text.index("先收到的询价")
    assert "已过期" in text  # the passed deadline is applied before listing
    quoted = _text(browser.get("/provider/rfqs?status=quoted"))
    assert "已报价的询价" in quoted
    assert "先收到的询价" not in quoted
    assert "¥800 元/月" in quoted


def test_invitation_detail_shows_the_need_as_sent_and_the_qa_thread(
    api: Api, market: Market, browser: Browser
) -> None:
    provider, sme = market.provider(), market.sme()
    invitation_id = market.invitation(_invited_by(market, sme, provider), provider)
    sme_question = "能否支持西门子S7协议？"
    market.ok(sme, f"/api/v1/invitations/{invitation_id}/messages", {"body": sme_question})
    browser.login(provider.email)
    text = _text(browser.get(f"/provider/rfqs/{invitation_id}"))
    assert "企业需求" in text
    assert "20台注塑机联网，做数据采集和设备看板" in text
    assert "设备联网与数据采集" in text
    assert "¥10,000 – ¥50,000" in text
    assert "请于截止前报价，欢迎提问" in text
    assert "报价截止" in text
    assert sme_question in text

    sent = browser.post(f"/provider/rfqs/{invitation_id}/messages", {"body": "支持，含S7-1200"})
    assert sent.status_code == 303
    text = _text(browser.get(f"/provider/rfqs/{invitation_id}"))
    assert re.search(r"我方 · [\d-]+ [\d:]+\s+支持，含S7-1200", text)
    thread = market.get(sme, f"/api/v1/invitations/{invitation_id}/messages").json()
    assert [m["side"] for m in thread] == ["sme", "provider"]
    empty = browser.post(f"/provider/rfqs/{invitation_id}/messages", {"body": "  "})
    assert empty.status_code == 422
    assert "此项为必填项" in _text(empty)


# --- quotes ----------------------------------------------------------------------------------


def test_quote_editor_sends_rows_in_yuan_and_revisions_keep_history(
    api: Api, market: Market, browser: Browser
) -> None:
    provider, invitation_id = _invited(market)
    browser.login(provider.email)
    blank = browser.get(f"/provider/rfqs/{invitation_id}/quote")
    assert blank.status_code == 200
    # Spare rows: two empty line items and two empty milestones without JavaScript.
    assert 'name="line_items.1.description"' in blank.text
    assert 'name="milestones.1.title"' in blank.text
    sent = browser.post(f"/provider/rfqs/{invitation_id}/quote", quote_form())
    assert sent.status_code == 303, _text(sent)
    quote = _latest_quote(api, invitation_id)
    assert quote.one_off_fen == 1_200_000
    assert quote.recurring_fen == 80_000
    assert [i["unit_price_fen"] for i in quote.line_items] == [250_000, 80_050]
    assert [m["amount_fen"] for m in quote.milestones] == [1_200_000, 400_000]
    assert quote.attachments == ["方案书.pdf", "https://example.com/报价单.pdf"]

    prefilled = browser.get(f"/provider/rfqs/{invitation_id}/quote")
    assert "第 2 版" in _text(prefilled)
    assert 'value="12000"' in prefilled.text
    assert 'value="800.50"' in prefilled.text
    revised = browser.post(
        f"/provider/rfqs/{invitation_id}/quote",
        quote_form(amount="750", recurring="750", note="月费降至750元"),
    )
    assert revised.status_code == 303
    text = _text(browser.get(f"/provider/rfqs/{invitation_id}"))
    assert "您的报价（第 2 版）" in text
    assert re.search(r"修订记录.*2 .*¥750 元/月.*月费降至750元.*1 .*¥800 元/月", text, re.S)
    assert "已被新版本取代" in text


def test_quote_editor_says_what_to_fix_beside_each_field(
    api: Api, market: Market, browser: Browser
) -> None:
    provider, invitation_id = _invited(market)
    browser.login(provider.email)
    browser.get(f"/provider/rfqs/{invitation_id}/quote")
    response = browser.post(
        f"/provider/rfqs/{invitation_id}/quote",
        quote_form(
            scope="",
            **{
                "line_items.0.unit_price": "两千",
                "milestones.0.due_in_days": "",
            },
        ),
    )
    assert response.status_code == 422
    page = response.text
    assert re.search(r'id="err-scope"[^>]*>\s*<p>此项为必填项', page)
    assert re.search(r'id="err-line_items-0-unit_price"[^>]*>\s*<p>请以元为单位填写金额', page)
    assert 'id="err-milestones-0"' in page
    # What was typed is kept.
    assert 'value="两千"' in page
    assert _latest_quote_or_none(api, invitation_id) is None


def _latest_quote_or_none(api: Api, invitation_id: str) -> Quote | None:
    with api.db.transaction() as session:
        return session.scalars(
            select(Quote).where(Quote.invitation_id == uuid.UUID(invitation_id))
        ).first()


def test_service_checks_of_a_quote_are_shown_too(
    api: Api, market: Market, browser: Browser
) -> None:
    provider, invitation_id = _invited(market)
    browser.login(provider.email)
    browser.get(f"/provider/rfqs/{invitation_id}/quote")
    response = browser.post(
        f"/provider/rfqs/{invitation_id}/quote", quote_form(recurring="", recurring_months="")
    )
    assert response.status_code == 422
    assert re.search(r'id="err-recurring"[^>]*>\s*<p>此项为必填项', response.text)


def test_declining_gives_the_reason_and_closes_the_editor(
    api: Api, market: Market, browser: Browser
) -> None:
    provider, invitation_id = _invited(market)
    browser.login(provider.email)
    browser.get(f"/provider/rfqs/{invitation_id}")
    missing = browser.post(f"/provider/rfqs/{invitation_id}/decline", {"reason": ""})
    assert missing.status_code == 422
    declined = browser.post(f"/provider/rfqs/{invitation_id}/decline", {"reason": "产能已满"})
    assert declined.status_code == 303
    text = _text(browser.get(f"/provider/rfqs/{invitation_id}"))
    assert "您已谢绝：产能已满" in text
    assert "填写报价" not in text
    again = browser.post(f"/provider/rfqs/{invitation_id}/quote", quote_form())
    assert again.status_code == 409


def test_a_flagged_quote_asks_for_and_shows_the_cost_breakdown(
    api: Api, market: Market, browser: Browser
) -> None:
    provider, invitation_id = _invited(market)
    market.quote(provider, invitation_id)
    with api.db.transaction() as session:
        session.execute(
            update(Quote)
            .where(Quote.invitation_id == uuid.UUID(invitation_id))
            .values(abnormally_low=True, reference_p10_fen=5_000_000, reference_count=12)
        )
    browser.login(provider.email)
    text = _text(browser.get(f"/provider/rfqs/{invitation_id}"))
    assert "低于同类项目的常见价格区间" in text
    assert "说明成本构成" in text
    sent = browser.post(
        f"/provider/rfqs/{invitation_id}/cost-breakdown",
        {
            "costs.0.item": "网关采购",
            "costs.0.cost": "8,000",
            "costs.1.item": "实施人工",
            "costs.1.cost": "2000",
            "cost_note": "网关为自有库存",
        },
    )
    assert sent.status_code == 303, _text(sent)
    assert _latest_quote(api, invitation_id).cost_breakdown == {
        "items": [
            {"item": "网关采购", "cost_fen": 800_000},
            {"item": "实施人工", "cost_fen": 200_000},
        ],
        "note": "网关为自有库存",
    }
    assert re.search(
        r"您的成本明细\s+网关采购\s+¥8,000", _text(browser.get(f"/provider/rfqs/{invitation_id}"))
    )


# --- who may open them -----------------------------------------------------------------------


def test_only_the_invited_provider_opens_its_invitation(
    api: Api, market: Market, browser: Browser
) -> None:
    provider, invitation_id = _invited(market)
    pages = [
        f"/provider/rfqs/{invitation_id}",
        f"/provider/rfqs/{invitation_id}/quote",
    ]
    anonymous = browser.client.get(pages[0], follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")

    other = market.provider()
    browser.login(other.email)
    for path in pages:
        assert browser.get(path).status_code == 404, path
    browser.get("/provider/rfqs")
    for action, body in (
        ("quote", quote_form()),
        ("messages", {"body": "你好"}),
        ("decline", {"reason": "不做"}),
        ("cost-breakdown", {"costs.0.item": "x", "costs.0.cost": "1"}),
    ):
        response = browser.post(f"/provider/rfqs/{invitation_id}/{action}", body)
        assert response.status_code == 404, action
    assert "先收到" not in _text(browser.get("/provider/rfqs"))
    assert _latest_quote_or_none(api, invitation_id) is None

    browser.client.cookies.clear()
    sme = market.sme()
    browser.login(sme.email)
    assert browser.get(pages[0]).status_code == 403
    assert browser.get("/provider/rfqs").status_code == 403


def test_the_market_pages_speak_english_when_asked(
    api: Api, market: Market, browser: Browser
) -> None:
    provider, invitation_id = _invited(market)
    browser.login(provider.email)
    browser.client.get("/lang/en?next=/provider", follow_redirects=False)
    assert "Invitations to quote" in _text(browser.get("/provider"))
    assert "What the SME needs" in _text(browser.get(f"/provider/rfqs/{invitation_id}"))
    assert "Delivery plan" in _text(browser.get(f"/provider/rfqs/{invitation_id}/quote"))
    assert "Pools open for applications" in _text(browser.get("/provider/pools"))
