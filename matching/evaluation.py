"""Offline evaluation against graded judgments (DOMAIN §5 "Evaluation").

Metrics, per need then averaged:

* **NDCG@5 / NDCG@10** with gain (2^rel − 1)/log₂(i + 1); the ideal ordering is taken over
  every judged item of the need, so a system is not rewarded for retrieving few items.
* **MRR**: 1/rank of the first result graded ≥ 2 ("meets the musts"), 0 if none in the list.
* **Recall@10**: share of the items graded ≥ 2 that appear in the top 10.
* **Hard-constraint violation rate**: share of shown results that break a rule which was
  neither satisfied nor announced as relaxed (status and capacity are never relaxable). The
  engine must score 0.
* **Exposure Gini** over the providers that qualified (passed every strict rule) for at least
  one need, with impressions weighted 1/log₂(1 + rank); 0 is perfectly even, 1 is one provider
  taking everything. Providers that could not have been shown are left out, or the Gini would
  only measure how narrow the needs are.
* **New-provider share**: share of shown results whose provider is flagged new.

NDCG, MRR and recall are averaged over needs with at least one result graded ≥ 1 / ≥ 2
respectively (about 15 % of a judged set has no valid provider by design); the counts are
reported alongside.

Baselines run through the same metric code: **text only** ranks every listed solution by text
relevance (what a search box does), **rating only** ranks solutions covering at least one
requested capability by the provider's Bayesian average (what a directory sorted by stars
does). Both show one solution per provider, like the engine.

Judged sets are JSONL, one need per line::

    {"need": {"need_id": "n1", "must_capabilities": ["cap.mes"], "industry_code": "3411",
              "sme_size": "small", "region_code": "320500", "budget_fen": 30000000, ...},
     "judgments": {"<solution or provider id>": 3, ...}}

``need`` takes the fields of :class:`matching.catalog_index.Need`; grades are 0–3 (3 = every
must, same 大类, size fit; 2 = musts met, weaker fit; 1 = related but misses a must; 0 =
irrelevant or breaks a hard rule). Judge a provider either by its id or by its solutions' ids,
not both.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from matching.catalog_index import CatalogIndex, Need
from matching.constraints import CONSTRAINTS, NEVER_RELAXED, any_overlap, evaluate
from matching.engine import recommend
from matching.features import text_feature
from matching.text_relevance import embed_query
from matching.weights import DEFAULT_WEIGHTS, Weights
from search.text import query_terms

__all__ = [
    "JudgedNeed",
    "Ranking",
    "SystemMetrics",
    "dcg_at_k",
    "engine_ranker",
    "evaluate_all",
    "evaluate_system",
    "gini",
    "mrr",
    "ndcg_at_k",
    "parse_judged_line",
    "rating_only_ranker",
    "recall_at_k",
    "text_only_ranker",
]

RELEVANT_GRADE = 2


@dataclass(frozen=True, slots=True)
class JudgedNeed:
    need: Need
    judgments: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Ranking:
    """A system's answer for one need: solution rows in order and the rules it relaxed."""

    rows: Sequence[int]
    relaxed: frozenset[str] = frozenset()


Ranker = Callable[[CatalogIndex, Need], Ranking]


@dataclass(frozen=True, slots=True)
class SystemMetrics:
    ndcg_5: float
    ndcg_10: float
    mrr: float
    recall_10: float
    violation_rate: float
    exposure_gini: float
    new_provider_share: float
    needs: int
    needs_with_relevant: int
    shown: int


# --- metric primitives ------------------------------------------------------------------------


def dcg_at_k(grades: Sequence[float], k: int) -> float:
    """Σ_{i ≤ k} (2^rel_i − 1) / log₂(i + 1), positions 1-based."""
    return sum(
        (2.0**grade - 1.0) / math.log2(position + 2) for position, grade in enumerate(grades[:k])
    )


def ndcg_at_k(ranked_grades: Sequence[float], judged_grades: Iterable[float], k: int) -> float:
    """DCG of the ranking ÷ DCG of the ideal ordering of every judged grade (0 if that is 0)."""
    ideal = dcg_at_k(sorted(judged_grades, reverse=True), k)
    if ideal <= 0:
        return 0.0
    return dcg_at_k(ranked_grades, k) / ideal


