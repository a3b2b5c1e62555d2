"""Engagements (项目) for both parties: the SME and the provider see the same page, each with
the steps that are theirs — milestones handed in and accepted, delivery, 验收 with measured
KPIs, price changes only with the SME's consent, the subsidy record, cancellation.

``market.engagements.service`` decides everything: a non-party gets 404, the wrong party 403,
a step the state forbids 409. The page only offers the steps the service lists as possible.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core.concurrency import etag_for
from core.deps import DbSession
from core.errors import AppError
from core.pagination import PageParams
from market.engagements import service
from market.engagements.schemas import (
    KNOWN_KPIS,
    AcceptanceIn,
    EngagementOut,
    EngagementPatch,
)
from market.web import forms
from market.web.forms import FieldProblem, FormErrors
from market.web.security import CheckedForm, LoggedIn, WebContext
from market.web.sme_support import PAGE_SIZE, errors_from, page_count

router = APIRouter(include_in_schema=False)

STATUSES = ("active", "delivered", "accepted", "completed", "cancelled")
KPI_ROWS_SPARE = 3
MAX_KPIS = 20


def _load(ctx: WebContext, session: Session, engagement_id: uuid.UUID) -> tuple[EngagementOut, str]:
    assert ctx.principal is not None
    engagement, side = service.get_for_party(
        session, principal=ctx.principal, engagement_id=engagement_id
    )
    return service.to_out(session, engagement), side


@router.get("/engagements", response_class=HTMLResponse)
def engagement_list(
    ctx: LoggedIn,
    session: DbSession,
    status: str | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    assert ctx.principal is not None
    chosen = status if status in STATUSES else None
    params = PageParams(page=page, size=PAGE_SIZE)
    items, total = service.list_engagements(
        session, principal=ctx.principal, status=chosen, params=params
    )
    return ctx.render(
        "engagements/list.html",
        items=items,
        total=total,
        page=params.page,
        pages=page_count(total),
        status=chosen,
        statuses=STATUSES,
        query={"status": chosen},
        side=ctx.principal.role,
    )


def _plan_values(out: EngagementOut) -> dict[str, Any]:
    rows = [
        {
            "name": k.name,
            "unit": k.unit,
            "direction": k.direction,
            "baseline": forms_number(k.baseline),
            "target": forms_number(k.target),
        }
        for k in out.kpis
    ]
    return {
        "contract_reference": out.contract_reference,
        "maturity_level_before": str(out.maturity_level_before or ""),
        "kpis": rows,
    }


def forms_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _render(
    ctx: WebContext,
    session: Session,
    engagement_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    form_name: str = "",
    plan: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    assert ctx.principal is not None
    out, side = _load(ctx, session, engagement_id)
    changes = [
        service.change_out(row)
        for row in service.list_changes(
            session, principal=ctx.principal, engagement_id=engagement_id
        )
    ]
    values = plan or _plan_values(out)
    spare = max(0, min(KPI_ROWS_SPARE, MAX_KPIS - len(values["kpis"])))
    kpi_rows = values["kpis"] + [
        {"name": "", "unit": "", "direction": "increase", "baseline": "", "target": ""}
        for _ in range(spare)
    ]
    return ctx.render(
        "engagements/detail.html",
        status_code=status_code,
        e=out,
        side=side,
        changes=changes,
        errors=errors or FormErrors(),
        form_name=form_name,
        plan=values,
        kpi_rows=kpi_rows,
        known_kpis=KNOWN_KPIS,
    )


@router.get("/engagements/{engagement_id}", response_class=HTMLResponse)
def engagement_detail(engagement_id: uuid.UUID, ctx: LoggedIn, session: DbSession) -> HTMLResponse:
    return _render(ctx, session, engagement_id)


# --- one helper for every step -----------------------------------------------------------------


def run_step(
    ctx: WebContext,
    session: Session,
    engagement_id: uuid.UUID,
    *,
    form_name: str,
    done: str,
    action: Callable[[], Any],
    plan: dict[str, Any] | None = None,
) -> Response:
    """Run a service step: on success flash and go back to the page; on a refusal show the page
    with the reason beside the form that was sent."""
    _load(ctx, session, engagement_id)  # 404 for non-parties before any input is judged
    try:
        action()
    except FieldProblem as problem:
        errors = FormErrors()
        errors.add(problem.key, problem.message)
        return _render(
            ctx,
            session,
            engagement_id,
            errors=errors,
            form_name=form_name,
            plan=plan,
            status_code=422,
        )
    except ValidationError as exc:
        errors = forms.from_validation(ctx, exc, _key)
        return _render(
            ctx,
            session,
            engagement_id,
            errors=errors,
            form_name=form_name,
            plan=plan,
            status_code=422,
        )
    except AppError as exc:
        session.rollback()
        if exc.status_code in (403, 404):
            raise
        errors = errors_from(ctx, exc, _key)
        return _render(
            ctx,
            session,
            engagement_id,
            errors=errors,
            form_name=form_name,
            plan=plan,
            status_code=exc.status_code,
        )
    ctx.flash("success", done)
    return ctx.redirect(f"/engagements/{engagement_id}")


def _key(parts: list[str], _error: Any) -> str:
    """Error paths of the schemas → the controls of the page's forms."""
    if not parts:
        return forms.GENERAL
    head = parts[0]
    if head == "kpis" and len(parts) >= 3:
        return f"kpis.{parts[1]}.{parts[2]}"
    if head in ("kpis", "measured") and len(parts) >= 2:
        return f"{head}.{parts[1]}"
    return {"amount_fen": "amount", "contract_value_fen": "contract_value"}.get(head, head)


