"""The provider's solution editor: create, edit with price rows, publish, archive, delete.

Every change goes through the catalog services with the version the form was opened at, so
two colleagues editing the same listing are told about each other instead of overwriting.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from catalog.access import ensure_owner
from catalog.providers import service as providers
from catalog.solutions import service as solutions
from catalog.solutions.models import Solution
from catalog.solutions.schemas import SolutionIn, SolutionOut, SolutionPatch
from market.web import forms
from market.web.editing import (
    DraftActions,
    DraftEditor,
    FormReading,
    add_draft_routes,
    filled_rows,
    with_spare_rows,
)
from market.web.forms import GENERAL, FieldProblem, FormErrors
from market.web.i18n import N_
from market.web.security import WebContext
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


add_draft_routes(
    router,
    EDITOR,
    DraftActions[Solution](
        create_schema=SolutionIn,
        patch_schema=SolutionPatch,
        create=lambda session, principal, data: solutions.create_solution(
            session, principal=principal, data=data
        ),
        update=lambda session, principal, item_id, data, version: solutions.update_solution(
            session, principal=principal, solution_id=item_id, data=data, if_match=version
        ),
        change_status=lambda session, principal, item_id, action, version: solutions.change_status(
            session, principal=principal, item_id=item_id, action=action, if_match=version
        ),
        delete=lambda session, principal, item_id: solutions.delete_solution(
            session, principal=principal, solution_id=item_id
        ),
        blank_values=lambda: _solution_values(None),
        saved=N_("Draft saved. Publish it when it is complete; until then only you see it."),
        published=N_("Published. This is the page buyers now see."),
        archived=N_("Archived. Buyers no longer see it; you can publish it again."),
        deleted=N_("Draft deleted."),
        after_publish=lambda item_id: f"/solutions/{item_id}",
        list_url="/provider",
    ),
)
