"""Journeys through the web pages in Chromium, asserting on what a person sees."""

from __future__ import annotations

import re
import uuid
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
class Seeded:
    provider_id: str
    provider_name: str
    solution_id: str
    solution_title: str


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


@pytest.fixture(scope="session")
def seeded(live_server: LiveServer) -> Seeded:
    """One provider with a published solution, a case with outcomes and an expired
    certificate, made through the API so the journeys do not depend on the demo's shape."""
    name = f"常州浏览器测试科技有限公司{uuid.uuid4().hex[:4]}"
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        registered = _ok(
            api.post(
                "/api/v1/auth/register",
                json={
                    "organisation": {
                        "kind": "provider",
                        "name": name,
                        "credit_code": credit_code(),
                        "region_code": "320400",
                        "provider_type": "integrator",
                    },
                    "user": {"email": email, "name": "赵工", "password": PASSWORD},
                },
            ),
            201,
        )
        token = _ok(api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}))
        headers = {"Authorization": f"Bearer {token['token']}"}
        title = "注塑机联网与能耗看板（浏览器测试）"
        solution = _ok(
            api.post("/api/v1/solutions", headers=headers, json=complete_solution(title=title)),
            201,
        )
        _ok(api.post(f"/api/v1/solutions/{solution['id']}/publish", headers=headers))
        case = _ok(
            api.post(
                "/api/v1/cases",
                headers=headers,
                json={
                    "title": "某汽配注塑厂设备联网",
                    "client_industry": "29",
                    "problem": "设备停机多，原因靠人工记录",
                    "solution_text": "边缘网关接入 36 台注塑机，停机原因自动归类",
                    "outcomes": [
                        {"kpi": "设备联网率", "before": 15, "after": 92, "unit": "%"},
                        {"kpi": "非计划停机", "before": 41, "after": 18, "unit": "小时/月"},
                    ],
                    "case_date": "2025-09-01",
                    "solution_ids": [solution["id"]],
                },
            ),
            201,
        )
        _ok(api.post(f"/api/v1/cases/{case['id']}/publish", headers=headers))
        provider_id = registered["provider_id"]
        # Only providers vetted into a pool are public; list this one as a curator would.
        list_provider_in_pool(live_server.db, uuid.UUID(provider_id))
        for cert_name, valid in (
            ("ISO 9001 质量管理体系", date.today() + timedelta(days=400)),
            ("两化融合管理体系评定", date.today() - timedelta(days=10)),
        ):
            _ok(
                api.post(
                    f"/api/v1/providers/{provider_id}/certifications",
                    headers=headers,
                    json={
                        "name": cert_name,
                        "issuer": "示例认证中心",
                        "valid_until": valid.isoformat(),
                    },
                ),
                201,
            )
    return Seeded(provider_id, name, solution["id"], title)


def _register_provider(page: Any, *, company: str, email: str) -> None:
    page.goto("/register?kind=provider")
    page.get_by_label("企业名称（与营业执照一致）").fill(company)
    page.get_by_label("统一社会信用代码").fill(credit_code())
    page.get_by_label("注册地").select_option("320400")
    page.get_by_label("服务商类型（仅服务商填写）").select_option("product")
    page.get_by_label("姓名").fill("钱工")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label(re.compile("^密码")).fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)
    page.get_by_role("button", name="创建账号").click()


