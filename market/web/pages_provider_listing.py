"""What a listing meets after it is granted: the rectification report a sanction asks for, an
appeal against a sanction or the star rating, and material changes (name, credit code, key
certificate) the provider must report to every pool it is in.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from catalog.pools import changes, sanctions
from catalog.pools import service as pools
from catalog.pools.models import CHANGE_KINDS, EVIDENCE_KINDS, PoolSanction
from catalog.pools.schemas import AppealIn, ChangeIn, RectificationReportIn
from core.deps import DbSession
from market.web import forms
from market.web.editing import validated
from market.web.forms import FormErrors
from market.web.market_forms import attempt
from market.web.pages_provider_pools import (
    evidence_ids_from,
    own_documents,
    principal_of,
    render_application,
)
from market.web.security import CheckedForm, ProviderWeb, WebContext

router = APIRouter(include_in_schema=False)


def _evidence_key(parts: list[str], _error: Any) -> str:
    return parts[0] if parts else forms.GENERAL


@router.post("/provider/pools/sanctions/{sanction_id}/report", response_model=None)
def report_rectification(
    sanction_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    principal = principal_of(ctx)
    sanction = session.get(PoolSanction, sanction_id)
    if sanction is None:
        raise sanctions.sanction_not_found()
    application_id = sanction.application_id
    pools.as_owner(session, principal, application_id)  # others: "not found"
    errors = FormErrors()
    values = {"report": forms.text(form, "report"), "sanction_id": str(sanction_id)}
    payload = {
        "report": values["report"],
        "evidence_ids": evidence_ids_from(ctx, session, form, errors),
    }
    status_code = attempt(
        ctx,
        session,
        validated(ctx, RectificationReportIn, payload, errors, _evidence_key),
        lambda data: sanctions.report(
            session, principal=principal, sanction_id=sanction_id, data=data
        ),
        errors,
        _evidence_key,
    )
    if status_code is not None:
        return render_application(
            ctx,
            session,
            application_id,
            values=values,
            errors=errors,
            form_name=f"report-{sanction_id}",
            status_code=status_code,
        )
    ctx.flash("success", ctx.gettext("Rectification report sent. The curators review it."))
    return ctx.redirect(f"/provider/pools/applications/{application_id}#sanctions")


@router.post("/provider/pools/applications/{application_id}/appeals", response_model=None)
def file_appeal(
    application_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    principal = principal_of(ctx)
    pools.as_owner(session, principal, application_id)
    errors = FormErrors()
    values = {"subject": forms.text(form, "subject"), "text": forms.text(form, "text")}
    subject, _, sanction = values["subject"].partition(":")
    payload: dict[str, Any] = {
        "subject": subject,
        "sanction_id": sanction or None,
        "text": values["text"],
        "evidence_ids": evidence_ids_from(ctx, session, form, errors),
    }
    status_code = attempt(
        ctx,
        session,
        validated(ctx, AppealIn, payload, errors, _appeal_key),
        lambda data: sanctions.file_appeal(
            session, principal=principal, application_id=application_id, data=data
        ),
        errors,
        _appeal_key,
    )
    if status_code is not None:
        return render_application(
            ctx,
            session,
            application_id,
            values=values,
            errors=errors,
            form_name="appeal",
            status_code=status_code,
        )
    ctx.flash(
        "success",
        ctx.gettext("Appeal filed. A curator who took no part in the decision will decide it."),
    )
    return ctx.redirect(f"/provider/pools/applications/{application_id}#appeals")


def _appeal_key(parts: list[str], _error: Any) -> str:
    if not parts:
        return forms.GENERAL
    return "subject" if parts[0] in ("sanction_id", "subject") else parts[0]


# --- material changes ------------------------------------------------------------------------


def _render_changes(
    ctx: WebContext,
    session: Session,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return ctx.render(
        "provider/pools/changes.html",
        status_code=status_code,
        reported=changes.my_changes(session, principal=principal_of(ctx)),
        documents=own_documents(ctx, session),
        kinds=EVIDENCE_KINDS,
        max_upload_mb=ctx.settings.max_upload_mb,
        change_kinds=CHANGE_KINDS,
        values=values or {"kind": "", "new_value": "", "note": "", "evidence_ids": []},
        errors=errors or FormErrors(),
    )


@router.get("/provider/pools/changes", response_class=HTMLResponse)
def changes_page(ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
    return _render_changes(ctx, session)


@router.post("/provider/pools/changes", response_model=None)
def report_change(ctx: ProviderWeb, form: CheckedForm, session: DbSession) -> Response:
    errors = FormErrors()
    values: dict[str, Any] = {
        "kind": forms.text(form, "kind"),
        "new_value": forms.text(form, "new_value"),
        "note": forms.text(form, "note"),
    }
    values["evidence_ids"] = evidence_ids_from(ctx, session, form, errors)
    status_code = attempt(
        ctx,
        session,
        validated(ctx, ChangeIn, values, errors, _evidence_key),
        lambda data: changes.report_change(session, principal=principal_of(ctx), data=data),
        errors,
        _evidence_key,
    )
    if status_code is not None:
        return _render_changes(ctx, session, values=values, errors=errors, status_code=status_code)
    ctx.flash(
        "success",
        ctx.gettext("Change reported. Each pool you are in or applying to reviews it."),
    )
    return ctx.redirect("/provider/pools/changes")
