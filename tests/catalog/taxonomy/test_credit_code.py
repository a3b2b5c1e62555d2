import random

import pytest

from catalog.taxonomy import (
    CREDIT_CODE_CHARS,
    CreditCodeError,
    credit_code_check_char,
    is_valid_credit_code,
    make_credit_code,
    normalise_credit_code,
    organisation_code_check_char,
    organisation_code_warning,
)

SYNTHETIC = "91320400000000000L"


def test_synthetic_code_is_valid() -> None:
    assert normalise_credit_code(SYNTHETIC) == SYNTHETIC
    assert is_valid_credit_code(SYNTHETIC)


def test_check_character_of_synthetic_code() -> None:
    assert credit_code_check_char(SYNTHETIC[:17]) == "L"


def test_character_set_excludes_confusable_letters() -> None:
    assert len(CREDIT_CODE_CHARS) == 31
    assert not set("IOSVZ") & set(CREDIT_CODE_CHARS)


@pytest.mark.parametrize(
    "raw",
    [
        "91320400000000000l",
        " 9132 0400 0000 0000 0L ",
        "91320400\t00000000\n0L",
        "".join(chr(ord(char) + 0xFEE0) for char in SYNTHETIC),  # full-width forms
        "9132\u30000400000000000L",  # ideographic space
    ],
)
def test_messy_input_is_normalised(raw: str) -> None:
    assert normalise_credit_code(raw) == SYNTHETIC


def test_wrong_length_is_reported() -> None:
    with pytest.raises(CreditCodeError, match="18 characters") as excinfo:
        normalise_credit_code(SYNTHETIC[:-1])
    assert excinfo.value.reason == "length"


def test_excluded_letters_are_reported() -> None:
    with pytest.raises(CreditCodeError, match="'O'") as excinfo:
        normalise_credit_code("9132040O000000000L")
    assert excinfo.value.reason == "characters"


def test_letters_in_area_code_break_the_shape() -> None:
    with pytest.raises(CreditCodeError, match="area code") as excinfo:
        normalise_credit_code("9132A4000000000000")
    assert excinfo.value.reason == "shape"


def test_wrong_check_character_names_the_right_one() -> None:
    with pytest.raises(CreditCodeError, match="should be L, not K") as excinfo:
        normalise_credit_code("91320400000000000K")
    assert excinfo.value.reason == "check_character"
    assert isinstance(excinfo.value, ValueError)


def test_invalid_code_is_not_valid() -> None:
    assert not is_valid_credit_code("91320400000000000K")
    assert not is_valid_credit_code("")


def test_made_codes_round_trip() -> None:
    rng = random.Random(20260101)
    areas = ["320400", "441900", "110000", "330100"]
    for _ in range(500):
        serial = "".join(rng.choice(CREDIT_CODE_CHARS) for _ in range(9))
        code = make_credit_code(area=rng.choice(areas), serial=serial)
        assert normalise_credit_code(code) == code
        # Changing the check character must always be caught.
        wrong = CREDIT_CODE_CHARS[(CREDIT_CODE_CHARS.index(code[-1]) + 1) % 31]
        assert not is_valid_credit_code(code[:-1] + wrong)


def test_single_character_typos_are_caught() -> None:
    # 31 is prime and no weight is 0 mod 31, so any one substituted character changes the sum.
    code = make_credit_code(area="320400", serial="MA1XYW123")
    for position in range(17):
        for replacement in "0A":
            if code[position] == replacement:
                continue
            typo = code[:position] + replacement + code[position + 1 :]
            assert not is_valid_credit_code(typo)


def test_make_credit_code_rejects_bad_parts() -> None:
    with pytest.raises(ValueError, match="area"):
        make_credit_code(area="3204", serial="000000000")
    with pytest.raises(ValueError, match="serial"):
        make_credit_code(area="320400", serial="0000")


def test_organisation_code_check_passes_without_warning() -> None:
    assert organisation_code_warning(SYNTHETIC) is None
    body = "MA1XYW12"
    serial = body + organisation_code_check_char(body)
    assert organisation_code_warning(make_credit_code(area="441900", serial=serial)) is None


def test_organisation_code_check_failure_only_warns() -> None:
    code = make_credit_code(area="441900", serial="000000001")
    assert is_valid_credit_code(code)
    warning = organisation_code_warning(code)
    assert warning is not None
    assert "GB 11714" in warning


def test_organisation_check_character_uses_x_and_0() -> None:
    # check = 11 − (sum mod 11); 11 is written "0" and 10 is written "X".
    assert organisation_code_check_char("00000000") == "0"
    assert organisation_code_check_char("00000006") == "X"  # 6 × 2 = 12 ≡ 1 → 10
    assert organisation_code_check_char("00000001") == "9"  # 1 × 2 = 2 → 9
    assert organisation_code_check_char("A0000000") == "3"  # A = 10; 10 × 3 = 30 ≡ 8 → 3


def test_check_character_matches_the_published_weights() -> None:
    # Independent reference using the weight table printed in GB 32100-2015.
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    rng = random.Random(32100)
    for _ in range(200):
        first17 = (
            rng.choice("159Y")
            + rng.choice("123")
            + "".join(rng.choice("0123456789") for _ in range(6))
            + "".join(rng.choice(CREDIT_CODE_CHARS) for _ in range(9))
        )
        total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(first17, weights, strict=True))
        assert credit_code_check_char(first17) == CREDIT_CODE_CHARS[(31 - total % 31) % 31]
