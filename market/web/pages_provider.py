"""The provider's workbench: dashboard, solution editor, publishing, profile, certifications.

Every change goes through the catalog services with the version the form was opened at, so
two colleagues editing the same listing are told about each other instead of overwriting.
Case studies have their own module, ``pages_cases``.
"""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from catalog.access import ensure_owner
from catalog.cases import service as cases
from catalog.pools import service as pools
from catalog.providers import service as providers
from catalog.providers.models import Provider
from catalog.providers.schemas import CertificationIn, CertificationOut, ProviderOut, ProviderUpdate
from catalog.publishing import Action
from catalog.solutions import service as solutions
from catalog.solutions.models import Solution
from catalog.solutions.schemas import SolutionIn, SolutionOut, SolutionPatch
from core.concurrency import etag_for
from core.deps import DbSession
from core.errors import AppError, NotFound
from core.pagination import PageParams
from market.web import forms
from market.web.forms import GENERAL, FieldProblem, FormErrors
from market.web.security import CheckedForm, ProviderWeb, WebContext
from market.web.templating import yuan_input

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 10
SOLUTION_LISTS = ("capabilities", "industries", "target_sizes", "protocols", "deployments")
MAX_PRICE_ROWS = 10  # the schema's limit
SPARE_ROWS = 2  # empty rows offered so a price can be added without JavaScript
STATUSES = ("draft", "published", "archived")


def own_provider(ctx: WebContext, session: Session) -> Provider:
    assert ctx.principal is not None
    return providers.own_provider(session, principal=ctx.principal)


def form_version(form: FormData) -> str:
    """The hidden version as an If-Match value; garbage can only ever fail to match."""
    raw = forms.text(form, "version")
    return etag_for(int(raw)) if raw.isdigit() else '"invalid"'


# --- dashboard -------------------------------------------------------------------------------


