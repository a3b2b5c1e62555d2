"""Exposure: impressions weighted by rank, the rolling window fed back into the engine, and the
pool curators' statistics."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from core.database import utcnow
from market.recommendations import exposure
from market.recommendations.models import RecommendationResult
from tests.market.recommendations.test_recommendations_api import (
    DONGGUAN,
    Catalog,
    cache_of,
    create_need,
    recommended,
    sme_with_profile,
    standard_catalog,
)
from tests.support import Api


def stats(api: Api, catalog: Catalog, **params: Any) -> dict[str, Any]:
    response = api.client.get(
        f"/api/v1/pools/{catalog.pool_id}/exposure",
        params=params,
        headers=catalog.curator.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_impression_weighs_one_over_log2_of_one_plus_its_rank() -> None:
    assert exposure.impression_weight(1) == 1.0
    assert exposure.impression_weight(3) == pytest.approx(0.5)
    assert exposure.impression_weight(10) == pytest.approx(1 / math.log2(11))


def test_statistics_count_impressions_and_position_weighted_exposure(api: Api) -> None:
    catalog = standard_catalog(api)
    sme = sme_with_profile(api)
    need_id = create_need(api, sme)
    lists = [recommended(api, sme, need_id) for _ in range(2)]

    body = stats(api, catalog)

    by_provider = {item["provider_id"]: item for item in body["providers"]}
    for key in ("常州数采", "苏州数采", "东莞数采"):
        provider_id = catalog.provider_id(key)
        ranks = [
            item["rank"]
            for result in lists
            for item in result["results"]
            if item["provider"]["id"] == provider_id
        ]
        assert by_provider[provider_id]["impressions"] == len(ranks)
        expected = sum(exposure.impression_weight(rank) for rank in ranks)
        assert by_provider[provider_id]["exposure"] == pytest.approx(expected, abs=1e-6)
    shares = [item["exposure_share"] for item in body["providers"]]
    assert sum(shares) == pytest.approx(1.0)
    assert sum(item["merit_share"] for item in body["providers"]) == pytest.approx(1.0)
    # The MES provider qualifies (listed, published, has room) but fits no data-acquisition
    # need, so nobody saw it.
    zero = {item["provider_id"] for item in body["zero_exposure_qualified"]}
    assert catalog.provider_id("常州MES") in zero
    assert 0.0 <= body["gini"] <= 1.0
    # The unlisted provider is not a member of the pool and is not reported.
    assert catalog.provider_id("未入库数采") not in by_provider
    assert body["lists_in_jurisdiction"] == 2


def test_local_and_external_share_per_requested_capability(api: Api) -> None:
    catalog = standard_catalog(api)
    sme = sme_with_profile(api)
    result = recommended(api, sme, create_need(api, sme), k=3)
    # A list asked from outside the jurisdiction does not count in the locality table.
    outsider = sme_with_profile(api, region=DONGGUAN)
    recommended(api, outsider, create_need(api, outsider))

    body = stats(api, catalog)

    rows = {row["capability"]: row for row in body["capabilities"]}
    daq = rows["cap.data_acquisition"]
    assert daq["lists"] == 1
    assert daq["impressions"] == len(result["results"])
    local = sum(
        exposure.impression_weight(item["rank"])
        for item in result["results"]
        if item["provider"]["id"] == catalog.provider_id("常州数采")
    )
    assert daq["local_exposure"] == pytest.approx(local, abs=1e-6)
    assert daq["local_share"] + daq["external_share"] == pytest.approx(1.0)
    assert daq["zh"] == "设备联网与数据采集"
    provider_rows = {item["provider_id"]: item for item in body["providers"]}
    assert provider_rows[catalog.provider_id("常州数采")]["local"] is True
    assert provider_rows[catalog.provider_id("苏州数采")]["local"] is False


def test_results_older_than_the_window_are_not_counted(api: Api) -> None:
    catalog = standard_catalog(api)
    sme = sme_with_profile(api)
    result = recommended(api, sme, create_need(api, sme))
    with api.db.transaction() as session:
        session.execute(
            update(RecommendationResult)
            .where(RecommendationResult.list_id == uuid.UUID(result["list_id"]))
            .values(shown_at=utcnow() - timedelta(days=40))
        )

    body = stats(api, catalog, days=30)
    assert all(item["impressions"] == 0 for item in body["providers"])
    wider = stats(api, catalog, days=60)
    assert sum(item["impressions"] for item in wider["providers"]) == len(result["results"])

    with api.db.transaction() as session:
        assert exposure.rolling_exposure(session) == {}
        assert exposure.rolling_exposure(session, days=60)


def test_stored_lists_feed_the_rolling_exposure_back_into_the_engine(api: Api) -> None:
    standard_catalog(api)
    sme = sme_with_profile(api)
    need_id = create_need(api, sme)
    first = recommended(api, sme, need_id)

    cache = cache_of(api)
    with api.db.transaction() as session:
        snapshot = cache.exposure(session)
        stored = exposure.rolling_exposure(session)
    top = first["results"][0]["provider"]["id"]
    assert snapshot[top] == pytest.approx(1.0)
    assert stored == pytest.approx(snapshot)

    recommended(api, sme, need_id)
    with api.db.transaction() as session:
        # The second list is counted at once, before the snapshot is next re-summed.
        assert cache.exposure(session)[top] >= 1.5
