"""An SME owner's journey in Chromium: from ticking problems in the wizard to accepting the
results of a project. The provider's side (quote, milestones, delivery) goes through the API,
as the provider's own pages are not part of this journey."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support import PASSWORD, complete_solution, credit_code, list_provider_in_pool

if TYPE_CHECKING:
    from tests.e2e.conftest import LiveServer


@dataclass(frozen=True)
class Party:
    email: str
    name: str
    headers: dict[str, str]
    provider_id: str | None = None


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def _register(api: httpx.Client, kind: str, name: str) -> Party:
    email = f"sme-journey-{uuid.uuid4().hex[:8]}@example.com"
    organisation: dict[str, Any] = {
        "kind": kind,
        "name": name,
        "credit_code": credit_code(),
        "region_code": "320400",
    }
    if kind == "provider":
        organisation["provider_type"] = "integrator"
    registered = _ok(
        api.post(
            "/api/v1/auth/register",
            json={
                "organisation": organisation,
                "user": {"email": email, "name": "孙经理", "password": PASSWORD},
            },
        ),
        201,
    )
    token = _ok(api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}))
    return Party(
        email=email,
        name=name,
        headers={"Authorization": f"Bearer {token['token']}"},
        provider_id=registered.get("provider_id"),
    )


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    # The first request after start-up also indexes the demo catalogue (the outbox drains
    # after each commit), which takes a while on a busy machine.
    with httpx.Client(base_url=live_server.url, timeout=180) as client:
        yield client


@pytest.fixture
def provider(api: httpx.Client, live_server: LiveServer) -> Party:
    """A listed provider whose solution answers machine downtime, the journey's pain point."""
    party = _register(api, "provider", f"常州停机治理科技有限公司{uuid.uuid4().hex[:4]}")
    body = complete_solution(
        title="注塑机停机预警与设备数采",
        summary="预测性维护：停机前预警，设备数据自动采集",
        capabilities=["cap.predictive_maint", "cap.data_acquisition", "cap.edge_gateway"],
    )
    solution = _ok(api.post("/api/v1/solutions", headers=party.headers, json=body), 201)
    _ok(api.post(f"/api/v1/solutions/{solution['id']}/publish", headers=party.headers))
    assert party.provider_id is not None
    list_provider_in_pool(live_server.db, uuid.UUID(party.provider_id))
    return party


