"""Meilisearch backend without a server: settings, documents, ids, filters, queries, and the
task handling of MeiliBackend against a stand-in client that records every call."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from meilisearch.errors import (
    MeilisearchApiError,
    MeilisearchCommunicationError,
    MeilisearchTimeoutError,
)

from core.settings import Settings
from search.backend import FACETS, SearchDocument, SearchRequest
from search.meili_backend import MeiliBackend, SearchBackendError, make_meili_backend
from search.meili_payloads import (
    HIGHLIGHT_POST,
    HIGHLIGHT_PRE,
    MAX_QUERY_WORDS,
    build_filter,
    document_from_payload,
    document_payload,
    facet_counts,
    from_meili_id,
    hit_from_payload,
    index_settings,
    meili_query,
    quote_filter_value,
    search_params,
    sort_payload,
    suggest_params,
    suggestions,
    synonyms_payload,
    to_meili_id,
    typo_exact_words,
)
from search.synonyms import SynonymTable, table_from_terms

# A slice of the real taxonomy: capability, protocol and deployment terms as the catalogue
# spells them, plus two cities whose pinyin is one typo apart.
TAXONOMY = SynonymTable(
    [
        ("cap.mes", ("制造执行系统", "MES")),
        ("cap.data_acquisition", ("设备联网与数据采集", "数采", "数据采集", "设备联网")),
        ("proto.opcua", ("OPC UA", "OPCUA", "OPC-UA")),
        ("cap.saas", ("SaaS", "软件即服务")),
        ("deploy.saas", ("SaaS", "公有云订阅")),
        ("region.changzhou", ("常州", "Changzhou")),
        ("region.chaozhou", ("潮州", "Chaozhou")),
    ]
)

UUID = "0f6c1a5e-1111-4222-8333-944455556666"


def make_document(**changes: Any) -> SearchDocument:
    base = SearchDocument(
        id=f"solution:{UUID}",
        kind="solution",
        ref_id=UUID,
        provider_id="7d1e2f30-aaaa-4bbb-8ccc-0123456789ab",
        title="注塑车间 MES 快速上线",
        provider_name="常州示例精工科技有限公司",
        summary="按月付费的制造执行系统",
        body="支持西门子S7-1200 与 OPC UA 数据采集。",
        tags=("MES", "制造执行系统", "OPC UA"),
        facets={"capability": ["cap.mes"], "province": ["320000"], "protocol": ["proto.s7"]},
        rating=4.5,
        trust=0.8,
        published_at=datetime(2025, 3, 1, 8, 30, tzinfo=UTC),
        price_min_fen=980_000,
        fingerprint="sha256:abc",
    )
    return replace(base, **changes)


# --- ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document_id",
    [
        f"solution:{UUID}",
        f"provider:{UUID}",
        "solution:a_b",
        "solution:_3a",
        "odd id/with spaces.and.dots",
        "中文:标识",
        "x",
    ],
)
def test_meili_ids_are_safe_and_map_back(document_id: str) -> None:
    safe = to_meili_id(document_id)
    assert all(char.isascii() and (char.isalnum() or char in "-_") for char in safe)
    assert from_meili_id(safe) == document_id


def test_meili_id_keeps_uuids_readable() -> None:
    assert to_meili_id(f"solution:{UUID}") == f"solution_3a{UUID}"


def test_meili_id_mapping_is_injective_where_an_escape_could_be_forged() -> None:
    # "_" is escaped as well, so a literal "_3a" cannot collide with an escaped ":".
    assert to_meili_id("a:") != to_meili_id("a_3a")


@pytest.mark.parametrize("bad", ["solution_3", "solution_zz", "solution:x", "bad id"])
def test_malformed_meili_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="Meilisearch id"):
        from_meili_id(bad)


def test_empty_and_overlong_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        to_meili_id("")
    with pytest.raises(ValueError, match="too long"):
        to_meili_id("中" * 200)


# --- settings ----------------------------------------------------------------------------------


def test_settings_payload_for_the_taxonomy() -> None:
    settings = index_settings(TAXONOMY)
    assert settings["searchableAttributes"] == [
        "title",
        "provider_name",
        "tags",
        "summary",
        "body",
        "name_pinyin",
    ]
    assert set(settings["filterableAttributes"]) >= {*FACETS, "kind", "provider_id"}
    assert settings["sortableAttributes"] == ["rating", "trust", "published_at", "price_min_fen"]
    assert settings["rankingRules"] == [
        "words",
        "sort",
        "typo",
        "proximity",
        "attribute",
        "exactness",
        "rating:desc",
        "trust:desc",
    ]
    assert settings["localizedAttributes"] == [
        {
            "attributePatterns": ["title", "provider_name", "tags", "summary", "body"],
            "locales": ["cmn"],
        }
    ]
    assert settings["typoTolerance"] == {
        "enabled": True,
        "disableOnNumbers": True,
        "disableOnAttributes": ["name_pinyin"],
        "disableOnWords": ["changzhou", "chaozhou"],
        "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
    }
    assert settings["faceting"] == {"maxValuesPerFacet": 200, "sortFacetValuesBy": {"*": "count"}}
    assert settings["pagination"] == {"maxTotalHits": 100_000}
    # The whole object goes over the wire as JSON.
    assert json.loads(json.dumps(settings, ensure_ascii=False)) == settings


def test_custom_ranking_rules_come_after_every_built_in_rule() -> None:
    rules = index_settings(TAXONOMY)["rankingRules"]
    custom = [index for index, rule in enumerate(rules) if ":" in rule]
    built_in = [index for index, rule in enumerate(rules) if ":" not in rule]
    assert custom
    assert min(custom) > max(built_in)


def test_synonyms_map_every_form_to_the_other_forms_of_its_concepts() -> None:
    synonyms = synonyms_payload(TAXONOMY)
    assert synonyms["mes"] == ["制造执行系统"]
    assert synonyms["制造执行系统"] == ["mes"]
    assert synonyms["数采"] == sorted(["设备联网与数据采集", "数据采集", "设备联网"])
    assert synonyms["opc-ua"] == ["opc ua", "opcua"]
    # SaaS belongs to two concepts and reaches the forms of both.
    assert synonyms["saas"] == sorted(["软件即服务", "公有云订阅"])
    assert synonyms["软件即服务"] == ["saas"]
    for form, others in synonyms.items():
        assert form not in others
        assert form == form.lower()
        for other in others:
            # One-way entries exist in both directions.
            assert form in synonyms[other] or TAXONOMY.concepts(form) != TAXONOMY.concepts(other)


def test_synonyms_of_the_real_taxonomy_are_a_valid_payload() -> None:
    from catalog.taxonomy import VOCABULARY_NAMES, vocabulary

    table = table_from_terms(term for name in VOCABULARY_NAMES for term in vocabulary(name))
    settings = index_settings(table)
    synonyms = settings["synonyms"]
    assert synonyms["mes"]
    assert "制造执行系统" in synonyms["mes"]
    assert all(others and form not in others for form, others in synonyms.items())
    assert list(synonyms) == sorted(synonyms)
    assert all(word.isascii() and word.isalpha() for word in typo_exact_words(table))


def test_facet_and_pagination_limits_are_configurable() -> None:
    settings = index_settings(TAXONOMY, max_values_per_facet=50, max_total_hits=1000)
    assert settings["faceting"]["maxValuesPerFacet"] == 50
    assert settings["pagination"]["maxTotalHits"] == 1000


# --- documents ---------------------------------------------------------------------------------


def test_document_payload_shape() -> None:
    payload = document_payload(make_document())
    assert payload["id"] == f"solution_3a{UUID}"
    assert payload["kind"] == "solution"
    assert payload["capability"] == ["cap.mes"]
    assert payload["protocol"] == ["proto.s7"]
    assert "facets" not in payload
    assert payload["published_at"] == int(datetime(2025, 3, 1, 8, 30, tzinfo=UTC).timestamp())
    assert payload["price_min_fen"] == 980_000
    assert payload["fingerprint"] == "sha256:abc"
    assert payload["rating"] == 4.5
    assert payload["trust"] == 0.8
    # Pinyin of the names, for queries such as czsl or changzhou.
    assert "czsljgkjyxgs" in payload["name_pinyin"].split()
    assert "changzhou" in payload["name_pinyin"].split()


def test_optional_numbers_are_left_out_and_naive_dates_are_utc() -> None:
    payload = document_payload(
        make_document(price_min_fen=None, published_at=datetime(2025, 3, 1, 8, 30))
    )
    assert "price_min_fen" not in payload
    assert payload["published_at"] == int(datetime(2025, 3, 1, 8, 30, tzinfo=UTC).timestamp())
    assert "published_at" not in document_payload(make_document(published_at=None))


def test_document_round_trip() -> None:
    document = make_document()
    assert document_from_payload(document_payload(document)) == document
    bare = make_document(published_at=None, price_min_fen=None, facets={}, tags=())
    assert document_from_payload(document_payload(bare)) == bare


def test_unknown_facets_in_documents_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown facet"):
        document_payload(make_document(facets={"colour": ["red"]}))


def test_highlight_sentinels_cannot_be_smuggled_in_by_a_document() -> None:
    payload = document_payload(make_document(title=f"{HIGHLIGHT_PRE}假{HIGHLIGHT_POST}"))
    assert payload["title"] == "假"


def test_hit_mapping_escapes_text_and_marks_matches() -> None:
    payload = document_payload(make_document())
    response_hit = {
        **payload,
        "_rankingScore": 0.87,
        "_formatted": {
            "title": f"注塑车间 {HIGHLIGHT_PRE}MES{HIGHLIGHT_POST} <script>x</script>",
            "provider_name": "常州示例精工科技有限公司",
            "summary": f"按月付费的{HIGHLIGHT_PRE}制造执行系统{HIGHLIGHT_POST}",
            "body": "支持西门子S7-1200…",
        },
    }
    hit = hit_from_payload(response_hit)
    assert hit.id == f"solution:{UUID}"
    assert hit.kind == "solution"
    assert hit.score == pytest.approx(0.87)
    assert hit.rating == 4.5
    assert hit.facets["capability"] == ["cap.mes"]
    assert hit.highlights["title"] == "注塑车间 <mark>MES</mark> &lt;script&gt;x&lt;/script&gt;"
    assert hit.highlights["summary"] == "按月付费的<mark>制造执行系统</mark>"
    # A provider name or body without a match explains nothing and is left out.
    assert "provider_name" not in hit.highlights
    assert "body" not in hit.highlights


# --- filters -----------------------------------------------------------------------------------


def unquote_filter_values(expression: str) -> list[str]:
    """Every double-quoted literal in ``expression``, unescaped as Meilisearch reads it."""
    values: list[str] = []
    index = 0
    while index < len(expression):
        if expression[index] != '"':
            index += 1
            continue
        index += 1
        chars: list[str] = []
        while expression[index] != '"':
            if expression[index] == "\\":
                index += 1
            chars.append(expression[index])
            index += 1
        values.append("".join(chars))
        index += 1
    return values


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("320000", '"320000"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ('end\\"', '"end\\\\\\""'),
        ("two words", '"two words"'),
        ("江苏省", '"江苏省"'),
        ("OR", '"OR"'),
        ("a AND b", '"a AND b"'),
        ("proto.s7", '"proto.s7"'),
        ("", '""'),
    ],
)
def test_filter_values_are_quoted_and_escaped(value: str, literal: str) -> None:
    assert quote_filter_value(value) == literal
    assert unquote_filter_values(literal) == [value]


def test_single_value_filter() -> None:
    assert build_filter({"province": ["320000"]}) == 'province = "320000"'


def test_or_within_a_facet_and_across_facets() -> None:
    expression = build_filter(
        {"province": ["江苏", "浙江"], "capability": ["cap.mes"], "protocol": ["proto.s7"]}
    )
    assert expression == (
        'capability = "cap.mes" AND protocol = "proto.s7" AND province IN ["江苏", "浙江"]'
    )


@pytest.mark.parametrize(
    "values",
    [
        ['say "hi"', "back\\slash"],
        ["OR", "AND", "NOT"],
        ["proto.s7", "proto.s7-plus"],
        ["two words", "中文 值", '"', "\\", '\\"'],
        ["a) OR (b = 1", 'x" OR kind = "provider'],
    ],
)
def test_tricky_values_survive_the_round_trip(values: list[str]) -> None:
    expression = build_filter({"protocol": values, "city": ["苏州"]})
    assert expression is not None
    assert unquote_filter_values(expression) == [*values, "苏州"]
    # Exactly the two clauses we built: no value broke out of its quotes.
    outside_quotes = expression
    for value in [*values, "苏州"]:
        outside_quotes = outside_quotes.replace(quote_filter_value(value), "V", 1)
    assert outside_quotes == "protocol IN [" + ", ".join("V" * len(values)) + "] AND city = V"


def test_empty_value_lists_add_no_condition() -> None:
    assert build_filter({}) is None
    assert build_filter({"province": []}) is None
    assert build_filter({"province": [], "city": ["苏州"]}) == 'city = "苏州"'


def test_duplicates_and_bare_strings() -> None:
    assert build_filter({"city": ["苏州", "苏州"]}) == 'city = "苏州"'
    assert build_filter({"city": "苏州"}) == 'city = "苏州"'


def test_kind_and_provider_id_are_filterable() -> None:
    assert build_filter({"kind": ["provider"], "provider_id": ["p-1"]}) == (
        'kind = "provider" AND provider_id = "p-1"'
    )


@pytest.mark.parametrize("name", ["colour", "title", "province OR 1", ""])
def test_unknown_filter_fields_are_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match="unknown filter field"):
        build_filter({name: ["x"]})


# --- queries -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("relevance", None),
        ("rating", ["rating:desc"]),
        ("newest", ["published_at:desc"]),
        ("price", ["price_min_fen:asc"]),
    ],
)
def test_sort_mapping(order: str, expected: list[str] | None) -> None:
    assert sort_payload(order) == expected


def test_unknown_sort_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown sort"):
        sort_payload("cheapest")


def test_query_is_normalised() -> None:
    assert meili_query("ＭＥＳ　按月付费") == "mes 按月付费"
    assert meili_query("  西门子S7-1200 ") == "西门子 s7-1200"
    assert meili_query(" ，。! ") == ""


def test_query_keeps_only_the_words_meilisearch_reads() -> None:
    words = [f"w{index}" for index in range(15)]
    assert meili_query(" ".join(words)) == " ".join(words[:MAX_QUERY_WORDS])


def test_credit_codes_are_matched_exactly() -> None:
    assert meili_query("91320400MA1W5RQH2B 常州") == '"91320400ma1w5rqh2b" 常州'
    # Eighteen letters without a digit are a word, not a code.
    assert meili_query("abcdefghabcdefghab") == "abcdefghabcdefghab"


def test_search_params() -> None:
    q, params = search_params(
        SearchRequest(
            q="ＭＥＳ 注塑",
            kind="solution",
            filters={"province": ["320000"]},
            facets=["capability", "province"],
            sort="price",
            page=3,
            size=10,
        )
    )
    assert q == "mes 注塑"
    assert params["filter"] == 'province = "320000"'
    assert params["facets"] == ["capability", "province"]
    assert params["sort"] == ["price_min_fen:asc"]
    assert (params["page"], params["hitsPerPage"]) == (3, 10)
    assert params["matchingStrategy"] == "all"
    assert params["attributesToHighlight"] == ["title", "provider_name", "summary", "body"]
    assert (params["highlightPreTag"], params["highlightPostTag"]) == (
        HIGHLIGHT_PRE,
        HIGHLIGHT_POST,
    )
    assert params["showRankingScore"] is True
    assert params["locales"] == ["cmn"]


def test_relevance_sends_no_sort_and_no_filter_when_none_is_given() -> None:
    _, params = search_params(SearchRequest(q="mes"))
    assert "sort" not in params
    assert "filter" not in params
    assert "facets" not in params


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (SearchRequest(q="x", facets=["colour"]), "unknown facet"),
        (SearchRequest(q="x", filters={"colour": ["red"]}), "unknown filter field"),
        (SearchRequest(q="x", page=0), "at least 1"),
        (SearchRequest(q="x", size=0), "at least 1"),
    ],
)
def test_bad_requests_are_refused(request_: SearchRequest, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        search_params(request_)


def test_facet_counts_cover_every_requested_facet() -> None:
    response = {"facetDistribution": {"province": {"320000": 3, "330000": 1}}}
    assert facet_counts(response, ["province", "city"]) == {
        "province": {"320000": 3, "330000": 1},
        "city": {},
    }


def test_suggestions_prefer_the_matched_name_and_the_best_score() -> None:
    solutions = {
        "hits": [
            {
                "title": "注塑 MES",
                "provider_name": "常州示例精工",
                "_matchesPosition": {"provider_name": [{"start": 0, "length": 2}]},
                "_rankingScore": 0.5,
            },
            {"title": "常州云 MES", "provider_name": "别家", "_rankingScore": 0.9},
        ]
    }
    providers = {"hits": [{"title": "常州示例精工", "provider_name": "常州示例精工"}]}
    assert suggestions([solutions, providers], 5) == ["常州云 MES", "常州示例精工"]
    assert suggestions([solutions, providers], 1) == ["常州云 MES"]
    assert suggest_params(5)["attributesToSearchOn"] == ["title", "provider_name", "name_pinyin"]


# --- the backend against a stand-in client ------------------------------------------------------


def api_error(code: str, message: str, status: int = 400) -> MeilisearchApiError:
    response = SimpleNamespace(
        status_code=status, text=json.dumps({"code": code, "message": message})
    )
    return MeilisearchApiError(message, response)  # type: ignore[arg-type]


@dataclass
class FakeClient:
    """Records calls as tuples; every write returns a task that ``fail`` may make fail."""

    fail: Callable[[str, str], dict[str, str] | None] = lambda op, uid: None
    timeout_on: set[int] = field(default_factory=set)
    search_responses: dict[str, Any] = field(default_factory=dict)
    stored: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    tasks: dict[int, SimpleNamespace] = field(default_factory=dict)
    health_error: Exception | None = None

    def _task(self, op: str, uid: str | None) -> SimpleNamespace:
        task_uid = len(self.tasks) + 1
        error = self.fail(op, uid or "")
        self.tasks[task_uid] = SimpleNamespace(
            uid=task_uid, status="failed" if error else "succeeded", error=error
        )
        return SimpleNamespace(task_uid=task_uid, index_uid=uid)

    def index(self, uid: str) -> FakeIndex:
        return FakeIndex(self, uid)

    def create_index(self, uid: str, options: Mapping[str, Any]) -> SimpleNamespace:
        self.calls.append(("create_index", uid, dict(options)))
        return self._task("create_index", uid)

    def delete_index(self, uid: str) -> SimpleNamespace:
        self.calls.append(("delete_index", uid))
        return self._task("delete_index", uid)

    def swap_indexes(self, pairs: Sequence[Mapping[str, Any]]) -> SimpleNamespace:
        self.calls.append(("swap_indexes", [tuple(pair["indexes"]) for pair in pairs]))
        return self._task("swap_indexes", None)

    def wait_for_task(
        self, uid: int, timeout_in_ms: int = 5000, interval_in_ms: int = 50
    ) -> SimpleNamespace:
        self.calls.append(("wait", uid, timeout_in_ms))
        if uid in self.timeout_on:
            raise MeilisearchTimeoutError(f"timeout on {uid}")
        return self.tasks[uid]

    def health(self) -> dict[str, str]:
        if self.health_error is not None:
            raise self.health_error
        return {"status": "available"}

    def get_version(self) -> dict[str, str]:
        return {"pkgVersion": "1.15.2"}

    def ops(self) -> list[tuple[Any, ...]]:
        """Calls without the waits, for checking the order of operations."""
        return [call for call in self.calls if call[0] != "wait"]


@dataclass
class FakeIndex:
    client: FakeClient
    uid: str

    def update_settings(self, body: Mapping[str, Any]) -> SimpleNamespace:
        self.client.calls.append(("update_settings", self.uid))
        return self.client._task("update_settings", self.uid)

    def add_documents(
        self, documents: Sequence[Mapping[str, Any]], primary_key: str | None = None
    ) -> SimpleNamespace:
        self.client.calls.append(("add_documents", self.uid, [doc["id"] for doc in documents]))
        assert primary_key == "id"
        return self.client._task("add_documents", self.uid)

    def delete_documents(self, *, filter: str) -> SimpleNamespace:
        self.client.calls.append(("delete_documents", self.uid, filter))
        return self.client._task("delete_documents", self.uid)

    def search(self, q: str, params: Mapping[str, Any]) -> Any:
        self.client.calls.append(("search", self.uid, q, dict(params)))
        response = self.client.search_responses.get(self.uid, {"hits": [], "totalHits": 0})
        if isinstance(response, Exception):
            raise response
        return response(q) if callable(response) else response

    def get_documents(self, parameters: Mapping[str, Any]) -> SimpleNamespace:
        self.client.calls.append(("get_documents", self.uid, parameters["offset"]))
        if self.uid not in self.client.stored:
            raise api_error("index_not_found", f"Index `{self.uid}` not found.", 404)
        documents = self.client.stored[self.uid]
        offset, limit = parameters["offset"], parameters["limit"]
        page = [
            {name: doc[name] for name in parameters["fields"] if name in doc}
            for doc in documents[offset : offset + limit]
        ]
        return SimpleNamespace(results=page, total=len(documents))


def backend_for(client: FakeClient, **options: Any) -> MeiliBackend:
    options.setdefault("index_prefix", "t")
    return MeiliBackend(client, TAXONOMY, **options)  # type: ignore[arg-type]


def provider_document(number: int) -> SearchDocument:
    return make_document(
        id=f"provider:p{number}", kind="provider", ref_id=f"p{number}", title=f"供应商{number}"
    )


def test_upsert_creates_indexes_once_and_waits_on_every_task() -> None:
    client = FakeClient()
    backend = backend_for(client, batch_size=2, task_timeout_ms=5000)
    solutions = [make_document(id=f"solution:s{n}", ref_id=f"s{n}") for n in range(5)]
    backend.upsert([*solutions, provider_document(1)])
    backend.upsert([provider_document(2)])
    assert client.ops() == [
        ("create_index", "t_solutions", {"primaryKey": "id"}),
        ("update_settings", "t_solutions"),
        ("create_index", "t_providers", {"primaryKey": "id"}),
        ("update_settings", "t_providers"),
        ("add_documents", "t_solutions", ["solution_3as0", "solution_3as1"]),
        ("add_documents", "t_solutions", ["solution_3as2", "solution_3as3"]),
        ("add_documents", "t_solutions", ["solution_3as4"]),
        ("add_documents", "t_providers", ["provider_3ap1"]),
        ("add_documents", "t_providers", ["provider_3ap2"]),
    ]
    waited = [call[1] for call in client.calls if call[0] == "wait"]
    assert waited == sorted(client.tasks)


def test_task_timeouts_grow_with_the_documents_they_carry() -> None:
    client = FakeClient()
    backend = backend_for(
        client,
        batch_size=3,
        task_timeout_ms=5000,
        task_timeout_per_document_ms=10,
        settings_timeout_ms=60_000,
    )
    backend.upsert([make_document(id=f"solution:s{n}") for n in range(3)])
    timeouts = [call[2] for call in client.calls if call[0] == "wait"]
    # create, settings (x2 indexes), then one batch of three documents.
    assert timeouts == [5000, 60_000, 5000, 60_000, 5030]


def test_a_failed_task_raises_with_meilisearch_code_and_message() -> None:
    def fail(op: str, uid: str) -> dict[str, str] | None:
        if op == "add_documents":
            return {"code": "invalid_document_id", "message": "Document identifier `x` is invalid"}
        return None

    backend = backend_for(FakeClient(fail=fail))
    with pytest.raises(SearchBackendError, match="Document identifier `x` is invalid") as caught:
        backend.upsert([make_document()])
    assert caught.value.code == "invalid_document_id"
    assert caught.value.task_uid is not None
    assert "invalid_document_id" in str(caught.value)


def test_a_task_that_does_not_finish_in_time_raises() -> None:
    client = FakeClient(timeout_on={1})
    with pytest.raises(SearchBackendError, match="did not finish within"):
        backend_for(client).upsert([make_document()])


def test_an_existing_index_is_not_an_error() -> None:
    def fail(op: str, uid: str) -> dict[str, str] | None:
        if op == "create_index":
            return {"code": "index_already_exists", "message": f"Index `{uid}` already exists."}
        return None

    client = FakeClient(fail=fail)
    backend_for(client).upsert([make_document()])
    assert ("add_documents", "t_solutions", [f"solution_3a{UUID}"]) in client.ops()


def test_client_errors_become_search_backend_errors() -> None:
    class Unreachable(FakeClient):
        def create_index(self, uid: str, options: Mapping[str, Any]) -> SimpleNamespace:
            raise MeilisearchCommunicationError("connection refused")

    with pytest.raises(SearchBackendError, match="connection refused"):
        backend_for(Unreachable()).upsert([make_document()])


def test_delete_goes_by_id_filter_to_the_right_index() -> None:
    client = FakeClient()
    backend_for(client).delete(["solution:s1", "provider:p1", "solution:s1", "odd"])
    deletes = [call for call in client.ops() if call[0] == "delete_documents"]
    assert deletes == [
        ("delete_documents", "t_solutions", 'id IN ["solution_3as1", "odd"]'),
        ("delete_documents", "t_providers", 'id IN ["provider_3ap1", "odd"]'),
    ]


def test_reindex_builds_aside_then_swaps_and_drops_the_old_indexes() -> None:
    client = FakeClient()
    backend = backend_for(client, batch_size=2)
    documents = [make_document(id=f"solution:s{n}") for n in range(3)] + [provider_document(1)]
    assert backend.reindex(iter(documents)) == 4
    ops = client.ops()
    tmp_solutions = next(call[1] for call in ops if str(call[1]).startswith("t_solutions_tmp_"))
    tmp_providers = next(call[1] for call in ops if str(call[1]).startswith("t_providers_tmp_"))
    assert ops == [
        ("create_index", "t_solutions", {"primaryKey": "id"}),
        ("create_index", "t_providers", {"primaryKey": "id"}),
        ("create_index", tmp_solutions, {"primaryKey": "id"}),
        ("update_settings", tmp_solutions),
        ("create_index", tmp_providers, {"primaryKey": "id"}),
        ("update_settings", tmp_providers),
        ("add_documents", tmp_solutions, ["solution_3as0", "solution_3as1"]),
        ("add_documents", tmp_solutions, ["solution_3as2"]),
        ("add_documents", tmp_providers, ["provider_3ap1"]),
        (
            "swap_indexes",
            [("t_solutions", tmp_solutions), ("t_providers", tmp_providers)],
        ),
        ("delete_index", tmp_solutions),
        ("delete_index", tmp_providers),
    ]
    assert all(call[1] in client.tasks for call in client.calls if call[0] == "wait")
    assert len([call for call in client.calls if call[0] == "wait"]) == len(client.tasks)


def test_reindex_deletes_the_temporary_indexes_when_adding_documents_fails() -> None:
    def fail(op: str, uid: str) -> dict[str, str] | None:
        if op == "add_documents":
            return {"code": "payload_too_large", "message": "The payload is too large"}
        return None

    client = FakeClient(fail=fail)
    with pytest.raises(SearchBackendError, match="payload is too large"):
        backend_for(client).reindex([make_document()])
    ops = client.ops()
    assert not any(call[0] == "swap_indexes" for call in ops)
    created = [call[1] for call in ops if call[0] == "create_index" and "_tmp_" in call[1]]
    deleted = [call[1] for call in ops if call[0] == "delete_index"]
    assert len(created) == 2
    assert deleted == created
    assert ops[-2:] == [("delete_index", created[0]), ("delete_index", created[1])]


def test_reindex_cleans_up_when_the_documents_themselves_are_bad() -> None:
    client = FakeClient()
    bad = make_document(facets={"colour": ["red"]})
    with pytest.raises(ValueError, match="unknown facet"):
        backend_for(client).reindex([make_document(), bad])
    deleted = [call[1] for call in client.ops() if call[0] == "delete_index"]
    assert len(deleted) == 2
    assert all("_tmp_" in uid for uid in deleted)


def test_search_maps_the_response() -> None:
    hit = {
        **document_payload(make_document()),
        "_rankingScore": 0.9,
        "_formatted": {"title": f"注塑车间 {HIGHLIGHT_PRE}MES{HIGHLIGHT_POST} 快速上线"},
    }
    client = FakeClient(
        search_responses={
            "t_solutions": {
                "hits": [hit],
                "totalHits": 41,
                "facetDistribution": {"province": {"320000": 41}},
                "processingTimeMs": 3,
            }
        }
    )
    result = backend_for(client).search(
        SearchRequest(q="ＭＥＳ", facets=["province"], filters={"city": ["320500"]}, size=1)
    )
    assert result.total == 41
    assert [found.id for found in result.hits] == [f"solution:{UUID}"]
    assert result.hits[0].highlights["title"] == "注塑车间 <mark>MES</mark> 快速上线"
    assert result.facets == {"province": {"320000": 41}}
    assert result.suggestion is None
    assert result.took_ms == 3.0
    [(_, uid, q, params)] = [call for call in client.calls if call[0] == "search"]
    assert (uid, q, params["filter"]) == ("t_solutions", "mes", 'city = "320500"')


def test_search_for_providers_uses_their_index_and_estimates_totals() -> None:
    client = FakeClient(search_responses={"t_providers": {"hits": [], "estimatedTotalHits": 0}})
    backend_for(client).search(SearchRequest(q="精工", kind="provider"))
    assert [call[1] for call in client.calls if call[0] == "search"] == ["t_providers"]


def test_an_empty_query_browses_with_the_filters() -> None:
    client = FakeClient()
    result = backend_for(client).search(
        SearchRequest(q="  ", facets=["city"], filters={"province": ["320000"]})
    )
    assert (result.total, list(result.hits), result.suggestion) == (0, [], None)
    [(_, _, q, params)] = [call for call in client.calls if call[0] == "search"]
    assert (q, params["filter"], params["facets"]) == ("", 'province = "320000"', ["city"])
    # Nothing to correct, so the vocabulary is not even loaded.
    assert not any(call[0] == "get_documents" for call in client.calls)


def test_punctuation_alone_finds_nothing_without_asking_the_server() -> None:
    client = FakeClient()
    result = backend_for(client).search(SearchRequest(q=" 。！", facets=["city"]))
    assert (result.total, list(result.hits), result.facets) == (0, [], {"city": {}})
    assert client.calls == []


def test_search_before_anything_was_indexed_is_empty_not_an_error() -> None:
    missing = api_error("index_not_found", "Index `t_solutions` not found.", 404)
    client = FakeClient(search_responses={"t_solutions": missing})
    assert backend_for(client).search(SearchRequest(q="mes")).total == 0


def test_search_errors_carry_the_meilisearch_code() -> None:
    broken = api_error("invalid_search_filter", "Attribute `city` is not filterable.")
    client = FakeClient(search_responses={"t_solutions": broken})
    with pytest.raises(SearchBackendError, match="not filterable") as caught:
        backend_for(client).search(SearchRequest(q="mes"))
    assert caught.value.code == "invalid_search_filter"


def test_did_you_mean_uses_words_from_the_index() -> None:
    client = FakeClient(
        stored={
            "t_solutions": [{"title": "Modbus 网关", "provider_name": "甲", "tags": ["Gateway"]}],
            "t_providers": [],
        }
    )
    backend = backend_for(client)
    result = backend.search(SearchRequest(q="nodbus gatewey"))
    assert result.suggestion == "modbus gateway"
    # The corrected query is run as well, as the SQL backend does.
    queries = [call[2] for call in client.calls if call[0] == "search"]
    assert queries == ["nodbus gatewey", "modbus gateway"]
    # A Chinese-only query has no Latin word to correct.
    assert backend.search(SearchRequest(q="注塑")).suggestion is None


def test_did_you_mean_returns_what_the_corrected_query_finds() -> None:
    hit = {**document_payload(make_document()), "_rankingScore": 1.0}

    def respond(q: str) -> dict[str, Any]:
        return {"hits": [hit], "totalHits": 1} if q == "modbus" else {"hits": [], "totalHits": 0}

    client = FakeClient(
        search_responses={"t_solutions": respond},
        stored={"t_solutions": [{"title": "Modbus 网关"}], "t_providers": []},
    )
    result = backend_for(client).search(SearchRequest(q="nodbus"))
    assert (result.total, result.suggestion) == (1, "modbus")
    assert [found.id for found in result.hits] == [f"solution:{UUID}"]


def test_did_you_mean_learns_from_documents_written_by_this_process() -> None:
    client = FakeClient(stored={"t_solutions": [], "t_providers": []})
    backend = backend_for(client)
    assert backend.search(SearchRequest(q="profinex")).suggestion is None
    backend.upsert([make_document(title="PROFINET 改造")])
    assert backend.search(SearchRequest(q="profinex")).suggestion == "profinet"


def test_state_pages_through_ids_and_fingerprints() -> None:
    solutions = [
        {"id": to_meili_id(f"solution:s{n}"), "fingerprint": f"f{n}", "title": "x"}
        for n in range(2500)
    ]
    client = FakeClient(stored={"t_solutions": solutions})  # no provider index yet
    state = backend_for(client).state()
    assert len(state.fingerprints) == 2500
    assert state.fingerprints["solution:s2499"] == "f2499"
    offsets = [call[2] for call in client.calls if call[0] == "get_documents"]
    assert offsets == [0, 1000, 2000, 0]


def test_health_reports_and_never_raises() -> None:
    assert backend_for(FakeClient()).health() == {
        "backend": "meilisearch",
        "status": "ok",
        "version": "1.15.2",
        "message": "",
        "indexes": ["t_solutions", "t_providers"],
    }
    down = backend_for(FakeClient(health_error=MeilisearchCommunicationError("refused")))
    report = down.health()
    assert (report["status"], report["version"], report["message"]) == ("error", None, "refused")
    odd = backend_for(FakeClient(health_error=RuntimeError("boom"))).health()
    assert odd["status"] == "error"
    assert "boom" in odd["message"]


def test_suggest_searches_names_in_both_indexes() -> None:
    client = FakeClient(
        search_responses={
            "t_solutions": {"hits": [{"title": "常州云 MES", "provider_name": "乙"}]},
            "t_providers": {"hits": [{"title": "常州示例精工", "provider_name": "常州示例精工"}]},
        }
    )
    assert backend_for(client).suggest("常州", limit=5) == ["常州云 MES", "常州示例精工"]
    searches = [call for call in client.calls if call[0] == "search"]
    assert [call[1] for call in searches] == ["t_solutions", "t_providers"]
    assert all(call[3]["limit"] == 5 for call in searches)
    assert backend_for(FakeClient()).suggest("  ") == []


def test_factory_reads_the_settings() -> None:
    backend = make_meili_backend(
        Settings(meili_url="http://127.0.0.1:7700", meili_key="k"), index_prefix="shop"
    )
    assert backend.name == "meilisearch"
    assert backend.index_uids == {"solution": "shop_solutions", "provider": "shop_providers"}
    assert make_meili_backend(Settings(meili_url="http://x")).index_prefix == "iimarket"
    with pytest.raises(ValueError, match="MARKET_MEILI_URL"):
        make_meili_backend(Settings(meili_url=None))


def test_index_prefix_is_checked() -> None:
    with pytest.raises(ValueError, match="index prefix"):
        backend_for(FakeClient(), index_prefix="bad prefix")
