"""The curator's vetting queue and an application's page, with the 形式审查 steps: accept for
expert review, return with reasons, assign reviewers. Scoring and the decision are in
``pages_curator_scoring``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.pools import evidence, lifecycle
from catalog.pools import service as pools
from catalog.pools.models import PoolApplication, PoolObjection
from catalog.pools.schemas import ObjectionOut, ReasonsIn, ReviewersIn
from catalog.pools.storage import storage_for
from catalog.solutions.models import Solution
from core import audit
from core.deps import DbSession
from core.pagination import PageParams
from market.web import curating, forms
from market.web.security import CheckedForm, CuratorWeb, WebContext

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20


def state_counts(session: Session, pool_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    """Applications per state for each pool, in one query."""
    counts: dict[uuid.UUID, dict[str, int]] = {pid: {} for pid in pool_ids}
    if not pool_ids:
        return counts
    rows = session.execute(
        select(PoolApplication.pool_id, PoolApplication.state, func.count())
        .where(PoolApplication.pool_id.in_(pool_ids))
        .group_by(PoolApplication.pool_id, PoolApplication.state)
    )
    for pool_id, state, n in rows:
        counts[pool_id][state] = int(n)
    return counts


@router.get("/curator", response_class=HTMLResponse)
def queue(
    ctx: CuratorWeb,
    session: DbSession,
    pool: uuid.UUID | None = None,
    state: str | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    assert ctx.principal is not None
    managed = curating.managed_pools(session, ctx)
    counts = state_counts(session, [p.id for p in managed])
    chosen = next((p for p in managed if p.id == pool), managed[0] if managed else None)
    if pool is not None and (chosen is None or chosen.id != pool):
        # Another agency's pool named in the address: refused, not quietly replaced.
        curating.managed_pool(session, ctx, pool)
    chosen_state = state if state in curating.STATE_LABELS else "submitted"
    items: list[Any] = []
    total = 0
    params = PageParams(page=page, size=PAGE_SIZE)
    if chosen is not None:
        items, total = pools.list_for_pool(
            session, principal=ctx.principal, pool_id=chosen.id, state=chosen_state, params=params
        )
    return ctx.render(
        "curator/queue.html",
        pools=managed,
        counts=counts,
        pool=chosen,
        state=chosen_state,
        states=curating.STATE_LABELS,
        queue_states=curating.QUEUE_STATES,
        items=items,
        total=total,
        page=params.page,
        pages=max(1, math.ceil(total / params.size)),
        query={"pool": chosen.id if chosen else None, "state": chosen_state},
        section="queue",
    )


def _timeline(session: Session, application_id: uuid.UUID) -> list[dict[str, Any]]:
    filters = audit.AuditFilter(target_type=pools.APPLICATION_TARGET, target_id=str(application_id))
    rows = list(
        reversed(audit.query(session, filters=filters, limit=pools.HISTORY_LIMIT, offset=0))
    )
    names = curating.user_names(session, (r.actor_user_id for r in rows))
    return [
        {
            "at": r.at,
            "action": r.action.removeprefix(pools.APPLICATION_AUDIT_PREFIX),
            "actor": names.get(r.actor_user_id, "") if r.actor_user_id else "",
            "role": r.actor_role,
            "state": (r.after or {}).get("state"),
            "reason": r.reason,
        }
        for r in rows
    ]


def application_page(
    ctx: WebContext, session: Session, application_id: uuid.UUID, *, status_code: int = 200
) -> HTMLResponse:
    assert ctx.principal is not None
    loaded = pools.as_curator(session, ctx.principal, application_id)
    out = pools.to_out(loaded, "curator")
    titles = session.execute(
        select(Solution.id, Solution.title).where(Solution.id.in_(out.solution_ids))
    )
    solution_titles = {row[0]: row[1] for row in titles}
    objections = [
        ObjectionOut.model_validate(o)
        for o in session.scalars(
            select(PoolObjection)
            .where(PoolObjection.application_id == loaded.app.id)
            .order_by(PoolObjection.created_at, PoolObjection.id)
        )
    ]
    reviewers = curating.agency_curators(session, loaded.pool)
    names = curating.user_names(
        session, [r.reviewer_user_id for r in loaded.app.reviews] + [u.id for u in reviewers]
    )
    my_review = loaded.app.review_by(ctx.principal.user_id)
    scorecard = loaded.app.scorecard or loaded.pool.scorecard
    mine = {p["criterion_id"]: p for p in (my_review.scores or [])} if my_review else {}
    category = loaded.pool.category(out.category_id) or {}
    return ctx.render(
        "curator/application.html",
        status_code=status_code,
        app=out,
        pool=loaded.pool,
        provider=loaded.provider,
        category=category,
        solutions=[(sid, solution_titles.get(sid, str(sid))) for sid in out.solution_ids],
        documents=evidence.application_evidence(
            session, principal=ctx.principal, application_id=loaded.app.id
        ),
        objections=objections,
        timeline=_timeline(session, loaded.app.id),
        reviewers=reviewers,
        names=names,
        my_review=my_review,
        scorecard=scorecard,
        my_scores=mine,
        quota_note=_quota_note(session, loaded.pool.id, category, loaded.app.id),
        states=curating.STATE_LABELS,
        actions=curating.ACTION_LABELS,
        section="queue",
    )


def _quota_note(
    session: Session, pool_id: uuid.UUID, category: dict[str, Any], app_id: uuid.UUID
) -> dict[str, int] | None:
    """Places taken in the category when approving would go beyond its quota."""
    quota = category.get("quota")
    if quota is None:
        return None
    taken = session.scalar(
        select(func.count()).where(
            PoolApplication.pool_id == pool_id,
            PoolApplication.category_id == category["id"],
            PoolApplication.state.in_(("in_notice", "listed", "suspended", "expired")),
            PoolApplication.id != app_id,
        )
    )
    taken = int(taken or 0)
    return {"quota": int(quota), "taken": taken} if taken >= quota else None


@router.get("/curator/applications/{application_id}", response_class=HTMLResponse)
def application_detail(
    application_id: uuid.UUID, ctx: CuratorWeb, session: DbSession
) -> HTMLResponse:
    return application_page(ctx, session, application_id)


def _back(application_id: uuid.UUID) -> str:
    return f"/curator/applications/{application_id}"


@router.post("/curator/applications/{application_id}/accept")
def accept(
    application_id: uuid.UUID, ctx: CuratorWeb, session: DbSession, form: CheckedForm
) -> Response:
    assert ctx.principal is not None
    principal = ctx.principal
    return curating.run(
        ctx,
        session,
        lambda: lifecycle.accept(session, principal=principal, application_id=application_id),
        success=ctx.gettext("Accepted for expert review. Assign the reviewers next."),
        back=_back(application_id),
    )


@router.post("/curator/applications/{application_id}/return")
def return_application(
    application_id: uuid.UUID, ctx: CuratorWeb, session: DbSession, form: CheckedForm
) -> Response:
    assert ctx.principal is not None
    principal = ctx.principal
    # Someone who may not run the application is refused before the form is even read.
    pools.as_curator(session, principal, application_id)

    def act() -> None:
        data = ReasonsIn.model_validate({"reasons": curating.lines(forms.text(form, "reasons"))})
        lifecycle.return_application(
            session, principal=principal, application_id=application_id, reasons=data.reasons
        )

    return curating.run(
        ctx,
        session,
        act,
        success=ctx.gettext("Returned to the provider with your reasons."),
        back=_back(application_id),
    )


@router.post("/curator/applications/{application_id}/reviewers")
def assign_reviewers(
    application_id: uuid.UUID, ctx: CuratorWeb, session: DbSession, form: CheckedForm
) -> Response:
    assert ctx.principal is not None
    principal = ctx.principal
    pools.as_curator(session, principal, application_id)

    def act() -> None:
        ids = [v for v in form.getlist("user_ids") if isinstance(v, str) and v]
        data = ReviewersIn.model_validate({"user_ids": ids})
        lifecycle.assign_reviewers(
            session, principal=principal, application_id=application_id, data=data
        )

    return curating.run(
        ctx,
        session,
        act,
        success=ctx.gettext("Reviewers assigned."),
        back=_back(application_id),
    )


@router.get("/curator/evidence/{document_id}/download")
def download_evidence(
    document_id: uuid.UUID, request: Request, ctx: CuratorWeb, session: DbSession
) -> StreamingResponse:
    """An evidence document put forward in one of the curator's pools, always as a download."""
    assert ctx.principal is not None
    document, handle = evidence.open_for_download(
        session,
        principal=ctx.principal,
        storage=storage_for(request, ctx.settings),
        document_id=document_id,
    )

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(evidence.CHUNK):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type=document.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