def _number(raw: str, ctx: WebContext, key: str) -> float | None:
    cleaned = raw.strip().replace(",", "")
    if not cleaned:
        return None
    try:
        return float(cleaned)
    except ValueError:
        raise FieldProblem(key, ctx.gettext("Enter a number.")) from None


def required_reason(ctx: WebContext, form: FormData) -> str:
    reason = forms.text(form, "reason")
    if not reason:
        raise FieldProblem("reason", ctx.gettext("Give a reason; the other party reads it."))
    return reason


# --- plan (SME) --------------------------------------------------------------------------------


def _kpi_rows(form: FormData) -> list[dict[str, str]]:
    rows = []
    for i in range(MAX_KPIS + KPI_ROWS_SPARE):
        if f"kpis.{i}.name" not in form:
            break
        row = {
            f: forms.text(form, f"kpis.{i}.{f}")
            for f in ("name", "unit", "direction", "baseline", "target")
        }
        if row["name"] or row["baseline"] or row["target"]:
            rows.append(row)
    return rows


@router.post("/engagements/{engagement_id}/plan", response_class=HTMLResponse)
def save_plan(
    engagement_id: uuid.UUID, ctx: LoggedIn, session: DbSession, form: CheckedForm
) -> Response:
    assert ctx.principal is not None
    rows = _kpi_rows(form)
    plan: dict[str, Any] = {
        "contract_reference": forms.text(form, "contract_reference"),
        "maturity_level_before": forms.text(form, "maturity_level_before"),
        "kpis": rows,
    }
    version = forms.text(form, "version")
    level = forms.text(form, "maturity_level_before")

    def act() -> None:
        assert ctx.principal is not None
        kpis = []
        for i, row in enumerate(rows):
            kpis.append(
                {
                    "name": row["name"],
                    "unit": row["unit"],
                    "direction": row["direction"] or "increase",
                    "baseline": _number(row["baseline"], ctx, f"kpis.{i}.baseline"),
                    "target": _number(row["target"], ctx, f"kpis.{i}.target"),
                }
            )
        data = EngagementPatch.model_validate(
            {
                "contract_reference": plan["contract_reference"],
                "maturity_level_before": int(level) if level.isdigit() else None,
                "kpis": kpis,
            }
        )
        service.update_plan(
            session,
            principal=ctx.principal,
            engagement_id=engagement_id,
            data=data,
            if_match=etag_for(int(version)) if version.isdigit() else '"invalid"',
        )

    return run_step(
        ctx,
        session,
        engagement_id,
        form_name="plan",
        done=ctx.gettext("The plan was saved."),
        action=act,
        plan=plan,
    )


# --- milestones --------------------------------------------------------------------------------


