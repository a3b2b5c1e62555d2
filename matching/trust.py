"""Trust from reviews (DOMAIN.md §4): decayed weights, Bayesian average, n_eff, Wilson, Beta.

Ranking uses the **Bayesian average** because it lets a provider earn its way up from the
category prior instead of jumping to the top on two enthusiastic reviews: with μ₀ = 4.2 and
C = 5, two fresh 5★ give 4.43 while fifty 4.8★ give 4.75. The **Wilson lower bound** is only for
badges ("highly rated"), where a yes/no claim needs a confidence level, never for ranking.

Each review weighs w = 2^(−age/H)·c with half-life H = 12 months and credibility c = 1 for a
verified engagement, 0 when unverified or when the rater is flagged. Sample sizes shown to
users are n_eff = (Σw)²/Σw², the size of an equally weighted sample with the same variance, so
old or discounted reviews do not count as full ones.

The parameters (prior mean μ₀, prior strength C, half-life H, Wilson z and the rating that counts
as positive) live in one place, :data:`matching.weights.DEFAULT_WEIGHTS`; the badge threshold
is :data:`HIGH_RATING_BADGE_WILSON` below.

The per-review helpers are used by tests and explanations; :func:`trust_arrays` computes the
same values for every provider at once when the catalog index is built.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.weights import DEFAULT_WEIGHTS, Weights

__all__ = [
    "HIGH_RATING_BADGE_WILSON",
    "Review",
    "TrustSummary",
    "TrustArrays",
    "bayesian_average",
    "has_high_rating_badge",
    "beta_reputation",
    "effective_sample_size",
    "review_weight",
    "summarise",
    "trust_arrays",
    "trust_feature",
    "wilson_lower_bound",
]


@dataclass(frozen=True, slots=True)
class Review:
    """One review of a provider: overall rating 1–5, age in days, and its credibility."""

    rating: float
    age_days: float = 0.0
    verified: bool = True
    flagged: bool = False


# The "高评分" (highly rated) badge needs the Wilson lower bound of the weighted positive share
# to reach this: about eleven recent positive reviews in a row, or 48 of 50 (0.89).
HIGH_RATING_BADGE_WILSON = 0.8


@dataclass(frozen=True, slots=True)
class TrustSummary:
    """Everything the engine and its explanations say about one provider's reviews."""

    mean: float  # Bayesian average R̃, on the 1–5 scale
    n_eff: float
    weight_sum: float
    positive_share: float  # weighted share of ratings ≥ the positive threshold
    wilson: float  # lower bound of the positive share, for badges only
    feature: float  # f_trust = (R̃ − 1) / 4
    positive_weight: float
    negative_weight: float


def review_weight(
    age_days: float, *, verified: bool = True, flagged: bool = False, half_life_days: float = 365.0
) -> float:
    """w = 2^(−age/H)·c; unverified or flagged reviews weigh nothing."""
    if not verified or flagged:
        return 0.0
    return float(2.0 ** (-max(0.0, age_days) / half_life_days))


def bayesian_average(
    ratings: Sequence[float],
    weights: Sequence[float],
    *,
    prior_mean: float = 4.2,
    prior_strength: float = 5.0,
) -> float:
    """R̃ = (C·μ₀ + Σw·r) / (C + Σw): exactly μ₀ for a provider without credible reviews."""
    total = sum(weights)
    weighted = sum(w * r for w, r in zip(weights, ratings, strict=True))
    return (prior_strength * prior_mean + weighted) / (prior_strength + total)


def effective_sample_size(weights: Sequence[float]) -> float:
    """n_eff = (Σw)² / Σw²; 0 when nothing carries weight."""
    squares = sum(w * w for w in weights)
    if squares == 0:
        return 0.0
    return sum(weights) ** 2 / squares


def wilson_lower_bound(positive: float, n: float, z: float = 1.645) -> float:
    """Lower bound of the Wilson score interval for a share of positive outcomes.

    ``positive`` and ``n`` may be fractional (weighted counts, n = n_eff). 2 of 2 → 0.42 and
    48 of 50 → 0.89 at z = 1.645, which is why two perfect reviews earn no badge.
    """
    if n <= 0:
        return 0.0
    p = min(1.0, max(0.0, positive / n))
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (centre - margin) / (1 + z2 / n)


