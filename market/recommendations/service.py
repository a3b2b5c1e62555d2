"""Recommendation use cases: run the engine for a need, store the list, explain, audit.

Who may do what (object-level rules, applied here rather than in the routers):

* A saved need's recommendations, stored lists and why-not answers belong to the SME that owns
  the need. Anyone who cannot read the need gets 404, as for the need itself; a provider the
  need was shared with can read the need but not its recommendations (403): those name its
  competitors.
* The ad-hoc match is open to everyone, anonymous callers included; its lists are stored with
  no need (and the caller's organisation when logged in) and are readable by nobody through
  the API: they exist for the exposure audit.
* A pool's exposure statistics and weight overrides are for the curators of the agency that
  runs the pool (and platform admins).

**Which curator weights apply** (documented rule): the overrides of the pool whose jurisdiction
contains the SME's region (the profile's region, else the organisation's registered region; for
an ad-hoc match the region in the body). When several pools cover the region the most specific
jurisdiction wins (a county over its city over its province); among equally specific pools
the most recently updated overrides win. No region, or no covering pool with overrides, means
the platform defaults. The list records which pool's weights were used.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from catalog import visibility
from catalog.discovery.backends import synonym_table
from catalog.pools import service as pools
from catalog.pools.models import Pool, PoolApplication
from catalog.providers.models import Provider
from catalog.solutions.models import Solution
from catalog.taxonomy import derive_size, vocabulary
from core import audit
from core.database import utcnow
from core.deps import Principal
from core.errors import Forbidden, NotFound, field_error
from market.accounts import service as accounts
from market.needs import service as needs
from market.needs.models import Need as NeedRow
from market.recommendations import adapter, exposure
from market.recommendations.index_cache import IndexCache
from market.recommendations.models import (
    PoolMatchingWeights,
    RecommendationList,
    RecommendationResult,
)
from market.recommendations.schemas import (
    BadgeBrief,
    CapabilityLocalityOut,
    CaveatOut,
    MatchIn,
    PoolExposureOut,
    PoolWeightsIn,
    PoolWeightsOut,
    ProviderBrief,
    ProviderExposureOut,
    RecommendationOut,
    RecommendIn,
    RelaxationOut,
    ResultOut,
    SolutionBrief,
    WhyNotOut,
)
from matching import DEFAULT_WEIGHTS, Need, Recommendation, Weights, WhyNot, recommend, why_not

log = logging.getLogger(__name__)

# The MIIT size rules for manufacturers, as SME profiles use them.
SIZE_SECTOR = "industry"
WEIGHTS_AUDIT_ACTION = "pool.matching_weights.updated"
# Weights the index applies once, when it is built (review arithmetic, response speed): a
# per-request override of these would silently do nothing, so it is refused instead.
BUILD_TIME_WEIGHTS = frozenset(
    {
        "prior_mean",
        "prior_strength",
        "half_life_days",
        "wilson_z",
        "positive_rating",
        "resp_fast_hours",
        "resp_slow_hours",
        "resp_slow_factor",
        "resp_unknown_factor",
    }
)


# --- weights --------------------------------------------------------------------------------


def _specificity(jurisdiction: str) -> int:
    """Significant digits of a GB/T 2260 code: province 2, city 4, county 6."""
    if jurisdiction.endswith("0000"):
        return 2
    if jurisdiction.endswith("00"):
        return 4
    return 6


def effective_weights(
    session: Session, region_code: str | None
) -> tuple[Weights, uuid.UUID | None]:
    """The weights for a need from ``region_code`` and the pool they come from (module rule)."""
    if not region_code:
        return DEFAULT_WEIGHTS, None
    rows = session.execute(
        select(PoolMatchingWeights, Pool.jurisdiction).join(
            Pool, Pool.id == PoolMatchingWeights.pool_id
        )
    ).all()
    covering = [
        (row, jurisdiction)
        for row, jurisdiction in rows
        if row.overrides and pools.within(region_code, jurisdiction)
    ]
    if not covering:
        return DEFAULT_WEIGHTS, None
    covering.sort(
        key=lambda item: (_specificity(item[1]), item[0].updated_at, str(item[0].pool_id)),
        reverse=True,
    )
    chosen = covering[0][0]
    try:
        return DEFAULT_WEIGHTS.with_overrides(chosen.overrides), chosen.pool_id
    except ValueError:
        # Stored overrides that a later engine no longer accepts must not break every
        # recommendation in the region; the defaults serve until a curator saves again.
        log.warning("ignoring invalid matching weights of pool %s", chosen.pool_id)
        return DEFAULT_WEIGHTS, None


def validate_overrides(overrides: dict[str, float]) -> Weights:
    build_time = sorted(set(overrides) & BUILD_TIME_WEIGHTS)
    if build_time:
        raise field_error(
            "body.overrides",
            f"{', '.join(build_time)} apply when the catalogue index is built and are "
            "platform-wide; they cannot be set per pool",
        )
    try:
        return DEFAULT_WEIGHTS.with_overrides(overrides)
    except (ValueError, TypeError) as exc:
        raise field_error("body.overrides", str(exc)) from None


def _weights_out(pool: Pool, row: PoolMatchingWeights | None) -> PoolWeightsOut:
    overrides = dict(row.overrides) if row is not None else {}
    weights = DEFAULT_WEIGHTS.with_overrides(overrides) if overrides else DEFAULT_WEIGHTS
    return PoolWeightsOut(
        pool_id=pool.id,
        jurisdiction=pool.jurisdiction,
        overrides={name: float(value) for name, value in overrides.items()},
        effective={name: float(value) for name, value in weights.as_dict().items()},
        fingerprint=weights.fingerprint(),
        updated_at=row.updated_at if row is not None else None,
        updated_by=row.updated_by if row is not None else None,
    )


def read_pool_weights(
    session: Session, *, principal: Principal, pool_id: uuid.UUID
) -> PoolWeightsOut:
    pool = pools.get_pool(session, pool_id)
    pools.ensure_pool_curator(principal, pool)
    return _weights_out(pool, session.get(PoolMatchingWeights, pool.id))


def put_pool_weights(
    session: Session, *, principal: Principal, pool_id: uuid.UUID, data: PoolWeightsIn
) -> PoolWeightsOut:
    """Replace the pool's overrides (validated by Weights.with_overrides), audited."""
    pool = pools.get_pool(session, pool_id)
    pools.ensure_pool_curator(principal, pool)
    validate_overrides(data.overrides)
    row = session.get(PoolMatchingWeights, pool.id)
    before = dict(row.overrides) if row is not None else {}
    if row is None:
        row = PoolMatchingWeights(pool_id=pool.id, overrides={}, updated_by=principal.user_id)
        session.add(row)
    # A fresh dict: the JSON column does not notice changes made in place.
    row.overrides = dict(data.overrides)
    row.updated_by = principal.user_id
    row.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=principal,
        action=WEIGHTS_AUDIT_ACTION,
        target_type="pool",
        target_id=pool.id,
        scope_id=pool.id,
        reason=data.reason,
        before={"overrides": before},
        after={"overrides": dict(data.overrides)},
    )
    return _weights_out(pool, row)


