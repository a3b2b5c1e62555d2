"""The provider's case studies: list, editor with outcome rows, publish and archive."""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from catalog.access import ensure_owner
from catalog.cases import service as cases
from catalog.cases.models import Case
from catalog.cases.schemas import CaseIn, CaseOut, CasePatch
from catalog.providers import service as providers
from catalog.publishing import Action
from catalog.solutions import service as solutions
from core.deps import DbSession
from core.pagination import PageParams
from market.web import forms
from market.web.editing import DraftEditor, FormReading, filled_rows, with_spare_rows
from market.web.forms import GENERAL, FormErrors
from market.web.security import CheckedForm, ProviderWeb, WebContext
from market.web.templating import number

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 10
MAX_OUTCOME_ROWS = 20  # the schema's limit
OUTCOME_FIELDS = ("kpi", "before", "after", "unit")
CASE_TEXT = (
    "title",
    "client_name",
    "client_industry",
    "client_size",
    "region_code",
    "problem",
    "solution_text",
    "case_date",
)


@router.get("/provider/cases", response_class=HTMLResponse)
def case_list(
    ctx: ProviderWeb,
    session: DbSession,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    params = PageParams(page=page, size=PAGE_SIZE, sort="-updated_at")
    rows, total = cases.list_cases(
        session, principal=ctx.principal, filters=cases.CaseFilters(mine=True), params=params
    )
    return ctx.render(
        "provider/cases.html",
        items=[cases.to_out(r) for r in rows],
        total=total,
        page=params.page,
        pages=max(1, math.ceil(total / params.size)),
    )


def _own_solution_options(ctx: WebContext, session: Session) -> list[tuple[str, str, str]]:
    """(id, title, status) of the provider's solutions, for linking a case to them."""
    rows, _ = solutions.list_solutions(
        session,
        principal=ctx.principal,
        filters=solutions.SolutionFilters(mine=True),
        params=PageParams(page=1, size=100, sort="title"),
    )
    return [(str(r.id), r.title, r.status) for r in rows]


def _case_values(out: CaseOut | None) -> dict[str, Any]:
    if out is None:
        values: dict[str, Any] = dict.fromkeys(CASE_TEXT, "")
        return {**values, "outcomes": [], "solution_ids": [], "version": ""}
    return {
        **{
            name: "" if getattr(out, name) is None else str(getattr(out, name))
            for name in CASE_TEXT
        },
        "outcomes": [
            {"kpi": o.kpi, "before": number(o.before), "after": number(o.after), "unit": o.unit}
            for o in out.outcomes
        ],
        "solution_ids": [str(sid) for sid in out.solution_ids],
        "version": str(out.version),
    }


def _case_from_form(ctx: WebContext, form: FormData) -> FormReading:
    problems = FormErrors()
    values: dict[str, Any] = {name: forms.text(form, name) for name in CASE_TEXT}
    values["solution_ids"] = forms.choices(form, "solution_ids")
    values["version"] = forms.text(form, "version")
    rows = filled_rows(form, "outcomes", OUTCOME_FIELDS, MAX_OUTCOME_ROWS)
    values["outcomes"] = rows
    payload: dict[str, Any] = {
        name: values[name] or None
        for name in ("client_name", "client_size", "region_code", "case_date")
    }
    payload.update(
        title=values["title"],
        client_industry=values["client_industry"],
        problem=values["problem"],
        solution_text=values["solution_text"],
        solution_ids=values["solution_ids"],
    )
    outcomes = []
    for j, row in enumerate(rows):
        outcome: dict[str, Any] = {"kpi": row["kpi"], "unit": row["unit"]}
        for field in ("before", "after"):
            raw = row[field].replace(",", "")
            if not raw:
                continue  # left out, so the schema reports it as required
            try:
                outcome[field] = float(raw)
            except ValueError:
                problems.add(f"outcomes.{j}.{field}", ctx.gettext("Enter a number."))
        outcomes.append(outcome)
    payload["outcomes"] = outcomes
    return values, payload, problems


def _case_key(parts: list[str], _error: Any) -> str:
    if not parts:
        return GENERAL
    if parts[0] == "outcomes" and len(parts) >= 3:
        return f"outcomes.{parts[1]}.{parts[2]}"
    return parts[0]


def _render_editor(
    ctx: WebContext,
    session: Session,
    *,
    values: dict[str, Any],
    errors: FormErrors,
    item: Case | None,
    status_code: int = 200,
    conflict: bool = False,
) -> HTMLResponse:
    return ctx.render(
        "provider/case_form.html",
        status_code=status_code,
        values=values,
        outcome_rows=with_spare_rows(values["outcomes"], OUTCOME_FIELDS, MAX_OUTCOME_ROWS),
        errors=errors,
        case=cases.to_out(item) if item is not None else None,
        missing=cases.missing_for_publication(item) if item is not None else [],
        solution_options=_own_solution_options(ctx, session),
        conflict=conflict,
    )


def _owned_case(ctx: WebContext, session: Session, case_id: uuid.UUID) -> Case:
    assert ctx.principal is not None
    case = cases.get_visible(session, principal=ctx.principal, case_id=case_id)
    provider = providers.get_provider(session, case.provider_id)
    ensure_owner(ctx.principal, provider.org_id, "case")
    return case


EDITOR = DraftEditor[Case](
    base="/provider/cases",
    key_of=_case_key,
    read_form=_case_from_form,
    render=_render_editor,
    owned=_owned_case,
    values_of=lambda case: _case_values(cases.to_out(case)),
)


@router.get("/provider/cases/new", response_class=HTMLResponse)
def new_case(ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
    return _render_editor(ctx, session, values=_case_values(None), errors=FormErrors(), item=None)


@router.post("/provider/cases/new", response_model=None)
def create_case(ctx: ProviderWeb, form: CheckedForm, session: DbSession) -> Response:
    principal = ctx.principal
    assert principal is not None
    return EDITOR.create(
        ctx,
        session,
        form,
        CaseIn,
        lambda data: cases.create_case(session, principal=principal, data=data),
        ctx.gettext("Case saved as a draft. Publish it when it is complete."),
    )


@router.get("/provider/cases/{case_id}/edit", response_class=HTMLResponse)
def edit_case(case_id: uuid.UUID, ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
    case = _owned_case(ctx, session, case_id)
    return _render_editor(
        ctx, session, values=EDITOR.values_of(case), errors=FormErrors(), item=case
    )


@router.post("/provider/cases/{case_id}/edit", response_model=None)
def update_case(
    case_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    principal = ctx.principal
    assert principal is not None
    return EDITOR.update(
        ctx,
        session,
        case_id,
        form,
        CasePatch,
        lambda data, version: cases.update_case(
            session, principal=principal, case_id=case_id, data=data, if_match=version
        ),
    )


def _change_status(
    ctx: WebContext, session: Session, case_id: uuid.UUID, form: FormData, action: Action
) -> Response:
    principal = ctx.principal
    assert principal is not None
    refused = EDITOR.change_status(
        ctx,
        session,
        case_id,
        form,
        action,
        lambda act, version: cases.change_status(
            session, principal=principal, item_id=case_id, action=act, if_match=version
        ),
    )
    if refused is not None:
        return refused
    if action == "publish":
        ctx.flash("success", ctx.gettext("Case published. It now shows on your public pages."))
    else:
        ctx.flash("info", ctx.gettext("Case archived. It no longer shows on your public pages."))
    return ctx.redirect("/provider/cases")


@router.post("/provider/cases/{case_id}/publish", response_model=None)
def publish_case(
    case_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    return _change_status(ctx, session, case_id, form, "publish")


@router.post("/provider/cases/{case_id}/archive", response_model=None)
def archive_case(
    case_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    return _change_status(ctx, session, case_id, form, "archive")


@router.post("/provider/cases/{case_id}/delete", response_model=None)
def delete_case(
    case_id: uuid.UUID, ctx: ProviderWeb, _form: CheckedForm, session: DbSession
) -> Response:
    principal = ctx.principal
    assert principal is not None
    return EDITOR.delete(
        ctx,
        session,
        case_id,
        lambda: cases.delete_case(session, principal=principal, case_id=case_id),
        message=ctx.gettext("Draft case deleted."),
        done_url="/provider/cases",
    )
