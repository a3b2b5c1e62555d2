"""Reviews and engagements reach the matching engine: the provider records carry the verified
ratings and the current load, and the outbox events refresh the provider in the index."""

from __future__ import annotations

import uuid

import pytest

from market.needs.models import Need
from market.recommendations import adapter, index_cache
from market.recommendations.index_cache import IndexCache
from matching import CatalogIndex, ProviderRecord
from tests.market.engagements.test_engagements import Deal
from tests.market.recommendations.test_recommendations_api import publish_solution
from tests.market.reviews.test_reviews import REVIEW_BODY, reviewed
from tests.market.rfqs.test_rfq_flow import Market, new_market
from tests.support import Actor, Api


@pytest.fixture
def market(api: Api) -> Market:
    return new_market(api)


def record(api: Api, provider: Actor) -> ProviderRecord:
    assert provider.provider_id is not None
    with api.db.transaction() as session:
        (found,) = adapter.load_providers(session, [provider.provider_id])
    return found


def live_cache(api: Api) -> IndexCache:
    """The app's index, built now, so that later events update it rather than build it."""
    cache = IndexCache(embedder=None, db=api.db)
    api.client.app.state.recommendation_index = cache  # type: ignore[attr-defined]
    index_cache.register(api.db, cache)
    with api.db.transaction() as session:
        cache.index(session)
    return cache


def provider_row(cache: IndexCache, api: Api, provider: Actor) -> tuple[CatalogIndex, int]:
    with api.db.transaction() as session:
        index = cache.index(session)
    row = index.find_provider(str(provider.provider_id))
    assert row is not None
    return index, row


def test_provider_records_carry_the_occupying_engagements_as_load(market: Market) -> None:
    provider = market.provider()
    deal = Deal(market, *market.awarded(provider=provider))

    assert record(market.api, provider).active_engagements == 1
    deal.completed()
    assert record(market.api, provider).active_engagements == 0


def test_provider_records_carry_published_reviews_only(market: Market) -> None:
    provider = market.provider()
    deal = Deal(market, *market.awarded(provider=provider)).completed()
    reviewed(deal, {**REVIEW_BODY, "overall": 3})

    reviews = record(market.api, provider).reviews

    assert [(r.rating, r.verified, r.flagged) for r in reviews] == [(3.0, True, False)]
    assert reviews[0].age_days < 1


def test_engagement_events_refresh_the_providers_load_in_the_index(market: Market) -> None:
    provider = market.provider(capacity=2)
    publish_solution(market.api, provider)
    cache = live_cache(market.api)
    _, row = provider_row(cache, market.api, provider)
    updates = cache.updates

    deal = Deal(market, *market.awarded(provider=provider))

    index, row = provider_row(cache, market.api, provider)
    assert float(index.providers.load[row]) == pytest.approx(0.5)
    assert cache.builds == 1
    assert cache.updates > updates
    deal.ok(deal.sme, "/cancel", {"reason": "预算冻结"})
    index, row = provider_row(cache, market.api, provider)
    assert float(index.providers.load[row]) == 0.0


def test_a_published_review_refreshes_the_providers_trust_in_the_index(market: Market) -> None:
    provider = market.provider()
    publish_solution(market.api, provider)
    deal = Deal(market, *market.awarded(provider=provider)).completed()
    cache = live_cache(market.api)
    index, row = provider_row(cache, market.api, provider)
    assert float(index.providers.trust_mean[row]) == pytest.approx(4.2)

    reviewed(deal, {**REVIEW_BODY, "overall": 2})

    index, row = provider_row(cache, market.api, provider)
    assert float(index.providers.trust_mean[row]) == pytest.approx((5 * 4.2 + 2) / 6, abs=1e-4)
    assert float(index.providers.n_eff[row]) == pytest.approx(1.0)
    assert cache.builds == 1


def test_accepting_a_quote_closes_the_need(market: Market) -> None:
    sme = market.sme()
    provider = market.provider()
    need_id = market.need(sme)
    rfq = market.rfq(sme, [provider], need_id=need_id)
    offered = market.quote(provider, market.invitation(rfq, provider))

    market.accept(sme, offered["id"])

    with market.api.db.transaction() as session:
        need = session.get(Need, uuid.UUID(need_id))
        assert need is not None
        assert need.status == "closed"
    read = market.get(sme, f"/api/v1/needs/{need_id}")
    assert read.json()["status"] == "closed"
