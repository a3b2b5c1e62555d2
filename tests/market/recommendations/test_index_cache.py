"""The process's catalog index: built once, then updated from the outbox, never per request."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import update

from catalog.pools.models import PoolApplication
from catalog.providers.models import Provider
from core.database import Database, utcnow
from core.outbox import OutboxEvent
from market.recommendations import index_cache
from market.recommendations.index_cache import IndexCache
from migrations import runner
from tests.market.recommendations.test_match_eval_cli import add_tiny_catalog
from tests.market.recommendations.test_recommendations_api import (
    CHANGZHOU,
    cache_of,
    create_need,
    daq,
    drain,
    list_in_pool,
    publish_solution,
    recommended,
    set_membership,
    shown_providers,
    sme_with_profile,
    standard_catalog,
)
from tests.support import Api, scratch_database_url


def test_the_index_is_built_once_and_not_per_request(api: Api) -> None:
    standard_catalog(api)
    sme = sme_with_profile(api)
    need_id = create_need(api, sme)

    for _ in range(3):
        recommended(api, sme, need_id)

    cache = cache_of(api)
    assert cache.builds == 1
    assert cache.updates == 0


def test_an_unlisted_provider_disappears_after_the_event_without_a_rebuild(api: Api) -> None:
    catalog = standard_catalog(api)
    sme = sme_with_profile(api)
    need_id = create_need(api, sme)
    leaving = catalog.provider_id("苏州数采")
    assert leaving in shown_providers(recommended(api, sme, need_id))
    cache = cache_of(api)
    updates = cache.updates

    set_membership(api, catalog.applications["苏州数采"], "withdrawn")

    assert leaving not in shown_providers(recommended(api, sme, need_id))
    assert cache.builds == 1
    assert cache.updates == updates + 1


def test_archived_and_new_solutions_follow_their_events(api: Api) -> None:
    catalog = standard_catalog(api)
    sme = sme_with_profile(api)
    need_id = create_need(api, sme)
    recommended(api, sme, need_id)
    cache = cache_of(api)
    owner = catalog.providers["常州数采"]

    archived = api.client.post(
        f"/api/v1/solutions/{catalog.solutions['常州数采']}/archive", headers=owner.headers
    )
    assert archived.status_code == 200, archived.text
    drain(api)
    assert catalog.provider_id("常州数采") not in shown_providers(recommended(api, sme, need_id))

    replacement = publish_solution(api, owner, **daq(title="新版注塑设备数采"))
    drain(api)
    result = recommended(api, sme, need_id)
    assert replacement in {item["solution"]["id"] for item in result["results"]}
    assert cache.builds == 1
    assert cache.updates >= 2


def test_a_provider_listed_after_the_build_joins_through_its_event(api: Api) -> None:
    catalog = standard_catalog(api)
    sme = sme_with_profile(api)
    need_id = create_need(api, sme)
    recommended(api, sme, need_id)
    newcomer = api.provider(name="新入库数采测试科技有限公司", region=CHANGZHOU)
    publish_solution(api, newcomer, **daq(title="新入库服务商的数采方案"))
    drain(api)
    assert newcomer.provider_id is not None
    assert str(newcomer.provider_id) not in shown_providers(recommended(api, sme, need_id))

    list_in_pool(api, catalog.pool_id, newcomer.provider_id)

    result = recommended(api, sme, need_id)
    assert str(newcomer.provider_id) in shown_providers(result)
    assert cache_of(api).builds == 1
    # Listed today: the provider is new, and the explanation says so.
    item = next(i for i in result["results"] if i["provider"]["id"] == str(newcomer.provider_id))
    assert any("新入驻服务商" in caveat["zh"] for caveat in item["caveats"])


def test_events_handled_by_another_process_are_caught_up_before_a_request(api: Api) -> None:
    catalog = standard_catalog(api)
    sme = sme_with_profile(api)
    need_id = create_need(api, sme)
    leaving = catalog.provider_id("东莞数采")
    assert leaving in shown_providers(recommended(api, sme, need_id))
    cache = cache_of(api)

    # Another process's relay delivered this event: here it only exists as a processed row.
    with api.db.transaction() as session:
        session.execute(
            update(PoolApplication)
            .where(PoolApplication.id == catalog.applications["东莞数采"])
            .values(state="withdrawn")
        )
        session.add(
            OutboxEvent(
                topic="pool.membership.changed",
                payload={"provider_id": leaving},
                processed_at=utcnow(),
            )
        )

    assert leaving not in shown_providers(recommended(api, sme, need_id))
    assert cache.builds == 1


def test_a_provider_change_updates_its_row_in_place(api: Api) -> None:
    catalog = standard_catalog(api)
    sme = sme_with_profile(api)
    need_id = create_need(api, sme)
    recommended(api, sme, need_id)
    cache = cache_of(api)
    with api.db.transaction() as session:
        index = cache.index(session)
    row = index.find_provider(catalog.provider_id("常州数采"))
    assert row is not None
    assert int(index.providers.capacity[row]) == 5

    with api.db.transaction() as session:
        session.execute(
            update(Provider)
            .where(Provider.id == uuid.UUID(catalog.provider_id("常州数采")))
            .values(capacity=9)
        )
    with api.db.transaction() as session:
        cache.apply(
            session,
            "catalog.provider.changed",
            {"provider_id": catalog.provider_id("常州数采")},
        )
        updated = cache.index(session)
    row = updated.find_provider(catalog.provider_id("常州数采"))
    assert row is not None
    assert int(updated.providers.capacity[row]) == 9
    assert updated.size == index.size
    assert cache.builds == 1


def test_events_before_the_first_request_are_left_to_the_build() -> None:
    cache = IndexCache(embedder=None)

    cache.apply(None, "catalog.provider.changed", {"provider_id": str(uuid.uuid4())})  # type: ignore[arg-type]

    assert not cache.built
    assert cache.updates == 0


def test_caches_register_under_their_database_bind(api: Api) -> None:
    standard_catalog(api)
    sme = sme_with_profile(api)
    recommended(api, sme, create_need(api, sme))

    with api.db.transaction() as session:
        assert cache_of(api) in index_cache.caches_for(session)


def test_settled_events_move_the_watermark_and_fresh_ones_are_remembered(api: Api) -> None:
    catalog = standard_catalog(api)
    sme = sme_with_profile(api)
    need_id = create_need(api, sme)
    recommended(api, sme, need_id)
    cache = cache_of(api)
    with api.db.transaction() as session:
        old = OutboxEvent(
            topic="catalog.provider.changed",
            payload={"provider_id": catalog.provider_id("常州数采")},
            created_at=utcnow() - timedelta(minutes=5),
            processed_at=utcnow(),
        )
        fresh = OutboxEvent(
            topic="catalog.provider.changed",
            payload={"provider_id": catalog.provider_id("苏州数采")},
            processed_at=utcnow(),
        )
        session.add_all([old])
        session.flush()
        session.add_all([fresh])
        session.flush()
        old_id, fresh_id = old.id, fresh.id
        # The events the test's own requests wrote are fresh too; settle them all but `fresh`.
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id < fresh_id)
            .values(created_at=utcnow() - timedelta(minutes=5))
        )
    updates = cache.updates

    with api.db.transaction() as session:
        cache.index(session)
        cache.index(session)

    assert cache.updates == updates + 2  # each applied once, however often the cache catches up
    assert cache._watermark == old_id
    assert fresh_id in cache._applied


class HashEmbedder:
    """A deterministic stand-in for the sentence encoder: the build path, not the model."""

    name = "test/hash"
    dimension = 8

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = [
            np.random.default_rng(zlib.crc32(text.encode())).standard_normal(self.dimension)
            for text in texts
        ]
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dimension)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        result: npt.NDArray[np.float32] = vectors / np.where(norms > 0, norms, 1.0)
        return result


def test_embeddings_are_built_in_the_background_and_swapped_in(tmp_path: Path) -> None:
    url, drop = scratch_database_url(tmp_path, "index_upgrade")
    runner.upgrade(url)
    database = Database.from_url(url)
    try:
        with database.transaction() as session:
            add_tiny_catalog(session)
        cache = IndexCache(embedder=HashEmbedder(), db=database)

        with database.transaction() as session:
            first = cache.index(session)
        # The first request does not wait for the encoder.
        assert first.text_mode == "bm25"
        cache.wait_until_complete(timeout=60)

        with database.transaction() as session:
            upgraded = cache.index(session)
        assert upgraded.text_mode == "bm25+embedding"
        assert upgraded.size == first.size
        assert cache.builds == 2
    finally:
        database.engine.dispose()
        drop()