def mrr(ranked_grades: Sequence[float], threshold: float = RELEVANT_GRADE) -> float:
    """1 / rank of the first grade ≥ threshold; 0 when there is none."""
    for position, grade in enumerate(ranked_grades, start=1):
        if grade >= threshold:
            return 1.0 / position
    return 0.0


def recall_at_k(ranked_ids: Sequence[str], relevant_ids: Iterable[str], k: int) -> float:
    """Share of the relevant ids found in the top k (0 when nothing is relevant)."""
    relevant = set(relevant_ids)
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked_ids[:k])) / len(relevant)


def gini(values: Sequence[float] | npt.NDArray[np.float64]) -> float:
    """Gini coefficient of non-negative values: 0 even, → 1 concentrated."""
    data = np.sort(np.asarray(values, dtype=np.float64))
    count, total = data.shape[0], float(data.sum())
    if count == 0 or total <= 0:
        return 0.0
    positions = np.arange(1, count + 1)
    return float((2.0 * (positions * data).sum()) / (count * total) - (count + 1.0) / count)


# --- rankers ----------------------------------------------------------------------------------


def engine_ranker(weights: Weights = DEFAULT_WEIGHTS, *, rng_seed: int = 0) -> Ranker:
    """The full engine as a ranker (explanations are built and discarded)."""

    def rank(index: CatalogIndex, need: Need) -> Ranking:
        result = recommend(index, need, weights=weights, rng_seed=rng_seed)
        found = (index.find_solution(item.solution_id) for item in result.results)
        rows = [row for row in found if row is not None]
        return Ranking(rows, frozenset(step.constraint for step in result.relaxations))

    return rank


def _one_per_provider(index: CatalogIndex, ordered_rows: Iterable[int], k: int) -> list[int]:
    chosen: list[int] = []
    seen: set[int] = set()
    for row in ordered_rows:
        provider = int(index.provider_row[row])
        if provider in seen:
            continue
        seen.add(provider)
        chosen.append(int(row))
        if len(chosen) == k:
            break
    return chosen


def text_only_ranker(index: CatalogIndex, need: Need) -> Ranking:
    """Baseline: listed solutions by text relevance alone."""
    rows = np.flatnonzero(index.solution_status_ok).astype(np.int64)
    tokens = query_terms(need.text) if need.text.strip() else []
    vector = None
    if index.embeddings is not None and index.embedder is not None and need.text.strip():
        vector = embed_query(index.embedder, need.text)
    text, _mode = text_feature(index, rows, tokens, vector)
    order_positions = np.lexsort((rows, -text))
    order = rows[order_positions][text[order_positions] > 0]
    return Ranking(_one_per_provider(index, order.tolist(), need.k))


def rating_only_ranker(index: CatalogIndex, need: Need) -> Ranking:
    """Baseline: solutions covering a requested capability, by the provider's rating."""
    prepared = index.prepare(need)
    eligible = index.solution_status_ok.copy()
    if prepared.requested_count:
        eligible &= any_overlap(index.solutions.caps, prepared.requested_bits)
    rows = np.flatnonzero(eligible).astype(np.int64)
    providers = index.provider_row[rows]
    mean = index.providers.trust_mean[providers]
    n_eff = index.providers.n_eff[providers]
    order = rows[np.lexsort((rows, -n_eff, -mean))]
    return Ranking(_one_per_provider(index, order.tolist(), need.k))


# --- evaluation -------------------------------------------------------------------------------


def _grade(index: CatalogIndex, judgments: Mapping[str, int], row: int) -> int:
    solution = index.solution_id(row)
    if solution in judgments:
        return int(judgments[solution])
    return int(judgments.get(index.provider_id_of(row), 0))


