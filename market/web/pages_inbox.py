"""The inbox page for every logged-in user: notifications, unread first, marked read one by
one or all at once. The header shows the unread count on every page (``WebContext.unread``).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from core.deps import DbSession
from core.pagination import PageParams
from market.inbox import service as inbox
from market.inbox.schemas import InboxItemOut
from market.web.security import CheckedForm, LoggedIn
from market.web.sme_support import page_count

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20


def link_for(item: InboxItemOut, role: str) -> str | None:
    """Where the notification's subject can be opened by this reader, if we know a page."""
    data: dict[str, Any] = item.data
    if data.get("engagement_id") and role in ("sme", "provider"):
        return f"/engagements/{data['engagement_id']}"
    if data.get("rfq_id") and role == "sme":
        return f"/sme/rfqs/{data['rfq_id']}"
    if data.get("need_id") and role == "sme":
        return f"/sme/needs/{data['need_id']}"
    return None


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    ctx: LoggedIn,
    session: DbSession,
    unread: bool = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    assert ctx.principal is not None
    params = PageParams(page=page, size=PAGE_SIZE)
    found = inbox.page(session, principal=ctx.principal, unread_only=unread, params=params)
    role = ctx.principal.role
    return ctx.render(
        "inbox.html",
        items=[(item, link_for(item, role)) for item in found.items],
        total=found.total,
        unread_total=found.unread,
        page=params.page,
        pages=page_count(found.total, PAGE_SIZE),
        only_unread=unread,
        query={"unread": "true" if unread else None},
    )


@router.post("/inbox/read-all")
def read_all(ctx: LoggedIn, session: DbSession, form: CheckedForm) -> Response:
    assert ctx.principal is not None
    marked = inbox.mark_all_read(session, principal=ctx.principal)
    ctx.flash("success", ctx.gettext("%(n)s notifications marked as read.", n=marked))
    return ctx.redirect("/inbox")


@router.post("/inbox/{item_id}/read")
def read_one(item_id: uuid.UUID, ctx: LoggedIn, session: DbSession, form: CheckedForm) -> Response:
    assert ctx.principal is not None
    inbox.mark_read(session, principal=ctx.principal, item_id=item_id)
    return ctx.redirect("/inbox")