@router.get("/provider", response_class=HTMLResponse)
def dashboard(
    ctx: ProviderWeb,
    session: DbSession,
    status: str | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    assert ctx.principal is not None
    provider = own_provider(ctx, session)
    chosen = status if status in STATUSES else None
    params = PageParams(page=page, size=PAGE_SIZE)
    rows, total = solutions.list_solutions(
        session,
        principal=ctx.principal,
        filters=solutions.SolutionFilters(mine=True, status=chosen),
        params=params,
    )
    _, case_total = cases.list_cases(
        session,
        principal=ctx.principal,
        filters=cases.CaseFilters(mine=True),
        params=PageParams(page=1, size=1),
    )
    certifications = [CertificationOut.model_validate(c) for c in provider.certifications]
    return ctx.render(
        "provider/dashboard.html",
        provider=provider,
        items=[solutions.to_out(r) for r in rows],
        total=total,
        page=params.page,
        pages=max(1, math.ceil(total / params.size)),
        status=chosen,
        query={"status": chosen},
        case_total=case_total,
        certifications=certifications,
        expired=[c for c in certifications if c.expired],
        badges=pools.badges(session, provider_id=provider.id),
        todo=_profile_todo(ctx, provider),
    )


def _profile_todo(ctx: WebContext, provider: Provider) -> list[str]:
    """What a buyer would miss on the public page, said as the next thing to do."""
    todo = []
    if not provider.description_zh.strip():
        todo.append(ctx.gettext("Describe your company in Chinese."))
    if not (provider.contact_phone or provider.contact_email):
        todo.append(ctx.gettext("Add a contact phone number or e-mail."))
    if provider.employees is None:
        todo.append(ctx.gettext("Give your head count so buyers see your company size."))
    return todo


# --- solution editor -------------------------------------------------------------------------


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


def _price_rows(form: FormData) -> list[dict[str, str]]:
    """The price rows someone filled in, in page order; wholly empty rows are ignored."""
    rows = []
    for i in range(MAX_PRICE_ROWS + SPARE_ROWS):
        row = {f: forms.text(form, f"pricing.{i}.{f}") for f in ("model", "min", "max", "unit")}
        if any(row.values()):
            rows.append(row)
    return rows


def _solution_from_form(
    ctx: WebContext, form: FormData
) -> tuple[dict[str, Any], dict[str, Any], FormErrors]:
    """(values to show again, payload for the schema, problems found before the schema)."""
    problems = FormErrors()
    values: dict[str, Any] = {
        "title": forms.text(form, "title"),
        "summary": forms.text(form, "summary"),
        "description": forms.text(form, "description"),
        "typical_delivery_days": forms.text(form, "typical_delivery_days"),
        **{name: forms.choices(form, name) for name in SOLUTION_LISTS},
        "scenes": {},
        "pricing": _price_rows(form),
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
    solution: Solution | None,
    status_code: int = 200,
    conflict: bool = False,
) -> HTMLResponse:
    rows = list(values["pricing"])
    spare = max(0, min(SPARE_ROWS, MAX_PRICE_ROWS - len(rows)))
    rows += [{"model": "", "min": "", "max": "", "unit": ""} for _ in range(spare)]
    return ctx.render(
        "provider/solution_form.html",
        status_code=status_code,
        values=values,
        price_rows=rows,
        errors=errors,
        solution=solutions.to_out(solution) if solution is not None else None,
        conflict=conflict,
        # What publishing would still ask for, said beside the publish button in advance.
        missing=solutions.missing_for_publication(solution) if solution is not None else [],
    )


def _owned_solution(ctx: WebContext, session: Session, solution_id: uuid.UUID) -> Solution:
    """The caller's own solution: 404 for others' drafts, 403 for others' public ones."""
    assert ctx.principal is not None
    solution = solutions.get_visible(session, principal=ctx.principal, solution_id=solution_id)
    provider = providers.get_provider(session, solution.provider_id)
    ensure_owner(ctx.principal, provider.org_id, "solution")
    return solution


@router.get("/provider/solutions/new", response_class=HTMLResponse)
def new_solution(ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
    return _render_editor(
        ctx, session, values=_solution_values(None), errors=FormErrors(), solution=None
    )


@router.post("/provider/solutions/new", response_model=None)
def create_solution(ctx: ProviderWeb, form: CheckedForm, session: DbSession) -> Response:
    assert ctx.principal is not None
    values, payload, errors = _solution_from_form(ctx, form)
    try:
        data = SolutionIn.model_validate(payload)
    except ValidationError as exc:
        errors.merge(forms.from_validation(ctx, exc, _solution_key))
    if errors:
        return _render_editor(
            ctx, session, values=values, errors=errors, solution=None, status_code=422
        )
    try:
        created = solutions.create_solution(session, principal=ctx.principal, data=data)
    except AppError as exc:
        session.rollback()
        errors = forms.from_app_error(ctx, exc, _solution_key)
        return _render_editor(
            ctx, session, values=values, errors=errors, solution=None, status_code=exc.status_code
        )
    ctx.flash(
        "success",
        ctx.gettext("Draft saved. Publish it when it is complete; until then only you see it."),
    )
    return ctx.redirect(f"/provider/solutions/{created.id}/edit")


@router.get("/provider/solutions/{solution_id}/edit", response_class=HTMLResponse)
def edit_solution(solution_id: uuid.UUID, ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
    solution = _owned_solution(ctx, session, solution_id)
    return _render_editor(
        ctx,
        session,
        values=_solution_values(solutions.to_out(solution)),
        errors=FormErrors(),
        solution=solution,
    )


@router.post("/provider/solutions/{solution_id}/edit", response_model=None)
def update_solution(
    solution_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    assert ctx.principal is not None
    current = _owned_solution(ctx, session, solution_id)
    values, payload, errors = _solution_from_form(ctx, form)
    try:
        data = SolutionPatch.model_validate(payload)
    except ValidationError as exc:
        errors.merge(forms.from_validation(ctx, exc, _solution_key))
    if errors:
        return _render_editor(
            ctx, session, values=values, errors=errors, solution=current, status_code=422
        )
    try:
        solutions.update_solution(
            session,
            principal=ctx.principal,
            solution_id=solution_id,
            data=data,
            if_match=form_version(form),
        )
    except AppError as exc:
        session.rollback()
        errors = forms.from_app_error(ctx, exc, _solution_key)
        return _render_editor(
            ctx,
            session,
            values=values,
            errors=errors,
            # Read again: the rollback expired what was loaded, and it may have moved on.
            solution=_owned_solution(ctx, session, solution_id),
            status_code=exc.status_code,
            conflict=exc.status_code == 412,
        )
    ctx.flash("success", ctx.gettext("Changes saved."))
    return ctx.redirect(f"/provider/solutions/{solution_id}/edit")


def _change_solution_status(
    ctx: WebContext, session: Session, solution_id: uuid.UUID, form: FormData, action: Action
) -> Response:
    assert ctx.principal is not None
    try:
        changed = solutions.change_status(
            session,
            principal=ctx.principal,
            item_id=solution_id,
            action=action,
            if_match=form_version(form),
        )
    except AppError as exc:
        session.rollback()
        if exc.code != "incomplete":
            ctx.flash("error", forms.app_error_message(ctx, exc))
            return ctx.redirect(f"/provider/solutions/{solution_id}/edit")
        # Show the editor with every field that publishing still needs marked.
        solution = _owned_solution(ctx, session, solution_id)
        errors = forms.from_app_error(ctx, exc, _solution_key)
        return _render_editor(
            ctx,
            session,
            values=_solution_values(solutions.to_out(solution)),
            errors=errors,
            solution=solution,
            status_code=exc.status_code,
        )
    if action == "publish":
        ctx.flash("success", ctx.gettext("Published. This is the page buyers now see."))
        return ctx.redirect(f"/solutions/{changed.id}")
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
    assert ctx.principal is not None
    try:
        solutions.delete_solution(session, principal=ctx.principal, solution_id=solution_id)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        session.rollback()
        ctx.flash("error", forms.app_error_message(ctx, exc))
        return ctx.redirect(f"/provider/solutions/{solution_id}/edit")
    ctx.flash("info", ctx.gettext("Draft deleted."))
    return ctx.redirect("/provider")


# --- profile ---------------------------------------------------------------------------------

PROFILE_TEXT = ("legal_name", "contact_name", "contact_phone", "contact_email", "website")
PROFILE_NUMBERS = (
    "employees",
    "revenue_wan",
    "assets_wan",
    "founded_year",
    "patents_count",
    "capacity",
)
PROFILE_CHOICES = ("service_regions", "on_site_regions", "policy_tags")


def _profile_values(out: ProviderOut) -> dict[str, Any]:
    values: dict[str, Any] = out.model_dump()
    for name in PROFILE_NUMBERS:
        values[name] = "" if values[name] is None else str(values[name])
    for name in (*PROFILE_TEXT, "description_en"):
        values[name] = values[name] or ""
    values["version"] = str(out.version)
    return values


def _profile_from_form(
    ctx: WebContext, form: FormData
) -> tuple[dict[str, Any], dict[str, Any], FormErrors]:
    problems = FormErrors()
    values: dict[str, Any] = {
        name: forms.text(form, name)
        for name in (
            *PROFILE_TEXT,
            *PROFILE_NUMBERS,
            "provider_type",
            "registered_region",
            "size_sector",
            "description_zh",
            "description_en",
            "version",
        )
    }
    values.update({name: forms.choices(form, name) for name in PROFILE_CHOICES})
    payload: dict[str, Any] = {}
    for name, value in values.items():
        if name == "version":
            continue
        if name in PROFILE_NUMBERS:
            try:
                value = forms.optional_int(form, name, ctx)
            except FieldProblem as problem:
                problems.add(problem.key, problem.message)
                continue
        if value in ("", None) and name != "description_zh":
            # Null clears an optional value; for a value every profile must have, the schema
            # answers that it is required, which is what the person needs to hear.
            value = None
        payload[name] = value
    return values, payload, problems


def _render_profile(
    ctx: WebContext,
    *,
    values: dict[str, Any],
    errors: FormErrors,
    provider_id: uuid.UUID,
    status_code: int = 200,
    conflict: bool = False,
) -> HTMLResponse:
    return ctx.render(
        "provider/profile.html",
        status_code=status_code,
        values=values,
        errors=errors,
        provider_id=provider_id,
        conflict=conflict,
    )


@router.get("/provider/profile", response_class=HTMLResponse)
def profile_form(ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
    provider = own_provider(ctx, session)
    out = ProviderOut.model_validate(provider)
    return _render_profile(
        ctx, values=_profile_values(out), errors=FormErrors(), provider_id=provider.id
    )


@router.post("/provider/profile", response_model=None)
def save_profile(ctx: ProviderWeb, form: CheckedForm, session: DbSession) -> Response:
    assert ctx.principal is not None
    provider = own_provider(ctx, session)
    values, payload, errors = _profile_from_form(ctx, form)
    try:
        data = ProviderUpdate.model_validate(payload)
    except ValidationError as exc:
        errors.merge(forms.from_validation(ctx, exc))
    if errors:
        return _render_profile(
            ctx, values=values, errors=errors, provider_id=provider.id, status_code=422
        )
    try:
        providers.update_profile(
            session,
            principal=ctx.principal,
            provider_id=provider.id,
            data=data,
            if_match=form_version(form),
        )
    except AppError as exc:
        session.rollback()
        return _render_profile(
            ctx,
            values=values,
            errors=forms.from_app_error(ctx, exc),
            provider_id=provider.id,
            status_code=exc.status_code,
            conflict=exc.status_code == 412,
        )
    ctx.flash("success", ctx.gettext("Profile saved."))
    return ctx.redirect("/provider/profile")


# --- certifications --------------------------------------------------------------------------


def _certification_from_form(form: FormData) -> tuple[dict[str, str], dict[str, Any]]:
    values = {name: forms.text(form, name) for name in ("name", "issuer", "number", "valid_until")}
    payload = {
        "name": values["name"],
        "issuer": values["issuer"],
        "number": values["number"] or None,
        "valid_until": values["valid_until"] or None,
    }
    return values, payload


def _render_certifications(
    ctx: WebContext,
    provider: Provider,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return ctx.render(
        "provider/certifications.html",
        status_code=status_code,
        certifications=[CertificationOut.model_validate(c) for c in provider.certifications],
        values=values or {},
        errors=errors or FormErrors(),
    )


@router.get("/provider/certifications", response_class=HTMLResponse)
def certifications_page(ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
    return _render_certifications(ctx, own_provider(ctx, session))


@router.post("/provider/certifications", response_model=None)
def add_certification(ctx: ProviderWeb, form: CheckedForm, session: DbSession) -> Response:
    assert ctx.principal is not None
    provider = own_provider(ctx, session)
    values, payload = _certification_from_form(form)
    try:
        data = CertificationIn.model_validate(payload)
    except ValidationError as exc:
        errors = forms.from_validation(ctx, exc)
        return _render_certifications(ctx, provider, values=values, errors=errors, status_code=422)
    providers.add_certification(
        session, principal=ctx.principal, provider_id=provider.id, data=data
    )
    ctx.flash("success", ctx.gettext("Certification added."))
    return ctx.redirect("/provider/certifications")


def _own_certification(
    ctx: WebContext, session: Session, cert_id: uuid.UUID
) -> tuple[Provider, CertificationOut]:
    provider = own_provider(ctx, session)
    for cert in provider.certifications:
        if cert.id == cert_id:
            return provider, CertificationOut.model_validate(cert)
    raise NotFound("No such certification", code="certification_not_found")


@router.get("/provider/certifications/{cert_id}/edit", response_class=HTMLResponse)
def edit_certification(cert_id: uuid.UUID, ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
    _, cert = _own_certification(ctx, session, cert_id)
    values = {
        "name": cert.name,
        "issuer": cert.issuer,
        "number": cert.number or "",
        "valid_until": cert.valid_until.isoformat() if cert.valid_until else "",
    }
    return ctx.render(
        "provider/certification_form.html", cert=cert, values=values, errors=FormErrors()
    )


@router.post("/provider/certifications/{cert_id}/edit", response_model=None)
def replace_certification(
    cert_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    assert ctx.principal is not None
    provider, cert = _own_certification(ctx, session, cert_id)
    values, payload = _certification_from_form(form)
    try:
        data = CertificationIn.model_validate(payload)
    except ValidationError as exc:
        return ctx.render(
            "provider/certification_form.html",
            status_code=422,
            cert=cert,
            values=values,
            errors=forms.from_validation(ctx, exc),
        )
    providers.replace_certification(
        session, principal=ctx.principal, provider_id=provider.id, cert_id=cert_id, data=data
    )
    ctx.flash("success", ctx.gettext("Certification saved."))
    return ctx.redirect("/provider/certifications")


@router.post("/provider/certifications/{cert_id}/delete", response_model=None)
def delete_certification(
    cert_id: uuid.UUID, ctx: ProviderWeb, _form: CheckedForm, session: DbSession
) -> Response:
    assert ctx.principal is not None
    provider = own_provider(ctx, session)
    providers.delete_certification(
        session, principal=ctx.principal, provider_id=provider.id, cert_id=cert_id
    )
    ctx.flash("info", ctx.gettext("Certification removed."))
    return ctx.redirect("/provider/certifications")
