"""Three-year TCO per pricing model, contract value, the funding split and the P10 rank: pure
integer arithmetic, checked against numbers worked out by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from market.rfqs import tco
from market.rfqs.tco import Terms


def test_one_off_counts_maintenance_through_the_horizon() -> None:
    terms = Terms("one_off", one_off_fen=5_000_000, recurring_fen=20_000, months=12)

    cost = tco.total_cost(terms)

    # 50,000 元 + 200 元 × 36: maintenance renews after its first year.
    assert cost.total_fen == 5_000_000 + 20_000 * 36
    assert cost.by_year == (5_000_000 + 240_000, 240_000, 240_000)
    assert tco.contract_value(terms) == 5_000_000 + 20_000 * 12


def test_one_off_without_recurring_costs_is_its_price() -> None:
    terms = Terms("one_off", one_off_fen=3_000_000)

    assert tco.total_cost(terms).total_fen == 3_000_000
    assert tco.contract_value(terms) == 3_000_000


def test_subscription_renews_at_the_same_fee() -> None:
    terms = Terms("subscription", one_off_fen=100_000, recurring_fen=80_000, months=12)

    cost = tco.total_cost(terms)

    assert cost.total_fen == 100_000 + 80_000 * 36
    assert cost.recurring_fen == 80_000 * 36
    assert cost.by_year == (100_000 + 960_000, 960_000, 960_000)
    assert tco.contract_value(terms) == 100_000 + 80_000 * 12


def test_open_ended_subscription_contract_value_is_the_horizon() -> None:
    terms = Terms("subscription", recurring_fen=50_000)

    assert tco.contract_value(terms) == 50_000 * 36


def test_metered_adds_estimated_usage_rounded_half_up() -> None:
    # A fractional usage estimate: 33.5 units × 15 fen = 502.5 fen, rounded half up to 503.
    terms = Terms(
        "metered",
        recurring_fen=1_000,
        units_per_month=Decimal("33.5"),
        unit_price_fen=15,
    )

    assert tco.monthly_fixed_fen(terms) == 1_000 + 503
    assert tco.total_cost(terms).total_fen == (1_000 + 503) * 36


def test_lease_renews_and_never_owns() -> None:
    terms = Terms("lease", one_off_fen=50_000, recurring_fen=30_000, months=24)

    assert tco.total_cost(terms).total_fen == 50_000 + 30_000 * 36
    assert tco.contract_value(terms) == 50_000 + 30_000 * 24


def test_lease_to_own_stops_rent_and_pays_buyout_within_the_horizon() -> None:
    terms = Terms("lease_to_own", recurring_fen=30_000, months=24, buyout_fen=100_000)

    cost = tco.total_cost(terms)

    assert cost.total_fen == 30_000 * 24 + 100_000
    assert cost.other_fen == 100_000
    # The buy-out falls in year 2, when the 24-month term ends; nothing is paid in year 3.
    assert cost.by_year == (360_000, 360_000 + 100_000, 0)
    assert tco.contract_value(terms) == 30_000 * 24 + 100_000


def test_lease_to_own_beyond_the_horizon_leaves_the_buyout_out() -> None:
    terms = Terms("lease_to_own", recurring_fen=30_000, months=48, buyout_fen=100_000)

    assert tco.total_cost(terms).total_fen == 30_000 * 36
    assert tco.contract_value(terms) == 30_000 * 48 + 100_000


def test_outcome_share_is_capped_over_the_term() -> None:
    # 20 % of an estimated 10,000 元 saved per month = 2,000 元 a month, capped at 50,000 元.
    terms = Terms(
        "outcome",
        one_off_fen=200_000,
        recurring_fen=10_000,
        months=36,
        share_bp=2_000,
        gain_per_month_fen=1_000_000,
        cap_fen=5_000_000,
    )

    cost = tco.total_cost(terms)

    assert tco.outcome_share_fen(terms) == 200_000
    assert cost.other_fen == 5_000_000  # 25 months reach the cap
    assert cost.total_fen == 200_000 + 10_000 * 36 + 5_000_000
    assert sum(cost.by_year) == cost.total_fen
    # Year 1: 12 × 200,000 = 2.4 M; year 2: 2.4 M; year 3: the 0.2 M left under the cap.
    assert cost.by_year == (200_000 + 120_000 + 2_400_000, 120_000 + 2_400_000, 120_000 + 200_000)


def test_outcome_without_cap_runs_for_its_term_only() -> None:
    terms = Terms("outcome", months=12, share_bp=1_500, gain_per_month_fen=333_333)

    # 15 % of 333,333 fen = 49,999.95 → 50,000 fen a month, for 12 months (no renewal).
    assert tco.total_cost(terms).total_fen == 50_000 * 12
    assert tco.contract_value(terms) == 50_000 * 12


def test_models_compare_on_the_same_three_years() -> None:
    buy = Terms("one_off", one_off_fen=2_000_000, recurring_fen=10_000)
    rent = Terms("subscription", recurring_fen=60_000, months=12)

    # 20,000 元 + 100 元/月 vs 600 元/月: over three years the purchase is cheaper.
    assert tco.total_cost(buy).total_fen == 2_360_000
    assert tco.total_cost(rent).total_fen == 2_160_000
    # ... and over a one-year horizon the subscription is far cheaper.
    assert tco.total_cost(buy, horizon=12).total_fen == 2_120_000
    assert tco.total_cost(rent, horizon=12).total_fen == 720_000


def test_every_model_has_a_documented_formula() -> None:
    assert set(tco.FORMULAS) == set(tco.PRICING_MODELS)
    for formula in tco.FORMULAS.values():
        assert formula["zh"]
        assert formula["en"]


def test_split_subsidises_the_share_after_the_concession() -> None:
    # 企业出一点、服务商让一点、政府补一点: 100,000 元 list, 5,000 元 concession, 30 % subsidy.
    parts = tco.split(10_000_000, 500_000, rate_bp=3_000)

    assert parts == tco.Split(10_000_000, 500_000, 2_850_000, 6_650_000)
    assert parts.concession_fen + parts.subsidy_fen + parts.sme_net_fen == parts.list_fen


def test_split_respects_the_cap_and_rounds_the_subsidy_down() -> None:
    assert tco.split(10_000_000, 0, rate_bp=3_000, cap_fen=2_000_000).subsidy_fen == 2_000_000
    # 30 % of 333 fen is 99.9 fen: the programme pays 99.
    assert tco.split(333, 0, rate_bp=3_000).subsidy_fen == 99


def test_split_without_a_programme_is_list_minus_concession() -> None:
    assert tco.split(1_000, 100) == tco.Split(1_000, 100, 0, 900)


@pytest.mark.parametrize(
    ("concession", "rate"),
    [(-1, 0), (1_001, 0), (0, -1), (0, 10_001)],
)
def test_split_refuses_impossible_parts(concession: int, rate: int) -> None:
    with pytest.raises(ValueError, match="lies between"):
        tco.split(1_000, concession, rate_bp=rate)


def test_nearest_rank_is_a_real_price() -> None:
    values = [100, 200, 300, 400, 500]
    # ceil(10 % × 5) = rank 1; ceil(10 % × 11) = rank 2.
    assert tco.nearest_rank(values, 10) == 100
    assert tco.nearest_rank(list(range(1, 12)), 10) == 2
    assert tco.nearest_rank(values, 50) == 300
    assert tco.nearest_rank(values, 100) == 500


def test_terms_refuse_unknown_models_and_empty_terms() -> None:
    with pytest.raises(ValueError, match="unknown pricing model"):
        Terms("barter")
    with pytest.raises(ValueError, match="at least one month"):
        Terms("lease", months=0)
    with pytest.raises(ValueError, match="horizon"):
        tco.total_cost(Terms("one_off"), horizon=0)
