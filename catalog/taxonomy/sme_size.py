"""Enterprise size class from headcount and money, per 工信部联企业〔2011〕300号.

The thresholds are read from ``size_rules.json`` so that a revised regulation is a data
change. Size is always derived from declared numbers, never parsed from free text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from catalog.taxonomy.registry import load_data_file

# Sector ids are part of the API (forms and stored profiles use them); the test suite checks
# that they match size_rules.json exactly.
SIZE_SECTORS: tuple[str, ...] = (
    "industry",
    "software_it",
    "info_transmission",
    "leasing_business",
    "wholesale",
    "other",
)


@dataclass(frozen=True)
class _Threshold:
    employees: int
    amount: int | None


@dataclass(frozen=True)
class _SizeRule:
    sector: str
    # "revenue" (营业收入) or "assets" (资产总额), both in 万元; None when headcount alone decides.
    second_measure: str | None
    sme_ceiling: _Threshold
    medium_floor: _Threshold
    small_floor: _Threshold


def _threshold(raw: dict[str, int | None]) -> _Threshold:
    employees = raw["employees"]
    if employees is None:
        raise ValueError("size_rules.json: every threshold needs an employee count")
    return _Threshold(employees=int(employees), amount=raw.get("amount"))


@functools.cache
def _rules() -> dict[str, _SizeRule]:
    rules: dict[str, _SizeRule] = {}
    for item in load_data_file("size_rules")["items"]:
        measure = item["second_measure"]
        if measure not in ("revenue", "assets", None):
            raise ValueError(f"size_rules.json: unknown second measure {measure!r}")
        rules[item["id"]] = _SizeRule(
            sector=item["id"],
            second_measure=measure,
            sme_ceiling=_threshold(item["sme_ceiling"]),
            medium_floor=_threshold(item["medium_floor"]),
            small_floor=_threshold(item["small_floor"]),
        )
    return rules


def _clears(floor: _Threshold, employees: int, amount: int | None) -> bool:
    """Both conditions of a 中型/小型 row hold ("X≥…, Y≥…"); headcount only when amount is N/A."""
    if employees < floor.employees:
        return False
    return floor.amount is None or (amount is not None and amount >= floor.amount)


def derive_size(
    *,
    sector: str,
    employees: int | None,
    revenue_wan: int | None = None,
    assets_wan: int | None = None,
) -> str | None:
    """Size class ("micro", "small", "medium", "large"), or ``None`` if a needed number is missing.

    A firm that meets neither SME ceiling is large (for industry: X ≥ 1000 and Y ≥ 40000).
    Otherwise it is medium if it clears both medium floors, else small if it clears both small
    floors, else micro. The "either" wording of the 微型 row follows from that order.
    Leasing and business services use total assets; "other" uses headcount only.
    """
    rule = _rules().get(sector)
    if rule is None:
        expected = ", ".join(SIZE_SECTORS)
        raise ValueError(f"unknown size sector {sector!r}; expected one of {expected}")
    for label, value in (
        ("employees", employees),
        ("revenue_wan", revenue_wan),
        ("assets_wan", assets_wan),
    ):
        if value is not None and value < 0:
            raise ValueError(f"{label} cannot be negative (got {value})")

    if employees is None:
        return None
    amount: int | None = None
    if rule.second_measure == "revenue":
        amount = revenue_wan
    elif rule.second_measure == "assets":
        amount = assets_wan
    if rule.second_measure is not None and amount is None:
        # Guessing from headcount alone would misclassify, e.g., a 50-person firm with 5亿
        # revenue; better to say "unknown" and ask for the number.
        return None

    ceiling = rule.sme_ceiling
    is_sme = employees < ceiling.employees or (
        ceiling.amount is not None and amount is not None and amount < ceiling.amount
    )
    if not is_sme:
        return "large"
    if _clears(rule.medium_floor, employees, amount):
        return "medium"
    if _clears(rule.small_floor, employees, amount):
        return "small"
    return "micro"
