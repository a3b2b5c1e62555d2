"""The golden suite (tests/search/golden.py) on the embedded backend, checked three more ways:
against the text pipeline's reference semantics, against GROUP BY counts over the catalogue
tables, and (in the PostgreSQL run) against the same corpus on SQLite."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import (
    ColumnElement,
    Engine,
    String,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session

from catalog import visibility
from catalog.discovery.backends import synonym_table
from catalog.discovery.documents import iter_documents
from catalog.pools.models import Pool, PoolApplication
from catalog.providers.models import Certification, Provider
from catalog.solutions.models import Solution, SolutionFacet, SolutionPrice
from catalog.taxonomy import vocabulary
from core.database import Database
from migrations import runner
from search.backend import SearchDocument, SearchRequest, SearchResult
from search.sql_backend import SqlBackend, field_tokens
from search.text import Query, matches, parse_query, split_words
from tests.search import golden


@pytest.fixture(scope="module")
def golden_session(engine: Engine) -> Iterator[Session]:
    """The golden catalogue, indexed, in a transaction that is rolled back at the end."""
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            golden.load_corpus(session)
            SqlBackend(session, synonyms=synonym_table()).reindex(iter_documents(session))
            yield session
        finally:
            session.close()
            transaction.rollback()


@pytest.fixture(scope="module")
def backend(golden_session: Session) -> SqlBackend:
    return SqlBackend(golden_session, synonyms=synonym_table())


@pytest.fixture(scope="module")
def documents(golden_session: Session) -> list[SearchDocument]:
    return list(iter_documents(golden_session))


@pytest.mark.parametrize("case", golden.CASES, ids=lambda case: case.name)
def test_golden_case(backend: SqlBackend, case: golden.GoldenCase) -> None:
    assert golden.check_case(backend, case) == []


def test_highlights_mark_the_substring_found(backend: SqlBackend) -> None:
    (hit,) = backend.search(SearchRequest(q="简单")).hits
    assert "安装<mark>简单</mark>" in hit.highlights["summary"]


def test_the_shared_corpus_is_what_the_application_indexes(backend: SqlBackend) -> None:
    # Backends fed with golden.CORPUS (Meilisearch) see exactly these documents.
    shared = {document.id: document.fingerprint for document in golden.CORPUS()}
    assert shared == dict(backend.state().fingerprints)


# --- the reference semantics ------------------------------------------------------------------


def reference_ids(documents: list[SearchDocument], q: str, kind: str) -> set[str]:
    """search.text.matches() per field: every group matches within one field of the document."""
    query = parse_query(q, synonym_table())
    found = set()
    for document in documents:
        if document.kind != kind:
            continue
        fields = field_tokens(document)
        if all(
            any(matches(Query(must=(group,), prefix_last=False, raw=q), f) for f in fields)
            for group in query.must
        ):
            found.add(document.id)
    return found


def generated_queries(documents: list[SearchDocument]) -> list[str]:
    """Substrings and prefixes people type: pieces of every Han run (1–3 characters, at a few
    offsets) and prefixes of Latin words, from titles and summaries."""
    queries: dict[str, None] = {}
    for document in documents:
        for text_ in (document.title, document.summary):
            for word in split_words(text_):
                if word.isascii():
                    queries.update(dict.fromkeys(word[:n] for n in (2, 4, len(word))))
                    continue
                for size in (1, 2, 3):
                    for start in range(0, max(1, len(word) - size + 1), 2):
                        queries[word[start : start + size]] = None
    return sorted(query for query in queries if query.strip())


def test_results_equal_the_reference_semantics(
    backend: SqlBackend, documents: list[SearchDocument]
) -> None:
    queries = generated_queries(documents) + [case.q for case in golden.CASES if case.q.strip()]
    assert len(queries) > 150
    for q in queries:
        for kind in ("solution", "provider"):
            result = backend.search(SearchRequest(q=q, kind=kind, size=100))
            expected = reference_ids(documents, q, kind)
            if result.suggestion is None:
                assert {hit.id for hit in result.hits} == expected, (q, kind)
                assert result.total == len(expected), (q, kind)
            else:
                # Only a query that matched nothing is corrected.
                assert expected == set(), (q, kind)


# --- facet counts against the catalogue -------------------------------------------------------


def _within(region: ColumnElement[str], jurisdiction: ColumnElement[str]) -> ColumnElement[bool]:
    # GB/T 2260 nesting, as catalog.pools.service.within: a province holds its cities' codes.
    def prefix(column: ColumnElement[str], n: int) -> ColumnElement[str]:
        return func.substr(column, 1, n)

    return case(
        (jurisdiction.like("%0000"), prefix(region, 2) == prefix(jurisdiction, 2)),
        (jurisdiction.like("%00"), prefix(region, 4) == prefix(jurisdiction, 4)),
        else_=region == jurisdiction,
    )


def oracle_counts(session: Session, kind: str, ref_ids: list[str], facet: str) -> dict[str, int]:
    """GROUP BY over the catalogue tables (not the index) for the given solutions/providers."""
    ids = [uuid.UUID(ref) for ref in ref_ids]
    if kind == "provider":
        owner, subject = Provider.id, Provider.id
        base = select().select_from(Provider).where(Provider.id.in_(ids))
    else:
        owner, subject = Solution.provider_id, Solution.id
        base = (
            select()
            .select_from(Solution)
            .join(Provider, Provider.id == Solution.provider_id)
            .where(Solution.id.in_(ids))
        )
    listings = and_(PoolApplication.provider_id == owner, visibility.is_shown_listing())
    if facet in ("capability", "industry", "size", "protocol", "deployment") and kind == "solution":
        value = func.substr(SolutionFacet.code, 1, 2) if facet == "industry" else SolutionFacet.code
        stmt = base.join(
            SolutionFacet,
            (SolutionFacet.solution_id == Solution.id) & (SolutionFacet.facet == facet),
        )
    elif facet == "pricing_model":
        value = SolutionPrice.model
        stmt = base.join(SolutionPrice, SolutionPrice.solution_id == Solution.id)
    elif facet == "size":
        value, stmt = Provider.size, base.where(Provider.size.is_not(None))
    elif facet == "province":
        value, stmt = func.substr(Provider.registered_region, 1, 2).concat("0000"), base
    elif facet == "city":
        value, stmt = func.substr(Provider.registered_region, 1, 4).concat("00"), base
    elif facet == "provider_type":
        value, stmt = Provider.provider_type, base
    elif facet in ("pool", "star_rating", "locality"):
        stmt = base.join(PoolApplication, listings).join(Pool, Pool.id == PoolApplication.pool_id)
        if facet == "pool":
            value = cast(PoolApplication.pool_id, String)
        elif facet == "star_rating":
            value = cast(PoolApplication.star_rating, String)
            stmt = stmt.where(PoolApplication.star_rating.is_not(None))
        else:
            local = _within(Provider.registered_region, Pool.jurisdiction)
            value = case((local, literal("local")), else_=literal("external"))
    elif facet == "certification":
        value = Certification.name
        stmt = base.join(Certification, Certification.provider_id == owner)
    else:
        raise AssertionError(f"no oracle for {facet}")
    rows = session.execute(
        stmt.add_columns(value, func.count(distinct(subject))).group_by(value)
    ).all()
    counts = {str(v).replace("-", "") if facet == "pool" else str(v): int(n) for v, n in rows}
    if facet == "pool":
        # UUIDs read back as 32 hex digits on SQLite; compare in one spelling.
        counts = {str(uuid.UUID(v)): n for v, n in counts.items()}
    if facet == "protocol":
        counts = _roll_up_families(session, ids, counts)
    return counts


def _roll_up_families(
    session: Session, ids: list[object], counts: dict[str, int]
) -> dict[str, int]:
    # A family (proto.s7) counts every solution declaring one of its members.
    protocols = vocabulary("protocols")
    declared: dict[str, set[object]] = defaultdict(set)
    for solution_id, code in session.execute(
        select(SolutionFacet.solution_id, SolutionFacet.code).where(
            SolutionFacet.solution_id.in_(ids), SolutionFacet.facet == "protocol"
        )
    ):
        current = protocols.get(code)
        while current is not None and current.parent is not None:
            declared[current.parent].add(solution_id)
            current = protocols.get(current.parent)
    return {**counts, **{family: len(members) for family, members in declared.items()}}


@pytest.mark.parametrize("case", [c for c in golden.CASES if c.facets], ids=lambda case: case.name)
def test_facet_counts_equal_a_group_by_over_the_catalogue(
    backend: SqlBackend, golden_session: Session, case: golden.GoldenCase
) -> None:
    result = backend.search(case.request)
    ref_ids = [hit.ref_id for hit in result.hits]
    assert result.total == len(ref_ids)
    for facet in case.facets:
        assert dict(result.facets[facet]) == oracle_counts(
            golden_session, case.kind, ref_ids, facet
        ), facet


# --- one engine, two databases ----------------------------------------------------------------


def _summary(result: SearchResult) -> tuple[list[str], int, dict[str, dict[str, int]]]:
    return (
        sorted(hit.id for hit in result.hits),
        result.total,
        {name: dict(counts) for name, counts in result.facets.items()},
    )


def test_sqlite_and_postgresql_return_identical_results(
    backend: SqlBackend, documents: list[SearchDocument], tmp_path: Path
) -> None:
    if backend.dialect != "postgresql":
        pytest.skip("compares with SQLite in the PostgreSQL run (set MARKET_TEST_DATABASE_URL)")
    url = f"sqlite:///{tmp_path / 'golden.db'}"
    runner.upgrade(url)
    sqlite = Database.from_url(url)
    requests = [case.request for case in golden.CASES] + [
        SearchRequest(q=q, kind=kind, size=100, facets=("capability", "province", "size"))
        for q in generated_queries(documents)
        for kind in ("solution", "provider")
    ]
    try:
        with sqlite.transaction() as session:
            golden.load_corpus(session)
            local = SqlBackend(session, synonyms=synonym_table())
            local.reindex(iter_documents(session))
            for request in requests:
                assert _summary(local.search(request)) == _summary(backend.search(request)), request
            # Page by page too: the same documents on every page, in the same order.
            for page in (1, 2):
                paged = replace(golden.CASES[-1].request, q="", size=3, page=page)
                assert [h.id for h in local.search(paged).hits] == [
                    h.id for h in backend.search(paged).hits
                ]
    finally:
        sqlite.engine.dispose()
