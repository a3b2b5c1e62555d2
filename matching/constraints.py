"""Hard constraints as boolean masks, with reasons, and their documented relaxation (DOMAIN §5).

| order | constraint | rule | relaxation step |
|---|---|---|---|
| 1 | status | provider listed and not suspended | never |
| 2 | capacity | load = active ÷ capacity < 0.95 | never |
| 3 | capability | covers ≥1 requested capability and every must | 1: at least one must |
| 4 | budget | minimum price ≤ 1.2 × budget | 2: ≤ 1.5 × budget |
| 5 | size | serves the SME's size class (declared or proven) | 3: dropped |
| 6 | region | on-site required: same province or declared on-site coverage | 4: dropped |

While fewer than k solutions pass, the next step is applied, one at a time in this order, and
recorded so the result can tell the SME what was relaxed. Status and capacity are never relaxed:
a suspended provider or one without room for another engagement is not a recommendation
however short the list. A step whose rule does not apply to this need (no budget given, a
single must) is skipped rather than announced, since relaxing it would change nothing.

Every excluded solution is attributed to the *first* rule it fails in the order above, so the
per-reason counts add up to the number excluded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from matching.catalog_index import CatalogIndex, PreparedNeed, ids_of
from matching.weights import DEFAULT_WEIGHTS, Weights

__all__ = [
    "CONSTRAINTS",
    "NEVER_RELAXED",
    "RELAXATION_ORDER",
    "AppliedRelaxation",
    "ConstraintMasks",
    "Exclusion",
    "Selection",
    "any_overlap",
    "evaluate",
    "first_failure",
    "select",
]

CONSTRAINTS: tuple[str, ...] = ("status", "capacity", "capability", "budget", "size", "region")
NEVER_RELAXED: tuple[str, ...] = ("status", "capacity")
# Relaxation steps 1–4 in order.
RELAXATION_ORDER: tuple[str, ...] = ("capability", "budget", "size", "region")

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class AppliedRelaxation:
    """One relaxation step that was applied, with the counts before and after."""

    step: int
    constraint: str
    text_zh: str
    text_en: str
    remaining_before: int
    remaining_after: int


@dataclass(frozen=True, eq=False)
class ConstraintMasks:
    """Per constraint: the strict mask, the relaxed mask, and whether it applies to the need."""

    strict: dict[str, BoolArray]
    relaxed: dict[str, BoolArray]
    applicable: dict[str, bool]


@dataclass(frozen=True, eq=False)
class Selection:
    """The outcome of filtering: which rows pass, at which level each rule ended up."""

    passing: BoolArray
    strict_passing: BoolArray
    relaxed: frozenset[str]
    applied: tuple[AppliedRelaxation, ...]
    excluded: dict[str, int]


@dataclass(frozen=True, slots=True)
class Exclusion:
    """Why one solution was excluded: the first failing rule and the facts behind it."""

    constraint: str
    facts: dict[str, Any]


def any_overlap(matrix: npt.NDArray[np.uint64], mask: npt.NDArray[np.uint64]) -> BoolArray:
    """Rows of a bitset matrix sharing at least one bit with ``mask``."""
    result = np.zeros(matrix.shape[0], dtype=bool)
    for word in range(matrix.shape[1]):
        if mask[word]:
            result |= (matrix[:, word] & mask[word]) != 0
    return result


def contains_all(matrix: npt.NDArray[np.uint64], mask: npt.NDArray[np.uint64]) -> BoolArray:
    """Rows of a bitset matrix holding every bit of ``mask``."""
    result = np.ones(matrix.shape[0], dtype=bool)
    for word in range(matrix.shape[1]):
        if mask[word]:
            result &= (matrix[:, word] & mask[word]) == mask[word]
    return result


def _relaxation_text(constraint: str, weights: Weights) -> tuple[str, str]:
    if constraint == "capability":
        return (
            "必需能力由“全部满足”放宽为“至少满足一项”",
            'must-have capabilities relaxed from "all" to "at least one"',
        )
    if constraint == "budget":
        strict, relaxed = weights.budget_tolerance, weights.budget_tolerance_relaxed
        return (
            f"最低报价上限由预算的 {strict:g} 倍放宽至 {relaxed:g} 倍",
            f"minimum price allowed up to {relaxed:g}× your budget instead of {strict:g}×",
        )
    if constraint == "size":
        return (
            "不再要求服务商服务过同规模企业",
            "providers no longer need to serve companies of your size",
        )
    return (
        "上门服务不再限于同省或已声明覆盖您所在地区的服务商",
        "on-site service no longer limited to providers in your province or covering your area",
    )


def onsite_covering(index: CatalogIndex, prepared: PreparedNeed) -> BoolArray:
    """Providers that declared on-site coverage of the SME's county, city or province."""
    covering = np.zeros(index.provider_count, dtype=bool)
    code, province, city = prepared.region
    for key in {code, city * 100, province * 10000}:
        if key > 0:
            covering[index.onsite_keys.lookup(key)] = True
    return covering