# --- running and storing ------------------------------------------------------------------


@dataclass(frozen=True)
class _Requester:
    org_id: uuid.UUID | None
    user_id: uuid.UUID | None


def _requester(principal: Principal | None) -> _Requester:
    if principal is None:
        return _Requester(None, None)
    return _Requester(principal.org_id, principal.user_id)


def _run(
    session: Session, cache: IndexCache, need: Need
) -> tuple[Recommendation, uuid.UUID | None]:
    index = cache.index(session)
    weights, pool_id = effective_weights(session, need.region_code)
    result = recommend(
        index,
        need,
        weights=weights,
        exposure=cache.exposure(session),
        names=adapter.display_names(),
        synonyms=synonym_table(),
    )
    return result, pool_id


def _store(
    session: Session,
    cache: IndexCache,
    result: Recommendation,
    need: Need,
    *,
    need_id: uuid.UUID | None,
    requester: _Requester,
    weights_pool_id: uuid.UUID | None,
) -> RecommendationList:
    now = utcnow()
    row = RecommendationList(
        source="need" if need_id is not None else "adhoc",
        need_id=need_id,
        requester_org_id=requester.org_id,
        requester_user_id=requester.user_id,
        region_code=need.region_code or None,
        engine_version=result.engine_version,
        weights_fingerprint=result.weights_fingerprint,
        weights_pool_id=weights_pool_id,
        text_mode=result.text_mode,
        k=need.k,
        prefer_local=need.prefer_local,
        request=adapter.need_as_dict(need),
        relaxations=[
            {
                "step": step.step,
                "constraint": step.constraint,
                "zh": step.text_zh,
                "en": step.text_en,
                "remaining_before": step.remaining_before,
                "remaining_after": step.remaining_after,
            }
            for step in result.relaxations
        ],
        excluded={name: int(count) for name, count in result.excluded.items()},
        candidates=result.candidates,
        created_at=now,
        results=[
            RecommendationResult(
                rank=item.rank,
                provider_id=uuid.UUID(item.provider_id),
                solution_id=uuid.UUID(item.solution_id),
                score=float(item.score),
                exposure_weight=exposure.impression_weight(item.rank),
                features={name: float(value) for name, value in item.features.items()},
                explanation={
                    "zh": item.explanation_zh,
                    "en": item.explanation_en,
                    "caveats": [
                        {"zh": zh, "en": en}
                        for zh, en in zip(item.caveats_zh, item.caveats_en, strict=True)
                    ],
                },
                exploration=item.exploration,
                shown_at=now,
            )
            for item in result.results
        ],
    )
    session.add(row)
    session.flush()
    cache.add_exposure(
        (item.provider_id, exposure.impression_weight(item.rank)) for item in result.results
    )
    return row


