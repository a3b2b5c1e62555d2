"""Public pool pages: the resource pools (资源池), each with its listed providers per category
and the open public notice (公示), where anyone logged in may raise an objection (异议)."""

from __future__ import annotations

import math
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from catalog.pools import lifecycle
from catalog.pools import service as pools
from catalog.pools.schemas import ObjectionIn
from catalog.taxonomy import is_known_region
from core.deps import DbSession
from core.pagination import PageParams
from market.web import curating, forms
from market.web.security import CheckedForm, LoggedIn, Web

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20


@router.get("/pools", response_class=HTMLResponse)
def pool_list(
    ctx: Web,
    session: DbSession,
    region: Annotated[str, Query(max_length=6)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    jurisdiction = region if region and is_known_region(region) else None
    params = PageParams(page=page, size=PAGE_SIZE)
    items, total = pools.list_pools(
        session, filters=pools.PoolFilters(jurisdiction=jurisdiction), params=params
    )
    return ctx.render(
        "pools/list.html",
        items=items,
        total=total,
        page=params.page,
        pages=max(1, math.ceil(total / params.size)),
        region=jurisdiction or "",
        query={"region": jurisdiction},
    )


@router.get("/pools/{pool_id}", response_class=HTMLResponse)
def pool_page(pool_id: uuid.UUID, ctx: Web, session: DbSession) -> HTMLResponse:
    pool = pools.get_pool(session, pool_id)
    return ctx.render(
        "pools/detail.html",
        pool=pool,
        members=pools.members(session, pool_id=pool.id),
        notices=pools.notices(session, pool_id=pool.id),
        manages=pools.is_pool_curator(ctx.principal, pool),
    )


@router.post("/pools/{pool_id}/notices/{application_id}/objection")
def object_to_notice(
    pool_id: uuid.UUID,
    application_id: uuid.UUID,
    ctx: LoggedIn,
    session: DbSession,
    form: CheckedForm,
) -> Response:
    assert ctx.principal is not None
    principal = ctx.principal
    loaded = pools.load_application(session, application_id)
    if loaded.pool.id != pool_id:
        raise pools.application_not_found()

    def act() -> None:
        data = ObjectionIn.model_validate({"text": forms.text(form, "text")})
        lifecycle.lodge_objection(
            session, principal=principal, application_id=application_id, data=data
        )

    return curating.run(
        ctx,
        session,
        act,
        success=ctx.gettext(
            "Your objection is recorded. The pool's curators will look into it before the "
            "provider can be listed."
        ),
        back=f"/pools/{pool_id}#notices",
    )