def _log_in(page: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _quote(api: httpx.Client, provider: Party, rfq_id: str) -> None:
    rfq = _ok(api.get(f"/api/v1/rfqs/{rfq_id}", headers=provider.headers))
    invitation = rfq["invitations"][0]["id"]
    body = {
        "scope": "12台注塑机加装振动与电流传感器，停机预警上线",
        "pricing_model": "subscription",
        "amount_fen": 80_000,
        "amount_unit": "元/月",
        "one_off_fen": 1_200_000,
        "recurring_fen": 80_000,
        "recurring_months": 12,
        "milestones": [
            {"title": "传感器安装", "amount_fen": 600_000, "due_in_days": 20},
            {"title": "预警上线", "amount_fen": 600_000, "due_in_days": 45},
        ],
        "valid_until": (date.today() + timedelta(days=30)).isoformat(),
    }
    _ok(
        api.post(f"/api/v1/invitations/{invitation}/quotes", headers=provider.headers, json=body),
        201,
    )


def test_sme_finds_providers_compares_quotes_and_accepts_the_results(
    page: Any, shoot: Any, api: httpx.Client, provider: Party
) -> None:
    sme = _register(api, "sme", f"常州注塑件厂{uuid.uuid4().hex[:4]}")
    _log_in(page, sme.email)
    page.wait_for_url(re.compile(r"/(sme/.*)?$"))

    # 1. The wizard: problems in the owner's words.
    page.goto("/")
    page.get_by_role("link", name=re.compile("不知道该找什么")).click()
    page.wait_for_url("**/sme/needs/new")
    page.get_by_label("所属行业").select_option("29")
    page.get_by_label("设备停机多").check()
    page.get_by_label("或者用自己的话说说（选填）").fill("20台注塑机，西门子1200的PLC")
    shoot(page, "sme-wizard-problems")
    page.get_by_role("button", name="下一步").click()

    # 2. Suggested capabilities: predictive maintenance as a must.
    expect(page.get_by_role("heading", name="需要服务商提供什么")).to_be_visible()
    must = page.locator('input[name="cap.cap.predictive_maint"][value="must"]')
    expect(must).to_be_checked()
    shoot(page, "sme-wizard-capabilities")
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("预算下限（元）").fill("20000")
    page.get_by_label("预算上限（元）").fill("80000")
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", name="您的设备")).to_be_visible()
    page.get_by_role("button", name="下一步").click()

    # 5. Review what was understood, then save.
    expect(page.get_by_role("heading", name="核对我们的理解")).to_be_visible()
    expect(page.get_by_text("从您的描述中理解到")).to_be_visible()
    page.get_by_label("需求标题").fill("注塑车间停机预警")
    shoot(page, "sme-wizard-review")
    page.get_by_role("button", name="保存需求并查看推荐").click()

    # Recommendations with reasons; choose the provider and send the RFQ.
    page.wait_for_url(re.compile(r"/sme/needs/[0-9a-f-]+/recommendations/[0-9a-f-]+$"))
    expect(page.get_by_text("需求已保存。以下服务商最符合您的需求。")).to_be_visible()
    expect(page.get_by_text("推荐理由：").first).to_be_visible()
    page.locator(f'input[name="provider_ids"][value="{provider.provider_id}"]').check()
    page.get_by_label("适用的资源池政策").select_option("")
    page.get_by_label("给服务商的留言").fill("欢迎来厂查看设备")
    shoot(page, "sme-recommendations")
    page.get_by_role("button", name="发出询价").click()
    page.wait_for_url(re.compile(r"/sme/rfqs/[0-9a-f-]+$"))
    expect(page.get_by_text("询价已发出。")).to_be_visible()
    rfq_id = page.url.rsplit("/", 1)[1]

    # A question to the provider, then its quote arrives.
    page.get_by_label(re.compile("^向 .* 提问$")).fill("能否先来厂看设备？")
    page.get_by_role("button", name="发送问题").click()
    expect(page.get_by_text("能否先来厂看设备？")).to_be_visible()
    _quote(api, provider, rfq_id)
    page.reload()
    shoot(page, "sme-rfq-detail")

    # Compare with the three-year cost chart, accept once.
    page.get_by_role("link", name="比价").first.click()
    expect(page.locator("figure.chart svg")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("^三年总成本"))).to_contain_text("¥40,800")
    shoot(page, "sme-compare")
    page.get_by_role("link", name="接受此报价").click()
    expect(page.get_by_text("此操作无法撤销")).to_be_visible()
    page.get_by_role("button", name="确定接受此报价").click()
    page.wait_for_url(re.compile(r"/engagements/[0-9a-f-]+$"))
    expect(page.get_by_text("您已接受报价，项目已启动。")).to_be_visible()
    engagement_id = page.url.rsplit("/", 1)[1]

    # Plan a KPI, then the provider hands in both milestones.
    page.locator("#kpi-0-name").fill("设备联网率")
    page.locator("#kpi-0-unit").fill("%")
    page.locator("#kpi-0-base").fill("20")
    page.locator("#kpi-0-target").fill("90")
    page.get_by_role("button", name="保存计划").click()
    expect(page.get_by_text("项目计划已保存。")).to_be_visible()
    engagement = _ok(api.get(f"/api/v1/engagements/{engagement_id}", headers=provider.headers))
    for milestone in engagement["milestones"]:
        url = f"/api/v1/engagements/{engagement_id}/milestones/{milestone['id']}/submit"
        _ok(api.post(url, headers=provider.headers, json={"note": "已完成"}))
    page.reload()
    for _ in engagement["milestones"]:
        page.get_by_role("button", name="确认里程碑").first.click()
        expect(page.get_by_text("里程碑已确认通过。")).to_be_visible()
    deliver = f"/api/v1/engagements/{engagement_id}/deliver"
    _ok(api.post(deliver, headers=provider.headers, json={"note": "预警系统已上线"}))

    # 验收 with the measured KPI and the maturity level reached.
    page.reload()
    page.get_by_label(re.compile("^设备联网率 实测值")).fill("92")
    page.get_by_label("实施后水平等级").select_option("3")
    page.get_by_role("button", name="验收通过").click()
    expect(page.get_by_text("成果已验收。")).to_be_visible()
    expect(page.get_by_role("cell", name="92 %")).to_be_visible()
    shoot(page, "sme-engagement-accepted")

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Milestones")).to_be_visible()
    shoot(page, "sme-engagement-en")
