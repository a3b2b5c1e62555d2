"""公示 and objections, and the re-review (复审) calendar of a pool's listings."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from catalog.pools import lifecycle, rereview
from catalog.pools import service as pools
from catalog.pools.models import PoolApplication, PoolObjection, PoolRereview
from catalog.pools.schemas import ObjectionOut, ReasonIn, ResolutionIn
from catalog.providers.models import Provider
from core.deps import DbSession
from market.web import curating, forms
from market.web.security import CheckedForm, CuratorWeb

router = APIRouter(include_in_schema=False)

CHINA = ZoneInfo("Asia/Shanghai")
# Listings that run out and so come up for re-review: shown or held by a sanction.
CALENDAR_STATES = ("listed", "suspended", "expired")


@router.get("/curator/pools/{pool_id}/notices", response_class=HTMLResponse)
def notices(pool_id: uuid.UUID, ctx: CuratorWeb, session: DbSession) -> HTMLResponse:
    pool = curating.managed_pool(session, ctx, pool_id)
    items = pools.notices(session, pool_id=pool.id)
    by_application: dict[uuid.UUID, list[ObjectionOut]] = defaultdict(list)
    if items:
        rows = session.scalars(
            select(PoolObjection)
            .where(PoolObjection.application_id.in_([n.application_id for n in items]))
            .order_by(PoolObjection.created_at, PoolObjection.id)
        )
        for row in rows:
            by_application[row.application_id].append(ObjectionOut.model_validate(row))
    return ctx.render(
        "curator/notices.html",
        pool=pool,
        notices=items,
        objections=by_application,
        section="notices",
    )


@router.post("/curator/applications/{application_id}/objections/{objection_id}/resolve")
def resolve_objection(
    application_id: uuid.UUID,
    objection_id: uuid.UUID,
    ctx: CuratorWeb,
    session: DbSession,
    form: CheckedForm,
) -> Response:
    assert ctx.principal is not None
    principal = ctx.principal
    loaded = pools.as_curator(session, principal, application_id)
    outcome = forms.text(form, "outcome")

    def act() -> None:
        data = ResolutionIn.model_validate(
            {"outcome": outcome, "reason": forms.text(form, "reason")}
        )
        lifecycle.resolve_objection(
            session,
            principal=principal,
            application_id=application_id,
            objection_id=objection_id,
            data=data,
        )

    success = (
        ctx.gettext("Objection upheld: the application is rejected.")
        if outcome == "uphold"
        else ctx.gettext("Objection dismissed.")
    )
    back = f"/curator/pools/{loaded.pool.id}/notices"
    return curating.run(ctx, session, act, success=success, back=back)


@router.post("/curator/pools/{pool_id}/notices/close-due")
def close_due(
    pool_id: uuid.UUID, ctx: CuratorWeb, session: DbSession, form: CheckedForm
) -> Response:
    assert ctx.principal is not None
    pool = curating.managed_pool(session, ctx, pool_id)
    listed = lifecycle.close_due_for_pool(session, principal=ctx.principal, pool_id=pool.id)
    ctx.flash(
        "success",
        ctx.gettext(
            "%(n)s providers whose notice is over without open objections are now listed.",
            n=len(listed),
        ),
    )
    return ctx.redirect(f"/curator/pools/{pool.id}/notices")


# --- re-review calendar ------------------------------------------------------------------------


@router.get("/curator/pools/{pool_id}/rereviews", response_class=HTMLResponse)
def calendar(pool_id: uuid.UUID, ctx: CuratorWeb, session: DbSession) -> HTMLResponse:
    pool = curating.managed_pool(session, ctx, pool_id)
    rows = session.execute(
        select(PoolApplication, Provider.legal_name)
        .join(Provider, Provider.id == PoolApplication.provider_id)
        .where(PoolApplication.pool_id == pool.id, PoolApplication.state.in_(CALENDAR_STATES))
        .order_by(PoolApplication.valid_until, Provider.legal_name, PoolApplication.id)
    ).all()
    open_rounds = set(
        session.scalars(
            select(PoolRereview.application_id).where(
                PoolRereview.application_id.in_([app.id for app, _ in rows]),
                PoolRereview.state == "open",
            )
        )
    )
    months: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for app, name in rows:
        month = app.valid_until.astimezone(CHINA).strftime("%Y-%m") if app.valid_until else ""
        months[month].append(
            {
                "id": app.id,
                "provider": name,
                "category": pool.category_name(app.category_id),
                "state": app.state,
                "valid_until": app.valid_until,
                "star_rating": app.star_rating,
                "rereview_open": app.id in open_rounds,
            }
        )
    return ctx.render(
        "curator/rereviews.html",
        pool=pool,
        months=sorted(months.items(), key=lambda item: (item[0] == "", item[0])),
        states=curating.STATE_LABELS,
        section="rereviews",
    )


@router.post("/curator/applications/{application_id}/rereview")
def start_rereview(
    application_id: uuid.UUID, ctx: CuratorWeb, session: DbSession, form: CheckedForm
) -> Response:
    assert ctx.principal is not None
    principal = ctx.principal
    loaded = pools.as_curator(session, principal, application_id)

    def act() -> None:
        data = ReasonIn.model_validate({"reason": forms.text(form, "reason")})
        rereview.request_rereview(
            session, principal=principal, application_id=application_id, reason=data.reason
        )

    return curating.run(
        ctx,
        session,
        act,
        success=ctx.gettext("Re-review opened. The listing stays as it is until it is decided."),
        back=f"/curator/pools/{loaded.pool.id}/rereviews",
    )


@router.post("/curator/pools/{pool_id}/expire-due")
def expire_due(
    pool_id: uuid.UUID, ctx: CuratorWeb, session: DbSession, form: CheckedForm
) -> Response:
    assert ctx.principal is not None
    pool = curating.managed_pool(session, ctx, pool_id)
    result = rereview.expire_due_for_pool(session, principal=ctx.principal, pool_id=pool.id)
    ctx.flash(
        "success",
        ctx.gettext(
            "%(n)s listings past their validity have expired and their re-reviews are open.",
            n=len(result.expired),
        ),
    )
    return ctx.redirect(f"/curator/pools/{pool.id}/rereviews")
