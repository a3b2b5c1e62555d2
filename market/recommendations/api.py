"""Routes for recommendations (推荐), why-not, exposure statistics and pool matching weights."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from core.deps import CurrentPrincipal, DbSession, OptionalPrincipal
from market.recommendations import service
from market.recommendations.exposure import WINDOW_DAYS
from market.recommendations.index_cache import IndexCache, cache_of
from market.recommendations.schemas import (
    MAX_K,
    MatchIn,
    PoolExposureOut,
    PoolWeightsIn,
    PoolWeightsOut,
    RecommendationOut,
    RecommendIn,
    WhyNotOut,
)

router = APIRouter(prefix="/api/v1", tags=["recommendations"])


def _cache(request: Request) -> IndexCache:
    return cache_of(request)


Cache = Annotated[IndexCache, Depends(_cache)]


@router.post(
    "/needs/{need_id}/recommendations",
    status_code=status.HTTP_201_CREATED,
    response_model=RecommendationOut,
)
def recommend_for_need(
    need_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    cache: Cache,
    data: RecommendIn | None = None,
) -> RecommendationOut:
    """An explained list of providers and solutions for your need, stored for the exposure
    audit (201 with the list's id).

    The need's SME profile supplies industry, size and region. ``prefer_local`` (default on) is
    the visible locality switch: it changes the order, never who may appear. Weights are set by
    the curators of the pool covering your region, not per request. Only the SME owning the
    need may ask; everyone else gets 404 (403 for a provider the need was shared with)."""
    return service.recommend_for_need(
        session, cache=cache, principal=principal, need_id=need_id, data=data or RecommendIn()
    )


@router.get("/needs/{need_id}/recommendations/{list_id}", response_model=RecommendationOut)
def read_list(
    need_id: uuid.UUID, list_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> RecommendationOut:
    """A stored list exactly as it was shown (names and badges as they are now)."""
    return service.read_list(session, principal=principal, need_id=need_id, list_id=list_id)


@router.get(
    "/needs/{need_id}/recommendations/{list_id}/why-not/{provider_id}", response_model=WhyNotOut
)
def why_not_in_list(
    need_id: uuid.UUID,
    list_id: uuid.UUID,
    provider_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    cache: Cache,
) -> WhyNotOut:
    """Why a provider you name is not in this list: the hard rule that excluded it, or its rank
    and score gap, computed with the list's request against the current catalogue."""
    return service.why_not_for_list(
        session,
        cache=cache,
        principal=principal,
        need_id=need_id,
        list_id=list_id,
        provider_id=provider_id,
    )


@router.get("/needs/{need_id}/why-not/{provider_id}", response_model=WhyNotOut)
def why_not_for_need(
    need_id: uuid.UUID,
    provider_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    cache: Cache,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
    prefer_local: bool = True,
) -> WhyNotOut:
    """Why a provider you name would not be recommended for the need as saved now."""
    return service.why_not_for_need(
        session,
        cache=cache,
        principal=principal,
        need_id=need_id,
        provider_id=provider_id,
        k=k,
        prefer_local=prefer_local,
    )


@router.post("/match", status_code=status.HTTP_201_CREATED, response_model=RecommendationOut)
def match(
    data: MatchIn, principal: OptionalPrincipal, session: DbSession, cache: Cache
) -> RecommendationOut:
    """Explore without saving a need: the same engine and answer shape, open to anonymous
    callers. The list is stored without a need, for the exposure audit only."""
    return service.match_adhoc(session, cache=cache, principal=principal, data=data)


@router.get("/pools/{pool_id}/exposure", response_model=PoolExposureOut, tags=["pools"])
def pool_exposure(
    pool_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    cache: Cache,
    days: Annotated[int, Query(ge=1, le=365)] = WINDOW_DAYS,
) -> PoolExposureOut:
    """Who the engine shows, for the pool's curators: exposure and merit share per listed
    member, local vs external share per requested capability in the pool's jurisdiction, the
    Gini of exposure and the qualified members nobody was shown."""
    return service.pool_exposure(
        session, cache=cache, principal=principal, pool_id=pool_id, days=days
    )


@router.get("/pools/{pool_id}/matching-weights", response_model=PoolWeightsOut, tags=["pools"])
def read_pool_weights(
    pool_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> PoolWeightsOut:
    """The pool's weight overrides and the full set in force for its jurisdiction."""
    return service.read_pool_weights(session, principal=principal, pool_id=pool_id)


@router.put("/pools/{pool_id}/matching-weights", response_model=PoolWeightsOut, tags=["pools"])
def put_pool_weights(
    pool_id: uuid.UUID, data: PoolWeightsIn, principal: CurrentPrincipal, session: DbSession
) -> PoolWeightsOut:
    """Replace the pool's overrides of the engine's weights (curators of the pool).

    They apply to needs whose SME region lies in the pool's jurisdiction; with several pools
    covering a region the most specific jurisdiction wins. Unknown names, negative values and
    weights fixed at index build time are refused; every change is audited."""
    return service.put_pool_weights(session, principal=principal, pool_id=pool_id, data=data)
