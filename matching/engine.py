"""The recommendation pipeline: filter → score → re-rank → explain (DOMAIN §5).

:func:`recommend` is a pure function of the index, the need, the weights, the exposure snapshot
and the seed: the same inputs give the same list, which is what lets a stored list be audited
and replayed. It imports no database or web code; the caller stores the returned
:class:`Recommendation` (need, ranking, scores, engine version, weights fingerprint) so exposure
can be audited and outcomes linked back.

Steps:

1. Encode the need in the index's vocabularies (bitsets, GB/T prefixes, region parts).
2. Evaluate every hard rule as a mask over all solutions; relax one documented step at a time
   while fewer than k pass (:mod:`matching.constraints`); count exclusions per first failing
   rule.
3. Compute the soft features and S for the survivors (:mod:`matching.features`).
4. Re-rank the best solution of each of the top 50 groups to k: MMR diversity, exposure
   fairness, lead budget, then the exploration slot (:mod:`matching.rerank`).
5. Explain each shown result from its contributions and facts (:mod:`matching.explain`).

Text relevance needs a query vector when the index holds embeddings. Embedding a query costs
more than all other steps together on a small CPU, so the caller may pass ``query_vector``
(computed once when the need was saved); otherwise the index's embedder is asked, through its
cache. If that fails, the request runs BM25-only and ``text_mode``/``text_mode_reason`` say so.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from matching.catalog_index import CatalogIndex, Need, PreparedNeed
from matching.constraints import (
    CONSTRAINTS,
    AppliedRelaxation,
    ConstraintMasks,
    Selection,
    evaluate,
    first_failure,
    select,
)
from matching.explain import Names, exclusion_text, explain
from matching.features import FeatureMatrix, compute_features
from matching.rerank import Pool, greedy_rerank, place_exploration, select_pool, thompson_pick
from matching.text_relevance import EmbedderUnavailable, embed_query
from matching.weights import DEFAULT_WEIGHTS, Weights
from search.synonyms import SynonymTable
from search.text import query_terms

__all__ = ["ENGINE_VERSION", "Recommendation", "Result", "WhyNot", "recommend", "why_not"]

ENGINE_VERSION = "matching-2026.1"


@dataclass(frozen=True, slots=True)
class Result:
    """One shown solution with its score, per-feature breakdown and explanation."""

    solution_id: str
    provider_id: str
    score: float
    rank: int
    features: dict[str, float]
    explanation_zh: str
    explanation_en: str
    caveats_zh: tuple[str, ...] = ()
    caveats_en: tuple[str, ...] = ()
    exploration: bool = False


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The outcome of one request, complete enough to store and audit."""

    need_id: str
    results: list[Result]
    relaxations: list[AppliedRelaxation]
    excluded: dict[str, int]
    engine_version: str
    text_mode: str
    text_mode_reason: str | None
    candidates: int
    weights_fingerprint: str
    timings_ms: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data for storage and the API."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class WhyNot:
    """Why a named provider is not (or is) in the list.

    ``status`` is one of: ``shown``, ``excluded`` (a hard rule; ``constraint`` and ``facts``
    say which and why), ``ranked_below`` (passes every rule but scores lower; ``rank`` among
    all passing solutions and ``gap`` to the last shown score), ``reranked`` (scores at least
    as high as the last shown result but gave way in the re-rank), ``group_cap`` (another
    company of its group is shown), ``over_lead_budget``, or ``not_found``.
    """

    provider_id: str
    status: str
    text_zh: str
    text_en: str
    constraint: str | None = None
    solution_id: str | None = None
    rank: int | None = None
    score: float | None = None
    gap: float | None = None
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class _Run:
    prepared: PreparedNeed
    masks: ConstraintMasks
    selection: Selection
    features: FeatureMatrix
    shown: list[int]  # positions into features.rows
    exploration_position: int | None
    text_mode: str
    text_reason: str | None
    timings: dict[str, float]


def _query_vector(
    index: CatalogIndex, need: Need, given: npt.NDArray[np.float32] | None
) -> tuple[npt.NDArray[np.float32] | None, str, str | None]:
    if index.embeddings is None or index.embedder is None:
        return None, "bm25", index.text_mode_reason
    if given is not None:
        return np.asarray(given, dtype=np.float32), "bm25+embedding", None
    if not need.text.strip():
        return None, "bm25+embedding", None
    try:
        return embed_query(index.embedder, need.text), "bm25+embedding", None
    except (EmbedderUnavailable, ImportError) as error:
        return None, "bm25", f"query embedding unavailable: {error}"


