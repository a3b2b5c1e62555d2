"""Pydantic building blocks shared by the domains' schemas."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

T = TypeVar("T")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InputModel(BaseModel):
    """Every request body forbids unknown fields, so privileged fields cannot be smuggled in."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _normalise_email(value: str) -> str:
    value = unicodedata.normalize("NFKC", value).strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("enter an e-mail address such as name@example.com")
    return value


def _check_password(value: str) -> str:
    if len(value) < 10:
        raise ValueError("use at least 10 characters")
    if value.isdigit() or value.isalpha():
        raise ValueError("mix letters with digits or symbols")
    return value


def no_repeats(values: list[T]) -> list[T]:
    """Refuse a list naming the same code twice: it is almost always a typing mistake."""
    seen: set[T] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.add(value)
    return values


Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(_normalise_email)]
NewPassword = Annotated[str, StringConstraints(max_length=128), AfterValidator(_check_password)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