def _badges(session: Session, provider_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[BadgeBrief]]:
    found: dict[uuid.UUID, list[BadgeBrief]] = defaultdict(list)
    if not provider_ids:
        return found
    rows = session.execute(
        select(
            PoolApplication.provider_id,
            Pool.id,
            Pool.name,
            Pool.jurisdiction,
            PoolApplication.star_rating,
        )
        .join(Pool, Pool.id == PoolApplication.pool_id)
        .where(visibility.is_shown_listing(), PoolApplication.provider_id.in_(provider_ids))
        .order_by(PoolApplication.provider_id, Pool.name, Pool.id)
    )
    for provider_id, pool_id, name, jurisdiction, stars in rows:
        found[provider_id].append(
            BadgeBrief(
                pool_id=pool_id, pool_name=name, jurisdiction=jurisdiction, star_rating=stars
            )
        )
    return found


def _list_out(session: Session, row: RecommendationList) -> RecommendationOut:
    """A stored list as the API shows it, with current names and badges."""
    results = list(row.results)
    provider_ids = list(dict.fromkeys(item.provider_id for item in results))
    solution_ids = [item.solution_id for item in results]
    providers = {
        provider_id: (name, region)
        for provider_id, name, region in session.execute(
            select(Provider.id, Provider.legal_name, Provider.registered_region).where(
                Provider.id.in_(provider_ids)
            )
        )
    }
    titles = dict(
        session.execute(
            select(Solution.id, Solution.title).where(Solution.id.in_(solution_ids))
        ).all()
    )
    badges = _badges(session, provider_ids)
    shown: list[ResultOut] = []
    for item in results:
        name, region = providers.get(item.provider_id, ("", ""))
        explanation: dict[str, Any] = item.explanation or {}
        shown.append(
            ResultOut(
                rank=item.rank,
                provider=ProviderBrief(
                    id=item.provider_id,
                    name=name,
                    region_code=region,
                    badges=badges.get(item.provider_id, []),
                ),
                solution=SolutionBrief(id=item.solution_id, title=titles.get(item.solution_id, "")),
                score=round(item.score, 6),
                explanation_zh=str(explanation.get("zh", "")),
                explanation_en=str(explanation.get("en", "")),
                caveats=[CaveatOut(**caveat) for caveat in explanation.get("caveats", [])],
                features={name: round(float(value), 6) for name, value in item.features.items()},
                exploration=item.exploration,
            )
        )
    return RecommendationOut(
        list_id=row.id,
        need_id=row.need_id,
        created_at=row.created_at,
        k=row.k,
        prefer_local=row.prefer_local,
        results=shown,
        relaxations=[RelaxationOut(**step) for step in row.relaxations],
        excluded={name: int(count) for name, count in row.excluded.items()},
        candidates=row.candidates,
        engine_version=row.engine_version,
        weights_fingerprint=row.weights_fingerprint,
        weights_pool_id=row.weights_pool_id,
        text_mode=row.text_mode,
    )


