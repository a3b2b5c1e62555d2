"""The provider's solution editor: create, edit with price rows, publish, archive, delete.

Every change goes through the catalog services with the version the form was opened at, so
two colleagues editing the same listing are told about each other instead of overwriting.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from catalog.access import ensure_owner
from catalog.providers import service as providers
from catalog.publishing import Action
from catalog.solutions import service as solutions
from catalog.solutions.models import Solution
from catalog.solutions.schemas import SolutionIn, SolutionOut, SolutionPatch
from core.deps import DbSession
from market.web import forms
from market.web.editing import DraftEditor, FormReading, filled_rows, with_spare_rows
from market.web.forms import GENERAL, FieldProblem, FormErrors
from market.web.security import CheckedForm, ProviderWeb, WebContext
from market.web.templating import yuan_input

router = APIRouter(include_in_schema=False)

SOLUTION_LISTS = ("capabilities", "industries", "target_sizes", "protocols", "deployments")
MAX_PRICE_ROWS = 10  # the schema's limit
PRICE_FIELDS = ("model", "min", "max", "unit")


def _solution_values(out: SolutionOut | None) -> dict[str, Any]:
    if out is None:
        return {
            "title": "",
            "summary": "",
            "description": "",
            "typical_delivery_days": "",
            **{name: [] for name in SOLUTION_LISTS},
            "scenes": {},
            "pricing": [],
            "version": "",
        }
    return {
        "title": out.title,
        "summary": out.summary,
        "description": out.description,
        "typical_delivery_days": str(out.typical_delivery_days or ""),
        **{name: list(getattr(out, name)) for name in SOLUTION_LISTS},
        "scenes": {s.scene: str(s.level) for s in out.scenes},
        "pricing": [
            {
                "model": p.model,
                "min": yuan_input(p.min_fen),
                "max": yuan_input(p.max_fen),
                "unit": p.unit,
            }
            for p in out.pricing
        ],
        "version": str(out.version),
    }


def _solution_from_form(ctx: WebContext, form: FormData) -> FormReading:
    """(values to show again, payload for the schema, problems found before the schema)."""
    problems = FormErrors()
    values: dict[str, Any] = {
        "title": forms.text(form, "title"),
        "summary": forms.text(form, "summary"),
        "description": forms.text(form, "description"),
        "typical_delivery_days": forms.text(form, "typical_delivery_days"),
        **{name: forms.choices(form, name) for name in SOLUTION_LISTS},
        "scenes": {},
        "pricing": filled_rows(form, "pricing", PRICE_FIELDS, MAX_PRICE_ROWS),
        "version": forms.text(form, "version"),
    }
    payload: dict[str, Any] = {
        key: values[key] for key in ("title", "summary", "description", *SOLUTION_LISTS)
    }
    try:
        payload["typical_delivery_days"] = forms.optional_int(form, "typical_delivery_days", ctx)
    except FieldProblem as problem:
        problems.add(problem.key, problem.message)
    scenes = []
    for key, level in form.multi_items():
        if isinstance(level, str) and key.startswith("scene:") and level:
            values["scenes"][key.removeprefix("scene:")] = level
            if level.isdigit():
                scenes.append({"scene": key.removeprefix("scene:"), "level": int(level)})
            else:
                problems.add("scenes", ctx.gettext("Choose one of the offered options."))
    payload["scenes"] = scenes
    prices = []
    for j, row in enumerate(values["pricing"]):
        price: dict[str, Any] = {}
        if row["model"]:
            price["model"] = row["model"]
        if row["unit"]:
            price["unit"] = row["unit"]
        for field, name in (("min", "min_fen"), ("max", "max_fen")):
            try:
                fen = forms.yuan_to_fen(row[field], ctx, f"pricing.{j}.{field}")
            except FieldProblem as problem:
                problems.add(problem.key, problem.message)
                continue
            if fen is not None:
                price[name] = fen
        prices.append(price)
    payload["pricing"] = prices
    return values, payload, problems


def _solution_key(parts: list[str], error: Any) -> str:
    """Error paths of the schema → the editor's controls (checkbox groups are one control)."""
    if not parts:
        return GENERAL
    head = parts[0]
    if head == "pricing" and len(parts) >= 3:
        field = {"min_fen": "min", "max_fen": "max"}.get(parts[2], parts[2])
        return f"pricing.{parts[1]}.{field}"
    if head == "pricing" and len(parts) == 2:
        # The range rule is checked on the row; its message is about the highest price.
        if "max_fen" in str(error.get("msg", "")):
            return f"pricing.{parts[1]}.max"
        return f"pricing.{parts[1]}"
    return head


