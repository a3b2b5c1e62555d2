"""A provider's journey through its workbench in Chromium: applying to a resource pool with a
solution and an uploaded licence, finding the application in its timeline, then answering an
SME's request for quotes with a quote built from line items and milestones."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
from playwright.sync_api import expect

from core.database import utcnow
from market.accounts import service as accounts
from tests.catalog.pools.test_pool_management import CATEGORIES, SCORECARD
from tests.support import PASSWORD, complete_solution, credit_code, list_provider_in_pool

if TYPE_CHECKING:
    from tests.e2e.conftest import LiveServer

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def _login(api: httpx.Client, email: str) -> dict[str, str]:
    token = _ok(api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}))
    return {"Authorization": f"Bearer {token['token']}"}


def _register(api: httpx.Client, kind: str, name: str) -> tuple[str, dict[str, Any]]:
    email = f"{kind}-journey-{uuid.uuid4().hex[:8]}@example.com"
    organisation: dict[str, Any] = {
        "kind": kind,
        "name": name,
        "credit_code": credit_code(),
        "region_code": "320400",
    }
    if kind == "provider":
        organisation["provider_type"] = "product"
    body = _ok(
        api.post(
            "/api/v1/auth/register",
            json={
                "organisation": organisation,
                "user": {"email": email, "name": "孙工", "password": PASSWORD},
            },
        ),
        201,
    )
    return email, body


def _open_pool(live_server: LiveServer, api: httpx.Client) -> dict[str, Any]:
    """An agency's curator opens a pool for applications, as in the pools API."""
    admin_email = f"admin-journey-{uuid.uuid4().hex[:8]}@example.com"
    with live_server.db.transaction() as session:
        accounts.create_admin(session, email=admin_email, name="管理员", password=PASSWORD)
    admin = _login(api, admin_email)
    agency = _ok(
        api.post(
            "/api/v1/admin/agencies",
            headers=admin,
            json={"name": f"旅程工信局{uuid.uuid4().hex[:4]}", "jurisdiction": "320400"},
        ),
        201,
    )
    curator_email = f"curator-journey-{uuid.uuid4().hex[:8]}@example.com"
    _ok(
        api.post(
            "/api/v1/admin/curators",
            headers=admin,
            json={
                "agency_id": agency["id"],
                "email": curator_email,
                "name": "审核员",
                "password": PASSWORD,
            },
        ),
        201,
    )
    return _ok(
        api.post(
            "/api/v1/pools",
            headers=_login(api, curator_email),
            json={
                "name": f"常州旅程资源池{uuid.uuid4().hex[:4]}",
                "categories": CATEGORIES,
                "scorecard": SCORECARD,
                "applications_open": True,
            },
        ),
        201,
    )


