"""Three-year total cost of ownership (TCO) per pricing model, and the funding split.

Pure functions over integers (fen): no database, no floats. An SME comparing a one-off licence
with a subscription, a lease or an outcome share needs one number per offer that means the same
thing: what the SME pays over the first ``HORIZON_MONTHS`` (36) months if it keeps using what it
bought. Every quote states its costs in the same fields:

* ``one_off_fen`` — paid once at the start (licence, implementation, hardware, set-up fee);
* ``recurring_fen`` — a fixed charge per month (subscription fee, rent, maintenance, base fee);
* ``months`` — the contract term of the recurring charge (None: open-ended);
* model terms: ``buyout_fen`` (lease_to_own), ``units_per_month`` × ``unit_price_fen``
  (metered estimate), ``share_bp`` of ``gain_per_month_fen`` capped at ``cap_fen`` (outcome).

Formulas, with H = 36 months and T = ``months`` (T = H when open-ended):

=================  ====================================================================
``one_off``        one_off + recurring × H   (maintenance renews for as long as it is used)
``subscription``   one_off + recurring × H   (the subscription renews at the same fee)
``metered``        one_off + (recurring + round(units × unit_price)) × H
``lease``          one_off + rent × H        (renting renews: the SME never owns the asset)
``lease_to_own``   one_off + rent × min(T, H) + (buyout if T ≤ H)   (rent stops once owned)
``outcome``        one_off + recurring × min(T, H)
                   + min(cap, Σ over min(T, H) months of round(share_bp × gain / 10000))
=================  ====================================================================

"Renews" is the assumption that lets offers with different terms be compared: a one-year
subscription is not cheaper than a three-year one just because it stops being counted. The
**contract value** (合同金额, what the engagement records) is the same cash flow over the term T
with no renewal: one_off + monthly charges × T (+ buyout; outcome fee capped).

The funding split (企业出一点、服务商让一点、政府补一点, DOMAIN §3.6) is taken over the TCO:
``subsidy = min(cap, floor((list − concession) × rate_bp / 10000))`` and
``sme_net = list − concession − subsidy``. The subsidy is rounded down so the programme never
pays a fraction of a fen more than its rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

HORIZON_MONTHS = 36
BASIS_POINTS = 10_000

# Models whose recurring charge is assumed to renew through the horizon after the term ends.
RENEWING = frozenset({"one_off", "subscription", "metered", "lease"})
PRICING_MODELS = ("one_off", "subscription", "metered", "lease", "lease_to_own", "outcome")

# Shown next to each offer in the comparison, so the SME can check the number by hand.
FORMULAS: dict[str, dict[str, str]] = {
    "one_off": {
        "zh": "一次性费用 + 月度维护费 × 36（维护按原价续约）",
        "en": "one-off + monthly maintenance × 36 (maintenance renews at the same price)",
    },
    "subscription": {
        "zh": "开通费 + 月订阅费 × 36（到期按原价续订）",
        "en": "set-up + monthly fee × 36 (renews at the same fee)",
    },
    "metered": {
        "zh": "开通费 +（月基础费 + 预计月用量 × 单价）× 36",
        "en": "set-up + (monthly base + estimated monthly units × unit price) × 36",
    },
    "lease": {
        "zh": "一次性费用 + 月租金 × 36（租期届满续租，不取得所有权）",
        "en": "one-off + monthly rent × 36 (the lease renews; the asset is never owned)",
    },
    "lease_to_own": {
        "zh": "一次性费用 + 月租金 × min(租期, 36) + 租期内到期的尾款（取得所有权后不再付租金）",
        "en": "one-off + rent × min(term, 36) + buy-out if the term ends within 36 months",
    },
    "outcome": {
        "zh": "一次性费用 + 月基础费 × min(期限, 36)"
        " + min(封顶, 分成比例 × 预计月收益 × min(期限, 36))",
        "en": "one-off + base × min(term, 36) + min(cap, share × estimated monthly gain × "
        "min(term, 36))",
    },
}


@dataclass(frozen=True)
class Terms:
    """A quote's costs as the formulas read them; every amount in fen."""

    pricing_model: str
    one_off_fen: int = 0
    recurring_fen: int = 0
    months: int | None = None
    buyout_fen: int = 0
    units_per_month: Decimal = Decimal(0)
    unit_price_fen: int = 0
    share_bp: int = 0
    gain_per_month_fen: int = 0
    cap_fen: int | None = None

    def __post_init__(self) -> None:
        if self.pricing_model not in PRICING_MODELS:
            raise ValueError(f"unknown pricing model {self.pricing_model!r}")
        if self.months is not None and self.months < 1:
            raise ValueError("the term is at least one month")


