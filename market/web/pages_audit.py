"""The audit log of the curator's pools: every decision, newest first, filtered by pool,
actor, action, target and date range."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from core import audit
from core.deps import DbSession
from market.accounts.models import User
from market.web import curating
from market.web.security import CuratorWeb

router = APIRouter(include_in_schema=False)

CHINA = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 50


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CHINA)


@router.get("/curator/audit", response_class=HTMLResponse)
def audit_log(
    ctx: CuratorWeb,
    session: DbSession,
    pool: uuid.UUID | None = None,
    actor: Annotated[str, Query(max_length=40)] = "",
    action: Annotated[str, Query(max_length=80)] = "",
    target: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    managed = curating.managed_pools(session, ctx)
    if pool is not None:
        scope: tuple[uuid.UUID, ...] = (curating.managed_pool(session, ctx, pool).id,)
    else:
        scope = tuple(p.id for p in managed)
    actor_id: uuid.UUID | None = None
    try:
        actor_id = uuid.UUID(actor) if actor else None
    except ValueError:
        actor_id = None
    since_day, until_day = _day(since), _day(until)
    filters = audit.AuditFilter(
        scope_ids=scope,
        action=action.strip() or None,
        actor_user_id=actor_id,
        target_id=target.strip() or None,
        since=_start_of(since_day) if since_day else None,
        # The "until" day is included: records before the start of the next day.
        until=_start_of(until_day + timedelta(days=1)) if until_day else None,
    )
    offset = (page - 1) * PAGE_SIZE
    rows = audit.query(session, filters=filters, limit=PAGE_SIZE + 1, offset=offset)
    names = curating.user_names(session, (r.actor_user_id for r in rows))
    pool_names = {p.id: p.name for p in managed}
    agency_ids = {p.agency_org_id for p in managed}
    actors = list(
        session.scalars(
            select(User)
            .where(User.org_id.in_(agency_ids), User.role.in_(("curator", "admin")))
            .order_by(User.name, User.id)
        )
    )
    query = {
        "pool": pool,
        "actor": actor,
        "action": action,
        "target": target,
        "since": since_day.isoformat() if since_day else "",
        "until": until_day.isoformat() if until_day else "",
    }
    return ctx.render(
        "curator/audit.html",
        pools=managed,
        pool_names=pool_names,
        rows=rows[:PAGE_SIZE],
        names=names,
        actors=actors,
        query=query,
        page=page,
        has_more=len(rows) > PAGE_SIZE,
        section="audit",
        pool=None,
    )
