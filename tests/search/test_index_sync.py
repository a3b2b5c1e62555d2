"""The index follows the database: outbox handlers, reindex, drift checks and the CLI."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from catalog.cases.models import Case
from catalog.discovery import sync
from catalog.discovery.backends import synonym_table
from catalog.discovery.documents import provider_doc_id, solution_doc_id
from catalog.pools.models import Pool, PoolApplication
from catalog.providers.models import Provider
from core.database import Database, utcnow
from core.outbox import OutboxEvent, emit
from core.settings import get_settings
from market.accounts.models import Organisation
from market.cli import app as cli
from migrations import runner
from search.backend import SearchDocument
from search.sql_backend import SqlBackend
from search.sql_schema import SearchDocumentRow
from tests.search import golden
from tests.support import Actor, Api, complete_solution, scratch_database_url


@pytest.fixture(autouse=True)
def embedded_search(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The relay's handlers read the process settings: make sure they choose the SQL backend
    # even when the environment points at a Meilisearch server for the live tests.
    monkeypatch.delenv("MARKET_MEILI_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def drain(api: Api) -> None:
    """Deliver pending outbox events, failing the test if any handler failed."""
    api.client.app.state.relay.drain()  # type: ignore[attr-defined]
    with api.db.transaction() as session:
        failed = session.scalars(select(OutboxEvent).where(OutboxEvent.last_error.is_not(None)))
        assert [(e.topic, e.last_error) for e in failed] == []


def list_in_pool(api: Api, provider_id: uuid.UUID, *, state: str = "listed") -> uuid.UUID:
    """Put the provider into a fresh pool, as the end of the vetting workflow does."""
    with api.db.transaction() as session:
        agency = Organisation(kind="agency", name="测试工信局", jurisdiction="320400")
        session.add(agency)
        session.flush()
        pool = Pool(agency_org_id=agency.id, jurisdiction="320400", name="测试资源池")
        session.add(pool)
        session.flush()
        application = PoolApplication(
            pool_id=pool.id,
            provider_id=provider_id,
            category_id="general",
            declared_at=utcnow(),
            state=state,
            star_rating=4 if state == "listed" else None,
            listed_since=utcnow() if state == "listed" else None,
        )
        session.add(application)
        session.flush()
        emit(session, "pool.membership.changed", provider_id=str(provider_id), state=state)
        application_id = application.id
    drain(api)
    return application_id


def set_membership(api: Api, application_id: uuid.UUID, state: str) -> None:
    # Suspension and removal are not built yet; any state but "listed" must hide the provider.
    with api.db.transaction() as session:
        application = session.get(PoolApplication, application_id)
        assert application is not None
        application.state = state
        emit(session, "pool.membership.changed", provider_id=str(application.provider_id))
    drain(api)


def search_ids(api: Api, q: str, **params: Any) -> list[str]:
    response = api.client.get("/api/v1/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [hit["ref_id"] for hit in response.json()["hits"]]


def create_solution(api: Api, owner: Actor, **overrides: Any) -> dict[str, Any]:
    response = api.client.post(
        "/api/v1/solutions", json=complete_solution(**overrides), headers=owner.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def act(api: Api, owner: Actor, solution: dict[str, Any], action: str) -> None:
    response = api.client.post(
        f"/api/v1/solutions/{solution['id']}/{action}", headers=owner.headers
    )
    assert response.status_code == 200, response.text


def indexed(api: Api) -> dict[str, str]:
    with api.db.transaction() as session:
        return dict(SqlBackend(session).state().fingerprints)


# --- outbox handlers --------------------------------------------------------------------------


def test_publishing_makes_a_listed_providers_solution_findable_and_archiving_removes_it(
    api: Api,
) -> None:
    owner = api.provider(name="常州同步测试科技有限公司")
    assert owner.provider_id is not None
    list_in_pool(api, owner.provider_id)
    assert search_ids(api, "同步测试", kind="provider") == [str(owner.provider_id)]

    draft = create_solution(api, owner, title="注塑车间设备联网与数据采集")
    assert search_ids(api, "注塑车间") == []
    act(api, owner, draft, "publish")
    # No explicit drain: the request's own commit delivered the event.
    assert search_ids(api, "注塑车间") == [draft["id"]]
    assert search_ids(api, "数采") == [draft["id"]]
    act(api, owner, draft, "archive")
    assert search_ids(api, "注塑车间") == []


def test_solutions_of_providers_not_listed_are_never_indexed(api: Api) -> None:
    owner = api.provider()
    assert owner.provider_id is not None
    list_in_pool(api, owner.provider_id, state="in_notice")
    act(api, owner, create_solution(api, owner, title="公示期内的方案"), "publish")
    assert search_ids(api, "公示期内") == []
    assert indexed(api) == {}


def test_a_provider_that_stops_being_listed_disappears_at_once(api: Api) -> None:
    owner = api.provider(name="将被暂停示例有限公司")
    assert owner.provider_id is not None
    application = list_in_pool(api, owner.provider_id)
    solution = create_solution(api, owner, title="暂停前可见的方案")
    act(api, owner, solution, "publish")
    assert search_ids(api, "暂停前可见") == [solution["id"]]

    set_membership(api, application, "withdrawn")
    assert search_ids(api, "暂停前可见") == []
    assert search_ids(api, "将被暂停", kind="provider") == []
    assert indexed(api) == {}

    set_membership(api, application, "listed")
    assert search_ids(api, "暂停前可见") == [solution["id"]]


def test_profile_and_case_changes_reach_the_provider_document(api: Api) -> None:
    owner = api.provider(name="旧名称示例有限公司")
    assert owner.provider_id is not None
    list_in_pool(api, owner.provider_id)
    before = indexed(api)[provider_doc_id(owner.provider_id)]
    with api.db.transaction() as session:
        session.execute(
            update(Provider)
            .where(Provider.id == owner.provider_id)
            .values(legal_name="新名称示例有限公司", version=Provider.version + 1)
        )
        emit(session, "catalog.provider.changed", provider_id=str(owner.provider_id))
    drain(api)
    assert search_ids(api, "新名称", kind="provider") == [str(owner.provider_id)]
    assert search_ids(api, "旧名称", kind="provider") == []

    with api.db.transaction() as session:
        case = Case(
            provider_id=owner.provider_id,
            title="某纺织厂能耗监测项目",
            client_industry="17",
            status="published",
            published_at=utcnow(),
            verified=True,
        )
        session.add(case)
        session.flush()
        emit(session, "catalog.case.changed", case_id=str(case.id))
    drain(api)
    assert search_ids(api, "纺织厂能耗", kind="provider") == [str(owner.provider_id)]
    assert indexed(api)[provider_doc_id(owner.provider_id)] != before


def test_events_about_vanished_rows_are_harmless(api: Api) -> None:
    with api.db.transaction() as session:
        for topic, key in (
            ("catalog.solution.changed", "solution_id"),
            ("catalog.provider.changed", "provider_id"),
            ("catalog.case.changed", "case_id"),
            ("pool.membership.changed", "provider_id"),
        ):
            emit(session, topic, **{key: str(uuid.uuid4())})
    drain(api)


def test_a_deleted_solution_is_removed_from_the_index(api: Api) -> None:
    ghost = uuid.uuid4()
    with api.db.transaction() as session:
        SqlBackend(session).upsert(
            [
                SearchDocument(
                    id=solution_doc_id(ghost),
                    kind="solution",
                    ref_id=str(ghost),
                    provider_id=str(uuid.uuid4()),
                    title="已删除的方案",
                    provider_name="某公司",
                )
            ]
        )
        emit(session, "catalog.solution.changed", solution_id=str(ghost))
    drain(api)
    assert indexed(api) == {}


# --- reindex and check ------------------------------------------------------------------------


def test_check_reports_drift_after_corruption_and_none_after_reindex(db: Database) -> None:
    with db.transaction() as session:
        golden.load_corpus(session)
        backend = SqlBackend(session, synonyms=synonym_table())
        assert sync.reindex(session, backend) == 12
        assert sync.check(session, backend).ok

        backend.delete([golden.doc_id("S1")])
        session.execute(
            update(SearchDocumentRow)
            .where(SearchDocumentRow.id == golden.doc_id("S2"))
            .values(fingerprint="tampered")
        )
        backend.upsert(
            [
                SearchDocument(
                    id="solution:stray",
                    kind="solution",
                    ref_id="stray",
                    provider_id="x",
                    title="不该在索引里",
                    provider_name="某公司",
                )
            ]
        )
        drift = sync.check(session, backend)
        assert not drift.ok
        assert (drift.missing, drift.stale, drift.extra) == (
            [golden.doc_id("S1")],
            [golden.doc_id("S2")],
            ["solution:stray"],
        )
        assert (drift.expected, drift.indexed) == (12, 12)

        progress: list[int] = []
        assert sync.reindex(session, backend, on_progress=progress.append) == 12
        assert sum(progress) == 12
        assert sync.check(session, backend).ok


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def committed_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A database of its own holding the golden catalogue, committed, for CLI commands that
    open their own connections."""
    url, drop = scratch_database_url(tmp_path, "search_cli")
    runner.upgrade(url)
    database = Database.from_url(url)
    with database.transaction() as session:
        golden.load_corpus(session)
    monkeypatch.setenv("MARKET_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        yield database
    finally:
        database.engine.dispose()
        drop()


def test_cli_check_fails_on_drift_and_passes_after_reindex(committed_database: Database) -> None:
    runner_ = CliRunner()
    before = runner_.invoke(cli, ["search", "check"])
    assert before.exit_code == 1, before.output
    assert "missing" in before.output
    assert golden.doc_id("S1") in before.output or "solution:" in before.output

    rebuilt = runner_.invoke(cli, ["search", "reindex"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "indexed 12 documents" in rebuilt.output

    after = runner_.invoke(cli, ["search", "check"])
    assert after.exit_code == 0, after.output
    assert "matches the database" in after.output

    with committed_database.transaction() as session:
        session.execute(update(SearchDocumentRow).values(fingerprint="old"))
    stale = runner_.invoke(cli, ["search", "check", "--samples", "1"])
    assert stale.exit_code == 1
    assert "stale" in stale.output
