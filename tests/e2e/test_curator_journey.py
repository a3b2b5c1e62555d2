"""A curator (主管部门) vets an application in Chromium: accepts it, scores it, approves it;
the 公示 ends and the provider is on the public pool page and in search results."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
from playwright.sync_api import expect
from sqlalchemy import update
from sqlalchemy.orm import Session

from catalog.pools import lifecycle
from catalog.pools import service as pools
from catalog.pools.models import PoolApplication
from catalog.pools.schemas import ApplicationIn, PoolIn
from core.database import utcnow
from core.deps import Principal
from market.accounts import service as accounts
from market.accounts.models import User
from market.accounts.schemas import AgencyIn, CuratorIn
from tests.support import PASSWORD, complete_solution, credit_code

if TYPE_CHECKING:
    from tests.e2e.conftest import LiveServer

SCORECARD = [
    {"id": "capability", "name": "产品服务能力", "max_points": 40},
    {"id": "cases", "name": "服务企业情况", "max_points": 35},
    {"id": "service", "name": "综合服务能力", "max_points": 25},
]
CATEGORIES = [{"id": "injection", "name": "注塑行业", "quota": 5}]


@dataclass(frozen=True)
class Submitted:
    curator_email: str
    curator_name: str
    pool_id: uuid.UUID
    application_id: uuid.UUID
    provider_name: str
    solution_id: str
    solution_title: str


def _principal(session: Session, user: User) -> Principal:
    issued = accounts.issue_token(session, user=user, kind="api", ttl=timedelta(hours=1))
    principal = accounts.principal_for_token(session, token=issued.token, kind="api")
    assert principal is not None
    return principal


def _provider_with_published_solution(live_server: LiveServer) -> tuple[str, str, str, str]:
    """(provider e-mail, name, solution id, solution title), made the way a provider would."""
    name = f"常州审核旅程精工有限公司{uuid.uuid4().hex[:4]}"
    email = f"journey-{uuid.uuid4().hex[:8]}@example.com"
    title = f"注塑车间数采看板{uuid.uuid4().hex[:4]}"
    # Generous: the first request after start-up delivers the demo catalogue's outbox backlog.
    with httpx.Client(base_url=live_server.url, timeout=300) as api:
        registered = api.post(
            "/api/v1/auth/register",
            json={
                "organisation": {
                    "kind": "provider",
                    "name": name,
                    "credit_code": credit_code(),
                    "region_code": "320400",
                    "provider_type": "product",
                },
                "user": {"email": email, "name": "孙工", "password": PASSWORD},
            },
        )
        assert registered.status_code == 201, registered.text
        login = api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        solution = api.post(
            "/api/v1/solutions", headers=headers, json=complete_solution(title=title)
        )
        assert solution.status_code == 201, solution.text
        solution_id = solution.json()["id"]
        published = api.post(f"/api/v1/solutions/{solution_id}/publish", headers=headers)
        assert published.status_code == 200, published.text
    return email, name, solution_id, title


def _submitted(live_server: LiveServer) -> Submitted:
    """An agency with a curator and an open pool, and a provider's application in it, made
    through the services."""
    provider_email, provider_name, solution_id, title = _provider_with_published_solution(
        live_server
    )
    curator_email = f"curator-{uuid.uuid4().hex[:8]}@example.com"
    with live_server.db.transaction() as session:
        agency = accounts.create_agency(
            session,
            data=AgencyIn(name=f"常州市工信局{uuid.uuid4().hex[:4]}", jurisdiction="320400"),
        )
        curator = accounts.create_curator(
            session,
            data=CuratorIn(
                agency_id=agency.id, email=curator_email, name="周审核", password=PASSWORD
            ),
        )
        pool = pools.create_pool(
            session,
            principal=_principal(session, curator),
            data=PoolIn.model_validate(
                {
                    "name": f"常州市智改数转服务商资源池{uuid.uuid4().hex[:4]}",
                    "description": "为中小制造企业遴选服务商",
                    "categories": CATEGORIES,
                    "scorecard": SCORECARD,
                    "applications_open": True,
                }
            ),
        )
        provider_user = session.query(User).filter(User.email == provider_email).one()
        loaded = lifecycle.submit(
            session,
            principal=_principal(session, provider_user),
            pool_id=pool.id,
            data=ApplicationIn.model_validate(
                {
                    "category_id": "injection",
                    "solution_ids": [solution_id],
                    "declaration": True,
                    "note": "近三年服务注塑企业 40 余家",
                }
            ),
        )
        return Submitted(
            curator_email=curator_email,
            curator_name=curator.name,
            pool_id=pool.id,
            application_id=loaded.app.id,
            provider_name=provider_name,
            solution_id=solution_id,
            solution_title=title,
        )


def _login(page: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_curator_vets_an_application_into_the_pool(
    page: Any, shoot: Any, live_server: LiveServer
) -> None:
    submitted = _submitted(live_server)
    _login(page, submitted.curator_email)

    page.goto("/curator")
    expect(page.get_by_role("heading", level=1, name="审核队列")).to_be_visible()
    expect(page.get_by_role("link", name=submitted.provider_name)).to_be_visible()
    shoot(page, "curator-queue")

    page.get_by_role("link", name=submitted.provider_name).click()
    page.wait_for_url(f"**/curator/applications/{submitted.application_id}")
    expect(page.get_by_role("link", name=submitted.solution_title)).to_be_visible()
    page.get_by_role("button", name="受理并进入专家评审").click()
    expect(page.get_by_text("已受理并进入专家评审，请接着指派评审专家。")).to_be_visible()

    page.get_by_label(re.compile(submitted.curator_name)).check()
    page.get_by_role("button", name="指派所选专家").click()
    expect(page.get_by_text("已指派评审专家。")).to_be_visible()

    page.get_by_label("本人声明与该服务商不存在利益冲突。").check()
    page.get_by_label("产品服务能力", exact=True).fill("36")
    page.get_by_label("服务企业情况", exact=True).fill("30")
    page.get_by_label("综合服务能力", exact=True).fill("20")
    page.get_by_role("button", name="保存评分").click()
    expect(page.get_by_text("您的加权总分：86（满分 100）。")).to_be_visible()
    shoot(page, "curator-scoring")

    page.get_by_role("button", name="通过并开始公示").click()
    expect(page.get_by_text("审核通过，已开始公示。")).to_be_visible()

    # The notice period runs its days: its end is moved into the past.
    with live_server.db.transaction() as session:
        session.execute(
            update(PoolApplication)
            .where(PoolApplication.id == submitted.application_id)
            .values(notice_ends_at=utcnow() - timedelta(minutes=1))
        )
    page.goto(f"/curator/pools/{submitted.pool_id}/notices")
    expect(page.get_by_role("link", name=submitted.provider_name)).to_be_visible()
    shoot(page, "curator-notices")
    page.get_by_role("button", name="将公示期满的服务商入库").click()
    expect(page.get_by_text("1 家公示期满且无未决异议的服务商已入库。")).to_be_visible()

    page.goto(f"/pools/{submitted.pool_id}")
    expect(page.get_by_role("link", name=submitted.provider_name)).to_be_visible()
    expect(page.get_by_text(re.compile("有效期至"))).to_be_visible()
    shoot(page, "pool-public")

    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        found = api.get("/api/v1/search", params={"q": submitted.solution_title})
    assert found.status_code == 200, found.text
    assert submitted.solution_id in [hit["ref_id"] for hit in found.json()["hits"]]

    page.goto(f"/curator/pools/{submitted.pool_id}/dashboard")
    expect(page.get_by_role("heading", name="按类别统计的入库服务商")).to_be_visible()
    assert page.locator(".chart-svg svg").count() >= 3
    expect(page.get_by_role("rowheader", name="注塑行业")).to_be_visible()
    shoot(page, "curator-dashboard")
