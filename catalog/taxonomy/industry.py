"""GB/T 4754-2017 industry codes: parsing, section lookup and prefix matching.

Division numbers are unique across the whole standard, so "C34" and "34" name the same
division. We therefore store digits only and derive the section letter from the range table
in ``industries.json``; hierarchy is a plain string-prefix relation (3411 ⊂ 341 ⊂ 34 ⊂ C).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from catalog.taxonomy.registry import load_data_file, vocabulary

# An optional section letter followed by digits; the digit count and the letter/division
# agreement are checked separately so that each failure gets its own message.
_CODE_SHAPE = re.compile(r"([A-Z])?(\d+)")


@dataclass(frozen=True)
class _Section:
    letter: str
    zh: str
    en: str
    first: int
    last: int


@functools.cache
def _sections() -> tuple[_Section, ...]:
    data = load_data_file("industries")
    return tuple(
        _Section(
            letter=str(item["letter"]),
            zh=str(item["zh"]),
            en=str(item["en"]),
            first=int(item["from"]),
            last=int(item["to"]),
        )
        for item in data["sections"]
    )


@functools.cache
def _section_by_division() -> dict[int, str]:
    return {
        division: section.letter
        for section in _sections()
        for division in range(section.first, section.last + 1)
    }


@functools.cache
def _named_codes() -> dict[str, tuple[str, str]]:
    """zh/en names for every code we ship a name for: divisions plus the few groups/classes."""
    names = {term.id: (term.zh, term.en) for term in vocabulary("industries")}
    for group in load_data_file("industries").get("groups", ()):
        names[str(group["id"])] = (str(group["zh"]), str(group["en"]))
    return names


def normalise_industry_code(code: str) -> str:
    """Digits-only form of a GB/T 4754 code: "C34", "c 34", "34" → "34"; "C3411" → "3411".

    Raises ``ValueError`` when the code is not 2–4 digits, names a division that does not
    exist, or carries a section letter that disagrees with its division (e.g. "A34").
    """
    text = "".join(unicodedata.normalize("NFKC", code).split()).upper()
    match = _CODE_SHAPE.fullmatch(text)
    if match is None:
        raise ValueError(
            f"industry code {code!r} is not a GB/T 4754 code: use 2–4 digits, optionally "
            "preceded by the section letter, e.g. 34, C34 or C3411"
        )
    letter, digits = match.group(1), match.group(2)
    if not 2 <= len(digits) <= 4:
        raise ValueError(
            f"industry code {code!r} has {len(digits)} digits; GB/T 4754 codes have 2 "
            "(division), 3 (group) or 4 (class) digits"
        )
    section = _section_by_division().get(int(digits[:2]))
    if section is None:
        raise ValueError(
            f"industry code {code!r}: division {digits[:2]} does not exist in GB/T 4754-2017 "
            "(divisions run from 01 to 97)"
        )
    if letter is not None and letter != section:
        raise ValueError(
            f"industry code {code!r}: division {digits[:2]} belongs to section {section}, "
            f"not {letter}; write {section}{digits} or just {digits}"
        )
    return digits


def division_of(code: str) -> str:
    """The 2-digit division of any valid code ("C3411" → "34")."""
    return normalise_industry_code(code)[:2]


def section_of(code: str) -> str:
    """The section letter of any valid code, for divisions 01–97 ("3411" → "C", "65" → "I")."""
    return _section_by_division()[int(division_of(code))]


def is_known_industry(code: str) -> bool:
    """True when ``code`` parses and its division is one of the manufacturing divisions we ship.

    Deeper codes (3 or 4 digits) are accepted on the strength of their division: we do not
    ship the full class table, and rejecting a real class such as 3525 would be worse than
    accepting a mistyped class inside a real division.
    """
    try:
        digits = normalise_industry_code(code)
    except ValueError:
        return False
    return digits[:2] in vocabulary("industries")


def _shared_prefix_length(a: str, b: str) -> int:
    length = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        length += 1
    return length


def industry_match_depth(a: str, b: str) -> int:
    """How deeply two codes agree: 4, 3 or 2 shared digits; 1 for the same section; else 0.

    Matching scores this as 1.0 / 0.7 / 0.4 / 0.1 / 0; keeping the depth (not the score) here
    lets the weights change without touching code parsing.
    """
    left, right = normalise_industry_code(a), normalise_industry_code(b)
    shared = _shared_prefix_length(left, right)
    if shared >= 2:
        return shared
    if section_of(left) == section_of(right):
        return 1
    return 0


def is_within(code: str, ancestor: str) -> bool:
    """Prefix relation, reflexive: is ``code`` equal to or below ``ancestor``?

    ``ancestor`` may be a bare section letter ("C"), or any 2–4 digit code with or without a
    letter. An unknown section letter raises ``ValueError`` rather than quietly answering False.
    """
    digits = normalise_industry_code(code)
    wanted = "".join(unicodedata.normalize("NFKC", ancestor).split()).upper()
    if len(wanted) == 1 and wanted.isalpha():
        if wanted not in {section.letter for section in _sections()}:
            raise ValueError(f"{ancestor!r} is not a GB/T 4754 section letter (A–T)")
        return section_of(digits) == wanted
    return digits.startswith(normalise_industry_code(ancestor))


def sections() -> list[dict[str, Any]]:
    """All 20 sections with their division ranges, as fresh JSON-ready dicts."""
    return [
        {
            "letter": section.letter,
            "zh": section.zh,
            "en": section.en,
            "from": f"{section.first:02d}",
            "to": f"{section.last:02d}",
        }
        for section in _sections()
    ]


def describe_industry(code: str) -> dict[str, str] | None:
    """Names for a code, taken from the nearest ancestor we ship a name for.

    Returns ``{"code", "section", "zh", "en"}`` where ``code`` is the level actually named
    (so "3526" comes back described as "352"), or ``None`` when not even the division is
    named, e.g. a non-manufacturing division. Explanations use this to print "C34 通用设备制造业".
    """
    digits = normalise_industry_code(code)
    names = _named_codes()
    for length in range(len(digits), 1, -1):
        prefix = digits[:length]
        if prefix in names:
            zh, en = names[prefix]
            return {"code": prefix, "section": section_of(prefix), "zh": zh, "en": en}
    return None
