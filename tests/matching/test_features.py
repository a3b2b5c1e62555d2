"""Soft features and the score S (DOMAIN.md §5 feature table)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from matching.catalog_index import (
    CatalogIndex,
    Need,
    ProviderRecord,
    SolutionRecord,
    VerifiedCase,
)
from matching.features import FeatureMatrix, compute_features, load_penalty
from matching.text_relevance import ranks_desc, rrf_feature
from matching.weights import DEFAULT_WEIGHTS, FEATURES, Weights

CAPS = ("cap.mes", "cap.data_acquisition", "cap.erp", "cap.wms")
PROTOS = ("proto.modbus_tcp", "proto.s7", "proto.s7.isotcp", "proto.fanuc_focas")


def provider(provider_id: str, **fields: Any) -> ProviderRecord:
    values: dict[str, Any] = {"capacity": 10, "region_code": "320505"}
    values.update(fields)
    return ProviderRecord(provider_id, **values)


def solution(solution_id: str, provider_id: str, **fields: Any) -> SolutionRecord:
    values: dict[str, Any] = {"capabilities": ("cap.mes",)}
    values.update(fields)
    return SolutionRecord(solution_id, provider_id, **values)


def features_for(
    solutions: Sequence[SolutionRecord],
    providers: Sequence[ProviderRecord],
    need: Need,
    weights: Weights = DEFAULT_WEIGHTS,
) -> tuple[CatalogIndex, FeatureMatrix]:
    index = CatalogIndex.build(
        solutions,
        providers,
        capability_ids=CAPS,
        protocol_ids=PROTOS,
        pricing_ids=("one_off", "subscription"),
    )
    rows = np.arange(index.size, dtype=np.int64)
    return index, compute_features(index, index.prepare(need), rows, weights=weights)


def by_id(index: CatalogIndex, matrix: FeatureMatrix, name: str) -> dict[str, float]:
    return {
        index.solution_id(int(row)): float(matrix.values[name][position])
        for position, row in enumerate(matrix.rows)
    }


def test_capability_coverage_weighs_musts_double() -> None:
    index, matrix = features_for(
        [
            solution("all", "a", capabilities=("cap.mes", "cap.erp", "cap.wms")),
            solution("musts", "b", capabilities=("cap.mes", "cap.erp")),
            solution("nice", "c", capabilities=("cap.wms",)),
        ],
        [provider("a"), provider("b"), provider("c")],
        Need(must_capabilities=("cap.mes", "cap.erp"), nice_capabilities=("cap.wms",)),
    )
    cap = by_id(index, matrix, "cap")
    assert cap["all"] == pytest.approx(1.0)
    assert cap["musts"] == pytest.approx(4 / 5)
    assert cap["nice"] == pytest.approx(1 / 5)


def test_protocol_gateway_counts_half_and_a_family_covers_its_children() -> None:
    index, matrix = features_for(
        [
            solution("native", "a", protocols_native=("proto.s7", "proto.fanuc_focas")),
            solution("gateway", "b", protocols_gateway=("proto.s7.isotcp", "proto.fanuc_focas")),
            solution("child-only", "c", protocols_native=("proto.s7.isotcp",)),
        ],
        [provider("a"), provider("b"), provider("c")],
        Need(must_capabilities=("cap.mes",), protocols=("proto.s7.isotcp", "proto.fanuc_focas")),
    )
    proto = by_id(index, matrix, "proto")
    assert proto["native"] == pytest.approx(1.0)  # proto.s7 covers proto.s7.isotcp
    assert proto["gateway"] == pytest.approx(0.5)
    assert proto["child-only"] == pytest.approx(0.5)

    _, family_need = features_for(
        [solution("child-only", "c", protocols_native=("proto.s7.isotcp",))],
        [provider("c")],
        Need(must_capabilities=("cap.mes",), protocols=("proto.s7",)),
    )
    # A child does not cover its whole family.
    assert family_need.values["proto"][0] == pytest.approx(0.0)


def test_industry_fit_follows_the_gb_t_prefix_ladder() -> None:
    index, matrix = features_for(
        [
            solution("class", "a", industries=("2921",)),
            solution("group", "b", industries=("292",)),
            solution("division", "c", industries=("2931",)),
            solution("section", "d", industries=("34",)),
            solution("other-section", "e", industries=("65",)),
            solution("best-of-two", "f", industries=("34", "C2921")),
        ],
        [provider(name) for name in "abcdef"],
        Need(must_capabilities=("cap.mes",), industry_code="2921"),
    )
    ind = by_id(index, matrix, "ind")
    assert ind == pytest.approx(
        {
            "class": 1.0,
            "group": 0.7,
            "division": 0.4,
            "section": 0.1,
            "other-section": 0.0,
            "best-of-two": 1.0,
        }
    )


def test_verified_cases_lift_industry_fit_with_a_capped_bonus() -> None:
    cases = tuple(VerifiedCase("2911", ("cap.mes",)) for _ in range(3))
    index, matrix = features_for(
        [
            solution("profile-only", "a", industries=("29",)),
            solution("one-case", "b", industries=()),
            solution("three-cases", "c", industries=("29",)),
        ],
        [
            provider("a"),
            provider("b", verified_cases=(VerifiedCase("2921", ("cap.erp",)),)),
            provider("c", verified_cases=cases),
        ],
        Need(must_capabilities=("cap.mes",), industry_code="2921"),
    )
    ind = by_id(index, matrix, "ind")
    assert ind["profile-only"] == pytest.approx(0.4)
    assert ind["one-case"] == pytest.approx(1.0)  # 1.0 from the case, bonus capped at 1
    assert ind["three-cases"] == pytest.approx(0.4 + 0.2)  # min(0.2, 0.1·log2(4))

    evidence = by_id(index, matrix, "evidence")
    assert evidence["three-cases"] == pytest.approx(np.log2(4) / 3)
    assert evidence["one-case"] == 0.0  # the case shows cap.erp, not the requested cap.mes


def test_region_ladder_city_province_declared_remote_and_saas() -> None:
    providers = [
        provider("a", region_code="320506"),
        provider("b", region_code="320102"),
        provider("c", region_code="440300", on_site_regions=("320000",)),
        provider("d", region_code="440300"),
    ]
    solutions = [solution(f"s-{p.provider_id}", p.provider_id) for p in providers]
    index, matrix = features_for(
        solutions, providers, Need(must_capabilities=("cap.mes",), region_code="320505")
    )
    assert by_id(index, matrix, "region") == pytest.approx(
        {"s-a": 1.0, "s-b": 0.7, "s-c": 0.5, "s-d": 0.3}
    )
    index, saas = features_for(
        solutions,
        providers,
        Need(must_capabilities=("cap.mes",), region_code="320505", pure_saas=True),
    )
    assert by_id(index, saas, "region") == pytest.approx(
        {"s-a": 1.0, "s-b": 0.8, "s-c": 0.8, "s-d": 0.8}
    )


def test_locality_switched_off_makes_region_neutral() -> None:
    providers = [provider("a", region_code="320506"), provider("d", region_code="440300")]
    index, matrix = features_for(
        [solution("s-a", "a"), solution("s-d", "d")],
        providers,
        Need(must_capabilities=("cap.mes",), region_code="320505", prefer_local=False),
    )
    assert by_id(index, matrix, "region") == {"s-a": 0.0, "s-d": 0.0}


def test_budget_fit_is_one_up_to_the_budget_and_zero_at_one_and_a_half() -> None:
    index, matrix = features_for(
        [
            solution("under", "a", typical_price_fen=800),
            solution("at", "b", typical_price_fen=1000),
            solution("plus25", "c", typical_price_fen=1250),
            solution("plus60", "d", typical_price_fen=1600),
            solution("min-only", "e", min_price_fen=1100),
            solution("unknown", "f"),
        ],
        [provider(name) for name in "abcdef"],
        Need(must_capabilities=("cap.mes",), budget_fen=1000),
    )
    assert by_id(index, matrix, "budget") == pytest.approx(
        {"under": 1.0, "at": 1.0, "plus25": 0.5, "plus60": 0.0, "min-only": 0.8, "unknown": 0.5}
    )


def test_scale_fit_rewards_proven_over_declared() -> None:
    index, matrix = features_for(
        [
            solution("proven", "a", target_sizes=("small",)),
            solution("declared", "b", target_sizes=("small",)),
            solution("neither", "c", target_sizes=("large",)),
        ],
        [provider("a", sizes_served_proven=("small",)), provider("b"), provider("c")],
        Need(must_capabilities=("cap.mes",), sme_size="small"),
    )
    assert by_id(index, matrix, "scale") == pytest.approx(
        {"proven": 1.0, "declared": 0.6, "neither": 0.0}
    )


def test_pricing_fit_is_one_when_a_preferred_model_is_offered() -> None:
    index, matrix = features_for(
        [
            solution("sub", "a", pricing_models=("subscription",)),
            solution("buy", "b", pricing_models=("one_off",)),
        ],
        [provider("a"), provider("b")],
        Need(must_capabilities=("cap.mes",), preferred_pricing=("subscription", "lease")),
    )
    assert by_id(index, matrix, "pricing") == pytest.approx({"sub": 1.0, "buy": 0.3})


def test_load_penalty_starts_at_seventy_percent_and_is_full_at_ninety_five() -> None:
    loads = np.array([0.5, 0.7, 0.8, 0.95], dtype=np.float32)
    assert load_penalty(loads) == pytest.approx([0.0, 0.0, 0.16, 1.0], abs=1e-6)


def test_score_is_the_weighted_sum_minus_the_load_penalty() -> None:
    index, matrix = features_for(
        [solution("s", "a", capabilities=("cap.mes", "cap.erp"), typical_price_fen=900)],
        [provider("a", capacity=10, active_engagements=8)],
        Need(
            must_capabilities=("cap.mes",),
            nice_capabilities=("cap.wms",),
            budget_fen=1000,
            region_code="320505",
        ),
    )
    contributions = matrix.contributions(0, DEFAULT_WEIGHTS)
    assert set(contributions) == {*FEATURES, "load"}
    assert contributions["load"] == pytest.approx(-0.10 * ((0.8 - 0.7) / 0.25) ** 2)
    assert sum(contributions.values()) == pytest.approx(float(matrix.score[0]))
    assert contributions["cap"] == pytest.approx(0.25 * 2 / 3)


def test_curator_weights_change_the_score() -> None:
    need = Need(must_capabilities=("cap.mes",), budget_fen=1000)
    solutions = [solution("s", "a", typical_price_fen=900)]
    _, default = features_for(solutions, [provider("a")], need)
    heavier = DEFAULT_WEIGHTS.with_overrides({"budget": 0.5})
    _, curated = features_for(solutions, [provider("a")], need, heavier)
    assert float(curated.score[0]) - float(default.score[0]) == pytest.approx(0.44)


def test_weight_overrides_refuse_unknown_names_and_negative_values() -> None:
    with pytest.raises(ValueError, match="unknown weight"):
        DEFAULT_WEIGHTS.with_overrides({"captain": 0.3})
    with pytest.raises(ValueError, match="negative"):
        DEFAULT_WEIGHTS.with_overrides({"cap": -0.1})
    assert sum(DEFAULT_WEIGHTS.feature_weights().values()) == pytest.approx(1.0)
    assert (
        DEFAULT_WEIGHTS.fingerprint() != DEFAULT_WEIGHTS.with_overrides({"cap": 0.3}).fingerprint()
    )


def test_text_feature_fuses_reciprocal_ranks_normalised_to_one() -> None:
    bm25 = np.array([3.0, 1.0, 0.0, 1.0])
    ranks = ranks_desc(bm25, bm25 > 0, depth=10)
    assert ranks.tolist() == [1, 2, 0, 2]
    assert rrf_feature([ranks])[0] == pytest.approx(1.0)
    both = rrf_feature([np.array([1, 3], dtype=np.int32), np.array([1, 0], dtype=np.int32)])
    assert both[0] == pytest.approx(1.0)
    assert both[1] == pytest.approx((1 / 63) / (2 / 61))


def test_ranks_beyond_the_depth_contribute_nothing() -> None:
    values = np.arange(10, dtype=np.float64)
    ranks = ranks_desc(values, np.ones(10, dtype=bool), depth=3)
    assert sorted(ranks[ranks > 0].tolist()) == [1, 2, 3]
    assert ranks[:7].tolist() == [0] * 7


def test_bm25_text_relevance_prefers_the_matching_description() -> None:
    index, _ = features_for(
        [
            solution("mes", "a", title="注塑车间MES", text="制造执行系统，注塑机数采"),
            solution("erp", "b", title="财务ERP", text="企业资源计划，财务"),
        ],
        [provider("a"), provider("b")],
        Need(must_capabilities=("cap.mes",)),
    )
    rows = np.arange(index.size, dtype=np.int64)
    matrix = compute_features(
        index,
        index.prepare(Need(must_capabilities=("cap.mes",), text="注塑机 MES")),
        rows,
        query_tokens=["注塑", "塑机", "mes"],
    )
    text = by_id(index, matrix, "text")
    assert text["mes"] == pytest.approx(1.0)
    assert text["erp"] == 0.0
    assert matrix.text_mode == "bm25"