# --- saved needs ----------------------------------------------------------------------------


def _owned_need(session: Session, principal: Principal, need_id: uuid.UUID) -> NeedRow:
    need = needs.get_readable(session, principal=principal, need_id=need_id)
    if not (principal.role == "sme" and principal.org_id == need.org_id):
        # Only a provider the need was shared with gets here: it knows the need exists, but the
        # recommendations name its competitors.
        raise Forbidden(
            "Only the SME that owns this need can see recommendations for it",
            code="not_owner",
        )
    return need


def _engine_need(session: Session, need_row: NeedRow, *, k: int, prefer_local: bool) -> Need:
    profile = needs.find_profile(session, org_id=need_row.org_id)
    org_region = accounts.get_organisation(session, need_row.org_id).region_code
    return adapter.need_from_row(
        need_row, profile, org_region=org_region, k=k, prefer_local=prefer_local
    )


def recommend_for_need(
    session: Session,
    *,
    cache: IndexCache,
    principal: Principal,
    need_id: uuid.UUID,
    data: RecommendIn,
) -> RecommendationOut:
    need_row = _owned_need(session, principal, need_id)
    need = _engine_need(session, need_row, k=data.k, prefer_local=data.prefer_local)
    result, pool_id = _run(session, cache, need)
    row = _store(
        session,
        cache,
        result,
        need,
        need_id=need_row.id,
        requester=_requester(principal),
        weights_pool_id=pool_id,
    )
    return _list_out(session, row)


def _load_list(session: Session, need_id: uuid.UUID, list_id: uuid.UUID) -> RecommendationList:
    row = session.scalar(
        select(RecommendationList)
        .where(RecommendationList.id == list_id, RecommendationList.need_id == need_id)
        .options(selectinload(RecommendationList.results))
    )
    if row is None:
        raise NotFound("No such recommendation list for this need", code="list_not_found")
    return row


def read_list(
    session: Session, *, principal: Principal, need_id: uuid.UUID, list_id: uuid.UUID
) -> RecommendationOut:
    _owned_need(session, principal, need_id)
    return _list_out(session, _load_list(session, need_id, list_id))


def _why_not_out(
    answer: WhyNot, *, list_id: uuid.UUID | None, basis: str = "current_catalogue"
) -> WhyNotOut:
    return WhyNotOut(
        provider_id=uuid.UUID(answer.provider_id),
        status=answer.status,
        zh=answer.text_zh,
        en=answer.text_en,
        constraint=answer.constraint,
        solution_id=uuid.UUID(answer.solution_id) if answer.solution_id else None,
        rank=answer.rank,
        score=None if answer.score is None else round(answer.score, 6),
        gap=None if answer.gap is None else round(answer.gap, 6),
        facts=dict(answer.facts),
        list_id=list_id,
        basis="stored_list" if basis == "stored_list" else "current_catalogue",
    )


def _why_not(session: Session, cache: IndexCache, need: Need, provider_id: uuid.UUID) -> WhyNot:
    index = cache.index(session)
    weights, _pool = effective_weights(session, need.region_code)
    return why_not(
        index,
        need,
        str(provider_id),
        weights=weights,
        exposure=cache.exposure(session),
        names=adapter.display_names(),
        synonyms=synonym_table(),
    )


def why_not_for_need(
    session: Session,
    *,
    cache: IndexCache,
    principal: Principal,
    need_id: uuid.UUID,
    provider_id: uuid.UUID,
    k: int,
    prefer_local: bool,
) -> WhyNotOut:
    """Why a provider is not recommended for the need as it is saved now."""
    need_row = _owned_need(session, principal, need_id)
    need = _engine_need(session, need_row, k=k, prefer_local=prefer_local)
    return _why_not_out(_why_not(session, cache, need, provider_id), list_id=None)


