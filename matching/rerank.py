"""Re-rank the best ~50 candidates into the k shown (DOMAIN §5 "Re-rank").

Greedy selection; each pick maximises

    S_i − λ_div·max_j sim(i, j) − λ_exp·E_i − λ_cap·φ_i

* **Diversity (MMR)**: sim is the Jaccard similarity of capability sets with the results already
  chosen, so ten near-identical MES listings do not fill the list (λ_div = 0.15).
* **Exposure fairness**: E_i = clip(exposure share ÷ merit share − 1, 0, 1) over the pool, with
  exposure the 30-day impressions weighted 1/log₂(1 + rank). A provider already seen far more
  than its merit warrants gives way a little (λ_exp = 0.05), and only a little: a fairness
  setting is accepted only if NDCG@10 drops by at most 2 %.
* **One per group**: the pool holds the best solution of each parent company, and a pick
  blocks its group, so one company cannot take several places through subsidiaries.
* **Weekly lead budget**: providers at or over their budget are only picked after everyone
  else, i.e. placed below all others.
* **Exploration slot**: one place (rank 4) for a new or under-exposed provider that passes every
  hard rule unrelaxed and scores at least 0.9 × the k-th organic score, chosen by Thompson
  sampling from a seeded generator, so the same request and seed give the same list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.text_relevance import popcount
from matching.weights import DEFAULT_WEIGHTS, Weights

__all__ = [
    "Pool",
    "exposure_penalty",
    "greedy_rerank",
    "jaccard_matrix",
    "place_exploration",
    "select_pool",
    "thompson_pick",
]

FloatArray = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Pool:
    """The re-rank pool: positions into the candidate arrays and their per-pick inputs."""

    positions: Int64Array
    score: FloatArray
    caps: npt.NDArray[np.uint64]
    groups: npt.NDArray[np.int32]
    exposure: FloatArray
    over_budget: npt.NDArray[np.bool_]
    phi: FloatArray


def select_pool(
    score: FloatArray, groups: npt.NDArray[np.int32], rows: Int64Array, size: int
) -> Int64Array:
    """Positions of the best candidate of each group, best first, at most ``size`` groups.

    Only a slice of the candidates is sorted (argpartition), widened while it yields too few
    distinct groups; ties are broken by row so the pool never depends on sort internals.
    """
    count = score.shape[0]
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    window = min(count, max(size * 8, 64))
    while True:
        if window < count:
            head = np.argpartition(-score, window - 1)[:window]
        else:
            head = np.arange(count)
        head = head[np.lexsort((rows[head], -score[head]))]
        chosen: list[int] = []
        seen: set[int] = set()
        for position in head.tolist():
            group = int(groups[position])
            if group in seen:
                continue
            seen.add(group)
            chosen.append(position)
            if len(chosen) == size:
                break
        if len(chosen) == size or window >= count:
            return np.asarray(chosen, dtype=np.int64)
        window = min(count, window * 4)


def jaccard_matrix(caps: npt.NDArray[np.uint64]) -> FloatArray:
    """Pairwise Jaccard similarity of capability bitsets (0 when both are empty)."""
    both = popcount(caps[:, None, :] & caps[None, :, :]).sum(axis=-1, dtype=np.int64)
    either = popcount(caps[:, None, :] | caps[None, :, :]).sum(axis=-1, dtype=np.int64)
    result: FloatArray = np.divide(
        both, either, out=np.zeros(both.shape, dtype=np.float64), where=either > 0
    )
    return result


def exposure_penalty(exposure: FloatArray, merit: FloatArray) -> FloatArray:
    """E_i = clip(exposure share ÷ merit share − 1, 0, 1) within the pool."""
    exposure = np.maximum(exposure, 0.0)
    merit = np.maximum(merit, 0.0)
    total_exposure, total_merit = float(exposure.sum()), float(merit.sum())
    if total_exposure <= 0:
        return np.zeros(exposure.shape[0], dtype=np.float64)
    exposure_share = exposure / total_exposure
    if total_merit <= 0:
        return np.where(exposure_share > 0, 1.0, 0.0)
    merit_share = merit / total_merit
    ratio = np.divide(
        exposure_share,
        merit_share,
        out=np.full(exposure.shape[0], np.inf),
        where=merit_share > 0,
    )
    result: FloatArray = np.clip(np.where(exposure_share > 0, ratio - 1.0, 0.0), 0.0, 1.0)
    return result


def greedy_rerank(pool: Pool, k: int, weights: Weights = DEFAULT_WEIGHTS) -> list[int]:
    """Indices into the pool, in display order (see the module docstring)."""
    size = pool.positions.shape[0]
    if size == 0 or k <= 0:
        return []
    similarity = jaccard_matrix(pool.caps)
    base = (
        pool.score
        - weights.lambda_exp * exposure_penalty(pool.exposure, pool.score)
        - weights.lambda_cap * pool.phi
    )
    taken = np.zeros(size, dtype=bool)
    group_taken = np.zeros(size, dtype=bool)
    nearest = np.zeros(size, dtype=np.float64)
    chosen: list[int] = []
    # Within-budget providers first; the over-budget ones can only fill what is left.
    for phase in (~pool.over_budget, pool.over_budget):
        while len(chosen) < k:
            value = base - weights.lambda_div * nearest
            value[~phase | taken | group_taken] = -np.inf
            pick = int(np.argmax(value))
            if not np.isfinite(value[pick]):
                break
            chosen.append(pick)
            taken[pick] = True
            group_taken |= pool.groups == pool.groups[pick]
            nearest = np.maximum(nearest, similarity[:, pick])
    return chosen


def thompson_pick(
    value: FloatArray,
    alpha: FloatArray,
    beta: FloatArray,
    rng: np.random.Generator,
) -> int:
    """Index of the arm with the best draw θ = value × p, p ~ Beta(α, β).

    p is the sampled chance that an engagement goes well (the provider's review posterior,
    starting from the category prior); scaling by the fit score means a marginal fit needs a
    lucky draw to win, while an unknown provider with a good fit often does.
    """
    draws = rng.beta(np.maximum(alpha, 1e-6), np.maximum(beta, 1e-6))
    return int(np.argmax(value * draws))


def place_exploration(organic: list[int], explorer: int, rank: int, k: int) -> list[int]:
    """Insert ``explorer`` at ``rank`` (1-based), keeping the list at ``k`` entries."""
    shown = list(organic)
    if len(shown) >= k:
        shown = shown[: k - 1]
    shown.insert(min(rank - 1, len(shown)), explorer)
    return shown
