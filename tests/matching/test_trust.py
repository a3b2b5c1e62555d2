"""Trust arithmetic from DOMAIN.md §4: decay, Bayesian average, n_eff, Wilson, Beta."""

from __future__ import annotations

import numpy as np
import pytest

from matching.catalog_index import CatalogIndex, ProviderRecord, SolutionRecord
from matching.trust import (
    Review,
    bayesian_average,
    beta_reputation,
    effective_sample_size,
    review_weight,
    summarise,
    trust_arrays,
    wilson_lower_bound,
)


def test_two_fresh_five_stars_do_not_outrank_fifty_four_point_eight_stars() -> None:
    two_perfect = summarise([Review(5.0)] * 2)
    fifty_good = summarise([Review(4.8)] * 50)

    assert two_perfect.mean == pytest.approx(4.43, abs=0.005)
    assert fifty_good.mean == pytest.approx(4.75, abs=0.005)
    assert two_perfect.feature < fifty_good.feature


def test_trust_ranking_in_the_index_keeps_fifty_reviews_ahead() -> None:
    providers = [
        ProviderRecord("two", capacity=5, reviews=[Review(5.0)] * 2),
        ProviderRecord("fifty", capacity=5, reviews=[Review(4.8)] * 50),
    ]
    solutions = [SolutionRecord("s-two", "two"), SolutionRecord("s-fifty", "fifty")]
    index = CatalogIndex.build(solutions, providers, capability_ids=(), protocol_ids=())

    two, fifty = index.find_provider("two"), index.find_provider("fifty")
    assert two is not None
    assert fifty is not None
    assert index.providers.trust_mean[two] == pytest.approx(4.43, abs=0.005)
    assert index.providers.trust_mean[fifty] == pytest.approx(4.75, abs=0.005)
    assert index.providers.trust_feature[fifty] > index.providers.trust_feature[two]


def test_new_provider_sits_exactly_at_the_prior() -> None:
    summary = summarise([])

    assert summary.mean == pytest.approx(4.2)
    assert summary.feature == pytest.approx(0.8)
    assert summary.n_eff == 0


def test_wilson_bound_for_badges_two_of_two_versus_forty_eight_of_fifty() -> None:
    two = summarise([Review(5.0)] * 2)
    fifty = summarise([Review(5.0)] * 48 + [Review(2.0)] * 2)

    assert two.n_eff == pytest.approx(2.0)
    assert fifty.n_eff == pytest.approx(50.0)
    assert two.wilson == pytest.approx(0.42, abs=0.005)
    assert fifty.wilson == pytest.approx(0.89, abs=0.005)
    assert wilson_lower_bound(2, 2) == pytest.approx(0.425, abs=0.001)
    assert wilson_lower_bound(48, 50) == pytest.approx(0.886, abs=0.001)


def test_wilson_bound_of_no_evidence_is_zero() -> None:
    assert wilson_lower_bound(0, 0) == 0.0


def test_review_weight_halves_every_twelve_months() -> None:
    assert review_weight(0) == pytest.approx(1.0)
    assert review_weight(365) == pytest.approx(0.5)
    assert review_weight(730) == pytest.approx(0.25)


def test_unverified_and_flagged_reviews_carry_no_weight() -> None:
    assert review_weight(0, verified=False) == 0.0
    assert review_weight(0, flagged=True) == 0.0
    summary = summarise([Review(1.0, verified=False), Review(1.0, flagged=True)])
    assert summary.mean == pytest.approx(4.2)


def test_old_reviews_count_less_in_the_average_and_in_n_eff() -> None:
    fresh_bad_old_good = summarise([Review(2.0, 0), Review(5.0, 730)])
    # weights 1 and 0.25: (5·4.2 + 2 + 1.25) / 6.25
    assert fresh_bad_old_good.mean == pytest.approx((21 + 2 + 1.25) / 6.25)
    assert fresh_bad_old_good.n_eff == pytest.approx(1.25**2 / (1 + 0.0625))


def test_effective_sample_size_and_bayesian_average_helpers() -> None:
    assert effective_sample_size([1, 1, 1, 1]) == pytest.approx(4)
    assert effective_sample_size([]) == 0
    assert bayesian_average([], []) == pytest.approx(4.2)
    assert bayesian_average([5, 5], [1, 1]) == pytest.approx(31 / 7)


def test_beta_reputation_starts_at_one_half() -> None:
    assert beta_reputation(0, 0) == pytest.approx(0.5)
    assert beta_reputation(8, 0) == pytest.approx(0.9)
    assert beta_reputation(3, 1) == pytest.approx(4 / 6)


def test_vectorised_trust_equals_the_per_provider_summary() -> None:
    reviews = {
        0: [Review(5.0, 10), Review(3.5, 400), Review(4.0, 90, verified=False)],
        1: [],
        2: [Review(4.5, 800)] * 7 + [Review(1.0, 5, flagged=True)],
    }
    owner, ratings, ages, credible = [], [], [], []
    for row, items in reviews.items():
        for review in items:
            owner.append(row)
            ratings.append(review.rating)
            ages.append(review.age_days)
            credible.append(review.verified and not review.flagged)
    arrays = trust_arrays(
        np.array(owner, dtype=np.int64),
        np.array(ratings),
        np.array(ages),
        np.array(credible),
        3,
    )
    for row, items in reviews.items():
        summary = summarise(items)
        assert arrays.mean[row] == pytest.approx(summary.mean, rel=1e-6)
        assert arrays.n_eff[row] == pytest.approx(summary.n_eff, rel=1e-6)
        assert arrays.positive_weight[row] == pytest.approx(summary.positive_weight, rel=1e-6)
