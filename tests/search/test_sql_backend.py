"""The embedded SQL backend on its own: documents in, results out, on SQLite or PostgreSQL.

Documents are built by hand here; the catalogue's own documents are covered by the golden
suite and the index-sync tests.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.database import Database
from search.backend import SearchDocument, SearchRequest
from search.sql_backend import (
    FTS_CREATE_SQL,
    PG_INDEX_CREATE_SQL,
    SqlBackend,
    facet_token,
    fts5_expression,
    fts5_filter_expression,
    pg_filter_tsquery,
    tsquery_text,
    tsvector_text,
)
from search.sql_schema import SearchTermRow
from search.synonyms import table_from_terms
from search.text import parse_query

SYNONYMS = table_from_terms([])
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def doc(key: str, title: str, **fields: Any) -> SearchDocument:
    kind = fields.pop("kind", "solution")
    return SearchDocument(
        id=f"{kind}:{key}",
        kind=kind,
        ref_id=key,
        provider_id=fields.pop("provider_id", "p-1"),
        title=title,
        provider_name=fields.pop("provider_name", "甲方示例科技有限公司"),
        fingerprint=fields.pop("fingerprint", f"fp-{key}"),
        **fields,
    )


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    with db.sessions() as session:
        yield session


@pytest.fixture
def backend(session: Session) -> SqlBackend:
    return SqlBackend(session, synonyms=SYNONYMS)


def ids(backend: SqlBackend, q: str, **options: Any) -> list[str]:
    result = backend.search(SearchRequest(q=q, size=100, **options))
    assert result.total == len(result.hits)
    return [hit.ref_id for hit in result.hits]


# --- query and document texts -----------------------------------------------------------------


def test_fts5_expression_is_and_of_groups_or_of_phrases_in_the_text_columns() -> None:
    query = parse_query("西门子 云 mod")
    assert fts5_expression(query) == (
        '{title provider tags summary body} : (("西门 门子") AND ("云"*) AND ("mod"*))'
    )
    assert fts5_expression(query, columns=("title",)).startswith("{title} : (")


def test_filters_become_meta_tokens_anded_with_or_within_a_facet() -> None:
    expression = fts5_filter_expression("solution", {"province": ["320000", "440000"]})
    first, second = facet_token("province", "320000"), facet_token("province", "440000")
    assert expression == f'meta : ("ksolution") AND meta : ("{first}" OR "{second}")'
    # Letters and digits only, or the ascii tokenizer would split the token.
    assert re.fullmatch(r"f[0-9a-f]{16}", first)
    assert facet_token("size", "small") != facet_token("small", "size")


def test_tsquery_uses_phrases_prefixes_and_weight_classes() -> None:
    query = parse_query("西门子 云 mod")
    assert tsquery_text(query) == "('西门' <-> '门子') & ('云':*) & ('mod':*)"
    assert tsquery_text(parse_query("czsl"), weight="A") == "('czsl':*A)"


def test_tsvector_keeps_a_gap_between_fields_and_weights_each() -> None:
    vector = tsvector_text([["a", "b"], [], ["c"], ["b"], []], ["ksolution", "fab"])
    # title a=1 b=2, (gap 3), provider empty (gap 4), tags c=5, (gap 6), summary b=7, (gap 8),
    # body empty (gap 9), then the filter lexemes, marked so no typed word can match them.
    assert vector == "'a':1A 'b':2A,7C 'c':5B '#ksolution':10D '#fab':11D"


def test_postgresql_filters_are_tsquery_terms_on_the_marked_lexemes() -> None:
    tsquery = pg_filter_tsquery("provider", {"size": ["small", "micro"], "pool": []})
    small, micro = facet_token("size", "small"), facet_token("size", "micro")
    assert tsquery == f"'#kprovider' & ('#{small}' | '#{micro}')"


def test_full_text_structure_is_rebuilt_as_the_migration_created_it(session: Session) -> None:
    # A reindex drops and recreates the FTS5 table (SQLite) or the GIN index (PostgreSQL)
    # from the backend's own copy of the DDL, which must not drift from the migration's.
    if session.get_bind().dialect.name == "sqlite":
        created = session.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'search_fts'"))
        assert created == FTS_CREATE_SQL
    else:
        created = session.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_search_text_tsv'")
        )
        assert created.replace("public.", "") == PG_INDEX_CREATE_SQL


# --- matching ---------------------------------------------------------------------------------


def test_tokens_reach_the_engine_unchanged(backend: SqlBackend) -> None:
    # Extension B characters, accents and digits must not be split, folded or dropped.
    backend.upsert(
        [
            doc("ext-b", "𠀀𠀁精工", summary="café à Paris"),
            doc("digits", "5G专网 1200点位"),
        ]
    )
    assert ids(backend, "𠀁精") == ["ext-b"]
    assert ids(backend, "café") == ["ext-b"]
    assert ids(backend, "cafe") == []
    assert ids(backend, "５Ｇ") == ["digits"]
    assert ids(backend, "1200") == ["digits"]


def test_phrases_do_not_run_from_one_field_into_the_next(backend: SqlBackend) -> None:
    # A compound is the phrase "s7 1200" (or the glued s71200): the title's last token and the
    # summary's first must not make one.
    backend.upsert([doc("split", "接入 s7", summary="1200 协议"), doc("whole", "S7-1200 网关")])
    assert ids(backend, "s7-1200") == ["whole"]


def test_every_group_must_match_and_any_alternative_may(backend: SqlBackend) -> None:
    backend.upsert(
        [
            doc("both", "注塑 数据采集"),
            doc("one", "注塑 看板"),
            doc("other", "数采 网关"),
        ]
    )
    table = table_from_terms([], extra=[("x.da", ("数采", "数据采集"))])
    synonyms = SqlBackend(backend.session, synonyms=table)
    assert sorted(ids(synonyms, "注塑 数采")) == ["both"]
    assert sorted(ids(synonyms, "数采")) == ["both", "other"]


def test_only_punctuation_finds_nothing_but_an_empty_query_browses(backend: SqlBackend) -> None:
    backend.upsert([doc("a", "注塑"), doc("b", "网关")])
    assert ids(backend, "？！") == []
    assert sorted(ids(backend, "")) == ["a", "b"]


def test_kinds_are_searched_separately(backend: SqlBackend) -> None:
    backend.upsert([doc("s", "精工方案"), doc("p", "精工科技有限公司", kind="provider")])
    assert ids(backend, "精工") == ["s"]
    assert ids(backend, "精工", kind="provider") == ["p"]


# --- writing ----------------------------------------------------------------------------------


def test_upsert_replaces_and_delete_removes(backend: SqlBackend) -> None:
    backend.upsert([doc("a", "注塑车间"), doc("b", "数据看板")])
    backend.upsert([doc("a", "机加工车间", fingerprint="v2")])
    assert ids(backend, "注塑") == []
    assert ids(backend, "机加工") == ["a"]
    assert backend.state().fingerprints == {"solution:a": "v2", "solution:b": "fp-b"}
    backend.delete(["solution:a", "solution:missing"])
    assert backend.state().fingerprints == {"solution:b": "fp-b"}
    assert ids(backend, "车间") == []


def test_vocabulary_counts_follow_documents(backend: SqlBackend, session: Session) -> None:
    def vocabulary() -> dict[str, int]:
        return dict(session.execute(select(SearchTermRow.term, SearchTermRow.docs)).all())

    backend.upsert([doc("a", "Modbus gateway"), doc("b", "Modbus and profinet")])
    assert vocabulary() == {"modbus": 2, "gateway": 1, "profinet": 1}
    backend.upsert([doc("a", "OPC server")])
    assert vocabulary() == {"modbus": 1, "profinet": 1, "server": 1}
    backend.delete(["solution:b"])
    assert vocabulary() == {"server": 1}


def test_reindex_replaces_everything_and_keeps_the_first_of_duplicates(
    backend: SqlBackend,
) -> None:
    backend.upsert([doc("old", "旧方案")])
    count = backend.reindex(iter([doc("a", "新方案"), doc("a", "重复"), doc("b", "另一个")]))
    assert count == 2
    assert sorted(backend.state().fingerprints) == ["solution:a", "solution:b"]
    assert ids(backend, "旧方案") == []
    assert ids(backend, "重复") == []
    assert sorted(ids(backend, "方案")) == ["a"]


def test_health_reports_the_engine_and_document_count(backend: SqlBackend) -> None:
    backend.upsert([doc("a", "注塑")])
    health = backend.health()
    assert health["status"] == "ok"
    assert health["documents"] == 1
    assert health["engine"] == backend.dialect


def test_unknown_facets_and_bad_pages_are_refused(backend: SqlBackend) -> None:
    with pytest.raises(ValueError, match="unknown facets"):
        backend.search(SearchRequest(q="x", facets=("colour",)))
    with pytest.raises(ValueError, match="unknown facets"):
        backend.search(SearchRequest(q="x", filters={"colour": ["red"]}))
    with pytest.raises(ValueError, match="page"):
        backend.search(SearchRequest(q="x", size=1000))


# --- ranking, sorting, pages, highlights, typos, suggestions -----------------------------------


def test_exact_title_beats_a_stronger_text_match(backend: SqlBackend) -> None:
    backend.upsert(
        [
            doc("noisy", "设备联网 设备联网 平台", summary="设备联网 设备联网", rating=5),
            doc("exact", "设备联网"),
        ]
    )
    assert ids(backend, "设备联网")[0] == "exact"


def test_title_outranks_body_and_stars_break_ties(backend: SqlBackend) -> None:
    backend.upsert(
        [
            doc("body", "其他方案", body="提供边缘网关"),
            doc("title-3", "边缘网关方案", rating=3),
            doc("title-5", "边缘网关方案", rating=5),
        ]
    )
    assert ids(backend, "网关") == ["title-5", "title-3", "body"]


def test_sort_orders_put_missing_values_last(backend: SqlBackend) -> None:
    backend.upsert(
        [
            doc("cheap", "网关 A", price_min_fen=100, published_at=BASE, rating=2),
            doc("dear", "网关 B", price_min_fen=900, published_at=BASE + timedelta(days=2)),
            doc("unknown", "网关 C", rating=4),
        ]
    )
    assert ids(backend, "网关", sort="price") == ["cheap", "dear", "unknown"]
    assert ids(backend, "网关", sort="newest") == ["dear", "cheap", "unknown"]
    assert ids(backend, "网关", sort="rating") == ["unknown", "cheap", "dear"]


def test_pages_partition_the_result(backend: SqlBackend) -> None:
    backend.upsert([doc(f"d{n:02d}", f"网关 {n}", rating=n % 5) for n in range(25)])
    pages = [backend.search(SearchRequest(q="网关", page=page, size=10)) for page in (1, 2, 3)]
    seen = [hit.ref_id for page in pages for hit in page.hits]
    assert [len(page.hits) for page in pages] == [10, 10, 5]
    assert {page.total for page in pages} == {25}
    assert len(set(seen)) == 25


def test_highlights_mark_matches_and_escape_html(backend: SqlBackend) -> None:
    backend.upsert(
        [
            doc("a", "<b>安装简单</b>的网关", summary="即插即用", body="正文里也很简单"),
            doc("b", "边缘网关", summary="即插即用", body="部署也很简单"),
        ]
    )
    hits = {hit.ref_id: hit for hit in backend.search(SearchRequest(q="简单")).hits}
    assert hits["a"].highlights == {
        "title": "&lt;b&gt;安装<mark>简单</mark>&lt;/b&gt;的网关",
        "summary": "即插即用",
    }
    # The body is shown only when the title and summary do not explain the match.
    assert hits["b"].highlights == {
        "title": "边缘网关",
        "summary": "即插即用",
        "body": "部署也很<mark>简单</mark>",
    }


def test_a_mistyped_word_is_corrected_and_suggested(backend: SqlBackend) -> None:
    backend.upsert([doc("a", "Modbus 网关"), doc("b", "Profinet 网关")])
    result = backend.search(SearchRequest(q="modbos"))
    assert [hit.ref_id for hit in result.hits] == ["a"]
    assert result.suggestion == "modbus"
    # Short words, numbers and known words are never "corrected".
    assert backend.search(SearchRequest(q="modb0s")).suggestion is None
    assert backend.search(SearchRequest(q="mbus ")).suggestion is None
    found = backend.search(SearchRequest(q="modbus"))
    assert found.suggestion is None


def test_suggestions_complete_titles_by_prefix_pinyin_and_initials(backend: SqlBackend) -> None:
    backend.upsert(
        [
            doc("s1", "注塑车间数采"),
            doc("s2", "车间注塑看板"),
            doc("p1", "常州示例精工科技有限公司", kind="provider"),
        ]
    )
    assert [s.text for s in backend.suggest_items("注塑")] == ["注塑车间数采", "车间注塑看板"]
    (by_initials,) = backend.suggest_items("czsl")
    assert (by_initials.kind, by_initials.ref_id) == ("provider", "p1")
    assert backend.suggest("changzhou") == ["常州示例精工科技有限公司"]
    assert backend.suggest("jinggong") == ["常州示例精工科技有限公司"]
    assert backend.suggest("看板", limit=0) == []


# --- filters and facets -----------------------------------------------------------------------


def test_filters_or_within_and_across_with_counts_over_the_result(backend: SqlBackend) -> None:
    backend.upsert(
        [
            doc("a", "网关 一", facets={"province": ["320000"], "size": ["small"]}),
            doc("b", "网关 二", facets={"province": ["440000"], "size": ["small", "medium"]}),
            doc("c", "网关 三", facets={"province": ["320000"], "size": ["large"]}),
            doc("d", "看板", facets={"province": ["320000"], "size": ["small"]}),
        ]
    )
    result = backend.search(
        SearchRequest(
            q="网关",
            filters={"province": ["320000", "440000"], "size": ["small"]},
            facets=("province", "size", "capability"),
        )
    )
    assert sorted(hit.ref_id for hit in result.hits) == ["a", "b"]
    assert result.facets == {
        "province": {"320000": 1, "440000": 1},
        "size": {"small": 2, "medium": 1},
        "capability": {},
    }
    assert dict(result.hits[0].facets)["province"] in (("320000",), ("440000",))


def _plan_corpus(backend: SqlBackend) -> None:
    rng = random.Random(4)
    words = ["设备联网", "能耗监测", "质量追溯", "仓储管理", "排产优化", "视觉检测", "远程运维"]
    documents = []
    for n in range(3000):
        # One document in a hundred is in Beijing (a selective region filter) and one in
        # fifty mentions 数据采集 (a text match an index pays off for).
        province = "110000" if n % 100 == 0 else rng.choice(["320000", "440000", "330000"])
        title = "".join(rng.sample(words, 2)) + ("数据采集" if n % 50 == 0 else "")
        documents.append(doc(f"d{n}", title, facets={"province": [province]}))
    backend.reindex(documents)


def test_text_match_drives_the_plan_even_with_a_selective_region_filter(
    backend: SqlBackend,
) -> None:
    _plan_corpus(backend)
    request = SearchRequest(q="数据采集", filters={"province": ["110000"]}, facets=("province",))
    plan = backend.explain(request)
    result = backend.search(request)
    assert result.total > 0
    if backend.dialect == "sqlite":
        # The FTS index is scanned (MATCH: "M" in the index string) and materialised first;
        # documents and the region filter are reached by key per match, never scanned.
        assert "SCAN search_fts VIRTUAL TABLE INDEX 0:M" in plan
        assert plan.index("MATERIALIZE m") < plan.index("SCAN search_fts")
        assert "SEARCH search_documents USING INTEGER PRIMARY KEY" in plan
        assert "SCAN search_documents" not in plan
        assert "SCAN filter_province" not in plan
        assert "SCAN facet_rows" not in plan
    else:
        assert "Bitmap Index Scan on ix_search_text_tsv" in plan
        assert "Seq Scan on search_text" not in plan
        m = plan.index("CTE m")
        assert m < plan.index("Bitmap Index Scan on ix_search_text_tsv") < plan.index("CTE r")
