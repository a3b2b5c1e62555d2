"""The provider's resource pages (资源池): pools open for applications, applying with
solutions and evidence, the application's timeline, answering a return, and adding evidence.

What a listing later meets (sanctions, rectification reports, appeals, reported changes) is in
``pages_provider_listing``. Every step goes through the same pool services as the API; an
application of another provider is "not found" here as it is there.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from catalog.pools import evidence, lifecycle, sanctions
from catalog.pools import service as pools
from catalog.pools.models import ACTIVE_STATES, EVIDENCE_KINDS, MEMBER_STATES
from catalog.pools.schemas import ApplicationIn, ApplicationOut, EvidenceOut, ResubmitIn
from catalog.solutions import service as solutions
from core.deps import DbSession, Principal
from core.errors import AppError
from core.pagination import PageParams
from market.web import forms
from market.web.editing import validated
from market.web.forms import FormErrors
from market.web.market_forms import attempt, message_for, service_errors
from market.web.security import CheckedForm, ProviderWeb, WebContext
from market.web.uploads import KIND_FIELD, chosen_documents, store_chosen_file

router = APIRouter(include_in_schema=False)


def principal_of(ctx: WebContext) -> Principal:
    assert ctx.principal is not None
    return ctx.principal


def my_applications(ctx: WebContext, session: Session) -> list[ApplicationOut]:
    """Every application of the provider, newest first (a provider has few)."""
    items, _ = pools.list_mine(
        session, principal=principal_of(ctx), params=PageParams(page=1, size=100)
    )
    return items


def own_documents(ctx: WebContext, session: Session) -> list[EvidenceOut]:
    rows = evidence.list_mine(session, principal=principal_of(ctx))
    return [EvidenceOut.model_validate(d) for d in rows]


def _own_solutions(ctx: WebContext, session: Session) -> list[tuple[str, str, str]]:
    """(id, title, status) of the provider's solutions."""
    rows, _ = solutions.list_solutions(
        session,
        principal=principal_of(ctx),
        filters=solutions.SolutionFilters(mine=True),
        params=PageParams(page=1, size=100, sort="title"),
    )
    return [(str(r.id), r.title, r.status) for r in rows]


def _solution_options(ctx: WebContext, session: Session) -> list[tuple[str, str, str]]:
    """The drafts and published solutions, which are what may be put forward."""
    return [option for option in _own_solutions(ctx, session) if option[2] != "archived"]


def evidence_ids_from(ctx: WebContext, session: Session, form: FormData, errors: FormErrors) -> Any:
    """Ticked earlier documents plus the file chosen now (stored first)."""
    ids: list[str] = chosen_documents(form)
    stored = store_chosen_file(ctx, session, form, errors)
    if stored is not None:
        ids.append(str(stored))
    return ids


# --- pools -----------------------------------------------------------------------------------


