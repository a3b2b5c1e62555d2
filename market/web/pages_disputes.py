"""Dispute (调解) pages for parties and mediating curators, and the webhook settings page.

The pages call the same services as the API: a party opens a dispute from its engagement,
everyone involved reads the thread and evidence, parties answer the mediator's proposal, the
mediator proposes and closes. Organisation administrators register and delete webhook
endpoints and everyone in the organisation reads the delivery log.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from catalog.pools.evidence import CHUNK
from catalog.pools.storage import storage_for
from core.deps import DbSession
from core.errors import AppError
from core.pagination import PageParams
from market.disputes import service as disputes
from market.disputes.models import CATEGORIES
from market.disputes.schemas import CloseIn, DisputeIn, MessageIn, ProposalIn, ReasonIn
from market.engagements import service as engagements
from market.web import forms
from market.web.forms import GENERAL, FormErrors
from market.web.i18n import N_
from market.web.security import CheckedForm, LoggedIn, WebContext
from market.webhooks import service as webhooks
from market.webhooks.models import TOPICS
from market.webhooks.schemas import EndpointIn

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
CATEGORY_LABELS = {
    "quality": N_("Quality problem"),
    "delay": N_("Late delivery"),
    "scope": N_("Scope disagreement"),
    "payment": N_("Payment problem"),
    "acceptance": N_("Acceptance (验收)"),
    "conduct": N_("Conduct of a party"),
    "other": N_("Other problem"),
}
STATUS_LABELS = {
    "open": N_("In mediation"),
    "proposed": N_("Proposal on the table"),
    "resolved": N_("Resolved by agreement"),
    "withdrawn": N_("Withdrawn by the opener"),
    "closed": N_("Closed by the mediator"),
}
OUTCOME_LABELS = {
    "resolved_by_agreement": N_("Resolved by agreement"),
    "withdrawn": N_("Withdrawn by the opener"),
    "decided": N_("Decided by the mediator"),
    "closed_without_agreement": N_("Closed without agreement"),
}
RESPONSE_LABELS = {
    "": N_("No answer yet"),
    "accepted": N_("Accepted the proposal"),
    "rejected": N_("Rejected the proposal"),
}
KIND_LABELS = {
    "proposal": N_("Proposal sent"),
    "accepted": N_("Accepted the proposal"),
    "rejected": N_("Rejected the proposal"),
    "outcome": N_("Outcome recorded"),
}
SIDE_LABELS = {
    "sme": N_("SME party"),
    "provider": N_("Provider party"),
    "mediator": N_("Mediating curator"),
}
TOPIC_LABELS = {
    "rfq": N_("RFQ events"),
    "invitation": N_("Invitation events"),
    "quote": N_("Quote events"),
    "engagement": N_("Engagement events"),
    "dispute": N_("Dispute events"),
}
# Service error codes said in the visitor's language; others fall back to the service's text.
MESSAGES = {
    "invalid_transition": N_("This action is not possible in the dispute's current state."),
    "dispute_already_open": N_("This engagement already has a dispute in mediation."),
    "already_answered": N_("Your side has already answered this proposal."),
    "opener_required": N_("Only the party that opened the dispute can withdraw it."),
    "party_required": N_("Only the parties of the dispute can do this."),
    "mediator_required": N_("Only the mediating curator can do this."),
    "unsupported_evidence": N_("Upload a PDF, JPEG or PNG file."),
    "evidence_too_large": N_("The file is too large."),
    "unsafe_webhook_url": N_(
        "Use an http(s) address on the public internet; private and local addresses are refused."
    ),
    "org_admin_required": N_("Only your organisation's administrators can manage webhooks."),
}


def _say(ctx: WebContext, exc: AppError) -> str:
    template = MESSAGES.get(exc.code)
    return ctx.gettext(template) if template else forms.app_error_message(ctx, exc)


def _labels() -> dict[str, dict[str, str]]:
    return {
        "category": CATEGORY_LABELS,
        "status": STATUS_LABELS,
        "outcome": OUTCOME_LABELS,
        "side": SIDE_LABELS,
        "response": RESPONSE_LABELS,
        "kind": KIND_LABELS,
        "topic": TOPIC_LABELS,
    }


# --- opening -------------------------------------------------------------------------------------


def _render_open(
    ctx: WebContext,
    session: DbSession,
    engagement_id: uuid.UUID,
    *,
    values: dict[str, str],
    errors: FormErrors,
    status_code: int = 200,
) -> HTMLResponse:
    assert ctx.principal is not None
    engagement, _side = engagements.get_for_party(
        session, principal=ctx.principal, engagement_id=engagement_id
    )
    return ctx.render(
        "disputes/open.html",
        status_code=status_code,
        engagement=engagement,
        categories=CATEGORIES,
        labels=_labels(),
        values=values,
        errors=errors,
    )


@router.get("/engagements/{engagement_id}/disputes/new", response_class=HTMLResponse)
def open_form(engagement_id: uuid.UUID, ctx: LoggedIn, session: DbSession) -> HTMLResponse:
    values = {"category": "", "description": ""}
    return _render_open(ctx, session, engagement_id, values=values, errors=FormErrors())


@router.post("/engagements/{engagement_id}/disputes/new", response_model=None)
def open_dispute(
    engagement_id: uuid.UUID, ctx: LoggedIn, form: CheckedForm, session: DbSession
) -> Response:
    assert ctx.principal is not None
    values = {name: forms.text(form, name) for name in ("category", "description")}
    errors = FormErrors()
    try:
        data = DisputeIn.model_validate(values)
    except ValidationError as exc:
        errors = forms.from_validation(ctx, exc, forms.plain_key)
        return _render_open(
            ctx, session, engagement_id, values=values, errors=errors, status_code=422
        )
    try:
        dispute = disputes.open_dispute(
            session, principal=ctx.principal, engagement_id=engagement_id, data=data
        )
    except AppError as exc:
        session.rollback()
        errors.add(GENERAL, _say(ctx, exc))
        return _render_open(
            ctx, session, engagement_id, values=values, errors=errors, status_code=exc.status_code
        )
    ctx.flash("success", ctx.gettext("Dispute opened. The pool's curator will mediate."))
    return ctx.redirect(f"/disputes/{dispute.id}")


# --- lists and detail ----------------------------------------------------------------------------


@router.get("/disputes", response_class=HTMLResponse)
def dispute_list(
    ctx: LoggedIn,
    session: DbSession,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    status: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """Parties see their disputes; curators the disputes they mediate."""
    assert ctx.principal is not None
    params = PageParams(page=page, size=PAGE_SIZE, sort="-updated_at")
    wanted = status if status == "live" or status in STATUS_LABELS else None
    items, total = disputes.list_disputes(
        session, principal=ctx.principal, status=wanted, engagement_id=None, params=params
    )
    return ctx.render(
        "disputes/list.html",
        items=items,
        total=total,
        page=params.page,
        pages=max(1, math.ceil(total / params.size)),
        status=wanted or "",
        labels=_labels(),
        mediating=ctx.principal.role in ("curator", "admin"),
    )


@router.get("/disputes/{dispute_id}", response_class=HTMLResponse)
def dispute_detail(dispute_id: uuid.UUID, ctx: LoggedIn, session: DbSession) -> HTMLResponse:
    assert ctx.principal is not None
    dispute, viewer = disputes.get_visible(session, principal=ctx.principal, dispute_id=dispute_id)
    return ctx.render(
        "disputes/detail.html",
        dispute=disputes.to_out(session, dispute, viewer),
        labels=_labels(),
    )


@router.get("/disputes/{dispute_id}/evidence/{evidence_id}")
def evidence_download(
    dispute_id: uuid.UUID, evidence_id: uuid.UUID, ctx: LoggedIn, session: DbSession
) -> StreamingResponse:
    assert ctx.principal is not None
    row, handle = disputes.open_evidence(
        session,
        principal=ctx.principal,
        dispute_id=dispute_id,
        evidence_id=evidence_id,
        storage=storage_for(ctx.request, ctx.settings),
    )

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type=row.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# --- actions on a dispute ------------------------------------------------------------------------


def _back(ctx: WebContext, dispute_id: uuid.UUID) -> Response:
    return ctx.redirect(f"/disputes/{dispute_id}")


def _failed(ctx: WebContext, session: DbSession, dispute_id: uuid.UUID, exc: Exception) -> Response:
    session.rollback()
    if isinstance(exc, ValidationError):
        ctx.flash("error", ctx.gettext("Fill in the text before sending."))
    elif isinstance(exc, AppError):
        if exc.status_code == 404:
            raise exc
        ctx.flash("error", _say(ctx, exc))
    else:
        raise exc
    return _back(ctx, dispute_id)


@router.post("/disputes/{dispute_id}/message", response_model=None)
def post_message(
    dispute_id: uuid.UUID, ctx: LoggedIn, form: CheckedForm, session: DbSession
) -> Response:
    assert ctx.principal is not None
    try:
        data = MessageIn.model_validate({"body": forms.text(form, "body")})
        disputes.post_message(
            session, principal=ctx.principal, dispute_id=dispute_id, body=data.body
        )
    except (ValidationError, AppError) as exc:
        return _failed(ctx, session, dispute_id, exc)
    ctx.flash("success", ctx.gettext("Message sent."))
    return _back(ctx, dispute_id)


@router.post("/disputes/{dispute_id}/evidence", response_model=None)
def upload_evidence(
    dispute_id: uuid.UUID, ctx: LoggedIn, form: CheckedForm, session: DbSession
) -> Response:
    assert ctx.principal is not None
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        ctx.flash("error", ctx.gettext("Choose a file to upload."))
        return _back(ctx, dispute_id)
    try:
        disputes.add_evidence(
            session,
            principal=ctx.principal,
            dispute_id=dispute_id,
            storage=storage_for(ctx.request, ctx.settings),
            filename=upload.filename,
            content_type=upload.content_type,
            stream=upload.file,
            max_bytes=ctx.settings.max_upload_mb * 1024 * 1024,
        )
    except AppError as exc:
        return _failed(ctx, session, dispute_id, exc)
    ctx.flash("success", ctx.gettext("Evidence uploaded."))
    return _back(ctx, dispute_id)


@router.post("/disputes/{dispute_id}/respond", response_model=None)
def respond(
    dispute_id: uuid.UUID, ctx: LoggedIn, form: CheckedForm, session: DbSession
) -> Response:
    assert ctx.principal is not None
    accept = forms.text(form, "answer") == "accept"
    reason = forms.text(form, "reason")
    if not accept and not reason:
        ctx.flash("error", ctx.gettext("Say why the proposal is not acceptable."))
        return _back(ctx, dispute_id)
    try:
        disputes.respond(
            session, principal=ctx.principal, dispute_id=dispute_id, accept=accept, reason=reason
        )
    except AppError as exc:
        return _failed(ctx, session, dispute_id, exc)
    ctx.flash("success", ctx.gettext("Your answer was recorded."))
    return _back(ctx, dispute_id)


@router.post("/disputes/{dispute_id}/withdraw", response_model=None)
def withdraw(
    dispute_id: uuid.UUID, ctx: LoggedIn, form: CheckedForm, session: DbSession
) -> Response:
    assert ctx.principal is not None
    try:
        data = ReasonIn.model_validate({"reason": forms.text(form, "reason")})
        disputes.withdraw(
            session, principal=ctx.principal, dispute_id=dispute_id, reason=data.reason
        )
    except (ValidationError, AppError) as exc:
        return _failed(ctx, session, dispute_id, exc)
    ctx.flash("success", ctx.gettext("The dispute was withdrawn."))
    return _back(ctx, dispute_id)


@router.post("/disputes/{dispute_id}/propose", response_model=None)
def propose(
    dispute_id: uuid.UUID, ctx: LoggedIn, form: CheckedForm, session: DbSession
) -> Response:
    assert ctx.principal is not None
    try:
        data = ProposalIn.model_validate({"proposal": forms.text(form, "proposal")})
        disputes.propose(
            session, principal=ctx.principal, dispute_id=dispute_id, proposal=data.proposal
        )
    except (ValidationError, AppError) as exc:
        return _failed(ctx, session, dispute_id, exc)
    ctx.flash("success", ctx.gettext("The proposal was sent to both parties."))
    return _back(ctx, dispute_id)


@router.post("/disputes/{dispute_id}/close", response_model=None)
def close(dispute_id: uuid.UUID, ctx: LoggedIn, form: CheckedForm, session: DbSession) -> Response:
    assert ctx.principal is not None
    try:
        data = CloseIn.model_validate(
            {"outcome": forms.text(form, "outcome"), "reason": forms.text(form, "reason")}
        )
        disputes.close(session, principal=ctx.principal, dispute_id=dispute_id, data=data)
    except (ValidationError, AppError) as exc:
        return _failed(ctx, session, dispute_id, exc)
    ctx.flash("success", ctx.gettext("The dispute was closed."))
    return _back(ctx, dispute_id)


# --- webhook settings ----------------------------------------------------------------------------


def _render_webhooks(
    ctx: WebContext,
    session: DbSession,
    *,
    values: dict[str, object],
    errors: FormErrors,
    secret: str = "",
    page: int = 1,
    status_code: int = 200,
) -> HTMLResponse:
    assert ctx.principal is not None
    params = PageParams(page=page, size=PAGE_SIZE, sort=None)
    endpoints = webhooks.list_endpoints(session, principal=ctx.principal)
    log, total = webhooks.deliveries(
        session, principal=ctx.principal, endpoint_id=None, params=params
    )
    return ctx.render(
        "disputes/webhooks.html",
        status_code=status_code,
        endpoints=endpoints,
        deliveries=log,
        urls={e.id: e.url for e in endpoints},
        total=total,
        page=params.page,
        pages=max(1, math.ceil(total / params.size)),
        topics=TOPICS,
        labels=_labels(),
        values=values,
        errors=errors,
        secret=secret,
        owner=ctx.principal.is_org_admin,
    )


@router.get("/settings/webhooks", response_class=HTMLResponse)
def webhook_settings(
    ctx: LoggedIn, session: DbSession, page: Annotated[int, Query(ge=1, le=10_000)] = 1
) -> HTMLResponse:
    values: dict[str, object] = {"url": "", "topics": list(TOPICS), "description": ""}
    return _render_webhooks(ctx, session, values=values, errors=FormErrors(), page=page)


@router.post("/settings/webhooks", response_model=None)
def register_webhook(ctx: LoggedIn, form: CheckedForm, session: DbSession) -> Response:
    assert ctx.principal is not None
    values: dict[str, object] = {
        "url": forms.text(form, "url"),
        "topics": forms.choices(form, "topics"),
        "description": forms.text(form, "description"),
    }
    errors = FormErrors()
    try:
        data = EndpointIn.model_validate(values)
        endpoint = webhooks.register(session, principal=ctx.principal, data=data)
    except ValidationError as exc:
        errors = forms.from_validation(ctx, exc, forms.plain_key)
        return _render_webhooks(ctx, session, values=values, errors=errors, status_code=422)
    except AppError as exc:
        session.rollback()
        errors.add("url" if exc.code == "unsafe_webhook_url" else GENERAL, _say(ctx, exc))
        return _render_webhooks(
            ctx, session, values=values, errors=errors, status_code=exc.status_code
        )
    ctx.flash("success", ctx.gettext("Endpoint registered. Copy the secret now: it is shown once."))
    fresh: dict[str, object] = {"url": "", "topics": list(TOPICS), "description": ""}
    return _render_webhooks(ctx, session, values=fresh, errors=errors, secret=endpoint.secret)


@router.post("/settings/webhooks/{endpoint_id}/delete", response_model=None)
def delete_webhook(
    endpoint_id: uuid.UUID, ctx: LoggedIn, form: CheckedForm, session: DbSession
) -> Response:
    assert ctx.principal is not None
    try:
        webhooks.delete(session, principal=ctx.principal, endpoint_id=endpoint_id)
    except AppError as exc:
        session.rollback()
        if exc.status_code == 404:
            raise
        ctx.flash("error", _say(ctx, exc))
        return ctx.redirect("/settings/webhooks")
    ctx.flash("success", ctx.gettext("Endpoint deleted."))
    return ctx.redirect("/settings/webhooks")
