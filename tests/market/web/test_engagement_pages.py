"""Engagement pages for both parties: milestones, delivery, 验收 with KPIs, price changes with
consent, subsidy, cancellation; the inbox; and who may open them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.market.rfqs.test_rfq_flow import Market, new_market
from tests.market.web.test_pages import Browser, _text
from tests.support import Actor, Api


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


def flat(response: Any) -> str:
    return "".join(_text(response).split())


def as_user(client: TestClient, actor: Actor) -> Browser:
    client.cookies.clear()
    browser = Browser(client)
    browser.login(actor.email)
    browser.get("/")
    return browser


def milestone_ids(page: Any) -> list[str]:
    return list(dict.fromkeys(re.findall(r'id="ms-([0-9a-f-]{36})"', page.text)))


@pytest.fixture
def project(market: Market) -> tuple[Actor, Actor, dict[str, Any]]:
    market.settings(subsidy_programme="常州市智改数转专项资金", subsidy_rate_bp=3_000)
    return market.awarded()


def test_both_parties_see_the_project_with_their_own_steps(
    client: TestClient, project: tuple[Actor, Actor, dict[str, Any]]
) -> None:
    sme, provider, engagement = project
    path = f"/engagements/{engagement['id']}"
    provider_page = as_user(client, provider).get(path)
    assert provider_page.status_code == 200
    assert "提交此里程碑" in provider_page.text
    assert "确认里程碑" not in provider_page.text
    assert engagement["title"] in provider_page.text
    listing = as_user(client, provider).get("/engagements")
    assert engagement["title"] in listing.text
    sme_page = as_user(client, sme).get(path)
    assert "提交此里程碑" not in sme_page.text
    assert "保存计划" in sme_page.text
    assert "企业支付" in flat(sme_page)


def test_milestones_delivery_and_acceptance_with_kpis(
    client: TestClient, project: tuple[Actor, Actor, dict[str, Any]]
) -> None:
    sme, provider, engagement = project
    path = f"/engagements/{engagement['id']}"
    owner = as_user(client, sme)
    page = owner.get(path)
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version is not None
    worse = owner.post(
        f"{path}/plan",
        {
            "version": version.group(1),
            "contract_reference": "HT-2026-01",
            "maturity_level_before": "1",
            "kpis.0.name": "设备联网率",
            "kpis.0.unit": "%",
            "kpis.0.direction": "increase",
            "kpis.0.baseline": "20",
            "kpis.0.target": "10",
        },
    )
    assert worse.status_code == 422
    assert 'id="err-kpis-0"' in worse.text
    planned = owner.post(
        f"{path}/plan",
        {
            "version": version.group(1),
            "contract_reference": "HT-2026-01",
            "maturity_level_before": "1",
            "kpis.0.name": "设备联网率",
            "kpis.0.unit": "%",
            "kpis.0.direction": "increase",
            "kpis.0.baseline": "20",
            "kpis.0.target": "80",
        },
    )
    assert planned.status_code == 303, planned.text

    worker = as_user(client, provider)
    ids = milestone_ids(worker.get(path))
    assert len(ids) == 2
    for milestone in ids:
        handed = worker.post(f"{path}/milestones/{milestone}/submit", {"note": "已完成"})
        assert handed.status_code == 303, handed.text

    owner = as_user(client, sme)
    refused = owner.post(f"{path}/milestones/{ids[0]}/reject", {"reason": ""})
    assert refused.status_code == 422
    assert "请填写原因" in refused.text
    for milestone in ids:
        assert owner.post(f"{path}/milestones/{milestone}/accept").status_code == 303

    worker = as_user(client, provider)
    delivered = worker.post(f"{path}/deliver", {"note": "系统已上线"})
    assert delivered.status_code == 303, delivered.text

    owner = as_user(client, sme)
    assert "系统已上线" in owner.get(path).text
    missing = owner.post(f"{path}/accept", {"kpi_names": ["设备联网率"], "measured.0": ""})
    assert missing.status_code == 422
    accepted = owner.post(
        f"{path}/accept",
        {"kpi_names": ["设备联网率"], "measured.0": "85", "maturity_level_after": "2"},
    )
    assert accepted.status_code == 303, accepted.text
    done = owner.get(path)
    assert "成果已验收。" in done.text
    assert '<span class="badge badge-ok">已验收</span>' in done.text
    text = flat(done)
    assert "85%" in text
    assert "实施后：2" in text


def test_price_changes_need_the_smes_consent(
    client: TestClient, project: tuple[Actor, Actor, dict[str, Any]]
) -> None:
    sme, provider, engagement = project
    path = f"/engagements/{engagement['id']}"
    worker = as_user(client, provider)
    no_value = worker.post(f"{path}/changes", {"reason": "增加两台网关", "contract_value": ""})
    assert no_value.status_code == 422
    proposed = worker.post(f"{path}/changes", {"reason": "增加两台网关", "contract_value": "30000"})
    assert proposed.status_code == 303, proposed.text
    owner = as_user(client, sme)
    page = owner.get(path)
    assert "同意新价格" in page.text
    change = re.search(r"/changes/([0-9a-f-]{36})/accept", page.text)
    assert change is not None
    assert owner.post(f"{path}/changes/{change.group(1)}/accept").status_code == 303
    assert "¥30,000" in flat(owner.get(path))


def test_subsidy_is_recorded_and_cancellation_needs_a_reason(
    client: TestClient, project: tuple[Actor, Actor, dict[str, Any]]
) -> None:
    sme, _provider, engagement = project
    path = f"/engagements/{engagement['id']}"
    owner = as_user(client, sme)
    applied = owner.post(f"{path}/subsidy", {"application_reference": "CZ-2026-7", "amount": "100"})
    assert applied.status_code == 303, applied.text
    assert "CZ-2026-7" in owner.get(path).text
    again = owner.post(f"{path}/subsidy", {"application_reference": "CZ-2026-8", "amount": "100"})
    assert again.status_code == 409
    assert "已登记过补贴申请。" in again.text
    blank = owner.post(f"{path}/cancel", {"reason": ""})
    assert blank.status_code == 422
    cancelled = owner.post(f"{path}/cancel", {"reason": "厂房搬迁"})
    assert cancelled.status_code == 303
    assert "厂房搬迁" in owner.get(path).text


def test_outsiders_cannot_open_or_act_on_a_project(
    client: TestClient, market: Market, project: tuple[Actor, Actor, dict[str, Any]]
) -> None:
    sme, provider, engagement = project
    path = f"/engagements/{engagement['id']}"
    client.cookies.clear()
    anonymous = client.get(path, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")
    for outsider in (market.sme(), market.provider()):
        browser = as_user(client, outsider)
        assert browser.get(path).status_code == 404
        assert browser.post(f"{path}/cancel", {"reason": "x"}).status_code == 404
    curator = as_user(client, market.curator)
    assert curator.get(path).status_code == 404
    assert curator.get("/engagements").status_code == 403
    # The wrong party: the provider may not accept its own milestones.
    worker = as_user(client, provider)
    ids = milestone_ids(worker.get(path))
    assert worker.post(f"{path}/milestones/{ids[0]}/accept").status_code == 403


def test_inbox_lists_notifications_and_marks_them_read(
    client: TestClient, project: tuple[Actor, Actor, dict[str, Any]]
) -> None:
    _sme, provider, engagement = project
    client.app.state.relay.drain()  # type: ignore[attr-defined]
    worker = as_user(client, provider)
    home = worker.get("/")
    badge = re.search(r'href="/inbox" class="btn btn-link">消息 <span[^>]*>(\d+)</span>', home.text)
    assert badge is not None
    assert int(badge.group(1)) >= 1
    inbox = worker.get("/inbox")
    assert f'href="/engagements/{engagement["id"]}"' in inbox.text
    item = re.search(r'action="/inbox/([0-9a-f-]{36})/read"', inbox.text)
    assert item is not None
    assert worker.post(f"/inbox/{item.group(1)}/read").status_code == 303
    assert worker.post("/inbox/read-all").status_code == 303
    assert "没有未读消息。" in worker.get("/inbox?unread=true").text
    assert "消息 <span" not in worker.get("/").text
    other = as_user(client, _sme)
    assert other.post(f"/inbox/{item.group(1)}/read").status_code == 404
