"""GB/T 2260 administrative-division codes (行政区划代码) at province and city level.

Codes are 6 digits: the first two name the provincial-level division, the next two the
prefecture-level city, the last two the county. We ship every province and the cities of the
pilot provinces; the province of any other city is still derivable from its first two digits,
which is what the region ranking signal needs (same city 1.0, same province 0.7).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from catalog.taxonomy.registry import vocabulary


@dataclass(frozen=True)
class Region:
    code: str
    zh: str
    en: str
    level: str  # "province" (incl. municipalities and SARs) or "city"
    parent: str | None


@functools.cache
def _regions() -> dict[str, Region]:
    return {
        term.id: Region(
            code=term.id,
            zh=term.zh,
            en=term.en,
            level=str(term.extra["level"]),
            parent=term.parent,
        )
        for term in vocabulary("regions")
    }


def _clean(code: str) -> str:
    return code.strip()


def region(code: str) -> Region | None:
    return _regions().get(_clean(code))


def is_known_region(code: str) -> bool:
    return _clean(code) in _regions()


def province_of(code: str) -> str:
    """Province code for any 6-digit code whose province we know ("320412" → "320000").

    Works for cities and counties we do not ship, because GB/T 2260 encodes the province in
    the first two digits. Raises ``ValueError`` for malformed codes and unknown provinces.
    """
    text = _clean(code)
    if len(text) != 6 or not (text.isascii() and text.isdigit()):
        raise ValueError(f"region code {code!r} is not a 6-digit GB/T 2260 code")
    province = text[:2] + "0000"
    known = _regions().get(province)
    if known is None or known.level != "province":
        raise ValueError(f"region code {code!r}: {province} is not a provincial-level division")
    return province


def cities_of(province_code: str) -> list[Region]:
    """Shipped prefecture-level cities of a province, by code; empty for municipalities."""
    wanted = _clean(province_code)
    return sorted(
        (item for item in _regions().values() if item.parent == wanted),
        key=lambda item: item.code,
    )


def same_province(a: str, b: str) -> bool:
    """Whether two codes lie in the same provincial-level division (raises like province_of)."""
    return province_of(a) == province_of(b)
