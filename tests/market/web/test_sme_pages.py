"""The SME's pages: factory profile, the guided need wizard, needs, recommendations, sending an
RFQ, Q&A, comparing quotes with the TCO chart, accepting once; and who may open them."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from market.web.templating import today_local
from tests.market.rfqs.test_rfq_flow import Market, new_market
from tests.market.web.test_pages import Browser, _published, _text
from tests.support import Actor, Api

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client)


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


def days_ahead(days: int) -> str:
    """A ``datetime-local`` value some days ahead, as the form's date picker sends it."""
    return (today_local() + timedelta(days=days)).isoformat() + "T18:00"


def flat(response: Any) -> str:
    return "".join(_text(response).split())


def carried(page: Any, **fields: Any) -> dict[str, Any]:
    """The page's hidden fields (repeated names as lists) plus what the person fills in."""
    data: dict[str, Any] = {}
    for name, value in HIDDEN.findall(page.text):
        if name == "csrf_token":
            continue
        data.setdefault(name, []).append(html.unescape(value))
    data.update(fields)
    return data


def listed_with_solution(market: Market, **overrides: Any) -> Actor:
    provider = market.provider()
    _published(market.api, provider, **overrides)
    return provider


def login(browser: Browser, actor: Actor) -> None:
    browser.login(actor.email)
    browser.get("/")  # the session's own form token, as after any page view


def wizard_to_review(browser: Browser) -> Any:
    start = browser.get("/sme/needs/new")
    assert start.status_code == 200
    step2 = browser.post(
        "/sme/needs/new",
        carried(start, step="1", industry="29", pains=["pain.downtime", "pain.manual_data"]),
    )
    assert step2.status_code == 200, step2.text
    step3 = browser.post("/sme/needs/new", carried(step2, **_radios(step2), go="next"))
    step4 = browser.post("/sme/needs/new", carried(step3, budget_min="10000", budget_max="80000"))
    review = browser.post("/sme/needs/new", carried(step4, protocols=["proto.modbus_tcp"]))
    assert review.status_code == 200, review.text
    return review


def _radios(page: Any) -> dict[str, Any]:
    """The capability choices as the page checked them."""
    chosen = re.findall(r'name="(cap\.[a-z_0-9.]+)" value="(must|nice)" checked', page.text)
    return dict(chosen) | {
        "step": "2",
        "scenes": re.findall(r'name="scenes" value="([^"]+)" checked', page.text),
    }


# --- profile ------------------------------------------------------------------------------------


def test_profile_derives_the_size_and_keeps_equipment(api: Api, browser: Browser) -> None:
    sme = api.sme()
    login(browser, sme)
    browser.get("/sme/profile")
    saved = browser.post(
        "/sme/profile",
        {
            "version": "0",
            "industry_code": "29",
            "employees": "80",
            "revenue_wan": "5000",
            "existing_systems": ["erp"],
            "maturity.scene.equipment": "2",
            "equipment.0.machine_type": "注塑机",
            "equipment.0.brand": "海天",
            "equipment.0.controller": "S7-1200",
            "equipment.0.count": "20",
            "equipment.0.protocol": "",
            "equipment.0.interface": "以太网",
            "equipment.1.machine_type": "",
        },
    )
    assert saved.status_code == 303, saved.text
    page = browser.get("/sme/profile")
    assert "企业档案已保存。" in page.text
    text = flat(page)
    assert "小型" in text
    assert 'value="注塑机"' in page.text
    assert "可能是：" in text


def test_profile_errors_are_said_beside_the_field(api: Api, browser: Browser) -> None:
    login(browser, api.sme())
    browser.get("/sme/profile")
    page = browser.post(
        "/sme/profile",
        {
            "version": "0",
            "employees": "很多",
            "equipment.0.machine_type": "车床",
            "equipment.0.count": "x",
        },
    )
    assert page.status_code == 422
    assert 'id="err-employees"' in page.text
    assert 'id="err-equipment-0-count"' in page.text
    assert "请填写整数" in _text(page)


# --- the wizard -----------------------------------------------------------------------------------


def test_wizard_suggests_capabilities_from_pain_points_and_saves_the_need(
    market: Market, browser: Browser
) -> None:
    listed_with_solution(market)
    sme = market.sme()
    login(browser, sme)
    empty = browser.post("/sme/needs/new", {"step": "1"})
    assert empty.status_code == 422
    assert "请至少勾选一个问题" in _text(empty)

    start = browser.get("/sme/needs/new")
    step2 = browser.post(
        "/sme/needs/new", carried(start, step="1", industry="29", pains=["pain.downtime"])
    )
    assert 'name="cap.cap.predictive_maint" value="must" checked' in step2.text
    assert 'name="cap.cap.data_acquisition" value="nice" checked' in step2.text
    assert 'name="scenes" value="scene.equipment" checked' in step2.text

    review = wizard_to_review(browser)
    text = flat(review)
    assert "解决设备停机多" in review.text
    assert "Modbus" in text or "modbus" in text.lower()
    saved = browser.post(
        "/sme/needs/new", carried(review, step="5", title="注塑车间停机治理", go="save")
    )
    assert saved.status_code == 303, saved.text
    assert re.match(r"/sme/needs/[0-9a-f-]+/recommendations/[0-9a-f-]+$", saved.headers["location"])
    recommendations = browser.get(saved.headers["location"])
    assert "需求已保存。以下服务商最符合您的需求。" in recommendations.text
    needs = browser.get("/sme/needs")
    assert "注塑车间停机治理" in needs.text
    # The industry chosen in the wizard became the profile's.
    assert 'value="29" selected' in browser.get("/sme/profile").text


