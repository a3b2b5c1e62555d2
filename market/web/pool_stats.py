"""The numbers behind a pool's dashboard, read in a handful of grouped queries.

Everything is about the listings the public sees (the one rule in ``catalog.visibility``) and
the market activity that went through the pool: RFQs sent with the pool named, and the
engagements that came of them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog import visibility
from catalog.pools.models import Pool, PoolApplication
from catalog.pools.service import within
from catalog.providers.models import Provider
from catalog.solutions.models import Solution, SolutionFacet
from market.engagements.models import Engagement
from market.rfqs.models import Rfq, RfqInvitation

# Invitations the provider answered, with a quote or a reasoned decline.
ANSWERED = ("quoted", "declined", "awarded")


@dataclass
class PoolStats:
    listed: int = 0
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_capability: list[tuple[str, int]] = field(default_factory=list)
    by_region: list[tuple[str, int]] = field(default_factory=list)
    local: int = 0
    external: int = 0
    invitations: int = 0
    answered: int = 0
    invitations_by_status: list[tuple[str, int]] = field(default_factory=list)
    rfqs: int = 0
    engagements_by_status: list[tuple[str, int]] = field(default_factory=list)
    ratings: list[tuple[int, int]] = field(default_factory=list)

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.invitations if self.invitations else None


def _counted(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


def pool_stats(session: Session, pool: Pool) -> PoolStats:
    stats = PoolStats()
    listings = session.execute(
        select(PoolApplication.category_id, PoolApplication.star_rating, Provider)
        .join(Provider, Provider.id == PoolApplication.provider_id)
        .where(PoolApplication.pool_id == pool.id, visibility.is_shown_listing())
    ).all()
    stats.listed = len(listings)
    categories: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    ratings: Counter[int] = Counter()
    provider_ids: set[uuid.UUID] = set()
    for category_id, star_rating, provider in listings:
        categories[pool.category_name(category_id)] += 1
        regions[provider.registered_region] += 1
        if star_rating is not None:
            ratings[int(star_rating)] += 1
        if within(provider.registered_region, pool.jurisdiction):
            stats.local += 1
        else:
            stats.external += 1
        provider_ids.add(provider.id)
    stats.by_category = _counted(categories)
    stats.by_region = _counted(regions)
    stats.ratings = [(star, ratings.get(star, 0)) for star in range(1, 6)]
    stats.by_capability = _capabilities(session, provider_ids)
    _market(session, pool, stats)
    return stats


def _capabilities(session: Session, provider_ids: set[uuid.UUID]) -> list[tuple[str, int]]:
    """Listed providers offering each capability in a published solution (a provider once)."""
    if not provider_ids:
        return []
    rows = session.execute(
        select(SolutionFacet.code, func.count(Solution.provider_id.distinct()))
        .join(Solution, Solution.id == SolutionFacet.solution_id)
        .where(
            Solution.provider_id.in_(provider_ids),
            Solution.status == "published",
            SolutionFacet.facet == "capability",
        )
        .group_by(SolutionFacet.code)
    )
    return _counted(Counter({str(row[0]): int(row[1]) for row in rows}))


def _market(session: Session, pool: Pool, stats: PoolStats) -> None:
    stats.rfqs = int(
        session.scalar(select(func.count()).select_from(Rfq).where(Rfq.pool_id == pool.id)) or 0
    )
    invitations = session.execute(
        select(RfqInvitation.status, func.count())
        .join(Rfq, Rfq.id == RfqInvitation.rfq_id)
        .where(Rfq.pool_id == pool.id)
        .group_by(RfqInvitation.status)
    )
    by_status = Counter({str(row[0]): int(row[1]) for row in invitations})
    stats.invitations = sum(by_status.values())
    stats.answered = sum(by_status[s] for s in ANSWERED)
    stats.invitations_by_status = _counted(by_status)
    engagements = session.execute(
        select(Engagement.status, func.count())
        .where(Engagement.pool_id == pool.id)
        .group_by(Engagement.status)
    )
    stats.engagements_by_status = _counted(
        Counter({str(row[0]): int(row[1]) for row in engagements})
    )