def _exposure_array(
    index: CatalogIndex, exposure: Mapping[str, float] | None
) -> npt.NDArray[np.float64]:
    """30-day exposure per provider row: the index's snapshot with the caller's overrides.

    Overrides are matched by binary search over the id column, so a full rolling-window
    snapshot of every provider costs O(n log n) once per request, not a Python loop per
    candidate.
    """
    values = index.providers.exposure.astype(np.float64)
    if exposure:
        ids = np.array(list(exposure.keys()), dtype=str)
        rows = index.provider_index.rows(ids)
        known = rows >= 0
        values[rows[known]] = np.fromiter(exposure.values(), dtype=np.float64)[known]
    return values


def _over_budget(index: CatalogIndex, providers: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    table = index.providers
    budget = table.lead_budget[providers]
    result: npt.NDArray[np.bool_] = (budget > 0) & (table.leads_this_week[providers] >= budget)
    return result


def _run(
    index: CatalogIndex,
    need: Need,
    *,
    weights: Weights,
    exposure: Mapping[str, float] | None,
    rng_seed: int | None,
    synonyms: SynonymTable | None,
    query_vector: npt.NDArray[np.float32] | None,
) -> _Run:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    prepared = index.prepare(need)
    masks = evaluate(index, prepared, weights)
    selection = select(masks, need.k, weights)
    rows = np.flatnonzero(selection.passing).astype(np.int64)
    timings["filter"] = (time.perf_counter() - started) * 1000

    mark = time.perf_counter()
    vector, mode, reason = _query_vector(index, need, query_vector)
    timings["query_embedding"] = (time.perf_counter() - mark) * 1000
    mark = time.perf_counter()
    tokens = query_terms(need.text, synonyms) if need.text.strip() else []
    features = compute_features(
        index, prepared, rows, query_tokens=tokens, query_vector=vector, weights=weights
    )
    timings["score"] = (time.perf_counter() - mark) * 1000

    mark = time.perf_counter()
    exposure_by_provider = _exposure_array(index, exposure)
    groups = index.group_code[index.provider_row[rows]]
    pool_positions = select_pool(features.score, groups, rows, weights.rerank_pool)
    pool_providers = index.provider_row[rows[pool_positions]].astype(np.int64)
    pool = Pool(
        positions=pool_positions,
        score=features.score[pool_positions],
        caps=index.solutions.caps[rows[pool_positions]],
        groups=groups[pool_positions],
        exposure=exposure_by_provider[pool_providers],
        over_budget=_over_budget(index, pool_providers),
        phi=features.phi[pool_positions].astype(np.float64),
    )
    organic = [int(pool_positions[pick]) for pick in greedy_rerank(pool, need.k, weights)]
    shown, explorer = _exploration(
        index, need, features, selection, organic, groups, exposure_by_provider, weights, rng_seed
    )
    timings["rerank"] = (time.perf_counter() - mark) * 1000
    return _Run(
        prepared=prepared,
        masks=masks,
        selection=selection,
        features=features,
        shown=shown,
        exploration_position=explorer,
        text_mode=mode,
        text_reason=reason,
        timings=timings,
    )


def _exploration(
    index: CatalogIndex,
    need: Need,
    features: FeatureMatrix,
    selection: Selection,
    organic: list[int],
    groups: npt.NDArray[np.int32],
    exposure_by_provider: npt.NDArray[np.float64],
    weights: Weights,
    rng_seed: int | None,
) -> tuple[list[int], int | None]:
    """Fill the exploration slot if a qualified new or under-exposed provider exists."""
    # A list shorter than the slot's rank has no exploration place.
    if not organic or need.k < weights.exploration_rank:
        return organic, None
    rows = features.rows
    threshold = weights.exploration_min_ratio * float(features.score[organic[-1]])
    table = index.providers
    shown_groups = np.unique(groups[organic])
    candidate = (
        selection.strict_passing[rows]
        & (features.score >= threshold)
        & ~np.isin(groups, shown_groups)
    )
    candidate[organic] = False
    positions = np.flatnonzero(candidate)
    if positions.size == 0:
        return organic, None
    providers = index.provider_row[rows[positions]].astype(np.int64)
    fresh = (
        table.is_new[providers]
        & (table.n_eff[providers] < weights.exploration_graduate_n_eff)
        & (table.listed_since_days[providers] < weights.exploration_graduate_days)
    )
    quiet = exposure_by_provider[providers] <= weights.underexposed_exposure
    eligible = (fresh | quiet) & ~_over_budget(index, providers)
    positions, providers = positions[eligible], providers[eligible]
    if positions.size == 0:
        return organic, None
    # Beta prior centred on the category mean with the same strength as the Bayesian average.
    prior_success = weights.prior_strength * (weights.prior_mean - 1.0) / 4.0
    prior_failure = weights.prior_strength - prior_success
    seed = rng_seed if rng_seed is not None else zlib.crc32(need.need_id.encode())
    pick = thompson_pick(
        features.score[positions],
        prior_success + table.positive_weight[providers].astype(np.float64),
        prior_failure + table.negative_weight[providers].astype(np.float64),
        np.random.default_rng(seed),
    )
    explorer = int(positions[pick])
    return place_exploration(organic, explorer, weights.exploration_rank, need.k), explorer


def recommend(
    index: CatalogIndex,
    need: Need,
    *,
    weights: Weights = DEFAULT_WEIGHTS,
    exposure: Mapping[str, float] | None = None,
    rng_seed: int | None = None,
    names: Names | None = None,
    synonyms: SynonymTable | None = None,
    query_vector: npt.NDArray[np.float32] | None = None,
) -> Recommendation:
    """Recommend up to ``need.k`` solutions (one per provider group), explained.

    ``exposure`` overrides the index's 30-day exposure per provider id (a fresher rolling
    window); ``rng_seed`` makes the exploration draw reproducible and defaults to a hash of the
    need id; ``names`` maps ids and codes to (zh, en) display names; ``synonyms`` expands the
    need text as the search box does.
    """
    run = _run(
        index,
        need,
        weights=weights,
        exposure=exposure,
        rng_seed=rng_seed,
        synonyms=synonyms,
        query_vector=query_vector,
    )
    mark = time.perf_counter()
    results: list[Result] = []
    relaxations = list(run.selection.applied)
    for rank, position in enumerate(run.shown, start=1):
        row = int(run.features.rows[position])
        contributions = run.features.contributions(position, weights)
        is_explorer = position == run.exploration_position
        explanation = explain(
            index,
            run.prepared,
            row,
            contributions,
            relaxations=relaxations,
            exploration=is_explorer,
            names=names,
            weights=weights,
        )
        results.append(
            Result(
                solution_id=index.solution_id(row),
                provider_id=index.provider_id_of(row),
                score=float(run.features.score[position]),
                rank=rank,
                features=contributions,
                explanation_zh=explanation.zh,
                explanation_en=explanation.en,
                caveats_zh=explanation.caveats_zh,
                caveats_en=explanation.caveats_en,
                exploration=is_explorer,
            )
        )
    run.timings["explain"] = (time.perf_counter() - mark) * 1000
    return Recommendation(
        need_id=need.need_id,
        results=results,
        relaxations=relaxations,
        excluded=run.selection.excluded,
        engine_version=ENGINE_VERSION,
        text_mode=run.text_mode,
        text_mode_reason=run.text_reason,
        candidates=int(run.features.rows.shape[0]),
        weights_fingerprint=weights.fingerprint(),
        timings_ms=run.timings,
    )


def why_not(
    index: CatalogIndex,
    need: Need,
    provider_id: str,
    *,
    weights: Weights = DEFAULT_WEIGHTS,
    exposure: Mapping[str, float] | None = None,
    rng_seed: int | None = None,
    names: Names | None = None,
    synonyms: SynonymTable | None = None,
    query_vector: npt.NDArray[np.float32] | None = None,
) -> WhyNot:
    """Why ``provider_id`` is not in the list for ``need`` (run with the same arguments)."""
    provider = index.find_provider(provider_id)
    own_rows = (
        np.flatnonzero(index.provider_row == provider) if provider is not None else np.array([])
    )
    if provider is None or own_rows.size == 0:
        return WhyNot(
            provider_id,
            "not_found",
            "资源池中没有该服务商的公开方案",
            "No public solution of this provider is in the pool",
        )
    run = _run(
        index,
        need,
        weights=weights,
        exposure=exposure,
        rng_seed=rng_seed,
        synonyms=synonyms,
        query_vector=query_vector,
    )
    rows = run.features.rows
    scores = run.features.score
    for rank, position in enumerate(run.shown, start=1):
        if int(index.provider_row[rows[position]]) == provider:
            return WhyNot(
                provider_id,
                "shown",
                f"已在推荐列表第 {rank} 位",
                f"Shown at rank {rank}",
                solution_id=index.solution_id(int(rows[position])),
                rank=rank,
                score=float(scores[position]),
            )
    passing = np.flatnonzero(index.provider_row[rows] == provider)
    if passing.size:
        return _ranked_below(index, run, provider_id, provider, passing)
    # Every solution of the provider fails a rule: report the one that got furthest.
    failures = [
        (
            row,
            first_failure(index, run.prepared, run.masks, run.selection.relaxed, int(row), weights),
        )
        for row in own_rows.tolist()
    ]
    row, exclusion = max(
        ((row, failure) for row, failure in failures if failure is not None),
        key=lambda item: CONSTRAINTS.index(item[1].constraint),
    )
    text_zh, text_en = exclusion_text(exclusion, index, run.prepared, names)
    return WhyNot(
        provider_id,
        "excluded",
        text_zh,
        text_en,
        constraint=exclusion.constraint,
        solution_id=index.solution_id(int(row)),
        facts=exclusion.facts,
    )


def _ranked_below(
    index: CatalogIndex,
    run: _Run,
    provider_id: str,
    provider: int,
    passing: npt.NDArray[np.int64],
) -> WhyNot:
    scores = run.features.score
    best = int(passing[np.argmax(scores[passing])])
    score = float(scores[best])
    rank = 1 + int((scores > score).sum())
    row = int(run.features.rows[best])
    last = float(scores[run.shown[-1]]) if run.shown else score
    gap = last - score
    solution_id = index.solution_id(row)
    shown_groups = {
        int(index.group_code[index.provider_row[run.features.rows[p]]]) for p in run.shown
    }
    table = index.providers
    if int(index.group_code[provider]) in shown_groups:
        return WhyNot(
            provider_id,
            "group_cap",
            "同一集团的另一家服务商已在列表中（每个集团只展示一家）",
            "Another provider of the same group is already shown (one per group)",
            solution_id=solution_id,
            rank=rank,
            score=score,
            gap=gap,
        )
    budget = int(table.lead_budget[provider])
    if budget > 0 and int(table.leads_this_week[provider]) >= budget:
        return WhyNot(
            provider_id,
            "over_lead_budget",
            "本周线索已达上限，排在其他服务商之后",
            "Has reached its weekly lead budget, so it is placed below all others",
            solution_id=solution_id,
            rank=rank,
            score=score,
            gap=gap,
        )
    if gap <= 0:
        # It outscored the last shown result but gave way in the re-rank (a near-duplicate of
        # a shown solution, heavy recent exposure, or the exploration slot).
        return WhyNot(
            provider_id,
            "reranked",
            f"符合全部条件，得分 {score:.3f} 不低于列表最后一位，"
            "但在多样性、曝光公平或探索位调整中让位",
            f"Meets every rule and scores {score:.3f}, no lower than the last shown result, "
            "but gave way to diversity, exposure fairness or the exploration slot",
            solution_id=solution_id,
            rank=rank,
            score=score,
            gap=gap,
        )
    return WhyNot(
        provider_id,
        "ranked_below",
        f"符合全部条件，综合得分 {score:.3f}，在 {scores.shape[0]} 个候选中排第 {rank} 位，"
        f"比列表最后一位（{last:.3f}）低 {gap:.3f}",
        f"Meets every rule; score {score:.3f} ranks {rank} of {scores.shape[0]} candidates, "
        f"{gap:.3f} below the last shown result ({last:.3f})",
        solution_id=solution_id,
        rank=rank,
        score=score,
        gap=gap,
    )
