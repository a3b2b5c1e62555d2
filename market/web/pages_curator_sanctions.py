"""Sanctions on listings (警告, 限期整改, 停牌, 取消资格), appeals (申诉) decided by a curator
who took no part in the decision appealed against, and reported material changes."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from catalog.pools import changes, sanctions
from catalog.pools import service as pools
from catalog.pools.models import PoolAppeal, PoolApplication, PoolSanction
from catalog.pools.schemas import (
    AppealDecisionIn,
    ChangeReviewIn,
    ReasonIn,
    RectificationReviewIn,
    SanctionIn,
)
from catalog.providers.models import Provider
from core.deps import DbSession
from market.web import curating, forms
from market.web.i18n import N_
from market.web.security import CheckedForm, CuratorWeb, WebContext

router = APIRouter(include_in_schema=False)

CHINA = ZoneInfo("Asia/Shanghai")
KIND_LABELS = {
    "warning": N_("Warning (警告)"),
    "rectification": N_("Rectification by a deadline (限期整改)"),
    "suspension": N_("Suspension (停牌)"),
    "removal": N_("Removal (取消资格)"),
}
STATUS_LABELS = {
    "active": N_("In force"),
    "open": N_("Not yet resolved"),
    "reported": N_("Rectification reported"),
    "closed": N_("Resolved and closed"),
    "lifted": N_("Suspension lifted"),
    "revoked": N_("Revoked on appeal"),
    "superseded": N_("Superseded by a later sanction"),
    "upheld": N_("Upheld on review"),
    "dismissed": N_("Dismissed on review"),
    "confirmed": N_("Listing confirmed"),
    "rereview": N_("Re-review opened"),
}


def _deadline(form: FormData) -> datetime | None:
    """A date typed in the form: the end of that day in China."""
    raw = forms.text(form, "deadline")
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return datetime.min  # the schema refuses a naive value with a clear message
    return datetime.combine(day, time(23, 59, 59), tzinfo=CHINA)


def _provider_names(session: Session, application_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not application_ids:
        return {}
    rows = session.execute(
        select(PoolApplication.id, Provider.legal_name)
        .join(Provider, Provider.id == PoolApplication.provider_id)
        .where(PoolApplication.id.in_(application_ids))
    )
    return {row[0]: row[1] for row in rows}


@router.get("/curator/pools/{pool_id}/sanctions", response_class=HTMLResponse)
def sanctions_page(pool_id: uuid.UUID, ctx: CuratorWeb, session: DbSession) -> HTMLResponse:
    assert ctx.principal is not None
    pool = curating.managed_pool(session, ctx, pool_id)
    issued = sanctions.pool_sanctions(
        session, principal=ctx.principal, pool_id=pool.id, kind=None, status=None
    )
    appeals = sanctions.pool_appeals(session, principal=ctx.principal, pool_id=pool.id, status=None)
    reported = changes.pool_changes(session, principal=ctx.principal, pool_id=pool.id, status=None)
    ids = {s.application_id for s in issued} | {a.application_id for a in appeals}
    return ctx.render(
        "curator/sanctions.html",
        pool=pool,
        sanctions=issued,
        appeals=appeals,
        changes=reported,
        names=_provider_names(session, ids),
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
        section="sanctions",
    )


def _pool_of(ctx: WebContext, session: Session, application_id: uuid.UUID) -> uuid.UUID:
    assert ctx.principal is not None
    return pools.as_curator(session, ctx.principal, application_id).pool.id


@router.post("/curator/applications/{application_id}/sanctions")
def issue(
    application_id: uuid.UUID, ctx: CuratorWeb, session: DbSession, form: CheckedForm
) -> Response:
    assert ctx.principal is not None
    principal = ctx.principal
    _pool_of(ctx, session, application_id)
    payload: dict[str, Any] = {
        "kind": forms.text(form, "kind"),
        "reason": forms.text(form, "reason"),
    }
    deadline = _deadline(form)
    if deadline is not None:
        payload["deadline"] = deadline

    def act() -> None:
        data = SanctionIn.model_validate(payload)
        sanctions.issue(session, principal=principal, application_id=application_id, data=data)

    return curating.run(
        ctx,
        session,
        act,
        success=ctx.gettext("Sanction issued. The provider is told."),
        back=f"/curator/applications/{application_id}#sanction",
    )


def _sanction_pool(ctx: WebContext, session: Session, sanction_id: uuid.UUID) -> uuid.UUID:
    """The pool a sanction belongs to, for the way back; 404 to those who may not see it."""
    assert ctx.principal is not None
    application_id = session.scalar(
        select(PoolSanction.application_id).where(PoolSanction.id == sanction_id)
    )
    if application_id is None:
        raise sanctions.sanction_not_found()
    return _pool_of(ctx, session, application_id)


@router.post("/curator/sanctions/{sanction_id}/review")
def review_report(
    sanction_id: uuid.UUID, ctx: CuratorWeb, session: DbSession, form: CheckedForm
) -> Response:
    assert ctx.principal is not None
    principal = ctx.principal
    pool_id = _sanction_pool(ctx, session, sanction_id)

    def act() -> None:
        payload: dict[str, Any] = {
            "outcome": forms.text(form, "outcome"),
            "reason": forms.text(form, "reason"),
        }
        deadline = _deadline(form)
        if deadline is not None:
            payload["deadline"] = deadline
        data = RectificationReviewIn.model_validate(payload)
        sanctions.review_report(session, principal=principal, sanction_id=sanction_id, data=data)

    return curating.run(
        ctx,
        session,
        act,
        success=ctx.gettext("Rectification report reviewed."),
        back=f"/curator/pools/{pool_id}/sanctions",
    )


@router.post("/curator/sanctions/{sanction_id}/lift")
def lift(
    sanction_id: uuid.UUID, ctx: CuratorWeb, session: DbSession, form: CheckedForm
) -> Response:
    assert ctx.principal is not None
    principal = ctx.principal
    pool_id = _sanction_pool(ctx, session, sanction_id)

    def act() -> None:
        data = ReasonIn.model_validate({"reason": forms.text(form, "reason")})
        sanctions.lift(session, principal=principal, sanction_id=sanction_id, reason=data.reason)

    return curating.run(
        ctx,
        session,
        act,
        success=ctx.gettext("Suspension lifted."),
        back=f"/curator/pools/{pool_id}/sanctions",
    )


@router.post("/curator/appeals/{appeal_id}/decision")
def decide_appeal(
    appeal_id: uuid.UUID, ctx: CuratorWeb, session: DbSession, form: CheckedForm
) -> Response:
    assert ctx.principal is not None
    principal = ctx.principal
    application_id = session.scalar(
        select(PoolAppeal.application_id).where(PoolAppeal.id == appeal_id)
    )
    if application_id is None:
        raise sanctions.appeal_not_found()
    pool_id = _pool_of(ctx, session, application_id)

    def act() -> None:
        payload: dict[str, Any] = {
            "outcome": forms.text(form, "outcome"),
            "reason": forms.text(form, "reason"),
        }
        if forms.text(form, "star_rating"):
            payload["star_rating"] = forms.text(form, "star_rating")
        data = AppealDecisionIn.model_validate(payload)
        sanctions.decide_appeal(session, principal=principal, appeal_id=appeal_id, data=data)

    return curating.run(
        ctx,
        session,
        act,
        success=ctx.gettext("Appeal decided. The provider is told."),
        back=f"/curator/pools/{pool_id}/sanctions#appeals",
    )


@router.post("/curator/applications/{application_id}/changes/{change_id}/review")
def review_change(
    application_id: uuid.UUID,
    change_id: uuid.UUID,
    ctx: CuratorWeb,
    session: DbSession,
    form: CheckedForm,
) -> Response:
    assert ctx.principal is not None
    principal = ctx.principal
    pool_id = _pool_of(ctx, session, application_id)

    def act() -> None:
        data = ChangeReviewIn.model_validate(
            {"outcome": forms.text(form, "outcome"), "reason": forms.text(form, "reason")}
        )
        changes.review_change(
            session,
            principal=principal,
            application_id=application_id,
            change_id=change_id,
            data=data,
        )

    return curating.run(
        ctx,
        session,
        act,
        success=ctx.gettext("Change reviewed."),
        back=f"/curator/pools/{pool_id}/sanctions#changes",
    )
