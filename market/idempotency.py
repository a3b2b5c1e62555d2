"""Idempotency-Key for create and accept endpoints.

A client that lost the answer to "accept this quote" (a timeout, a dropped connection) must be
able to send the same request again without creating a second engagement. It sends an
``Idempotency-Key`` header; the first request's answer is stored with the key in the same
transaction as the work, and a repeat with the same key and the same request gets that stored
answer back (status, body, headers, plus ``Idempotent-Replayed: true``).

* The key is scoped to the calling user and the route template; the request hash covers the
  path parameters and the body, so one key reused for a different request (another quote, a
  changed body) is refused with 422 ``idempotency_key_reused`` instead of silently replaying.
* A request that fails stores nothing (its transaction rolls back with the key), so the client
  may retry a failed request with the same key.
* Two requests with the same key at the same moment: the key row is inserted before the work
  under a unique constraint, so the second waits for the first (PostgreSQL blocks on the unique
  index) and then replays its answer; if it cannot tell, it answers 409 ``idempotency_key_in_use``.
* Without the header, requests are simply not deduplicated.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import ForeignKey, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base, new_id, utcnow
from core.deps import Principal
from core.errors import Conflict, InvalidInput, field_error

MAX_KEY_LENGTH = 200
# Long enough for any client's retries; `purge` removes older keys (run it from a scheduler).
RETENTION = timedelta(days=7)
REPLAYED_HEADER = "Idempotent-Replayed"
# Response headers worth replaying; anything else is recomputed by the client's next read.
KEPT_HEADERS = ("Location", "ETag")

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="any unique string (a UUID is ideal); repeating the request with the same "
        "key returns the first answer instead of acting twice",
    ),
]


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "endpoint", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    endpoint: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    # Filled in once the work is done, in the same transaction; NULL only while in flight.
    status_code: Mapped[int | None]
    response: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class KeyReused(InvalidInput):
    code = "idempotency_key_reused"


class KeyInUse(Conflict):
    code = "idempotency_key_in_use"


def request_hash(path: dict[str, Any], body: BaseModel | dict[str, Any] | None) -> str:
    """SHA-256 of the request's canonical JSON: path parameters and body, keys sorted."""
    if isinstance(body, BaseModel):
        payload: Any = body.model_dump(mode="json")
    else:
        payload = body
    canonical = json.dumps(
        {"path": {k: str(v) for k, v in path.items()}, "body": payload},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise field_error(
            "header.Idempotency-Key",
            f"use 1–{MAX_KEY_LENGTH} printable ASCII characters, e.g. a UUID",
        )
    return key


def _find(session: Session, user_id: uuid.UUID, endpoint: str, key: str) -> IdempotencyRecord:
    found = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id,
            IdempotencyRecord.endpoint == endpoint,
            IdempotencyRecord.key == key,
        )
    )
    assert found is not None, "called only after the key was seen"
    return found


def _replay(record: IdempotencyRecord, digest: str) -> JSONResponse:
    if record.request_hash != digest:
        raise KeyReused(
            "This Idempotency-Key was already used for a different request; "
            "use a new key for a new request",
            details={"endpoint": record.endpoint},
        )
    if record.status_code is None or record.response is None:
        raise KeyInUse(
            "A request with this Idempotency-Key is still being processed; retry shortly"
        )
    stored = record.response
    headers = {**stored.get("headers", {}), REPLAYED_HEADER: "true"}
    return JSONResponse(stored.get("body"), status_code=record.status_code, headers=headers)


def run(
    session: Session,
    *,
    principal: Principal,
    key: str | None,
    endpoint: str,
    path: dict[str, Any],
    body: BaseModel | dict[str, Any] | None,
    status_code: int,
    action: Callable[[], tuple[BaseModel, dict[str, str]]],
) -> JSONResponse:
    """Run ``action`` once per (user, endpoint, key); ``action`` returns the body and headers.

    ``endpoint`` is the route template (e.g. ``POST /api/v1/quotes/{quote_id}/accept``) and
    ``path`` its parameters, which are hashed together with the body.
    """
    if key is None:
        result, headers = action()
        return JSONResponse(result.model_dump(mode="json"), status_code, headers=headers)
    key = _check_key(key)
    digest = request_hash(path, body)
    existing = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == principal.user_id,
            IdempotencyRecord.endpoint == endpoint,
            IdempotencyRecord.key == key,
        )
    )
    if existing is not None:
        return _replay(existing, digest)
    record = IdempotencyRecord(
        user_id=principal.user_id, endpoint=endpoint, key=key, request_hash=digest
    )
    try:
        # A savepoint: losing the insert race must leave the request's transaction usable.
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        return _replay(_find(session, principal.user_id, endpoint, key), digest)
    result, headers = action()
    body_json = result.model_dump(mode="json")
    kept = {name: value for name, value in headers.items() if name in KEPT_HEADERS}
    record.status_code = status_code
    record.response = {"body": body_json, "headers": kept}
    session.flush()
    return JSONResponse(body_json, status_code, headers=headers)


def purge(session: Session, *, now: datetime | None = None) -> int:
    """Forget keys older than the retention period; returns how many were removed."""
    cutoff = (now or utcnow()) - RETENTION
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
