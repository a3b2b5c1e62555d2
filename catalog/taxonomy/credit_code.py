"""统一社会信用代码 (unified social credit code, GB 32100-2015).

Layout of the 18 characters: 1 registration authority, 2 entity category, 3–8 area code
(GB/T 2260), 9–17 subject identifier (the former 组织机构代码, GB 11714), 18 check character.

The code identifies both parties of every engagement and gates who may review whom, so a typo
must be caught at entry with a message that tells the user what to fix.
"""

from __future__ import annotations

import re
import unicodedata

CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# Value of each character is its position in the 31-symbol set (I, O, S, V, Z are excluded
# because they are easily confused with 1, 0, 5, U and 2).
_VALUES = {char: value for value, char in enumerate(CREDIT_CODE_CHARS)}
# Position weights are 3^(i-1) mod 31 for i = 1..17.
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}")

# GB 11714 organisation code: 8 body characters weighted 3,7,9,10,5,8,4,2, then a check
# character. Letters count A=10 … Z=35 there, unlike the 31-symbol scale above.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


class CreditCodeError(ValueError):
    """A credit code that cannot be accepted.

    ``reason`` is a stable machine code for API clients and form widgets: ``"length"``,
    ``"characters"``, ``"shape"`` or ``"check_character"``. The message is for people.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _clean(raw: str) -> str:
    # NFKC first so full-width input (９１３２…, ideographic space) becomes ASCII, then drop
    # every kind of whitespace: codes are often pasted from PDFs with spaces every 4 chars.
    return "".join(unicodedata.normalize("NFKC", raw).split()).upper()


def _check_characters(code: str) -> None:
    bad = sorted({char for char in code if char not in _VALUES})
    if bad:
        listed = ", ".join(repr(char) for char in bad)
        raise CreditCodeError(
            "characters",
            f"the credit code contains characters that are never used: {listed}; only digits "
            "and the letters A–Y without I, O, S, V and Z appear (O is usually the digit 0, "
            "I the digit 1)",
        )


def credit_code_check_char(first17: str) -> str:
    """The 18th character for the given first 17 characters."""
    body = _clean(first17)
    if len(body) != 17:
        raise CreditCodeError(
            "length", f"need the first 17 characters to compute the check, got {len(body)}"
        )
    _check_characters(body)
    total = sum(_VALUES[char] * weight for char, weight in zip(body, _WEIGHTS, strict=True))
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def normalise_credit_code(raw: str) -> str:
    """Canonical form (upper-case, no spaces) of a valid code; raises :class:`CreditCodeError`.

    Checks run from the coarsest to the finest so the message names the first real problem.
    """
    code = _clean(raw)
    if len(code) != 18:
        raise CreditCodeError(
            "length",
            f"a unified social credit code has 18 characters; this one has {len(code)}",
        )
    _check_characters(code)
    if _SHAPE.fullmatch(code) is None:
        raise CreditCodeError(
            "shape",
            "characters 3–8 of a credit code are the 6-digit area code and must all be digits; "
            f"got {code[2:8]!r}",
        )
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise CreditCodeError(
            "check_character",
            f"the check character should be {expected}, not {code[17]}; one of the 18 "
            "characters is probably mistyped, so compare the code with the business licence",
        )
    return code


def is_valid_credit_code(raw: str) -> bool:
    try:
        normalise_credit_code(raw)
    except CreditCodeError:
        return False
    return True


def _org_value(char: str) -> int:
    if char.isdigit():
        return int(char)
    return ord(char) - ord("A") + 10


def organisation_code_check_char(body8: str) -> str:
    """GB 11714 check character for an 8-character organisation-code body."""
    body = _clean(body8)
    if len(body) != 8 or not all(char.isdigit() or "A" <= char <= "Z" for char in body):
        raise ValueError(f"an organisation-code body is 8 digits or letters, got {body8!r}")
    remainder = 11 - sum(_org_value(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    if remainder == 10:
        return "X"
    if remainder == 11:
        return "0"
    return str(remainder)


def organisation_code_warning(code: str) -> str | None:
    """Warning text when positions 9–17 fail the GB 11714 check, ``None`` when they pass.

    Only a warning: some registrations carry subject identifiers that were not assigned under
    GB 11714, and the code itself has already passed its own check, so rejecting would lock out
    genuine firms. Curators see the warning during vetting instead.
    """
    normalised = normalise_credit_code(code)
    subject = normalised[8:17]
    expected = organisation_code_check_char(subject[:8])
    if subject[8] == expected:
        return None
    return (
        f"the organisation code inside this credit code ({subject[:8]}-{subject[8]}) fails the "
        f"GB 11714 check (expected {expected}); please confirm the code against the licence"
    )


def make_credit_code(*, authority: str = "9", category: str = "1", area: str, serial: str) -> str:
    """Build a valid code from its parts by appending the check character (demo data, tests).

    ``area`` is a 6-digit GB/T 2260 code and ``serial`` the 9-character subject identifier.
    Use :func:`organisation_code_check_char` to make the serial pass GB 11714 as well.
    """
    if len(authority) != 1 or len(category) != 1:
        raise ValueError("authority and category are one character each")
    if len(area) != 6 or not (area.isascii() and area.isdigit()):
        raise ValueError(f"area must be a 6-digit administrative code, got {area!r}")
    if len(serial) != 9:
        raise ValueError(f"serial must have 9 characters, got {len(serial)}")
    first17 = f"{authority}{category}{area}{serial}".upper()
    return first17 + credit_code_check_char(first17)