def _render_editor(
    ctx: WebContext,
    session: Session,
    *,
    values: dict[str, Any],
    errors: FormErrors,
    item: Solution | None,
    status_code: int = 200,
    conflict: bool = False,
) -> HTMLResponse:
    return ctx.render(
        "provider/solution_form.html",
        status_code=status_code,
        values=values,
        price_rows=with_spare_rows(values["pricing"], PRICE_FIELDS, MAX_PRICE_ROWS),
        errors=errors,
        solution=solutions.to_out(item) if item is not None else None,
        conflict=conflict,
        # What publishing would still ask for, said beside the publish button in advance.
        missing=solutions.missing_for_publication(item) if item is not None else [],
    )


def _owned_solution(ctx: WebContext, session: Session, solution_id: uuid.UUID) -> Solution:
    assert ctx.principal is not None
    solution = solutions.get_visible(session, principal=ctx.principal, solution_id=solution_id)
    provider = providers.get_provider(session, solution.provider_id)
    ensure_owner(ctx.principal, provider.org_id, "solution")
    return solution


EDITOR = DraftEditor[Solution](
    base="/provider/solutions",
    key_of=_solution_key,
    read_form=_solution_from_form,
    render=_render_editor,
    owned=_owned_solution,
    values_of=lambda solution: _solution_values(solutions.to_out(solution)),
)


@router.get("/provider/solutions/new", response_class=HTMLResponse)
def new_solution(ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
    return _render_editor(
        ctx, session, values=_solution_values(None), errors=FormErrors(), item=None
    )


@router.post("/provider/solutions/new", response_model=None)
def create_solution(ctx: ProviderWeb, form: CheckedForm, session: DbSession) -> Response:
    principal = ctx.principal
    assert principal is not None
    return EDITOR.create(
        ctx,
        session,
        form,
        SolutionIn,
        lambda data: solutions.create_solution(session, principal=principal, data=data),
        ctx.gettext("Draft saved. Publish it when it is complete; until then only you see it."),
    )


@router.get("/provider/solutions/{solution_id}/edit", response_class=HTMLResponse)
def edit_solution(solution_id: uuid.UUID, ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
    solution = _owned_solution(ctx, session, solution_id)
    return _render_editor(
        ctx, session, values=EDITOR.values_of(solution), errors=FormErrors(), item=solution
    )


@router.post("/provider/solutions/{solution_id}/edit", response_model=None)
def update_solution(
    solution_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    principal = ctx.principal
    assert principal is not None
    return EDITOR.update(
        ctx,
        session,
        solution_id,
        form,
        SolutionPatch,
        lambda data, version: solutions.update_solution(
            session, principal=principal, solution_id=solution_id, data=data, if_match=version
        ),
    )


def _change_solution_status(
    ctx: WebContext, session: Session, solution_id: uuid.UUID, form: FormData, action: Action
) -> Response:
    principal = ctx.principal
    assert principal is not None
    refused = EDITOR.change_status(
        ctx,
        session,
        solution_id,
        form,
        action,
        lambda act, version: solutions.change_status(
            session, principal=principal, item_id=solution_id, action=act, if_match=version
        ),
    )
    if refused is not None:
        return refused
    if action == "publish":
        ctx.flash("success", ctx.gettext("Published. This is the page buyers now see."))
        return ctx.redirect(f"/solutions/{solution_id}")
    ctx.flash("info", ctx.gettext("Archived. Buyers no longer see it; you can publish it again."))
    return ctx.redirect("/provider")


@router.post("/provider/solutions/{solution_id}/publish", response_model=None)
def publish_solution(
    solution_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    return _change_solution_status(ctx, session, solution_id, form, "publish")


@router.post("/provider/solutions/{solution_id}/archive", response_model=None)
def archive_solution(
    solution_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    return _change_solution_status(ctx, session, solution_id, form, "archive")


@router.post("/provider/solutions/{solution_id}/delete", response_model=None)
def delete_solution(
    solution_id: uuid.UUID, ctx: ProviderWeb, _form: CheckedForm, session: DbSession
) -> Response:
    principal = ctx.principal
    assert principal is not None
    return EDITOR.delete(
        ctx,
        session,
        solution_id,
        lambda: solutions.delete_solution(session, principal=principal, solution_id=solution_id),
        message=ctx.gettext("Draft deleted."),
        done_url="/provider",
    )
