"""The SME's needs: list, detail and edit, the guided wizard, and the explained
recommendations for a need.

Every read and write goes through ``market.needs.service`` and
``market.recommendations.service``, which decide who may see what: another company's need
is a 404 here exactly as in the API.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.concurrency import etag_for
from core.deps import DbSession
from core.errors import AppError
from core.pagination import PageParams
from market.needs import service as needs
from market.needs.schemas import NeedIn, NeedOut, NeedPatch, SmeProfileIn
from market.recommendations import service as recommendations
from market.recommendations.index_cache import cache_of
from market.recommendations.schemas import RecommendationOut, RecommendIn
from market.rfqs import service as rfqs
from market.rfqs.models import Rfq
from market.web import forms, wizard
from market.web.forms import FieldProblem, FormErrors
from market.web.security import CheckedForm, SmeWeb, WebContext
from market.web.sme_support import (
    PAGE_SIZE,
    default_deadline,
    errors_from,
    page_count,
    sme_profile,
)
from market.web.templating import yuan_input

router = APIRouter(include_in_schema=False)

# --- the wizard --------------------------------------------------------------------------------


def _render_wizard(
    ctx: WebContext,
    session: Session,
    state: wizard.WizardState,
    step: int,
    errors: FormErrors,
    status_code: int = 200,
) -> HTMLResponse:
    profile = sme_profile(ctx, session)
    if step >= 2:
        state.suggest(profile)
    if step >= 4:
        state.fill_protocols(profile)
    return ctx.render(
        "sme/wizard.html",
        status_code=status_code,
        step=step,
        steps=[ctx.gettext(name) for name in wizard.STEPS],
        state=state,
        hidden=state.hidden(step),
        errors=errors,
        profile=profile,
        pains=wizard.pain_points(),
        understood=state.understood() if step == wizard.LAST_STEP else None,
        levels=wizard.LEVELS,
    )


@router.get("/sme/needs/new", response_class=HTMLResponse)
def wizard_start(ctx: SmeWeb, session: DbSession) -> HTMLResponse:
    profile = sme_profile(ctx, session)
    state = wizard.WizardState(industry=profile.industry_code or "")
    return _render_wizard(ctx, session, state, 1, FormErrors())


@router.post("/sme/needs/new", response_class=HTMLResponse)
def wizard_step(ctx: SmeWeb, session: DbSession, form: CheckedForm) -> Response:
    raw_step = forms.text(form, "step")
    step = int(raw_step) if raw_step.isdigit() and 1 <= int(raw_step) <= wizard.LAST_STEP else 1
    state = wizard.WizardState.from_form(form, step)
    for extra in forms.choices(form, "add_nice"):
        if extra not in state.must and extra not in state.nice:
            state.nice.append(extra)
    for extra in forms.choices(form, "add_protocols"):
        if extra not in state.protocols:
            state.protocols.append(extra)
    go = forms.text(form, "go")
    if go.isdigit() and 1 <= int(go) < step:
        # Going back never loses what this step holds, and never checks it either.
        return _render_wizard(ctx, session, state, int(go), FormErrors())
    errors = state.check(ctx, step)
    if errors:
        return _render_wizard(ctx, session, state, step, errors, 422)
    if go == "reread":
        return _render_wizard(ctx, session, state, step, FormErrors())
    if step < wizard.LAST_STEP:
        return _render_wizard(ctx, session, state, step + 1, FormErrors())
    return _create_from_wizard(ctx, session, state)


def _create_from_wizard(ctx: WebContext, session: Session, state: wizard.WizardState) -> Response:
    assert ctx.principal is not None
    errors = FormErrors()
    try:
        data = NeedIn.model_validate(state.payload(ctx))
    except FieldProblem as problem:
        errors.add(problem.key, problem.message)
    except ValidationError as exc:
        errors.merge(forms.from_validation(ctx, exc, wizard.need_key))
    if errors:
        step = wizard.step_of_errors(errors)
        return _render_wizard(ctx, session, state, step, errors, 422)
    try:
        _keep_industry(ctx, session, state.industry)
        need = needs.create_need(session, principal=ctx.principal, data=data)
    except AppError as exc:
        session.rollback()
        errors = errors_from(ctx, exc, wizard.need_key)
        return _render_wizard(
            ctx, session, state, wizard.step_of_errors(errors), errors, exc.status_code
        )
    return _recommend_and_show(ctx, session, need.id, created=True)


def _keep_industry(ctx: WebContext, session: Session, industry: str) -> None:
    """The industry chosen in the wizard becomes the profile's: recommendations read it there."""
    assert ctx.principal is not None
    profile = sme_profile(ctx, session)
    if not industry or industry == profile.industry_code:
        return
    data = SmeProfileIn.model_validate(
        {
            "industry_code": industry,
            "employees": profile.employees,
            "revenue_wan": profile.revenue_wan,
            "region_code": profile.region_code,
            "equipment": [
                item.model_dump(exclude={"protocol_guess"}) for item in profile.equipment
            ],
            "existing_systems": profile.existing_systems,
            "maturity": profile.maturity,
        }
    )
    if_match = etag_for(profile.version) if profile.version else None
    needs.put_profile(session, principal=ctx.principal, data=data, if_match=if_match)


