"""Evaluation metrics on hand-computed examples, and the engine against its baselines."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from matching.catalog_index import CatalogIndex, Need, ProviderRecord, SolutionRecord
from matching.evaluation import (
    JudgedNeed,
    Ranking,
    dcg_at_k,
    evaluate_all,
    evaluate_system,
    gini,
    mrr,
    ndcg_at_k,
    parse_judged_line,
    rating_only_ranker,
    recall_at_k,
    text_only_ranker,
)
from matching.trust import Review

CAPS = ("cap.mes", "cap.erp", "cap.wms")


def test_dcg_uses_exponential_gain_and_log_discount() -> None:
    # (2^3−1)/log2(2) + (2^2−1)/log2(3) + 0 = 7 + 3/1.58496
    assert dcg_at_k([3, 2, 0], 10) == pytest.approx(7 + 3 / math.log2(3))
    assert dcg_at_k([3, 2, 0], 1) == pytest.approx(7)


def test_ndcg_against_the_ideal_ordering_of_all_judged_items() -> None:
    judged = [3, 2, 3, 0]
    ranked = [2, 3, 0]
    ideal = 7 + 7 / math.log2(3) + 3 / math.log2(4)
    actual = 3 + 7 / math.log2(3)
    assert ndcg_at_k(ranked, judged, 10) == pytest.approx(actual / ideal)
    assert ndcg_at_k([3, 3, 2], judged, 10) == pytest.approx(1.0)
    assert ndcg_at_k([1], [0, 0], 5) == 0.0


def test_ndcg_at_five_ignores_positions_after_five() -> None:
    assert ndcg_at_k([0, 0, 0, 0, 0, 3], [3], 5) == 0.0
    assert ndcg_at_k([0, 0, 0, 0, 0, 3], [3], 10) == pytest.approx(1 / math.log2(7))


def test_mrr_counts_the_first_grade_of_two_or_more() -> None:
    assert mrr([1, 0, 2, 3]) == pytest.approx(1 / 3)
    assert mrr([3]) == 1.0
    assert mrr([1, 1, 0]) == 0.0


def test_recall_at_ten() -> None:
    ranked = [f"s{number}" for number in range(12)]
    assert recall_at_k(ranked, {"s1", "s11", "x"}, 10) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, set(), 10) == 0.0


def test_gini_of_exposure() -> None:
    assert gini([1, 1, 1, 1]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)
    assert gini([1, 3]) == pytest.approx(0.25)
    assert gini([]) == 0.0


def test_judged_lines_parse_and_validate() -> None:
    line = json.dumps(
        {
            "need": {"need_id": "n1", "must_capabilities": ["cap.mes"], "k": 5},
            "judgments": {"s1": 3, "p2": 0},
        }
    )
    judged = parse_judged_line(line)
    assert judged.need.must_capabilities == ("cap.mes",)
    assert judged.judgments == {"s1": 3, "p2": 0}
    with pytest.raises(ValueError, match="unknown need fields"):
        parse_judged_line({"need": {"colour": "red"}, "judgments": {}})
    with pytest.raises(ValueError, match="0-3"):
        parse_judged_line({"need": {}, "judgments": {"s1": 4}})


def provider(provider_id: str, **fields: Any) -> ProviderRecord:
    values: dict[str, Any] = {"capacity": 10, "region_code": "320505", "exposure_30d": 10.0}
    values.update(fields)
    return ProviderRecord(provider_id, **values)


def small_market() -> CatalogIndex:
    providers = [
        provider("fit", reviews=[Review(4.5)] * 3),
        provider("star", reviews=[Review(5.0)] * 40),
        provider("full", capacity=4, active_engagements=4, reviews=[Review(5.0)] * 60),
        provider("wordy", is_new=True),
    ]
    solutions = [
        SolutionRecord("s-fit", "fit", title="MES", text="注塑 MES", capabilities=("cap.mes",)),
        SolutionRecord("s-star", "star", title="ERP", text="财务 ERP", capabilities=("cap.erp",)),
        SolutionRecord("s-full", "full", title="MES", text="注塑 MES", capabilities=("cap.mes",)),
        SolutionRecord(
            "s-wordy",
            "wordy",
            title="注塑 MES 注塑 MES",
            text="注塑 MES",
            capabilities=("cap.wms",),
        ),
    ]
    return CatalogIndex.build(solutions, providers, capability_ids=CAPS, protocol_ids=())


JUDGED = [
    JudgedNeed(
        Need(need_id="n1", must_capabilities=("cap.mes",), text="注塑 MES", k=3),
        {"s-fit": 3, "s-full": 0, "s-wordy": 1, "s-star": 0},
    )
]


def test_violation_rate_flags_results_breaking_unannounced_rules() -> None:
    index = small_market()
    metrics = evaluate_all(index, JUDGED, k=3)
    assert metrics["engine"].violation_rate == 0.0
    # Text relevance alone shows the provider at capacity (a hard rule it never relaxed).
    assert metrics["text_only"].violation_rate > 0
    assert metrics["engine"].ndcg_10 >= metrics["rating_only"].ndcg_10


def test_hand_computed_metrics_for_a_fixed_ranking() -> None:
    index = small_market()
    order = ["s-wordy", "s-fit", "s-full"]
    rows = [index.find_solution(item) for item in order]

    def fixed(_index: CatalogIndex, _need: Need) -> Ranking:
        return Ranking([row for row in rows if row is not None])

    metrics = evaluate_system(index, JUDGED, fixed, k=3)
    ideal = 7 + 1 / math.log2(3)
    assert metrics.ndcg_10 == pytest.approx((1 + 7 / math.log2(3)) / ideal)
    assert metrics.mrr == pytest.approx(0.5)
    assert metrics.recall_10 == pytest.approx(1.0)
    # s-wordy lacks the must capability and s-full is at capacity; neither rule was relaxed.
    assert metrics.violation_rate == pytest.approx(2 / 3)
    assert metrics.new_provider_share == pytest.approx(1 / 3)
    assert metrics.shown == 3


def test_baselines_rank_by_text_and_by_rating() -> None:
    index = small_market()
    need = JUDGED[0].need
    by_text = [index.solution_id(row) for row in text_only_ranker(index, need).rows]
    assert by_text[0] == "s-wordy"
    by_rating = [index.solution_id(row) for row in rating_only_ranker(index, need).rows]
    assert by_rating == ["s-full", "s-fit"]
