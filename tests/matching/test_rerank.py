"""Re-rank rules: diversity, exposure fairness, group cap, lead budget, exploration slot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from matching.catalog_index import CatalogIndex, Need, ProviderRecord, SolutionRecord
from matching.engine import recommend, why_not
from matching.rerank import (
    Pool,
    exposure_penalty,
    greedy_rerank,
    jaccard_matrix,
    place_exploration,
)

CAPS = tuple(f"cap.c{number}" for number in range(10))
MUST = ("cap.c0",)
NICE = tuple(f"cap.c{number}" for number in range(1, 9))


def provider(provider_id: str, **fields: Any) -> ProviderRecord:
    # Established by default: exposed enough not to count as under-exposed, not new.
    values: dict[str, Any] = {"capacity": 10, "region_code": "320505", "exposure_30d": 10.0}
    values.update(fields)
    return ProviderRecord(provider_id, **values)


def solution(solution_id: str, provider_id: str, **fields: Any) -> SolutionRecord:
    values: dict[str, Any] = {"capabilities": CAPS[:9]}
    values.update(fields)
    return SolutionRecord(solution_id, provider_id, **values)


def build(solutions: Sequence[SolutionRecord], providers: Sequence[ProviderRecord]) -> CatalogIndex:
    return CatalogIndex.build(solutions, providers, capability_ids=CAPS, protocol_ids=())


def bits(*sets: Sequence[int]) -> np.ndarray:
    matrix = np.zeros((len(sets), 1), dtype=np.uint64)
    for row, members in enumerate(sets):
        for member in members:
            matrix[row, 0] |= np.uint64(1 << member)
    return matrix


def pool(scores: Sequence[float], caps: np.ndarray, **fields: Any) -> Pool:
    size = len(scores)
    values: dict[str, Any] = {
        "positions": np.arange(size, dtype=np.int64),
        "score": np.asarray(scores, dtype=np.float64),
        "caps": caps,
        "groups": np.arange(size, dtype=np.int32),
        "exposure": np.zeros(size),
        "over_budget": np.zeros(size, dtype=bool),
        "phi": np.zeros(size),
    }
    values.update(fields)
    return Pool(**values)


def test_jaccard_of_capability_sets() -> None:
    matrix = jaccard_matrix(bits([0, 1], [1, 2], [], []))
    assert matrix[0, 1] == pytest.approx(1 / 3)
    assert matrix[0, 0] == pytest.approx(1.0)
    assert matrix[2, 3] == 0.0


def test_mmr_lets_a_different_solution_past_a_near_duplicate() -> None:
    caps = bits([0, 1, 2], [0, 1, 2], [5, 6])
    order = greedy_rerank(pool([0.80, 0.79, 0.70], caps), k=3)
    # 0.79 − 0.15·1.0 = 0.64 < 0.70 − 0: the distinct solution goes second.
    assert order == [0, 2, 1]


def test_exposure_penalty_compares_exposure_share_with_merit_share() -> None:
    penalty = exposure_penalty(np.array([30.0, 10.0, 0.0]), np.array([1.0, 1.0, 1.0]))
    # shares 0.75, 0.25, 0 against 1/3 each: 0.75·3 − 1 = 1.25 → clipped to 1.
    assert penalty == pytest.approx([1.0, 0.0, 0.0])
    assert exposure_penalty(np.zeros(3), np.ones(3)) == pytest.approx([0.0, 0.0, 0.0])


def test_heavily_exposed_provider_gives_way_to_an_equal_one() -> None:
    caps = bits([0], [1])
    order = greedy_rerank(pool([0.5, 0.5], caps, exposure=np.array([100.0, 1.0])), k=2)
    assert order == [1, 0]


def test_over_budget_providers_are_placed_below_all_others() -> None:
    caps = bits([0], [1], [2])
    order = greedy_rerank(
        pool([0.9, 0.5, 0.4], caps, over_budget=np.array([True, False, False])), k=3
    )
    assert order == [1, 2, 0]


def test_exploration_takes_rank_four_and_keeps_the_list_at_k() -> None:
    assert place_exploration([10, 11, 12, 13, 14], 99, rank=4, k=5) == [10, 11, 12, 99, 13]
    assert place_exploration([10, 11], 99, rank=4, k=5) == [10, 11, 99]


def test_only_one_provider_per_group_is_shown() -> None:
    index = build(
        [solution("a1", "a"), solution("a2", "a"), solution("b1", "b"), solution("c1", "c")],
        [provider("a", group_id="g"), provider("b", group_id="g"), provider("c")],
    )
    result = recommend(index, Need(must_capabilities=MUST, k=5))
    shown = [item.provider_id for item in result.results]
    assert len(shown) == 2
    assert "c" in shown
    assert len({"a", "b"} & set(shown)) == 1
    hidden = ({"a", "b"} - set(shown)).pop()
    assert why_not(index, Need(must_capabilities=MUST, k=5), hidden).status == "group_cap"


def test_provider_over_its_weekly_lead_budget_is_listed_last() -> None:
    index = build(
        [
            solution("busy", "busy", capabilities=CAPS[:9]),
            solution("ok", "ok", capabilities=CAPS[:3]),
        ],
        [provider("busy", leads_this_week=5, weekly_lead_budget=5), provider("ok")],
    )
    need = Need(must_capabilities=MUST, nice_capabilities=NICE, k=5)
    result = recommend(index, need)
    assert [item.provider_id for item in result.results] == ["ok", "busy"]
    assert result.results[1].score > result.results[0].score


def exploration_catalog(explorer_budget_fit: float, *, explorers: int = 1) -> CatalogIndex:
    """Five established providers with identical solutions, and new providers whose otherwise
    identical solutions cost more, so their budget fit (worth up to 0.06 of S) is lower."""
    established = [provider(f"p{number}") for number in range(5)]
    solutions = [
        solution(f"s{number}", f"p{number}", typical_price_fen=1000) for number in range(5)
    ]
    # Newcomers qualify for exploration by being new; equal exposure keeps the fairness term
    # from promoting them organically, so the slot is what is tested.
    newcomers = [
        provider(f"new{number}", is_new=True, listed_since_days=10) for number in range(explorers)
    ]
    # f_budget = (1.5·B − price) / (0.5·B) with B = 1000.
    price = round(1500 - 500 * explorer_budget_fit)
    solutions += [
        solution(f"x{number}", f"new{number}", typical_price_fen=price)
        for number in range(explorers)
    ]
    return build(solutions, established + newcomers)


NEED = Need(need_id="n", must_capabilities=MUST, nice_capabilities=NICE, budget_fen=1000, k=5)


def test_exploration_slot_fills_when_the_newcomer_reaches_ninety_percent_of_the_kth_score() -> None:
    index = exploration_catalog(explorer_budget_fit=0.6)
    result = recommend(index, NEED, rng_seed=3)

    kth_organic = why_not(index, NEED, "p4", rng_seed=3)
    explorer = [item for item in result.results if item.exploration]
    assert len(explorer) == 1
    assert explorer[0].provider_id == "new0"
    assert explorer[0].rank == 4
    assert len(result.results) == 5
    # The fifth established provider made room; its score is the k-th organic score.
    assert kth_organic.score is not None
    assert explorer[0].score >= 0.9 * kth_organic.score
    assert any("探索推荐" in caveat for caveat in explorer[0].caveats_zh)


def test_exploration_slot_stays_empty_below_ninety_percent_of_the_kth_score() -> None:
    index = exploration_catalog(explorer_budget_fit=0.0)
    result = recommend(index, NEED, rng_seed=3)

    assert not any(item.exploration for item in result.results)
    assert [item.provider_id for item in result.results] == [f"p{n}" for n in range(5)]
    newcomer = why_not(index, NEED, "new0", rng_seed=3)
    kth = result.results[-1].score
    assert newcomer.score is not None
    assert newcomer.score < 0.9 * kth


def test_exactly_one_exploration_result_even_with_several_candidates() -> None:
    index = exploration_catalog(explorer_budget_fit=0.6, explorers=3)
    result = recommend(index, NEED, rng_seed=11)
    assert sum(item.exploration for item in result.results) == 1


def test_exploration_draw_is_deterministic_for_a_seed() -> None:
    index = exploration_catalog(explorer_budget_fit=0.6, explorers=4)
    first = [item.provider_id for item in recommend(index, NEED, rng_seed=5).results]
    again = [item.provider_id for item in recommend(index, NEED, rng_seed=5).results]
    assert first == again
    picks = {
        next(
            item.provider_id
            for item in recommend(index, NEED, rng_seed=seed).results
            if item.exploration
        )
        for seed in range(20)
    }
    assert len(picks) > 1  # Thompson sampling rotates among equally good newcomers


def test_explorer_must_pass_every_rule_without_relaxation() -> None:
    established = [provider(f"p{number}") for number in range(5)]
    solutions = [solution(f"s{number}", f"p{number}", min_price_fen=100) for number in range(5)]
    newcomer = provider("new", is_new=True, exposure_30d=0.0)
    solutions.append(solution("x", "new", min_price_fen=130))  # over 1.2× budget
    index = build(solutions, [*established, newcomer])
    need = Need(need_id="n", must_capabilities=MUST, nice_capabilities=NICE, budget_fen=100, k=6)
    result = recommend(index, need, rng_seed=1)
    assert [step.constraint for step in result.relaxations] == ["budget"]
    assert not any(item.exploration for item in result.results)


def test_graduated_newcomer_is_not_explored() -> None:
    established = [provider(f"p{number}") for number in range(5)]
    solutions = [solution(f"s{number}", f"p{number}") for number in range(5)]
    veteran = provider("old-new", is_new=True, exposure_30d=10.0, listed_since_days=120)
    solutions.append(solution("x", "old-new", capabilities=CAPS[:8]))
    index = build(solutions, [*established, veteran])
    assert not any(item.exploration for item in recommend(index, NEED, rng_seed=1).results)


def test_fresh_exposure_snapshot_from_the_caller_overrides_the_index() -> None:
    index = build(
        [
            solution("a1", "a", capabilities=("cap.c0",)),
            solution("b1", "b", capabilities=("cap.c0", "cap.c1")),
        ],
        [provider("a"), provider("b")],
    )
    need = Need(must_capabilities=MUST, k=2)
    assert [item.provider_id for item in recommend(index, need).results] == ["a", "b"]
    # "a" took nearly every lead this month: equal fit, so it now gives way.
    flipped = recommend(index, need, exposure={"a": 500.0, "b": 1.0, "unknown": 3.0})
    assert [item.provider_id for item in flipped.results] == ["b", "a"]