# --- needs list and detail ---------------------------------------------------------------------


@router.get("/sme/needs", response_class=HTMLResponse)
def needs_list(
    ctx: SmeWeb,
    session: DbSession,
    status: str | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    assert ctx.principal is not None
    chosen = status if status in ("open", "closed") else None
    params = PageParams(page=page, size=PAGE_SIZE)
    rows, total = needs.list_needs(
        session, principal=ctx.principal, filters=needs.NeedFilters(status=chosen), params=params
    )
    return ctx.render(
        "sme/needs.html",
        items=rows,
        total=total,
        page=params.page,
        pages=page_count(total),
        status=chosen,
        query={"status": chosen},
    )


def own_need(ctx: WebContext, session: Session, need_id: uuid.UUID) -> NeedOut:
    """The SME's own need; 404 for anyone else, like the API (a shared provider too)."""
    assert ctx.principal is not None
    need = needs.get_readable(session, principal=ctx.principal, need_id=need_id)
    return needs.to_out(session, need, principal=ctx.principal)


@router.get("/sme/needs/{need_id}", response_class=HTMLResponse)
def need_detail(need_id: uuid.UUID, ctx: SmeWeb, session: DbSession) -> HTMLResponse:
    need = own_need(ctx, session, need_id)
    # The need is the SME's own, so are the RFQs sent for it.
    sent = session.scalars(
        select(Rfq).where(Rfq.need_id == need.id).order_by(Rfq.created_at.desc())
    )
    return ctx.render("sme/need.html", need=need, rfqs=list(sent))


# --- editing a need ----------------------------------------------------------------------------


def _need_values(need: NeedOut) -> dict[str, Any]:
    return {
        "title": need.title,
        "description": need.description,
        "must_capabilities": list(need.must_capabilities),
        "nice_capabilities": list(need.nice_capabilities),
        "protocols": list(need.protocols),
        "budget_min": yuan_input(need.budget_min_fen),
        "budget_max": yuan_input(need.budget_max_fen),
        "preferred_pricing": list(need.preferred_pricing),
        "onsite_required": need.onsite_required,
        "status": need.status,
        "version": str(need.version),
    }


def _render_edit(
    ctx: WebContext,
    need: NeedOut,
    values: dict[str, Any],
    errors: FormErrors,
    status_code: int = 200,
) -> HTMLResponse:
    return ctx.render(
        "sme/need_form.html", status_code=status_code, need=need, values=values, errors=errors
    )


@router.get("/sme/needs/{need_id}/edit", response_class=HTMLResponse)
def edit_need(need_id: uuid.UUID, ctx: SmeWeb, session: DbSession) -> HTMLResponse:
    need = own_need(ctx, session, need_id)
    return _render_edit(ctx, need, _need_values(need), FormErrors())


def _patch_key(parts: list[str], _error: Any) -> str:
    if not parts:
        return forms.GENERAL
    return {"budget_min_fen": "budget_min", "budget_max_fen": "budget_max"}.get(parts[0], parts[0])


@router.post("/sme/needs/{need_id}/edit", response_class=HTMLResponse)
def update_need(need_id: uuid.UUID, ctx: SmeWeb, session: DbSession, form: CheckedForm) -> Response:
    assert ctx.principal is not None
    need = own_need(ctx, session, need_id)
    values: dict[str, Any] = {
        "title": forms.text(form, "title"),
        "description": forms.text(form, "description"),
        "must_capabilities": forms.choices(form, "must_capabilities"),
        "nice_capabilities": forms.choices(form, "nice_capabilities"),
        "protocols": forms.choices(form, "protocols"),
        "budget_min": forms.text(form, "budget_min"),
        "budget_max": forms.text(form, "budget_max"),
        "preferred_pricing": forms.choices(form, "preferred_pricing"),
        "onsite_required": forms.text(form, "onsite_required") == "1",
        "status": forms.text(form, "status"),
        "version": forms.text(form, "version"),
    }
    errors = FormErrors()
    payload: dict[str, Any] = {
        key: values[key]
        for key in (
            "title",
            "description",
            "must_capabilities",
            "nice_capabilities",
            "protocols",
            "preferred_pricing",
            "onsite_required",
            "status",
        )
    }
    for name in ("budget_min", "budget_max"):
        try:
            payload[f"{name}_fen"] = forms.yuan_to_fen(values[name], ctx, name)
        except FieldProblem as problem:
            errors.add(problem.key, problem.message)
    try:
        data = NeedPatch.model_validate(payload)
    except ValidationError as exc:
        errors.merge(forms.from_validation(ctx, exc, _patch_key))
    if errors:
        return _render_edit(ctx, need, values, errors, 422)
    version = values["version"]
    try:
        needs.update_need(
            session,
            principal=ctx.principal,
            need_id=need_id,
            data=data,
            if_match=etag_for(int(version)) if version.isdigit() else '"invalid"',
        )
    except AppError as exc:
        session.rollback()
        return _render_edit(
            ctx,
            own_need(ctx, session, need_id),
            values,
            errors_from(ctx, exc, _patch_key),
            exc.status_code,
        )
    ctx.flash("success", ctx.gettext("The need was saved."))
    return ctx.redirect(f"/sme/needs/{need_id}")


# --- recommendations ---------------------------------------------------------------------------


def _recommend_and_show(
    ctx: WebContext, session: Session, need_id: uuid.UUID, *, created: bool = False
) -> Response:
    assert ctx.principal is not None
    out = recommendations.recommend_for_need(
        session,
        cache=cache_of(ctx.request),
        principal=ctx.principal,
        need_id=need_id,
        data=RecommendIn(),
    )
    if created:
        ctx.flash("success", ctx.gettext("Your need was saved. These providers fit it best."))
    return ctx.redirect(f"/sme/needs/{need_id}/recommendations/{out.list_id}")


@router.post("/sme/needs/{need_id}/recommendations", response_class=HTMLResponse)
def recommend(need_id: uuid.UUID, ctx: SmeWeb, session: DbSession, form: CheckedForm) -> Response:
    own_need(ctx, session, need_id)
    return _recommend_and_show(ctx, session, need_id)


def render_recommendations(
    ctx: WebContext,
    session: Session,
    need: NeedOut,
    listed: RecommendationOut,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    pools: dict[str, str] = {}
    for result in listed.results:
        for badge in result.provider.badges:
            pools[str(badge.pool_id)] = badge.pool_name
    # The pool covering the SME's region runs the local programme (cap, subsidy): the default.
    local_pool = listed.weights_pool_id if str(listed.weights_pool_id) in pools else None
    return ctx.render(
        "sme/recommendations.html",
        status_code=status_code,
        need=need,
        listed=listed,
        pools=sorted(pools.items(), key=lambda item: item[1]),
        values=values
        or {
            "provider_ids": [],
            "deadline": default_deadline(),
            "message": "",
            "pool_id": str(local_pool or ""),
        },
        errors=errors or FormErrors(),
        cap=rfqs.invitation_cap(session, local_pool),
    )


@router.get("/sme/needs/{need_id}/recommendations/{list_id}", response_class=HTMLResponse)
def recommendations_page(
    need_id: uuid.UUID, list_id: uuid.UUID, ctx: SmeWeb, session: DbSession
) -> HTMLResponse:
    assert ctx.principal is not None
    need = own_need(ctx, session, need_id)
    listed = recommendations.read_list(
        session, principal=ctx.principal, need_id=need_id, list_id=list_id
    )
    return render_recommendations(ctx, session, need, listed)