@router.post(
    "/engagements/{engagement_id}/milestones/{milestone_id}/{decision}",
    response_class=HTMLResponse,
)
def milestone_step(
    engagement_id: uuid.UUID,
    milestone_id: uuid.UUID,
    decision: Literal["submit", "accept", "reject"],
    ctx: LoggedIn,
    session: DbSession,
    form: CheckedForm,
) -> Response:
    def act() -> None:
        assert ctx.principal is not None
        if decision == "submit":
            service.submit_milestone(
                session,
                principal=ctx.principal,
                engagement_id=engagement_id,
                milestone_id=milestone_id,
                note=forms.text(form, "note"),
            )
            return
        service.decide_milestone(
            session,
            principal=ctx.principal,
            engagement_id=engagement_id,
            milestone_id=milestone_id,
            accept=decision == "accept",
            reason=required_reason(ctx, form) if decision == "reject" else "",
        )

    done = {
        "submit": ctx.gettext("The milestone was handed in."),
        "accept": ctx.gettext("The milestone was accepted."),
        "reject": ctx.gettext("The milestone was sent back."),
    }[decision]
    return run_step(
        ctx, session, engagement_id, form_name=f"ms-{milestone_id}", done=done, action=act
    )


# --- delivery, acceptance, completion, cancellation ---------------------------------------------


@router.post("/engagements/{engagement_id}/deliver", response_class=HTMLResponse)
def deliver(
    engagement_id: uuid.UUID, ctx: LoggedIn, session: DbSession, form: CheckedForm
) -> Response:
    def act() -> None:
        assert ctx.principal is not None
        service.deliver(
            session,
            principal=ctx.principal,
            engagement_id=engagement_id,
            note=forms.text(form, "note"),
        )

    return run_step(
        ctx,
        session,
        engagement_id,
        form_name="deliver",
        done=ctx.gettext("Delivery was declared; the company will check the results."),
        action=act,
    )


@router.post("/engagements/{engagement_id}/reject-delivery", response_class=HTMLResponse)
def reject_delivery(
    engagement_id: uuid.UUID, ctx: LoggedIn, session: DbSession, form: CheckedForm
) -> Response:
    def act() -> None:
        assert ctx.principal is not None
        service.reject_delivery(
            session,
            principal=ctx.principal,
            engagement_id=engagement_id,
            reason=required_reason(ctx, form),
        )

    return run_step(
        ctx,
        session,
        engagement_id,
        form_name="reject-delivery",
        done=ctx.gettext("The delivery was sent back."),
        action=act,
    )


@router.post("/engagements/{engagement_id}/accept", response_class=HTMLResponse)
def accept_delivery(
    engagement_id: uuid.UUID, ctx: LoggedIn, session: DbSession, form: CheckedForm
) -> Response:
    def act() -> None:
        assert ctx.principal is not None
        measured = []
        names = forms.choices(form, "kpi_names")
        for i, name in enumerate(names):
            value = _number(forms.text(form, f"measured.{i}"), ctx, f"measured.{i}")
            if value is None:
                raise FieldProblem(f"measured.{i}", ctx.gettext(forms.REQUIRED))
            measured.append({"name": name, "value": value})
        level = forms.text(form, "maturity_level_after")
        data = AcceptanceIn.model_validate(
            {
                "measured": measured,
                "maturity_level_after": int(level) if level.isdigit() else None,
                "note": forms.text(form, "note"),
            }
        )
        service.accept_delivery(
            session, principal=ctx.principal, engagement_id=engagement_id, data=data
        )

    return run_step(
        ctx,
        session,
        engagement_id,
        form_name="accept",
        done=ctx.gettext("The results were accepted (验收)."),
        action=act,
    )


@router.post("/engagements/{engagement_id}/complete", response_class=HTMLResponse)
def complete(
    engagement_id: uuid.UUID, ctx: LoggedIn, session: DbSession, form: CheckedForm
) -> Response:
    def act() -> None:
        assert ctx.principal is not None
        service.complete(session, principal=ctx.principal, engagement_id=engagement_id)

    return run_step(
        ctx,
        session,
        engagement_id,
        form_name="complete",
        done=ctx.gettext("The project is completed."),
        action=act,
    )


@router.post("/engagements/{engagement_id}/cancel", response_class=HTMLResponse)
def cancel(
    engagement_id: uuid.UUID, ctx: LoggedIn, session: DbSession, form: CheckedForm
) -> Response:
    def act() -> None:
        assert ctx.principal is not None
        service.cancel(
            session,
            principal=ctx.principal,
            engagement_id=engagement_id,
            reason=required_reason(ctx, form),
        )

    return run_step(
        ctx,
        session,
        engagement_id,
        form_name="cancel",
        done=ctx.gettext("The project was cancelled; the other party was told."),
        action=act,
    )