def test_visitor_browses_in_chinese_and_switches_to_english(
    page: Any, seeded: Seeded, shoot: Any, live_server: LiveServer
) -> None:
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.get_by_role("heading", name="热门服务能力")).to_be_visible()
    expect(page.get_by_label("您需要什么服务？")).to_be_visible()
    shoot(page, "home-zh")

    page.get_by_role("link", name=re.compile("设备联网与数据采集")).first.click()
    page.wait_for_url(re.compile(r"/solutions\?capability=cap\.data_acquisition"))
    expect(page.get_by_role("heading", name=re.compile(r"共找到 \d+ 个解决方案"))).to_be_visible()
    shoot(page, "solutions-zh")

    # A bureau newsletter links straight to the provider's page.
    page.goto(f"/providers/{seeded.provider_id}")
    expect(page.get_by_role("heading", level=1, name=seeded.provider_name)).to_be_visible()
    expect(page.get_by_text("两化融合管理体系评定").first).to_be_visible()
    shoot(page, "provider-zh")

    page.get_by_role("link", name=seeded.solution_title).first.click()
    page.wait_for_url(f"**/solutions/{seeded.solution_id}")
    expect(page.get_by_role("heading", level=1, name=seeded.solution_title)).to_be_visible()
    expect(page.get_by_role("heading", name="价格")).to_be_visible()
    expect(page.get_by_role("cell", name="¥500 – ¥2,000")).to_be_visible()
    expect(page.get_by_role("rowheader", name="设备联网率")).to_be_visible()
    expect(page.get_by_role("cell", name="92 %")).to_be_visible()
    expired = page.locator(".cert-list li.expired")
    expect(expired).to_have_count(1)
    expect(expired).to_contain_text("两化融合管理体系评定")
    expect(expired).to_contain_text("已过期")
    shoot(page, "solution-zh")

    page.get_by_role("link", name="English").click()
    page.wait_for_url(f"**/solutions/{seeded.solution_id}")
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("heading", name="Pricing")).to_be_visible()
    expect(page.get_by_role("heading", name="Key facts")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Subscription")).to_be_visible()
    expect(page.get_by_text("Expired", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="中文")).to_be_visible()
    shoot(page, "solution-en")

    page.set_viewport_size({"width": 360, "height": 800})
    page.goto("/")
    expect(page.get_by_role("heading", name="Popular capabilities")).to_be_visible()
    # Nothing may overflow sideways on a small phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shoot(page, "home-en-360px")


def test_provider_registers_writes_a_solution_fixes_an_error_and_publishes(
    page: Any, shoot: Any
) -> None:
    company = f"常州网页旅程科技有限公司{uuid.uuid4().hex[:4]}"
    _register_provider(page, company=company, email=f"journey-{uuid.uuid4().hex[:8]}@example.com")
    page.wait_for_url("**/provider")
    expect(page.get_by_text("账号已开通")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name=company)).to_be_visible()
    expect(page.get_by_text("您还没有解决方案。")).to_be_visible()
    shoot(page, "provider-dashboard-empty")

    page.get_by_role("link", name="创建第一个解决方案").click()
    page.get_by_label("标题").fill("小批量机加工车间设备联网")
    page.get_by_label("一句话简介").fill("三天接入数控机床，手机看开机率")
    page.get_by_label("详细介绍").fill("支持发那科、西门子数控系统，按台按月付费。")
    page.get_by_label("设备联网与数据采集", exact=True).check()
    page.get_by_label("设备管理", exact=True).select_option("2")
    page.get_by_label("小型", exact=True).check()
    page.get_by_label("公有云SaaS", exact=True).check()
    page.get_by_label("发那科FOCAS（数控系统）", exact=True).check()
    page.locator("#f-pricing-0-model").select_option("metered")
    page.locator("#f-pricing-0-min").fill("300")
    page.locator("#f-pricing-0-max").fill("200")
    page.locator("#f-pricing-0-unit").fill("元/台/月")
    page.get_by_role("button", name="保存草稿").click()

    expect(page.locator("#err-pricing-0-max")).to_contain_text("最高价不能低于最低价")
    expect(page.get_by_role("alert")).to_be_visible()
    assert page.locator("#f-pricing-0-max").get_attribute("aria-invalid") == "true"
    # What was typed is still there.
    assert page.get_by_label("标题").input_value() == "小批量机加工车间设备联网"
    assert page.get_by_label("设备联网与数据采集", exact=True).is_checked()
    shoot(page, "solution-editor-error")

    page.locator("#f-pricing-0-max").fill("600")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_text("草稿已保存")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name="小批量机加工车间设备联网")).to_be_visible()
    shoot(page, "solution-editor-draft")

    page.get_by_role("button", name="发布", exact=True).click()
    page.wait_for_url(re.compile(r"/solutions/[0-9a-f-]{36}$"))
    expect(page.get_by_text("已发布。这就是采购方现在看到的页面。")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name="小批量机加工车间设备联网")).to_be_visible()
    expect(page.get_by_role("cell", name="¥300 – ¥600")).to_be_visible()
    expect(page.get_by_text("元/台/月")).to_be_visible()
    shoot(page, "solution-published")

    page.get_by_role("link", name="我的工作台").click()
    row = page.get_by_role("row", name=re.compile("小批量机加工车间设备联网"))
    expect(row).to_contain_text("已发布")
    shoot(page, "provider-dashboard")


def test_login_with_a_wrong_password_shows_the_error(page: Any, shoot: Any) -> None:
    email = f"wrong-{uuid.uuid4().hex[:8]}@example.com"
    _register_provider(page, company=f"密码测试公司{uuid.uuid4().hex[:4]}", email=email)
    page.wait_for_url("**/provider")
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("您已退出登录。")).to_be_visible()

    page.get_by_role("link", name="登录").first.click()
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill("not-the-password-1")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("邮箱或密码错误")
    assert page.get_by_label("邮箱").input_value() == email
    shoot(page, "login-error")

    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/provider")
    expect(page.get_by_text("欢迎回来")).to_be_visible()


def test_a_form_posted_without_its_csrf_token_is_refused(page: Any, shoot: Any) -> None:
    page.goto("/login")
    page.locator("input[name=csrf_token]").evaluate("element => element.remove()")
    page.get_by_label("邮箱").fill("anyone@example.com")
    page.get_by_label("密码").fill("whatever-123")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1, name="您无权打开此页面")).to_be_visible()
    expect(page.get_by_text("表单已过期或并非来自本站")).to_be_visible()
    shoot(page, "csrf-refused")
