"""The provider's case studies: list, editor with outcome rows, publish and archive."""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from catalog.access import ensure_owner
from catalog.cases import service as cases
from catalog.cases.models import Case
from catalog.cases.schemas import CaseIn, CaseOut, CasePatch
from catalog.providers import service as providers
from catalog.solutions import service as solutions
from core.deps import DbSession
from core.pagination import PageParams
from market.web import forms
from market.web.editing import (
    DraftActions,
    DraftEditor,
    FormReading,
    add_draft_routes,
    filled_rows,
    with_spare_rows,
)
from market.web.forms import GENERAL, FormErrors
from market.web.i18n import N_
from market.web.security import ProviderWeb, WebContext
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


add_draft_routes(
    router,
    EDITOR,
    DraftActions[Case](
        create_schema=CaseIn,
        patch_schema=CasePatch,
        create=lambda session, principal, data: cases.create_case(
            session, principal=principal, data=data
        ),
        update=lambda session, principal, item_id, data, version: cases.update_case(
            session, principal=principal, case_id=item_id, data=data, if_match=version
        ),
        change_status=lambda session, principal, item_id, action, version: cases.change_status(
            session, principal=principal, item_id=item_id, action=action, if_match=version
        ),
        delete=lambda session, principal, item_id: cases.delete_case(
            session, principal=principal, case_id=item_id
        ),
        blank_values=lambda: _case_values(None),
        saved=N_("Case saved as a draft. Publish it when it is complete."),
        published=N_("Case published. It now shows on your public pages."),
        archived=N_("Case archived. It no longer shows on your public pages."),
        deleted=N_("Draft case deleted."),
        after_publish=lambda _item_id: "/provider/cases",
        list_url="/provider/cases",
    ),
)