def evaluate_system(
    index: CatalogIndex,
    judged: Sequence[JudgedNeed],
    ranker: Ranker,
    *,
    k: int = 10,
    weights: Weights = DEFAULT_WEIGHTS,
) -> SystemMetrics:
    """Run ``ranker`` on every judged need and aggregate the metrics above."""
    ndcg5: list[float] = []
    ndcg10: list[float] = []
    reciprocal: list[float] = []
    recall: list[float] = []
    shown = violations = new_shown = 0
    impressions = np.zeros(index.provider_count, dtype=np.float64)
    qualified = np.zeros(index.provider_count, dtype=bool)
    for item in judged:
        need = item.need if item.need.k == k else _with_k(item.need, k)
        ranking = ranker(index, need)
        rows = list(ranking.rows)[:k]
        grades = [_grade(index, item.judgments, row) for row in rows]
        judged_grades = list(item.judgments.values())
        if any(grade >= 1 for grade in judged_grades):
            ndcg5.append(ndcg_at_k(grades, judged_grades, 5))
            ndcg10.append(ndcg_at_k(grades, judged_grades, 10))
        relevant = [key for key, grade in item.judgments.items() if grade >= RELEVANT_GRADE]
        if relevant:
            reciprocal.append(mrr(grades))
            found = [
                key
                for row in rows
                for key in (index.solution_id(row), index.provider_id_of(row))
                if key in item.judgments
            ]
            recall.append(recall_at_k(found, relevant, k))
        masks = evaluate(index, index.prepare(need), weights)
        strict_ok = np.ones(index.size, dtype=bool)
        for name in CONSTRAINTS:
            strict_ok &= masks.strict[name]
        qualified[index.provider_row[strict_ok]] = True
        for position, row in enumerate(rows, start=1):
            shown += 1
            provider = int(index.provider_row[row])
            impressions[provider] += 1.0 / math.log2(1 + position)
            new_shown += bool(index.providers.is_new[provider])
            for name in CONSTRAINTS:
                relaxable = name not in NEVER_RELAXED and name in ranking.relaxed
                if not masks.strict[name][row] and not (relaxable and masks.relaxed[name][row]):
                    violations += 1
                    break
    return SystemMetrics(
        ndcg_5=_mean(ndcg5),
        ndcg_10=_mean(ndcg10),
        mrr=_mean(reciprocal),
        recall_10=_mean(recall),
        violation_rate=violations / shown if shown else 0.0,
        exposure_gini=gini(impressions[qualified]),
        new_provider_share=new_shown / shown if shown else 0.0,
        needs=len(judged),
        needs_with_relevant=len(reciprocal),
        shown=shown,
    )


def evaluate_all(
    index: CatalogIndex,
    judged: Sequence[JudgedNeed],
    *,
    weights: Weights = DEFAULT_WEIGHTS,
    k: int = 10,
) -> dict[str, SystemMetrics]:
    """The engine and both baselines on one judged set, in one run."""
    return {
        "engine": evaluate_system(index, judged, engine_ranker(weights), k=k, weights=weights),
        "text_only": evaluate_system(index, judged, text_only_ranker, k=k, weights=weights),
        "rating_only": evaluate_system(index, judged, rating_only_ranker, k=k, weights=weights),
    }


def _mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


def _with_k(need: Need, k: int) -> Need:
    values = {item.name: getattr(need, item.name) for item in fields(need)}
    values["k"] = k
    return Need(**values)


def parse_judged_line(line: str | Mapping[str, object]) -> JudgedNeed:
    """One JSONL line (or its parsed object) of a judged set; unknown need fields are refused."""
    data = json.loads(line) if isinstance(line, str) else dict(line)
    raw_need = data.get("need")
    raw_judgments = data.get("judgments")
    if not isinstance(raw_need, Mapping) or not isinstance(raw_judgments, Mapping):
        raise ValueError("a judged line needs a 'need' object and a 'judgments' object")
    known = {item.name for item in fields(Need)}
    unknown = sorted(set(raw_need) - known)
    if unknown:
        raise ValueError(f"unknown need fields: {', '.join(unknown)}")
    values: dict[str, Any] = {
        key: tuple(value) if isinstance(value, list) else value for key, value in raw_need.items()
    }
    judgments: dict[str, int] = {}
    for key, grade in raw_judgments.items():
        if not isinstance(grade, int) or not 0 <= grade <= 3:
            raise ValueError(f"grade for {key} must be an integer 0-3, got {grade!r}")
        judgments[str(key)] = grade
    return JudgedNeed(Need(**values), judgments)
