import pytest

from catalog.taxonomy import (
    describe_industry,
    division_of,
    industry_match_depth,
    is_known_industry,
    is_within,
    normalise_industry_code,
    section_of,
    sections,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("34", "34"),
        ("C34", "34"),
        ("c34", "34"),
        (" C 34 ", "34"),
        ("341", "341"),
        ("3411", "3411"),
        ("C3411", "3411"),
        ("Ｃ３４１１", "3411"),  # full-width
        ("06", "06"),
        ("B06", "06"),
    ],
)
def test_codes_normalise_to_digits(raw: str, expected: str) -> None:
    assert normalise_industry_code(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("3", "1 digits"),
        ("34111", "5 digits"),
        ("C", "not a GB/T 4754 code"),
        ("34a", "not a GB/T 4754 code"),
        ("", "not a GB/T 4754 code"),
        ("98", "division 98 does not exist"),
        ("00", "division 00 does not exist"),
        ("A34", "belongs to section C, not A"),
        ("C65", "belongs to section I, not C"),
    ],
)
def test_malformed_codes_are_rejected_with_a_reason(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalise_industry_code(raw)


@pytest.mark.parametrize(
    ("code", "section"),
    [
        ("01", "A"),
        ("05", "A"),
        ("06", "B"),
        ("12", "B"),
        ("13", "C"),
        ("3411", "C"),
        ("43", "C"),
        ("44", "D"),
        ("65", "I"),
        ("70", "K"),
        ("79", "N"),
        ("83", "P"),
        ("97", "T"),
    ],
)
def test_section_is_derived_from_the_division(code: str, section: str) -> None:
    assert section_of(code) == section


def test_sections_cover_every_division_once() -> None:
    listed = sections()
    assert [s["letter"] for s in listed] == list("ABCDEFGHIJKLMNOPQRST")
    covered = [division for s in listed for division in range(int(s["from"]), int(s["to"]) + 1)]
    assert covered == list(range(1, 98))


def test_sections_returns_fresh_copies() -> None:
    sections()[0]["zh"] = "changed"
    assert sections()[0]["zh"] == "农、林、牧、渔业"


def test_division_of() -> None:
    assert division_of("C3411") == "34"
    assert division_of("34") == "34"


@pytest.mark.parametrize(
    ("a", "b", "depth"),
    [
        ("3411", "3411", 4),
        ("C3411", "3411", 4),
        ("3411", "3412", 3),
        ("341", "3411", 3),
        ("3411", "3421", 2),
        ("34", "3411", 2),
        ("34", "35", 1),
        ("13", "43", 1),
        ("34", "65", 0),
        ("3411", "0111", 0),
    ],
)
def test_match_depth(a: str, b: str, depth: int) -> None:
    assert industry_match_depth(a, b) == depth
    assert industry_match_depth(b, a) == depth


def test_prefix_relation() -> None:
    assert is_within("3411", "341")
    assert is_within("3411", "34")
    assert is_within("3411", "C34")
    assert is_within("3411", "C")
    assert is_within("341", "c")
    assert is_within("34", "34")
    assert not is_within("34", "341")
    assert not is_within("3411", "342")
    assert not is_within("3411", "B")
    assert not is_within("35", "34")


def test_prefix_relation_rejects_unknown_section_letter() -> None:
    with pytest.raises(ValueError, match="section letter"):
        is_within("34", "Z")


@pytest.mark.parametrize("code", ["13", "34", "43", "C34", "341", "3411", "3525", "C3999"])
def test_codes_within_manufacturing_divisions_are_known(code: str) -> None:
    assert is_known_industry(code)


@pytest.mark.parametrize("code", ["12", "44", "65", "0611", "6511", "A01", "A34", "98", "x"])
def test_codes_outside_manufacturing_or_malformed_are_unknown(code: str) -> None:
    assert not is_known_industry(code)


def test_describe_uses_nearest_named_level() -> None:
    assert describe_industry("C34") == {
        "code": "34",
        "section": "C",
        "zh": "通用设备制造业",
        "en": "General-purpose machinery",
    }
    mould = describe_industry("3525")
    assert mould is not None
    assert mould["zh"] == "模具制造"
    assert mould["code"] == "3525"
    neighbour = describe_industry("3529")
    assert neighbour is not None
    assert neighbour["code"] == "352"
    assert describe_industry("65") is None
