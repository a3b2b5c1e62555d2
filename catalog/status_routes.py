"""The publish/archive endpoints, identical in shape for solutions and cases."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from catalog.publishing import Action
from core.concurrency import IfMatch, set_etag
from core.deps import CurrentPrincipal, DbSession, Principal

DOCS: dict[Action, str] = {
    "publish": "Make a complete draft (or archived) {item} public.",
    "archive": "Withdraw a {item} from public view; it can be published again.",
}


class Versioned(Protocol):
    version: int


class StatusChange(Protocol):
    def __call__(
        self,
        session: Session,
        *,
        principal: Principal,
        item_id: uuid.UUID,
        action: Action,
        if_match: str | None,
    ) -> Any: ...


def add_status_routes(
    router: APIRouter,
    *,
    item: str,
    change: StatusChange,
    to_out: Callable[[Any], BaseModel],
    response_model: type[BaseModel],
) -> None:
    for action in ("publish", "archive"):
        router.post(
            f"/{{item_id}}/{action}",
            response_model=response_model,
            name=f"{action}_{item}",
            description=DOCS[action].format(item=item),
        )(
            _endpoint(action, change, to_out)
        )


def _endpoint(
    action: Action, change: StatusChange, to_out: Callable[[Any], BaseModel]
) -> Callable[..., BaseModel]:
    def endpoint(
        item_id: uuid.UUID,
        principal: CurrentPrincipal,
        session: DbSession,
        response: Response,
        if_match: IfMatch = None,
    ) -> BaseModel:
        row = change(
            session, principal=principal, item_id=item_id, action=action, if_match=if_match
        )
        set_etag(response, row.version)
        return to_out(row)

    return endpoint