@dataclass(frozen=True)
class Tco:
    horizon_months: int
    one_off_fen: int
    recurring_fen: int  # fixed and metered monthly charges within the horizon
    other_fen: int  # buy-out and outcome share within the horizon
    total_fen: int
    # Cash out per contract year (year 1 carries the one-off cost); len = ceil(horizon / 12).
    by_year: tuple[int, ...]


@dataclass(frozen=True)
class Split:
    list_fen: int
    concession_fen: int
    subsidy_fen: int
    sme_net_fen: int


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def monthly_fixed_fen(terms: Terms) -> int:
    """The monthly charge that does not depend on results: fee or rent plus metered usage."""
    usage = 0
    if terms.pricing_model == "metered":
        usage = _round(terms.units_per_month * terms.unit_price_fen)
    return terms.recurring_fen + usage


def outcome_share_fen(terms: Terms) -> int:
    """One month's outcome fee before the cap: share_bp of the estimated monthly gain."""
    if terms.pricing_model != "outcome":
        return 0
    return _round(Decimal(terms.gain_per_month_fen * terms.share_bp) / BASIS_POINTS)


def _cash_flow(terms: Terms, horizon: int, *, renew: bool) -> Tco:
    term = terms.months or horizon
    charged = horizon if renew and terms.pricing_model in RENEWING else min(term, horizon)
    monthly = monthly_fixed_fen(terms)
    share = outcome_share_fen(terms)
    years = [0] * ((horizon + 11) // 12)
    years[0] += terms.one_off_fen
    recurring = other = 0
    for month in range(1, charged + 1):
        year = (month - 1) // 12
        years[year] += monthly
        recurring += monthly
        if share:
            # The cap bounds the outcome fee over the whole term, so stop once it is reached.
            fee = share if terms.cap_fen is None else max(0, min(share, terms.cap_fen - other))
            years[year] += fee
            other += fee
    if terms.pricing_model == "lease_to_own" and term <= horizon and terms.buyout_fen:
        years[(term - 1) // 12] += terms.buyout_fen
        other += terms.buyout_fen
    total = terms.one_off_fen + recurring + other
    return Tco(horizon, terms.one_off_fen, recurring, other, total, tuple(years))


def total_cost(terms: Terms, horizon: int = HORIZON_MONTHS) -> Tco:
    """TCO over ``horizon`` months with the renewal assumption (see the module docstring)."""
    if horizon < 1:
        raise ValueError("the horizon is at least one month")
    return _cash_flow(terms, horizon, renew=True)


def contract_value(terms: Terms) -> int:
    """What the contract itself is worth: the cash flow over its term, nothing renewed."""
    term = terms.months or HORIZON_MONTHS
    return _cash_flow(terms, term, renew=False).total_fen


def split(
    list_fen: int, concession_fen: int, *, rate_bp: int = 0, cap_fen: int | None = None
) -> Split:
    """List price → provider concession → government subsidy → what the SME pays."""
    if not 0 <= concession_fen <= list_fen:
        raise ValueError("the concession lies between 0 and the list price")
    if not 0 <= rate_bp <= BASIS_POINTS:
        raise ValueError("the subsidy rate lies between 0 and 10000 basis points")
    subsidy = (list_fen - concession_fen) * rate_bp // BASIS_POINTS
    if cap_fen is not None:
        subsidy = min(subsidy, cap_fen)
    return Split(list_fen, concession_fen, subsidy, list_fen - concession_fen - subsidy)


def nearest_rank(sorted_values: list[int], percentile: int) -> int:
    """The nearest-rank percentile (the value at rank ceil(p/100 × n)): always a real price
    that was paid, never an interpolation between two."""
    if not sorted_values:
        raise ValueError("no values")
    if not 0 < percentile <= 100:
        raise ValueError("the percentile lies in (0, 100]")
    rank = -(-percentile * len(sorted_values) // 100)
    return sorted_values[rank - 1]
