"""The demo's two resource pools and the providers vetted into them.

Only providers listed in a pool are public, so the demo needs pools for the catalog to show
anything. Most demo providers are listed; a few wait in 公示 or in review, and a few never
applied, so every state a curator works with appears on first start.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from catalog.pools.models import (
    Pool,
    PoolApplication,
    PoolApplicationSolution,
    add_months,
    star_rating_for,
)
from catalog.providers.models import Provider
from catalog.solutions.models import Solution
from core import audit
from core.database import utcnow
from core.outbox import emit
from market.accounts.models import Organisation

# A 100-point card in the shape of the published municipal ones (DOMAIN §2.2).
SCORECARD: list[dict[str, Any]] = [
    {
        "id": "served",
        "name": "服务企业情况",
        "max_points": 25,
        "weight": 1.0,
        "guidance": "近三年服务本地中小企业数量与行业覆盖",
    },
    {
        "id": "capability",
        "name": "产品服务能力",
        "max_points": 30,
        "weight": 1.0,
        "guidance": "产品成熟度、协议与设备接入能力、知识产权",
    },
    {
        "id": "results",
        "name": "工作实效评价",
        "max_points": 25,
        "weight": 1.0,
        "guidance": "已验收项目的量化成效与用户评价",
    },
    {
        "id": "overall",
        "name": "综合服务能力",
        "max_points": 20,
        "weight": 1.0,
        "guidance": "本地服务团队、响应时间与售后保障",
    },
]

POOLS: tuple[dict[str, Any], ...] = (
    {
        "agency_key": "320400",
        "name": "常州市工业互联网服务商资源池（示例）",
        "description": "面向常州市中小制造企业智改数转的服务商资源池，"
        "经申报、形式审查、专家评审和公示后入库。",
        "entry_criteria": "独立法人；近三年无重大安全、环保、质量事故；信用中国无严重失信记录；"
        "具备本地化服务能力或承诺上门服务。",
        "categories": [
            {
                "id": "integrator",
                "name": "综合集成型服务商",
                "provider_types": ["integrator"],
                "industries": [],
                "quota": 40,
            },
            {
                "id": "product",
                "name": "“小快轻准”产品型服务商",
                "provider_types": ["product", "partner"],
                "industries": [],
                "quota": 120,
            },
            {
                "id": "platform",
                "name": "工业互联网平台",
                "provider_types": ["platform"],
                "industries": [],
                "quota": 15,
            },
            {
                "id": "enabler",
                "name": "诊断咨询与赋能机构",
                "provider_types": ["enabler", "expert", "chain_leader", "lead_unit"],
                "industries": [],
                "quota": 30,
            },
        ],
    },
    {
        "agency_key": "441900",
        "name": "东莞市中小企业数字化转型服务资源池（示例）",
        "description": "东莞市数字化转型城市试点的牵引单位、生态服务商与产品目录。",
        "entry_criteria": "在粤注册或在东莞设有服务机构；具备典型案例；"
        "承诺按试点要求提供改造后评测支持。",
        "categories": [
            {
                "id": "lead_unit",
                "name": "数字化牵引单位",
                "provider_types": ["lead_unit", "chain_leader", "platform", "integrator"],
                "industries": [],
                "quota": 30,
            },
            {
                "id": "partner",
                "name": "生态服务商",
                "provider_types": ["partner", "product", "enabler", "expert"],
                "industries": [],
                "quota": 150,
            },
        ],
    },
)

JIANGSU, GUANGDONG = "32", "44"


def _category(pool: dict[str, Any], provider_type: str) -> str:
    for category in pool["categories"]:
        if provider_type in category["provider_types"]:
            return str(category["id"])
    return str(pool["categories"][-1]["id"])


def _pools_for(provider: Provider, rng: random.Random) -> list[int]:
    """Local firms join their own city's pool; outside firms join one or both (内引外联)."""
    province = provider.registered_region[:2]
    if province == JIANGSU:
        return [0]
    if province == GUANGDONG:
        return [1]
    return rng.choice([[0], [1], [0, 1]])


def build_demo_pools(
    session: Session,
    *,
    rng: random.Random,
    uid: Callable[[], uuid.UUID],
    base_time: datetime,
    agencies: Sequence[Organisation],
    providers: Sequence[tuple[Provider, Sequence[Solution]]],
) -> dict[str, int]:
    by_region = {agency.jurisdiction: agency for agency in agencies}
    pools: list[Pool] = []
    for spec in POOLS:
        agency = by_region[spec["agency_key"]]
        pools.append(
            Pool(
                id=uid(),
                agency_org_id=agency.id,
                jurisdiction=spec["agency_key"],
                name=spec["name"],
                description=spec["description"],
                entry_criteria=spec["entry_criteria"],
                categories=spec["categories"],
                scorecard=SCORECARD,
                evaluation_period_months=24,
                notice_days=7,
                pass_score=60,
                applications_open=True,
                created_at=base_time - timedelta(days=800),
                updated_at=base_time - timedelta(days=800),
            )
        )
    session.add_all(pools)
    session.flush()

    counts = {"pools": len(pools), "listed": 0, "in_notice": 0, "under_review": 0}
    now = utcnow()
    for provider, solutions in providers:
        published = [s for s in solutions if s.status == "published"]
        roll = rng.random()
        if roll < 0.05 or not published:
            continue  # never applied: prepares drafts, stays out of public view
        state = "listed" if roll < 0.88 else ("in_notice" if roll < 0.94 else "under_review")
        for index in _pools_for(provider, rng):
            pool, spec = pools[index], POOLS[index]
            total = round(rng.uniform(62, 97), 2)
            submitted = base_time - timedelta(days=rng.randint(40, 700))
            decided = submitted + timedelta(days=rng.randint(10, 30))
            application = PoolApplication(
                id=uid(),
                pool_id=pool.id,
                provider_id=provider.id,
                category_id=_category(spec, provider.provider_type),
                note="示例申报材料",
                declared_at=submitted,
                state=state,
                reasons=[],
                scorecard=SCORECARD,
                submitted_at=submitted,
                created_at=submitted,
                updated_at=decided,
                solution_links=[PoolApplicationSolution(solution_id=s.id) for s in published[:3]],
            )
            if state != "under_review":
                application.total_score = total
                application.decided_at = decided
            if state == "in_notice":
                # The notice runs from today so the 公示 list has entries whenever the demo starts.
                application.notice_ends_at = now + timedelta(days=rng.randint(2, 7))
            if state == "listed":
                listed = decided + timedelta(days=pool.notice_days)
                application.listed_since = listed
                application.valid_until = add_months(listed, pool.evaluation_period_months)
                application.star_rating = star_rating_for(total)
                application.rated_at = listed
            session.add(application)
            counts[state] += 1
            if state == "listed":
                audit.record(
                    session,
                    actor=None,
                    action="pool.application.listed",
                    target_type="pool_application",
                    target_id=application.id,
                    reason="示例数据：公示期满无异议，入库",
                    scope_id=pool.id,
                    subject_org_id=provider.org_id,
                    after={"state": "listed"},
                )
                emit(
                    session,
                    "pool.membership.changed",
                    pool_id=str(pool.id),
                    provider_id=str(provider.id),
                    application_id=str(application.id),
                    state="listed",
                )
    session.flush()
    return counts