@router.get("/provider/pools", response_class=HTMLResponse)
def pool_overview(ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
    applications = my_applications(ctx, session)
    busy = {a.pool_id for a in applications if a.state in ACTIVE_STATES}
    open_pools, _ = pools.list_pools(
        session,
        filters=pools.PoolFilters(applications_open=True),
        params=PageParams(page=1, size=100),
    )
    return ctx.render(
        "provider/pools/index.html",
        applications=applications,
        open_pools=open_pools,
        busy=busy,
        documents=own_documents(ctx, session),
    )


def _render_apply(
    ctx: WebContext,
    session: Session,
    pool_id: uuid.UUID,
    *,
    values: dict[str, Any],
    errors: FormErrors,
    status_code: int = 200,
) -> HTMLResponse:
    return ctx.render(
        "provider/pools/apply.html",
        status_code=status_code,
        pool=pools.pool_out(session, pools.get_pool(session, pool_id)),
        values=values,
        errors=errors,
        solution_options=_solution_options(ctx, session),
        documents=own_documents(ctx, session),
        kinds=EVIDENCE_KINDS,
        max_upload_mb=ctx.settings.max_upload_mb,
    )


@router.get("/provider/pools/{pool_id}/apply", response_class=HTMLResponse)
def apply_form(pool_id: uuid.UUID, ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
    values = {"category_id": "", "solution_ids": [], "evidence_ids": [], "note": ""}
    return _render_apply(ctx, session, pool_id, values=values, errors=FormErrors())


@router.post("/provider/pools/{pool_id}/apply", response_model=None)
def apply(pool_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession) -> Response:
    pools.get_pool(session, pool_id)  # an unknown pool is a page that does not exist
    errors = FormErrors()
    values: dict[str, Any] = {
        "category_id": forms.text(form, "category_id"),
        "solution_ids": forms.choices(form, "solution_ids"),
        "evidence_ids": chosen_documents(form),
        "note": forms.text(form, "note"),
        "declaration": forms.text(form, "declaration") == "yes",
        KIND_FIELD: forms.text(form, KIND_FIELD),
    }
    payload = {
        "category_id": values["category_id"],
        "solution_ids": values["solution_ids"],
        "declaration": values["declaration"],
        "note": values["note"],
        "evidence_ids": evidence_ids_from(ctx, session, form, errors),
    }
    # A file stored before another problem stays ticked, so it is not asked for again.
    values["evidence_ids"] = payload["evidence_ids"]
    submitted: list[uuid.UUID] = []
    status_code = attempt(
        ctx,
        session,
        validated(ctx, ApplicationIn, payload, errors, _application_key),
        lambda data: submitted.append(
            lifecycle.submit(
                session, principal=principal_of(ctx), pool_id=pool_id, data=data
            ).app.id
        ),
        errors,
        _application_key,
    )
    if status_code is not None:
        return _render_apply(
            ctx, session, pool_id, values=values, errors=errors, status_code=status_code
        )
    ctx.flash(
        "success",
        ctx.gettext(
            "Application sent. The pool's curators check it first; you are told of each step."
        ),
    )
    return ctx.redirect(f"/provider/pools/applications/{submitted[0]}")


def _application_key(parts: list[str], _error: Any) -> str:
    """Lists are one control each (``solution_ids.0`` → ``solution_ids``)."""
    return parts[0] if parts else forms.GENERAL


# --- one application -------------------------------------------------------------------------


def render_application(
    ctx: WebContext,
    session: Session,
    application_id: uuid.UUID,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    form_name: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The application page; ``form_name`` says which of its forms the errors belong to."""
    principal = principal_of(ctx)
    loaded = pools.as_owner(session, principal, application_id)
    out = pools.to_out(loaded, "provider")
    member = out.state in MEMBER_STATES or out.state == "removed"
    titles = {sid: title for sid, title, _ in _own_solutions(ctx, session)}
    return ctx.render(
        "provider/pools/application.html",
        status_code=status_code,
        app=out,
        pool=pools.pool_out(session, loaded.pool),
        timeline=pools.decisions(session, principal=principal, application_id=application_id),
        linked=evidence.application_evidence(
            session, principal=principal, application_id=application_id
        ),
        solution_titles=titles,
        solution_options=_solution_options(ctx, session),
        documents=own_documents(ctx, session),
        kinds=EVIDENCE_KINDS,
        max_upload_mb=ctx.settings.max_upload_mb,
        open_for_evidence=out.state in evidence.OPEN_FOR_EVIDENCE,
        sanctions=sanctions.sanctions_of(
            session, principal=principal, application_id=application_id
        )
        if member
        else [],
        appeals=sanctions.appeals_of(session, principal=principal, application_id=application_id)
        if member
        else [],
        values=values or {},
        errors=errors or FormErrors(),
        # Each form on the page shows only its own errors.
        form_name=form_name,
        no_errors=FormErrors(),
    )


@router.get("/provider/pools/applications/{application_id}", response_class=HTMLResponse)
def application_page(
    application_id: uuid.UUID, ctx: ProviderWeb, session: DbSession
) -> HTMLResponse:
    return render_application(ctx, session, application_id)


@router.post("/provider/pools/applications/{application_id}/resubmit", response_model=None)
def resubmit(
    application_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    principal = principal_of(ctx)
    pools.as_owner(session, principal, application_id)
    errors = FormErrors()
    values: dict[str, Any] = {
        "category_id": forms.text(form, "category_id"),
        "solution_ids": forms.choices(form, "solution_ids"),
        "note": forms.text(form, "note"),
    }
    payload = {**values, "evidence_ids": evidence_ids_from(ctx, session, form, errors)}
    status_code = attempt(
        ctx,
        session,
        validated(ctx, ResubmitIn, payload, errors, _application_key),
        lambda data: lifecycle.resubmit(
            session, principal=principal, application_id=application_id, data=data
        ),
        errors,
        _application_key,
    )
    if status_code is not None:
        return render_application(
            ctx,
            session,
            application_id,
            values=values,
            errors=errors,
            form_name="resubmit",
            status_code=status_code,
        )
    ctx.flash("success", ctx.gettext("Application sent again. The curators are told."))
    return ctx.redirect(f"/provider/pools/applications/{application_id}")


@router.post("/provider/pools/applications/{application_id}/evidence", response_model=None)
def add_evidence(
    application_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    principal = principal_of(ctx)
    pools.as_owner(session, principal, application_id)
    errors = FormErrors()
    ids = evidence_ids_from(ctx, session, form, errors)
    if not errors and not ids:
        errors.add("file", ctx.gettext("Choose a file, or tick a document you uploaded before."))
    if errors:
        return render_application(
            ctx, session, application_id, errors=errors, form_name="evidence", status_code=422
        )
    try:
        evidence.attach(
            session,
            principal=principal,
            application_id=application_id,
            document_ids=[uuid.UUID(i) for i in ids],
        )
    except (AppError, ValueError) as exc:
        session.rollback()
        errors = FormErrors()
        if isinstance(exc, AppError):
            errors = service_errors(ctx, exc)
        else:
            errors.add(forms.GENERAL, ctx.gettext("Choose one of the offered options."))
        return render_application(
            ctx, session, application_id, errors=errors, form_name="evidence", status_code=422
        )
    ctx.flash("success", ctx.gettext("Evidence added to the application."))
    return ctx.redirect(f"/provider/pools/applications/{application_id}#evidence")


@router.post("/provider/pools/applications/{application_id}/withdraw", response_model=None)
def withdraw(
    application_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    try:
        lifecycle.withdraw(
            session,
            principal=principal_of(ctx),
            application_id=application_id,
            reason=forms.text(form, "reason")[:2000],
        )
    except AppError as exc:
        if exc.status_code == 404:
            raise
        session.rollback()
        ctx.flash("error", message_for(ctx, exc))
    else:
        ctx.flash("info", ctx.gettext("Application withdrawn."))
    return ctx.redirect(f"/provider/pools/applications/{application_id}")