def test_wizard_back_keeps_answers_and_review_reads_the_description(
    api: Api, browser: Browser
) -> None:
    login(browser, api.sme())
    review = wizard_to_review(browser)
    back = browser.post("/sme/needs/new", carried(review, step="5", title="x", go="3"))
    assert 'value="10000"' in back.text
    reread = browser.post(
        "/sme/needs/new",
        carried(review, step="5", title="t", description="车间想上MES，做看板", go="reread"),
    )
    assert "从您的描述中理解到" in reread.text
    assert 'name="add_nice" value="cap.mes"' in reread.text


# --- needs ----------------------------------------------------------------------------------------


def test_needs_list_is_empty_with_a_way_forward_and_edit_reports_errors(
    market: Market, browser: Browser
) -> None:
    sme = market.sme()
    login(browser, sme)
    assert "开始需求向导" in browser.get("/sme/needs").text
    need_id = market.need(sme)
    detail = browser.get(f"/sme/needs/{need_id}")
    assert "注塑车间设备联网" in detail.text
    form = browser.get(f"/sme/needs/{need_id}/edit")
    version = re.search(r'name="version" value="(\d+)"', form.text)
    assert version is not None
    bad = browser.post(
        f"/sme/needs/{need_id}/edit",
        {
            "version": version.group(1),
            "title": "注塑车间设备联网",
            "must_capabilities": ["cap.mes"],
            "nice_capabilities": ["cap.mes"],
            "budget_min": "500",
            "budget_max": "100",
            "status": "open",
        },
    )
    assert bad.status_code == 422
    assert "同一能力不能既是必需又是加分项。" in bad.text or "最高值不能低于最低值。" in bad.text
    good = browser.post(
        f"/sme/needs/{need_id}/edit",
        {
            "version": version.group(1),
            "title": "改过的标题",
            "must_capabilities": ["cap.mes"],
            "status": "open",
        },
    )
    assert good.status_code == 303
    assert "改过的标题" in browser.get(f"/sme/needs/{need_id}").text


# --- RFQ, comparison, accepting ----------------------------------------------------------------


def _send_rfq(market: Market, browser: Browser, sme: Actor, providers: list[Actor]) -> str:
    need_id = market.need(sme)
    made = browser.post(f"/sme/needs/{need_id}/recommendations")
    assert made.status_code == 303, made.text
    page = browser.get(made.headers["location"])
    for provider in providers:
        assert f'value="{provider.provider_id}"' in page.text
    list_id = made.headers["location"].rsplit("/", 1)[1]
    sent = browser.post(
        "/sme/rfqs",
        {
            "need_id": need_id,
            "list_id": list_id,
            "provider_ids": [str(p.provider_id) for p in providers],
            "pool_id": market.pool_id,
            "deadline": days_ahead(10),
            "message": "请报价",
        },
    )
    assert sent.status_code == 303, sent.text
    return sent.headers["location"].rsplit("/", 1)[1]


def test_recommendations_send_an_rfq_and_refusals_show_beside_the_form(
    market: Market, browser: Browser
) -> None:
    provider = listed_with_solution(market)
    sme = market.sme()
    login(browser, sme)
    need_id = market.need(sme)
    made = browser.post(f"/sme/needs/{need_id}/recommendations")
    page = browser.get(made.headers["location"])
    assert "推荐理由：" in page.text
    list_id = made.headers["location"].rsplit("/", 1)[1]
    nobody = browser.post(
        "/sme/rfqs",
        {"need_id": need_id, "list_id": list_id, "deadline": "2000-01-01T10:00", "message": ""},
    )
    assert nobody.status_code == 422
    assert "请至少选择一家服务商。" in nobody.text
    rfq_id = _send_rfq(market, browser, sme, [provider])
    detail = browser.get(f"/sme/rfqs/{rfq_id}")
    assert "询价已发出。" in detail.text
    assert "已邀请" in detail.text
    assert "(1/5)" in detail.text