def test_provider_applies_to_a_pool_and_answers_an_rfq_with_a_quote(
    page: Any, shoot: Any, live_server: LiveServer
) -> None:
    company = f"常州旅程精工科技有限公司{uuid.uuid4().hex[:4]}"
    with httpx.Client(base_url=live_server.url, timeout=120) as api:
        pool = _open_pool(live_server, api)
        provider_email, registered = _register(api, "provider", company)
        provider = _login(api, provider_email)
        title = "注塑机联网与能耗看板（旅程）"
        _ok(
            api.post("/api/v1/solutions", headers=provider, json=complete_solution(title=title)),
            201,
        )

    page.goto("/login")
    page.get_by_label("邮箱").fill(provider_email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/provider")
    page.locator(".sub-nav").get_by_role("link", name="服务资源池").click()
    page.wait_for_url("**/provider/pools")
    card = page.locator(".card", has_text=pool["name"])
    expect(card).to_be_visible()
    shoot(page, "provider-pools")

    card.get_by_role("link", name="申报").click()
    page.wait_for_url(f"**/provider/pools/{pool['id']}/apply")
    page.get_by_label("类别").select_option("injection")
    page.get_by_label(re.compile(re.escape(title))).check()
    page.get_by_label("给主管部门的说明").fill("附营业执照，申报注塑行业类别")
    page.get_by_label("上传新材料").set_input_files(
        files=[{"name": "营业执照.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_label("材料类型").select_option("licence")
    page.locator("#f-declaration").check()
    shoot(page, "provider-pool-apply")
    page.get_by_role("button", name="提交申报").click()

    page.wait_for_url(re.compile(r"/provider/pools/applications/[0-9a-f-]+$"))
    expect(page.get_by_text("申报已提交")).to_be_visible()
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("提交申报")
    expect(timeline).to_contain_text("附营业执照，申报注塑行业类别")
    expect(page.locator("#evidence")).to_contain_text("营业执照.pdf")
    shoot(page, "provider-pool-application")

    # Listed elsewhere meanwhile, an SME invites the provider to quote on its need.
    list_provider_in_pool(live_server.db, uuid.UUID(registered["provider_id"]))
    with httpx.Client(base_url=live_server.url, timeout=120) as api:
        sme_email, _ = _register(api, "sme", f"常州旅程塑料制品厂{uuid.uuid4().hex[:4]}")
        sme = _login(api, sme_email)
        need = _ok(
            api.post(
                "/api/v1/needs",
                headers=sme,
                json={
                    "title": "注塑车间20台设备联网（旅程）",
                    "description": "20台注塑机联网，做数据采集和设备看板",
                    "must_capabilities": ["cap.data_acquisition"],
                    "budget_min_fen": 1_000_000,
                    "budget_max_fen": 5_000_000,
                },
            ),
            201,
        )
        _ok(
            api.post(
                "/api/v1/rfqs",
                headers=sme,
                json={
                    "need_id": need["id"],
                    "provider_ids": [registered["provider_id"]],
                    "deadline": (utcnow() + timedelta(days=7)).isoformat(),
                    "message": "请报含一年运维的价格",
                },
            ),
            201,
        )

    page.goto("/provider")
    invitation = page.get_by_role("link", name="注塑车间20台设备联网（旅程）")
    expect(invitation).to_be_visible()
    shoot(page, "provider-dashboard-invited")
    invitation.click()
    expect(page.get_by_role("heading", name="企业需求")).to_be_visible()
    expect(page.get_by_text("请报含一年运维的价格")).to_be_visible()
    page.get_by_role("link", name="填写报价").click()

    page.locator("#f-scope").fill("20台注塑机联网与数据采集，含看板和一年运维")
    page.get_by_label("计费方式").select_option("subscription")
    page.get_by_label("报价金额（元）").fill("800")
    page.get_by_label("计价单位").fill("元/月")
    page.get_by_label("一次性费用（元）").fill("12000")
    page.get_by_label("每月周期性费用（元）").fill("800")
    page.get_by_label("周期性费用期限（月）").fill("12")
    page.locator("#f-line_items-0-description").fill("边缘网关")
    page.locator("#f-line_items-0-quantity").fill("4")
    page.locator("#f-line_items-0-unit").fill("台")
    page.locator("#f-line_items-0-unit_price").fill("2500")
    page.locator("#f-milestones-0-title").fill("设备接入")
    page.locator("#f-milestones-0-amount").fill("12000")
    page.locator("#f-milestones-0-due_in_days").fill("30")
    valid = (utcnow() + timedelta(days=30)).date().isoformat()
    page.get_by_label("有效期至").fill(valid)
    shoot(page, "provider-quote-editor")
    page.get_by_role("button", name="提交报价").click()

    expect(page.get_by_role("heading", name=re.compile("您的报价（第 1 版）"))).to_be_visible()
    expect(page.get_by_role("rowheader", name="边缘网关")).to_be_visible()
    expect(page.get_by_text("¥800 元/月")).to_be_visible()
    shoot(page, "provider-quote-sent")