def why_not_for_list(
    session: Session,
    *,
    cache: IndexCache,
    principal: Principal,
    need_id: uuid.UUID,
    list_id: uuid.UUID,
    provider_id: uuid.UUID,
) -> WhyNotOut:
    """Why a provider is not in a stored list: the list's own answer if it was shown there,
    otherwise the list's request replayed against the current catalogue."""
    _owned_need(session, principal, need_id)
    row = _load_list(session, need_id, list_id)
    for item in row.results:
        if item.provider_id == provider_id:
            return WhyNotOut(
                provider_id=provider_id,
                status="shown",
                zh=f"已在推荐列表第 {item.rank} 位",
                en=f"Shown at rank {item.rank}",
                constraint=None,
                solution_id=item.solution_id,
                rank=item.rank,
                score=round(item.score, 6),
                gap=None,
                facts={},
                list_id=row.id,
                basis="stored_list",
            )
    need = adapter.need_from_dict(row.request)
    return _why_not_out(_why_not(session, cache, need, provider_id), list_id=row.id)


# --- ad-hoc ---------------------------------------------------------------------------------


def adhoc_need(data: MatchIn) -> Need:
    size = data.size or derive_size(
        sector=SIZE_SECTOR, employees=data.employees, revenue_wan=data.revenue_wan
    )
    return Need(
        need_id="",
        must_capabilities=tuple(data.must_capabilities),
        nice_capabilities=tuple(data.nice_capabilities),
        protocols=tuple(data.protocols),
        industry_code=data.industry_code,
        sme_size=size,
        region_code=data.region_code,
        budget_fen=adapter.budget_of(data.budget_min_fen, data.budget_max_fen),
        preferred_pricing=tuple(data.preferred_pricing),
        onsite_required=data.onsite_required,
        text=data.text.strip(),
        prefer_local=data.prefer_local,
        pure_saas=adapter.is_pure_saas([*data.must_capabilities, *data.nice_capabilities]),
        k=data.k,
    )


def match_adhoc(
    session: Session, *, cache: IndexCache, principal: Principal | None, data: MatchIn
) -> RecommendationOut:
    low, high = data.budget_min_fen, data.budget_max_fen
    if low is not None and high is not None and low > high:
        raise field_error(
            "body.budget_max_fen",
            f"the budget maximum ({high} fen) is below the minimum ({low} fen)",
            kind="range",
        )
    need = adhoc_need(data)
    result, pool_id = _run(session, cache, need)
    row = _store(
        session,
        cache,
        result,
        need,
        need_id=None,
        requester=_requester(principal),
        weights_pool_id=pool_id,
    )
    return _list_out(session, row)


# --- curators -------------------------------------------------------------------------------


def _provider_exposure_out(item: exposure.ProviderExposure) -> ProviderExposureOut:
    return ProviderExposureOut(
        provider_id=item.provider_id,
        name=item.name,
        registered_region=item.registered_region,
        local=item.local,
        qualified=item.qualified,
        impressions=item.impressions,
        exposure=item.exposure,
        exposure_share=item.exposure_share,
        merit_share=item.merit_share,
        ratio=item.ratio,
    )


def pool_exposure(
    session: Session,
    *,
    cache: IndexCache,
    principal: Principal,
    pool_id: uuid.UUID,
    days: int,
    now: datetime | None = None,
) -> PoolExposureOut:
    pool = pools.get_pool(session, pool_id)
    pools.ensure_pool_curator(principal, pool)
    stats = exposure.pool_statistics(
        session, pool=pool, index=cache.index(session), days=days, now=now
    )
    capabilities = vocabulary("capabilities")
    localities: list[CapabilityLocalityOut] = []
    for item in stats.capabilities:
        term = capabilities.get(item.capability)
        localities.append(
            CapabilityLocalityOut(
                capability=item.capability,
                zh=term.zh if term is not None else "未指定能力",
                en=term.en if term is not None else "No capability named",
                lists=item.lists,
                impressions=item.impressions,
                local_exposure=item.local_exposure,
                external_exposure=item.external_exposure,
                local_share=item.local_share,
                external_share=item.external_share,
            )
        )
    return PoolExposureOut(
        pool_id=stats.pool_id,
        jurisdiction=stats.jurisdiction,
        days=stats.days,
        since=stats.since,
        lists_in_jurisdiction=stats.lists_in_jurisdiction,
        providers=[_provider_exposure_out(item) for item in stats.providers],
        capabilities=localities,
        gini=stats.gini,
        zero_exposure_qualified=[
            _provider_exposure_out(item) for item in stats.zero_exposure_qualified
        ],
    )