def test_questions_deadline_and_cancel(market: Market, browser: Browser) -> None:
    provider = listed_with_solution(market)
    sme = market.sme()
    login(browser, sme)
    rfq_id = _send_rfq(market, browser, sme, [provider])
    page = browser.get(f"/sme/rfqs/{rfq_id}")
    invitation = re.search(r"/invitations/([0-9a-f-]+)/messages", page.text)
    assert invitation is not None
    asked = browser.post(
        f"/sme/rfqs/{rfq_id}/invitations/{invitation.group(1)}/messages",
        {f"body.{invitation.group(1)}": "能否先来厂看设备？"},
    )
    assert asked.status_code == 303
    assert "能否先来厂看设备？" in browser.get(f"/sme/rfqs/{rfq_id}").text
    earlier = browser.post(f"/sme/rfqs/{rfq_id}/extend", {"deadline": "2020-01-01T10:00"})
    assert earlier.status_code == 422
    assert "请选择将来的时间。" in earlier.text
    later = browser.post(f"/sme/rfqs/{rfq_id}/extend", {"deadline": days_ahead(20)})
    assert later.status_code == 303
    no_reason = browser.post(f"/sme/rfqs/{rfq_id}/cancel", {"reason": ""})
    assert no_reason.status_code == 422
    cancelled = browser.post(f"/sme/rfqs/{rfq_id}/cancel", {"reason": "预算取消"})
    assert cancelled.status_code == 303
    assert "询价已取消。" in browser.get(f"/sme/rfqs/{rfq_id}").text


def test_compare_shows_tco_chart_subsidy_and_accepts_exactly_once(
    market: Market, browser: Browser
) -> None:
    market.settings(subsidy_programme="常州市智改数转专项资金", subsidy_rate_bp=3_000)
    first, second = listed_with_solution(market), listed_with_solution(market)
    sme = market.sme()
    login(browser, sme)
    rfq_id = _send_rfq(market, browser, sme, [first, second])
    rfq = market.read_rfq(sme, rfq_id)
    quote = market.quote(first, market.invitation(rfq, first))
    compare = browser.get(f"/sme/rfqs/{rfq_id}/compare")
    assert compare.status_code == 200
    svg = compare.text[compare.text.index("<svg") : compare.text.index("</svg>")]
    assert "<script" not in svg
    assert "<?xml" not in compare.text
    text = flat(compare)
    assert "¥40,800" in text  # 12,000 set-up + 800 × 36
    assert "常州市智改数转专项资金" in text
    assert "未报价" in text
    confirm = browser.get(f"/sme/quotes/{quote['id']}/accept")
    assert "此操作无法撤销" in confirm.text
    accepted = browser.post(f"/sme/quotes/{quote['id']}/accept", {"contract_reference": "HT-1"})
    assert accepted.status_code == 303, accepted.text
    assert accepted.headers["location"].startswith("/engagements/")
    again = browser.post(f"/sme/quotes/{quote['id']}/accept", {"contract_reference": "HT-1"})
    assert again.status_code == 409
    assert "该询价已关闭" in again.text
    assert accepted.headers["location"] in again.text


def test_lists_have_empty_states(api: Api, browser: Browser) -> None:
    login(browser, api.sme())
    assert "您还没有发出过询价。" in browser.get("/sme/rfqs").text
    assert "您接受报价后，项目即启动。" in browser.get("/engagements").text
    assert "暂无消息。" in browser.get("/inbox").text
    browser.client.get("/lang/en?next=/")
    english = browser.get("/sme/needs/new")
    assert '<html lang="en">' in english.text
    assert "Tick every problem you have" in english.text
    assert "Frequent machine downtime" in english.text
    assert "You have not asked for quotes yet." in browser.get("/sme/rfqs").text


# --- who may open what ---------------------------------------------------------------------------


def test_other_companies_providers_and_visitors_are_kept_out(
    market: Market, browser: Browser, client: TestClient
) -> None:
    provider = listed_with_solution(market)
    owner = market.sme()
    login(browser, owner)
    rfq_id = _send_rfq(market, browser, owner, [provider])
    rfq = market.read_rfq(owner, rfq_id)
    quote = market.quote(provider, market.invitation(rfq, provider))
    need_id = str(rfq["need_id"])
    pages = [
        f"/sme/needs/{need_id}",
        f"/sme/needs/{need_id}/edit",
        f"/sme/rfqs/{rfq_id}",
        f"/sme/rfqs/{rfq_id}/compare",
        f"/sme/quotes/{quote['id']}/accept",
    ]
    browser.client.cookies.clear()
    for path in pages + ["/sme/profile", "/sme/needs/new"]:
        anonymous = browser.client.get(path, follow_redirects=False)
        assert anonymous.status_code == 303, path
        assert anonymous.headers["location"].startswith("/login?next=")
    stranger = Browser(client)
    login(stranger, market.sme())
    for path in pages:
        assert stranger.get(path).status_code == 404, path
    refused = stranger.post(f"/sme/quotes/{quote['id']}/accept", {})
    assert refused.status_code == 404
    stranger.client.cookies.clear()
    as_provider = Browser(client)
    login(as_provider, provider)
    for path in pages + ["/sme/profile", "/sme/needs"]:
        page = as_provider.get(path)
        assert page.status_code == 403, path
        assert "这些页面供制造企业使用" in page.text
