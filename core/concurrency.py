"""Optimistic concurrency through ETag / If-Match on a row's version counter.

Two colleagues editing the same listing cannot silently overwrite each other: an edit must
name the version it was based on, and a stale one is refused with 412.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Response

from core.errors import PreconditionFailed, PreconditionRequired


def etag_for(version: int) -> str:
    return f'W/"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


def parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    raw = value.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    try:
        return int(raw)
    except ValueError:
        return -1  # a tag we never issued cannot match


IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='the ETag of the version you edited, e.g. W/"3"'),
]


def check_version(if_match: str | None, current: int) -> None:
    expected = parse_if_match(if_match)
    if expected is None:
        raise PreconditionRequired(
            "Send the If-Match header with the ETag you read, so concurrent edits are detected",
            details={"current_etag": etag_for(current)},
        )
    if expected != current:
        raise PreconditionFailed(
            "Someone changed this item after you read it; reload it and apply your edit again",
            details={"current_etag": etag_for(current), "your_etag": if_match},
        )
