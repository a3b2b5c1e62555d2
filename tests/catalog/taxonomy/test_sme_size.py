import json
from importlib import resources

import pytest

from catalog.taxonomy import SIZE_SECTORS, derive_size


@pytest.mark.parametrize(
    ("employees", "revenue", "expected"),
    [
        (1500, 30000, "medium"),  # SME through revenue alone, then clears the medium floors
        (500, 1500, "small"),
        (15, 5000, "micro"),
        (1000, 40000, "large"),  # meets neither ceiling: both are strict "<"
        (999, 40000, "medium"),
        (300, 2000, "medium"),  # floors are inclusive
        (299, 2000, "small"),
        (300, 1999, "small"),
        (20, 300, "small"),
        (19, 300, "micro"),
        (20, 299, "micro"),
    ],
)
def test_industry_size_follows_2011_thresholds(employees: int, revenue: int, expected: str) -> None:
    assert derive_size(sector="industry", employees=employees, revenue_wan=revenue) == expected


@pytest.mark.parametrize(
    ("employees", "revenue", "expected"),
    [
        (300, 10000, "large"),
        (100, 1000, "medium"),
        (10, 50, "small"),
        (9, 50000, "micro"),  # SME by headcount; too few people for small despite the revenue
        (99, 1000, "small"),
    ],
)
def test_software_it_size(employees: int, revenue: int, expected: str) -> None:
    assert derive_size(sector="software_it", employees=employees, revenue_wan=revenue) == expected


def test_info_transmission_uses_its_own_ceiling() -> None:
    assert derive_size(sector="info_transmission", employees=1999, revenue_wan=200000) == "medium"
    assert derive_size(sector="info_transmission", employees=2000, revenue_wan=100000) == "large"


def test_wholesale_size() -> None:
    assert derive_size(sector="wholesale", employees=20, revenue_wan=5000) == "medium"
    assert derive_size(sector="wholesale", employees=5, revenue_wan=1000) == "small"
    assert derive_size(sector="wholesale", employees=4, revenue_wan=1000) == "micro"
    assert derive_size(sector="wholesale", employees=200, revenue_wan=40000) == "large"


def test_leasing_uses_total_assets_not_revenue() -> None:
    assert derive_size(sector="leasing_business", employees=100, assets_wan=8000) == "medium"
    assert derive_size(sector="leasing_business", employees=100, assets_wan=7999) == "small"
    assert derive_size(sector="leasing_business", employees=10, assets_wan=99) == "micro"
    assert derive_size(sector="leasing_business", employees=300, assets_wan=120000) == "large"
    # Revenue is not the leasing measure, so giving only revenue leaves the size unknown.
    assert derive_size(sector="leasing_business", employees=100, revenue_wan=8000) is None


@pytest.mark.parametrize(
    ("employees", "expected"),
    [(300, "large"), (299, "medium"), (100, "medium"), (99, "small"), (10, "small"), (9, "micro")],
)
def test_other_sector_uses_headcount_only(employees: int, expected: str) -> None:
    assert derive_size(sector="other", employees=employees) == expected


def test_missing_numbers_give_no_size() -> None:
    assert derive_size(sector="industry", employees=None, revenue_wan=5000) is None
    assert derive_size(sector="industry", employees=50) is None
    assert derive_size(sector="other", employees=None) is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"employees": -1, "revenue_wan": 100},
        {"employees": 10, "revenue_wan": -5},
        {"employees": 10, "revenue_wan": 100, "assets_wan": -1},
    ],
)
def test_negative_numbers_are_rejected(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="negative"):
        derive_size(sector="industry", **kwargs)


def test_unknown_sector_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown size sector"):
        derive_size(sector="mining", employees=10, revenue_wan=10)


def test_size_sectors_match_the_rule_file() -> None:
    raw = resources.files("catalog.taxonomy").joinpath("data/size_rules.json").read_text("utf-8")
    ids = tuple(item["id"] for item in json.loads(raw)["items"])
    assert ids == SIZE_SECTORS
