"""The draft → published → archived life of solutions and cases, shared by both."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from core.database import utcnow
from core.errors import Conflict, InvalidInput

Action = Literal["publish", "archive"]

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[str], str]] = {
    "publish": (frozenset({"draft", "archived"}), "published"),
    "archive": (frozenset({"draft", "published"}), "archived"),
}


class Publishable(Protocol):
    status: str
    published_at: datetime | None


class InvalidTransition(Conflict):
    code = "invalid_transition"


class Incomplete(InvalidInput):
    code = "incomplete"


def apply(item: Publishable, action: Action, *, what: str, missing: list[str]) -> None:
    """Move ``item`` through ``action``; publishing needs every field in ``missing`` filled."""
    sources, target = TRANSITIONS[action]
    if item.status not in sources:
        raise InvalidTransition(
            f"Cannot {action} a {what} that is {item.status}",
            details={"status": item.status, "allowed_from": sorted(sources)},
        )
    if target == "published":
        require_complete(what=what, missing=missing)
        item.published_at = utcnow()
    item.status = target


def require_complete(*, what: str, missing: list[str]) -> None:
    if missing:
        raise Incomplete(
            f"This {what} cannot be public yet; fill in: {', '.join(missing)}",
            details=[
                {"field": f"body.{m}", "message": "required to publish", "type": "missing"}
                for m in missing
            ],
        )
