"""Hard constraints and their one-step-at-a-time relaxation (DOMAIN.md §5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from matching.catalog_index import CatalogIndex, Need, ProviderRecord, SolutionRecord
from matching.constraints import evaluate, select
from matching.engine import recommend

CAPS = ("cap.mes", "cap.data_acquisition", "cap.erp", "cap.wms")


def provider(provider_id: str, **fields: Any) -> ProviderRecord:
    values: dict[str, Any] = {"capacity": 10, "region_code": "320500"}
    values.update(fields)
    return ProviderRecord(provider_id, **values)


def solution(solution_id: str, provider_id: str, **fields: Any) -> SolutionRecord:
    values: dict[str, Any] = {"capabilities": ("cap.mes",)}
    values.update(fields)
    return SolutionRecord(solution_id, provider_id, **values)


def build(solutions: Sequence[SolutionRecord], providers: Sequence[ProviderRecord]) -> CatalogIndex:
    return CatalogIndex.build(solutions, providers, capability_ids=CAPS, protocol_ids=())


def passing_ids(index: CatalogIndex, need: Need) -> tuple[set[str], list[str]]:
    prepared = index.prepare(need)
    selection = select(evaluate(index, prepared), need.k)
    ids = {index.solution_id(int(row)) for row in np.flatnonzero(selection.passing)}
    return ids, [step.constraint for step in selection.applied]


def test_suspended_or_unlisted_provider_is_excluded_and_never_relaxed() -> None:
    index = build(
        [solution("ok", "a"), solution("hidden", "b"), solution("paused", "c")],
        [provider("a"), provider("b", listed=False), provider("c", suspended=True)],
    )
    # k far above the catalog size forces every applicable relaxation step.
    ids, _ = passing_ids(index, Need(must_capabilities=("cap.mes",), sme_size="small", k=50))
    assert ids == {"ok"}


def test_provider_at_capacity_is_never_recommended_even_after_relaxation() -> None:
    index = build(
        [solution("free", "a"), solution("full", "b"), solution("over", "c")],
        [
            provider("a", capacity=100, active_engagements=94),
            provider("b", capacity=100, active_engagements=95),
            provider("c", capacity=25, active_engagements=24),
        ],
    )
    need = Need(
        must_capabilities=("cap.mes", "cap.erp"),
        budget_fen=1,
        sme_size="large",
        onsite_required=True,
        region_code="110000",
        k=10,
    )
    ids, applied = passing_ids(index, need)
    assert applied == ["capability", "budget", "size", "region"]
    assert ids == {"free"}
    result = recommend(index, need)
    assert [item.solution_id for item in result.results] == ["free"]
    assert result.excluded["capacity"] == 2


def test_provider_without_declared_capacity_counts_as_full() -> None:
    index = build([solution("s", "a")], [provider("a", capacity=0)])
    ids, _ = passing_ids(index, Need(must_capabilities=("cap.mes",)))
    assert ids == set()


def test_capability_rule_needs_every_must_until_step_one_relaxes_it() -> None:
    index = build(
        [
            solution("both", "a", capabilities=("cap.mes", "cap.erp")),
            solution("one", "b", capabilities=("cap.mes",)),
            solution("none", "c", capabilities=("cap.wms",)),
        ],
        [provider("a"), provider("b"), provider("c")],
    )
    strict, applied = passing_ids(index, Need(must_capabilities=("cap.mes", "cap.erp"), k=1))
    assert strict == {"both"}
    assert applied == []

    relaxed, applied = passing_ids(index, Need(must_capabilities=("cap.mes", "cap.erp"), k=2))
    assert relaxed == {"both", "one"}
    assert applied == ["capability"]


def test_solution_covering_no_requested_capability_is_excluded() -> None:
    index = build(
        [solution("nice", "a", capabilities=("cap.wms",)), solution("off", "b", capabilities=())],
        [provider("a"), provider("b")],
    )
    ids, _ = passing_ids(index, Need(nice_capabilities=("cap.wms", "cap.erp"), k=5))
    assert ids == {"nice"}


def test_unknown_must_capability_can_never_be_met_strictly() -> None:
    index = build([solution("s", "a")], [provider("a")])
    ids, _ = passing_ids(index, Need(must_capabilities=("cap.mes", "cap.unknown"), k=1))
    assert ids == {"s"}  # only through step 1 ("at least one must")
    strict = select(evaluate(index, index.prepare(Need(must_capabilities=("cap.unknown",)))), 1)
    assert not strict.passing.any()


def test_budget_allows_twenty_percent_then_fifty_percent_after_step_two() -> None:
    budget = 1_000_000
    index = build(
        [
            solution("at", "a", min_price_fen=budget),
            solution("plus20", "b", min_price_fen=1_200_000),
            solution("plus21", "c", min_price_fen=1_210_000),
            solution("plus50", "d", min_price_fen=1_500_000),
            solution("plus60", "e", min_price_fen=1_600_000),
            solution("on-request", "f", min_price_fen=None),
        ],
        [provider(name) for name in "abcdef"],
    )
    strict, applied = passing_ids(
        index, Need(must_capabilities=("cap.mes",), budget_fen=budget, k=3)
    )
    assert strict == {"at", "plus20", "on-request"}
    assert applied == []

    relaxed, applied = passing_ids(
        index, Need(must_capabilities=("cap.mes",), budget_fen=budget, k=5)
    )
    assert relaxed == {"at", "plus20", "plus21", "plus50", "on-request"}
    assert applied == ["budget"]


def test_size_rule_counts_declared_or_proven_sizes_until_step_three() -> None:
    index = build(
        [
            solution("declared", "a", target_sizes=("small",)),
            solution("proven", "b", target_sizes=("large",)),
            solution("any-size", "c", target_sizes=()),
            solution("large-only", "d", target_sizes=("large",)),
        ],
        [
            provider("a"),
            provider("b", sizes_served_proven=("small",)),
            provider("c"),
            provider("d"),
        ],
    )
    strict, applied = passing_ids(
        index, Need(must_capabilities=("cap.mes",), sme_size="small", k=3)
    )
    assert strict == {"declared", "proven", "any-size"}
    assert applied == []

    relaxed, applied = passing_ids(
        index, Need(must_capabilities=("cap.mes",), sme_size="small", k=4)
    )
    assert relaxed == {"declared", "proven", "any-size", "large-only"}
    assert applied == ["size"]


def test_region_rule_applies_only_when_on_site_service_is_required() -> None:
    index = build(
        [
            solution("suzhou", "a"),
            solution("nanjing", "b"),
            solution("covers-jiangsu", "c"),
            solution("covers-suzhou", "d"),
            solution("far", "e"),
        ],
        [
            provider("a", region_code="320505"),
            provider("b", region_code="320102"),
            provider("c", region_code="440300", on_site_regions=("320000",)),
            provider("d", region_code="330100", on_site_regions=("320500",)),
            provider("e", region_code="440300"),
        ],
    )
    remote_ok, _ = passing_ids(
        index, Need(must_capabilities=("cap.mes",), region_code="320506", k=1)
    )
    assert "far" in remote_ok

    onsite = Need(must_capabilities=("cap.mes",), region_code="320506", onsite_required=True, k=4)
    strict, applied = passing_ids(index, onsite)
    assert strict == {"suzhou", "nanjing", "covers-jiangsu", "covers-suzhou"}
    assert applied == []

    relaxed, applied = passing_ids(
        index,
        Need(must_capabilities=("cap.mes",), region_code="320506", onsite_required=True, k=5),
    )
    assert relaxed == strict | {"far"}
    assert applied == ["region"]


def test_relaxation_applies_one_step_at_a_time_and_stops_once_k_remain() -> None:
    index = build(
        [
            solution("fits", "a", capabilities=("cap.mes", "cap.erp"), min_price_fen=100),
            solution("one-must", "b", capabilities=("cap.mes",), min_price_fen=100),
            solution("pricey", "c", capabilities=("cap.mes", "cap.erp"), min_price_fen=140),
        ],
        [provider("a"), provider("b"), provider("c")],
    )
    need = Need(must_capabilities=("cap.mes", "cap.erp"), budget_fen=100, sme_size="small", k=2)
    prepared = index.prepare(need)
    selection = select(evaluate(index, prepared), need.k)

    assert [step.constraint for step in selection.applied] == ["capability"]
    first = selection.applied[0]
    assert (first.step, first.remaining_before, first.remaining_after) == (1, 1, 2)
    assert "至少满足一项" in first.text_zh

    wider = select(evaluate(index, prepared), 3)
    assert [step.step for step in wider.applied] == [1, 2]
    assert "1.5" in wider.applied[1].text_zh


def test_relaxation_steps_that_do_not_apply_are_not_announced() -> None:
    index = build([solution("s", "a")], [provider("a")])
    _, applied = passing_ids(index, Need(must_capabilities=("cap.mes",), k=5))
    assert applied == []


def test_excluded_counts_name_the_first_failing_rule() -> None:
    index = build(
        [
            solution("ok", "a"),
            solution("paused-and-off", "b", capabilities=("cap.wms",)),
            solution("off-topic", "c", capabilities=("cap.wms",)),
            solution("too-dear", "d", min_price_fen=10_000),
        ],
        [provider("a"), provider("b", suspended=True), provider("c"), provider("d")],
    )
    need = Need(must_capabilities=("cap.mes",), budget_fen=100, k=1)
    selection = select(evaluate(index, index.prepare(need)), need.k)
    assert selection.excluded == {
        "status": 1,
        "capacity": 0,
        "capability": 1,
        "budget": 1,
        "size": 0,
        "region": 0,
    }
