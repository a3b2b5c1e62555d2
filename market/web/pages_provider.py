"""The provider's workbench: dashboard, profile, certifications.

The dashboard gathers what needs the provider's attention across the workbench: drafts,
invitations to quote with their deadlines, engagements under way, pool listings and how often
the provider was recommended, invited and chosen. Solutions, case studies, quotes and pools
have their own modules (``pages_provider_solutions``, ``pages_cases``, ``pages_provider_rfqs``,
``pages_provider_pools``).
"""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from catalog.cases import service as cases
from catalog.pools import service as pools
from catalog.pools.schemas import ApplicationOut
from catalog.providers import service as providers
from catalog.providers.models import Provider
from catalog.providers.schemas import CertificationIn, CertificationOut, ProviderOut, ProviderUpdate
from catalog.solutions import service as solutions
from core.deps import DbSession
from core.errors import AppError, NotFound
from core.pagination import PageParams
from market.rfqs import provider_desk
from market.web import forms
from market.web.editing import form_version, validated
from market.web.forms import FieldProblem, FormErrors
from market.web.security import CheckedForm, ProviderWeb, WebContext

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 10
STATUSES = ("draft", "published", "archived")
# How many invitations and listings the dashboard shows before "see all".
DASHBOARD_ROWS = 5


def own_provider(ctx: WebContext, session: Session) -> Provider:
    assert ctx.principal is not None
    return providers.own_provider(session, principal=ctx.principal)


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
        **_market_overview(ctx, session, provider),
    )


def _market_overview(ctx: WebContext, session: Session, provider: Provider) -> dict[str, Any]:
    """The market side of the dashboard: invitations, engagements, listings, figures."""
    assert ctx.principal is not None
    invitations, invitation_total = provider_desk.invitations(
        session,
        provider_id=provider.id,
        status=None,
        params=PageParams(page=1, size=DASHBOARD_ROWS),
    )
    applications, _ = pools.list_mine(
        session, principal=ctx.principal, params=PageParams(page=1, size=100)
    )
    return {
        "invitations": invitations,
        "invitation_total": invitation_total,
        "engagements": provider_desk.active_engagements(session, provider_id=provider.id),
        "pool_status": _newest_per_pool(applications),
        "funnel": provider_desk.funnel(session, provider_id=provider.id),
    }


def _newest_per_pool(applications: list[ApplicationOut]) -> list[ApplicationOut]:
    """Each pool once, with the application that stands there now (they come newest first)."""
    newest: dict[uuid.UUID, ApplicationOut] = {}
    for application in applications:
        newest.setdefault(application.pool_id, application)
    return list(newest.values())


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
    data = validated(ctx, ProviderUpdate, payload, errors)
    if data is None:
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
    errors = FormErrors()
    data = validated(ctx, CertificationIn, payload, errors)
    if data is None:
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
    errors = FormErrors()
    data = validated(ctx, CertificationIn, payload, errors)
    if data is None:
        return ctx.render(
            "provider/certification_form.html",
            status_code=422,
            cert=cert,
            values=values,
            errors=errors,
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