def beta_reputation(successes: float, failures: float) -> float:
    """Expected success rate under a uniform Beta(1, 1) prior: (r + 1) / (r + s + 2).

    For binary outcomes such as "delivered on time or not": a provider without history sits
    at 0.5 instead of at an undefined 0/0.
    """
    return (successes + 1.0) / (successes + failures + 2.0)


def trust_feature(mean: float) -> float:
    """f_trust = (R̃ − 1)/4, mapping the 1–5 scale onto [0, 1]."""
    return min(1.0, max(0.0, (mean - 1.0) / 4.0))


def has_high_rating_badge(summary: TrustSummary) -> bool:
    """Whether the provider may show the 高评分 badge: a yes/no claim, so Wilson, not R̃."""
    return summary.wilson >= HIGH_RATING_BADGE_WILSON


def summarise(reviews: Sequence[Review], weights: Weights = DEFAULT_WEIGHTS) -> TrustSummary:
    """The trust summary of one provider's reviews."""
    w = [
        review_weight(
            review.age_days,
            verified=review.verified,
            flagged=review.flagged,
            half_life_days=weights.half_life_days,
        )
        for review in reviews
    ]
    ratings = [review.rating for review in reviews]
    mean = bayesian_average(
        ratings, w, prior_mean=weights.prior_mean, prior_strength=weights.prior_strength
    )
    n_eff = effective_sample_size(w)
    total = sum(w)
    positive = sum(wi for wi, r in zip(w, ratings, strict=True) if r >= weights.positive_rating)
    share = positive / total if total > 0 else 0.0
    return TrustSummary(
        mean=mean,
        n_eff=n_eff,
        weight_sum=total,
        positive_share=share,
        wilson=wilson_lower_bound(share * n_eff, n_eff, weights.wilson_z),
        feature=trust_feature(mean),
        positive_weight=positive,
        negative_weight=total - positive,
    )


@dataclass(frozen=True, slots=True)
class TrustArrays:
    """Per-provider trust values as arrays aligned with the provider table."""

    mean: npt.NDArray[np.float32]
    n_eff: npt.NDArray[np.float32]
    feature: npt.NDArray[np.float32]
    positive_weight: npt.NDArray[np.float32]
    negative_weight: npt.NDArray[np.float32]


def trust_arrays(
    review_owner: npt.NDArray[np.int64],
    ratings: npt.NDArray[np.float64],
    ages: npt.NDArray[np.float64],
    credible: npt.NDArray[np.bool_],
    provider_count: int,
    weights: Weights = DEFAULT_WEIGHTS,
) -> TrustArrays:
    """:func:`summarise` for every provider in one vectorised pass.

    The reviews of all providers arrive flattened, ``review_owner[i]`` being the provider row
    of review i; bincount sums the weights per provider without a Python loop, which matters
    at 100k providers.
    """
    w = np.where(credible, np.exp2(-np.maximum(ages, 0.0) / weights.half_life_days), 0.0)
    # astype: bincount of an empty input returns int64 even with float weights.
    total = np.bincount(review_owner, weights=w, minlength=provider_count).astype(np.float64)
    squares = np.bincount(review_owner, weights=w * w, minlength=provider_count).astype(np.float64)
    weighted = np.bincount(review_owner, weights=w * ratings, minlength=provider_count).astype(
        np.float64
    )
    positive = np.bincount(
        review_owner,
        weights=np.where(ratings >= weights.positive_rating, w, 0.0),
        minlength=provider_count,
    ).astype(np.float64)
    mean = (weights.prior_strength * weights.prior_mean + weighted) / (
        weights.prior_strength + total
    )
    n_eff = np.divide(total * total, squares, out=np.zeros_like(total), where=squares > 0)
    feature = np.clip((mean - 1.0) / 4.0, 0.0, 1.0)
    return TrustArrays(
        mean=mean.astype(np.float32),
        n_eff=n_eff.astype(np.float32),
        feature=feature.astype(np.float32),
        positive_weight=positive.astype(np.float32),
        negative_weight=(total - positive).astype(np.float32),
    )