def evaluate(
    index: CatalogIndex, prepared: PreparedNeed, weights: Weights = DEFAULT_WEIGHTS
) -> ConstraintMasks:
    """Evaluate every hard rule over every solution, strict and relaxed."""
    need = prepared.need
    solutions = index.solutions
    count = index.size
    everything = np.ones(count, dtype=bool)
    strict: dict[str, BoolArray] = {}
    relaxed: dict[str, BoolArray] = {}
    applicable: dict[str, bool] = {}

    strict["status"] = index.solution_status_ok
    strict["capacity"] = index.solution_load < weights.load_exclude

    if prepared.requested_count:
        covers_some = any_overlap(solutions.caps, prepared.requested_bits)
        # Unknown must ids have no bit and can never be covered: contains_all alone would
        # wave them through, so the count check keeps them honest.
        known_musts = len(ids_of(prepared.must_bits, index.capability_ids))
        all_musts = contains_all(solutions.caps, prepared.must_bits)
        if known_musts < len(prepared.must_ids):
            all_musts = np.zeros(count, dtype=bool)
        strict["capability"] = covers_some & all_musts
        relaxed["capability"] = (
            any_overlap(solutions.caps, prepared.must_bits)
            if prepared.must_ids
            else strict["capability"]
        )
        applicable["capability"] = len(prepared.must_ids) >= 2
    else:
        strict["capability"] = relaxed["capability"] = everything
        applicable["capability"] = False

    if need.budget_fen is not None and need.budget_fen > 0:
        unknown = solutions.min_price < 0
        # Whole-fen limits keep the comparison in int64 (no float copy of 300k prices).
        limit = math.floor(weights.budget_tolerance * need.budget_fen)
        relaxed_limit = math.floor(weights.budget_tolerance_relaxed * need.budget_fen)
        strict["budget"] = unknown | (solutions.min_price <= limit)
        relaxed["budget"] = unknown | (solutions.min_price <= relaxed_limit)
        applicable["budget"] = True
    else:
        strict["budget"] = relaxed["budget"] = everything
        applicable["budget"] = False

    if prepared.size_bit:
        strict["size"] = (index.solution_sizes & prepared.size_bit) != 0
        relaxed["size"] = everything
        applicable["size"] = True
    else:
        strict["size"] = relaxed["size"] = everything
        applicable["size"] = False

    if need.onsite_required and prepared.region[1]:
        same_province = index.providers.province == prepared.region[1]
        reachable = same_province | onsite_covering(index, prepared)
        strict["region"] = reachable[index.provider_row]
        relaxed["region"] = everything
        applicable["region"] = True
    else:
        strict["region"] = relaxed["region"] = everything
        applicable["region"] = False

    return ConstraintMasks(strict=strict, relaxed=relaxed, applicable=applicable)


def _combine(masks: ConstraintMasks, relaxed: frozenset[str]) -> BoolArray:
    result = masks.strict["status"] & masks.strict["capacity"]
    for name in RELAXATION_ORDER:
        result = result & (masks.relaxed[name] if name in relaxed else masks.strict[name])
    return result


def excluded_counts(masks: ConstraintMasks, relaxed: frozenset[str]) -> dict[str, int]:
    """Excluded solutions per first failing rule, under the given relaxations."""
    remaining = np.ones(masks.strict["status"].shape[0], dtype=bool)
    counts: dict[str, int] = {}
    for name in CONSTRAINTS:
        mask = masks.relaxed[name] if name in relaxed else masks.strict[name]
        failing = remaining & ~mask
        counts[name] = int(np.count_nonzero(failing))
        remaining &= mask
    return counts


def select(masks: ConstraintMasks, k: int, weights: Weights = DEFAULT_WEIGHTS) -> Selection:
    """Apply the rules, relaxing one step at a time while fewer than ``k`` pass."""
    relaxed: frozenset[str] = frozenset()
    strict_passing = _combine(masks, relaxed)
    passing = strict_passing
    count = int(np.count_nonzero(passing))
    applied: list[AppliedRelaxation] = []
    for step, name in enumerate(RELAXATION_ORDER, start=1):
        if count >= k:
            break
        if not masks.applicable[name]:
            continue
        relaxed = relaxed | {name}
        passing = _combine(masks, relaxed)
        after = int(np.count_nonzero(passing))
        text_zh, text_en = _relaxation_text(name, weights)
        applied.append(AppliedRelaxation(step, name, text_zh, text_en, count, after))
        count = after
    return Selection(
        passing=passing,
        strict_passing=strict_passing,
        relaxed=relaxed,
        applied=tuple(applied),
        excluded=excluded_counts(masks, relaxed),
    )


def first_failure(
    index: CatalogIndex,
    prepared: PreparedNeed,
    masks: ConstraintMasks,
    relaxed: frozenset[str],
    row: int,
    weights: Weights = DEFAULT_WEIGHTS,
) -> Exclusion | None:
    """The first rule that excludes solution ``row``, with the concrete facts; None if none."""
    need = prepared.need
    provider = int(index.provider_row[row])
    table = index.providers
    for name in CONSTRAINTS:
        mask = masks.relaxed[name] if name in relaxed else masks.strict[name]
        if mask[row]:
            continue
        facts: dict[str, Any] = {}
        if name == "status":
            facts = {"listed_and_active": False}
        elif name == "capacity":
            facts = {
                "load": float(table.load[provider]),
                "active": int(table.active[provider]),
                "capacity": int(table.capacity[provider]),
                "limit": weights.load_exclude,
            }
        elif name == "capability":
            offered = set(index.solution_capabilities(row))
            facts = {
                "missing_must": [cap for cap in prepared.must_ids if cap not in offered],
                "covered": [
                    cap for cap in (*prepared.must_ids, *prepared.nice_ids) if cap in offered
                ],
                "relaxed": name in relaxed,
            }
        elif name == "budget":
            tolerance = (
                weights.budget_tolerance_relaxed if name in relaxed else weights.budget_tolerance
            )
            facts = {
                "min_price_fen": int(index.solutions.min_price[row]),
                "budget_fen": need.budget_fen,
                "tolerance": tolerance,
            }
        elif name == "size":
            facts = {"size": need.sme_size}
        elif name == "region":
            facts = {
                "provider_region": int(table.region[provider]),
                "need_region": prepared.region[0],
            }
        return Exclusion(name, facts)
    return None
