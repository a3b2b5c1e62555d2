"""Exposure read back from the stored lists: the engine's fairness input and curators' view.

**Exposure** of a provider is the sum over its shown results in the window of 1/log₂(1 + rank)
(DOMAIN §5): rank 1 counts 1, rank 3 counts 0.5, rank 10 about 0.29, because attention falls
off down a list. The rolling 30-day sum per provider is what :func:`matching.recommend` takes
as ``exposure`` to keep the same few providers from taking every lead.

**Curator statistics** for one pool (:func:`pool_statistics`):

* Per listed member, over every list stored in the window (exposure is platform-wide, as the
  engine sees it): impressions, exposure, **exposure share** (of the members' total) and
  **merit share** (its share of the members' summed scores over the same results). A ratio
  well above 1 means the provider gets better places than its scores alone would give.
* **Local vs external per capability**, over the lists asked by SMEs inside the pool's
  jurisdiction: for each requested capability, how much of the exposure went to providers
  registered inside the jurisdiction (local) and how much to the others.
* **Gini** of exposure over the members that qualify (listed, with a published solution in the
  index, below the capacity limit), and those qualified members with **zero exposure**.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog import visibility
from catalog.pools.models import Pool, PoolApplication
from catalog.pools.service import within
from catalog.providers.models import Provider
from core.database import utcnow
from market.recommendations.models import RecommendationList, RecommendationResult
from matching import CatalogIndex
from matching.evaluation import gini

WINDOW_DAYS = 30
# Requested capabilities of a list that named none, in the per-capability table.
UNSPECIFIED = "unspecified"


def impression_weight(rank: int) -> float:
    """Position weight of one impression: 1 / log₂(1 + rank)."""
    return 1.0 / math.log2(1 + rank)


def rolling_exposure(
    session: Session, *, days: int = WINDOW_DAYS, now: datetime | None = None
) -> dict[str, float]:
    """Provider id → position-weighted impressions in the last ``days`` days."""
    since = (now or utcnow()) - timedelta(days=days)
    rows = session.execute(
        select(RecommendationResult.provider_id, func.sum(RecommendationResult.exposure_weight))
        .where(RecommendationResult.shown_at >= since)
        .group_by(RecommendationResult.provider_id)
    )
    return {str(provider_id): float(total or 0.0) for provider_id, total in rows}


@dataclass(frozen=True)
class ProviderExposure:
    provider_id: uuid.UUID
    name: str
    registered_region: str
    local: bool
    qualified: bool
    impressions: int
    exposure: float
    exposure_share: float
    merit_share: float
    # exposure share ÷ merit share; None when the provider has no merit in the window.
    ratio: float | None


@dataclass(frozen=True)
class CapabilityLocality:
    capability: str
    lists: int
    impressions: int
    local_exposure: float
    external_exposure: float
    local_share: float
    external_share: float


@dataclass(frozen=True)
class PoolExposure:
    pool_id: uuid.UUID
    jurisdiction: str
    days: int
    since: datetime
    lists_in_jurisdiction: int
    providers: list[ProviderExposure]
    capabilities: list[CapabilityLocality]
    gini: float
    zero_exposure_qualified: list[ProviderExposure]


def _region_prefix(jurisdiction: str) -> str:
    """The GB/T 2260 prefix every code inside the jurisdiction starts with (see pools.within)."""
    if jurisdiction.endswith("0000"):
        return jurisdiction[:2]
    if jurisdiction.endswith("00"):
        return jurisdiction[:4]
    return jurisdiction


def _share(part: float, total: float) -> float:
    return part / total if total > 0 else 0.0


def _members(session: Session, pool: Pool) -> list[tuple[uuid.UUID, str, str]]:
    rows = session.execute(
        select(Provider.id, Provider.legal_name, Provider.registered_region)
        .join(PoolApplication, PoolApplication.provider_id == Provider.id)
        .where(PoolApplication.pool_id == pool.id, visibility.is_shown_listing())
        .distinct()
        .order_by(Provider.legal_name, Provider.id)
    )
    return [(row[0], row[1], row[2]) for row in rows]


def _qualified(index: CatalogIndex, provider_id: uuid.UUID) -> bool:
    row = index.find_provider(str(provider_id))
    if row is None:
        return False
    table = index.providers
    has_solution = bool((index.provider_row == row).any())
    return (
        bool(table.status_ok[row])
        and float(table.load[row]) < index.weights.load_exclude
        and has_solution
    )


def _capability_locality(
    session: Session, pool: Pool, since: datetime
) -> tuple[int, list[CapabilityLocality]]:
    prefix = _region_prefix(pool.jurisdiction)
    lists = session.execute(
        select(RecommendationList.id, RecommendationList.request).where(
            RecommendationList.created_at >= since,
            RecommendationList.region_code.startswith(prefix, autoescape=True),
        )
    ).all()
    requested: dict[uuid.UUID, list[str]] = {}
    for list_id, request in lists:
        data: dict[str, Any] = request or {}
        caps = [*data.get("must_capabilities", ()), *data.get("nice_capabilities", ())]
        requested[list_id] = list(dict.fromkeys(caps)) or [UNSPECIFIED]
    if not requested:
        return 0, []
    results = session.execute(
        select(
            RecommendationResult.list_id,
            RecommendationResult.provider_id,
            RecommendationResult.exposure_weight,
        ).where(RecommendationResult.list_id.in_(list(requested)))
    ).all()
    regions = dict(
        session.execute(
            select(Provider.id, Provider.registered_region).where(
                Provider.id.in_({row[1] for row in results})
            )
        ).all()
    )
    local: dict[str, float] = defaultdict(float)
    external: dict[str, float] = defaultdict(float)
    impressions: dict[str, int] = defaultdict(int)
    list_count: dict[str, int] = defaultdict(int)
    for caps in requested.values():
        for capability in caps:
            list_count[capability] += 1
    for list_id, provider_id, weight in results:
        region = regions.get(provider_id) or ""
        is_local = bool(region) and within(region, pool.jurisdiction)
        for capability in requested[list_id]:
            impressions[capability] += 1
            if is_local:
                local[capability] += float(weight)
            else:
                external[capability] += float(weight)
    table = []
    for capability in sorted(list_count, key=lambda cap: (-list_count[cap], cap)):
        total = local[capability] + external[capability]
        table.append(
            CapabilityLocality(
                capability=capability,
                lists=list_count[capability],
                impressions=impressions[capability],
                local_exposure=round(local[capability], 6),
                external_exposure=round(external[capability], 6),
                local_share=round(_share(local[capability], total), 6),
                external_share=round(_share(external[capability], total), 6),
            )
        )
    return len(requested), table


def pool_statistics(
    session: Session,
    *,
    pool: Pool,
    index: CatalogIndex,
    days: int = WINDOW_DAYS,
    now: datetime | None = None,
) -> PoolExposure:
    """The exposure statistics of one pool's members (see the module docstring)."""
    since = (now or utcnow()) - timedelta(days=days)
    members = _members(session, pool)
    ids = [provider_id for provider_id, _name, _region in members]
    totals: dict[uuid.UUID, tuple[int, float, float]] = {}
    if ids:
        for provider_id, count, weight, merit in session.execute(
            select(
                RecommendationResult.provider_id,
                func.count(),
                func.sum(RecommendationResult.exposure_weight),
                func.sum(RecommendationResult.score),
            )
            .where(
                RecommendationResult.shown_at >= since, RecommendationResult.provider_id.in_(ids)
            )
            .group_by(RecommendationResult.provider_id)
        ):
            totals[provider_id] = (int(count), float(weight or 0.0), float(merit or 0.0))
    all_exposure = sum(weight for _count, weight, _merit in totals.values())
    all_merit = sum(max(0.0, merit) for _count, _weight, merit in totals.values())
    providers: list[ProviderExposure] = []
    for provider_id, name, region in members:
        count, weight, merit = totals.get(provider_id, (0, 0.0, 0.0))
        exposure_share = _share(weight, all_exposure)
        merit_share = _share(max(0.0, merit), all_merit)
        providers.append(
            ProviderExposure(
                provider_id=provider_id,
                name=name,
                registered_region=region,
                local=within(region, pool.jurisdiction),
                qualified=_qualified(index, provider_id),
                impressions=count,
                exposure=round(weight, 6),
                exposure_share=round(exposure_share, 6),
                merit_share=round(merit_share, 6),
                ratio=round(exposure_share / merit_share, 6) if merit_share > 0 else None,
            )
        )
    providers.sort(key=lambda item: (-item.exposure, item.name, str(item.provider_id)))
    qualified = [item for item in providers if item.qualified]
    lists, capabilities = _capability_locality(session, pool, since)
    return PoolExposure(
        pool_id=pool.id,
        jurisdiction=pool.jurisdiction,
        days=days,
        since=since,
        lists_in_jurisdiction=lists,
        providers=providers,
        capabilities=capabilities,
        gini=round(gini([item.exposure for item in qualified]), 6),
        zero_exposure_qualified=[item for item in qualified if item.impressions == 0],
    )
