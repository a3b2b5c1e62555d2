"""Routes of the in-app inbox: each user reads and marks only their own notifications."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from core.deps import CurrentPrincipal, DbSession
from core.pagination import PageParams, page_params
from market.inbox import service
from market.inbox.schemas import InboxItemOut, InboxPage, MarkedOut, UnreadOut

router = APIRouter(prefix="/api/v1", tags=["inbox"])


@router.get("/inbox", response_model=InboxPage)
def my_inbox(
    principal: CurrentPrincipal,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
    unread: Annotated[bool, Query(description="only unread notifications")] = False,
) -> InboxPage:
    """Your notifications, unread first and newest first, with the unread count."""
    return service.page(session, principal=principal, unread_only=unread, params=params)


@router.get("/inbox/unread-count", response_model=UnreadOut)
def unread_count(principal: CurrentPrincipal, session: DbSession) -> UnreadOut:
    return UnreadOut(unread=service.unread_count(session, principal=principal))


@router.post("/inbox/read-all", response_model=MarkedOut)
def read_all(principal: CurrentPrincipal, session: DbSession) -> MarkedOut:
    """Mark every unread notification of yours as read."""
    return MarkedOut(marked=service.mark_all_read(session, principal=principal))


@router.post("/inbox/{item_id}/read", response_model=InboxItemOut)
def read_one(item_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> InboxItemOut:
    item = service.mark_read(session, principal=principal, item_id=item_id)
    return InboxItemOut.model_validate(item)
