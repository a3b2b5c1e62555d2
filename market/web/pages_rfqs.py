"""The SME's side of requests for quotation: sending one from the recommendations, following
the invitations and their Q&A, comparing quotes with the three-year TCO, and accepting one.

Provider-side quoting has pages of its own. Who may see and do what is decided by
``market.rfqs.service``: another company's RFQ is a 404, a provider opening these pages a 403.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import pygal
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.orm import Session

from core.deps import DbSession
from core.errors import AppError, NotFound
from core.pagination import PageParams
from market.recommendations import service as recommendations
from market.rfqs import service as rfqs
from market.rfqs.schemas import AcceptIn, ComparisonOut, RfqIn, RfqOut
from market.web import forms
from market.web.forms import FieldProblem, FormErrors
from market.web.pages_needs import own_need, render_recommendations
from market.web.security import CheckedForm, SmeWeb, WebContext
from market.web.sme_support import (
    PAGE_SIZE,
    error_message,
    errors_from,
    local_input,
    page_count,
    parse_local_datetime,
)

router = APIRouter(include_in_schema=False)

RFQ_STATUSES = ("open", "closed", "cancelled", "expired")


def _rfq(ctx: WebContext, session: Session, rfq_id: uuid.UUID) -> RfqOut:
    """The SME's own RFQ; an invited provider has its own pages, so it is refused here."""
    assert ctx.principal is not None
    view = rfqs.get_rfq(session, principal=ctx.principal, rfq_id=rfq_id)
    if view.side != "sme":
        raise rfqs.WrongParty(ctx.gettext("Only the company that sent this request can open it."))
    return rfqs.rfq_out(session, view)


# --- list and create ---------------------------------------------------------------------------


@router.get("/sme/rfqs", response_class=HTMLResponse)
def rfq_list(
    ctx: SmeWeb,
    session: DbSession,
    status: str | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    assert ctx.principal is not None
    chosen = status if status in RFQ_STATUSES else None
    params = PageParams(page=page, size=PAGE_SIZE)
    items, total = rfqs.list_rfqs(session, principal=ctx.principal, status=chosen, params=params)
    return ctx.render(
        "sme/rfqs.html",
        items=items,
        total=total,
        page=params.page,
        pages=page_count(total),
        status=chosen,
        statuses=RFQ_STATUSES,
        query={"status": chosen},
    )


def _rfq_key(parts: list[str], _error: Any) -> str:
    return parts[0] if parts else forms.GENERAL


@router.post("/sme/rfqs", response_class=HTMLResponse)
def send_rfq(ctx: SmeWeb, session: DbSession, form: CheckedForm) -> Response:
    assert ctx.principal is not None
    chosen = list(dict.fromkeys(forms.choices(form, "provider_ids")))
    deadline = forms.text(form, "deadline")
    values: dict[str, Any] = {
        "provider_ids": chosen,
        "deadline": deadline,
        "message": forms.text(form, "message"),
        "pool_id": forms.text(form, "pool_id"),
    }
    errors = FormErrors()
    payload: dict[str, Any] = {
        "need_id": forms.text(form, "need_id"),
        "provider_ids": chosen,
        "message": values["message"],
        "pool_id": values["pool_id"] or None,
    }
    try:
        payload["deadline"] = parse_local_datetime(deadline, ctx, "deadline")
    except FieldProblem as problem:
        errors.add(problem.key, problem.message)
    if not chosen:
        errors.add("provider_ids", ctx.gettext("Choose at least one provider."))
    data = None
    try:
        data = RfqIn.model_validate(payload)
    except ValidationError as exc:
        errors.merge(forms.from_validation(ctx, exc, _rfq_key))
    if not errors and data is not None:
        try:
            rfq = rfqs.create_rfq(session, principal=ctx.principal, data=data)
        except AppError as exc:
            session.rollback()
            errors = errors_from(ctx, exc, _rfq_key)
        else:
            ctx.flash("success", ctx.gettext("Your request for quotation was sent."))
            return ctx.redirect(f"/sme/rfqs/{rfq.id}")
    return _back_to_recommendations(ctx, session, form, values, errors)


def _back_to_recommendations(
    ctx: WebContext,
    session: Session,
    form: Any,
    values: dict[str, Any],
    errors: FormErrors,
) -> HTMLResponse:
    assert ctx.principal is not None
    try:
        need_id = uuid.UUID(forms.text(form, "need_id"))
        list_id = uuid.UUID(forms.text(form, "list_id"))
    except ValueError:
        raise NotFound("No such need", code="need_not_found") from None
    need = own_need(ctx, session, need_id)
    listed = recommendations.read_list(
        session, principal=ctx.principal, need_id=need_id, list_id=list_id
    )
    return render_recommendations(
        ctx, session, need, listed, values=values, errors=errors, status_code=422
    )


# --- detail, Q&A, deadline, cancel -------------------------------------------------------------


def _render_detail(
    ctx: WebContext,
    session: Session,
    rfq: RfqOut,
    *,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    assert ctx.principal is not None
    threads = {
        invitation.id: rfqs.list_messages(
            session, principal=ctx.principal, invitation_id=invitation.id
        )
        for invitation in rfq.invitations
    }
    return ctx.render(
        "sme/rfq.html",
        status_code=status_code,
        rfq=rfq,
        threads=threads,
        errors=errors or FormErrors(),
        values=values or {"deadline": local_input(rfq.deadline), "reason": ""},
    )


@router.get("/sme/rfqs/{rfq_id}", response_class=HTMLResponse)
def rfq_detail(rfq_id: uuid.UUID, ctx: SmeWeb, session: DbSession) -> HTMLResponse:
    return _render_detail(ctx, session, _rfq(ctx, session, rfq_id))


@router.post("/sme/rfqs/{rfq_id}/invitations/{invitation_id}/messages")
def ask(
    rfq_id: uuid.UUID,
    invitation_id: uuid.UUID,
    ctx: SmeWeb,
    session: DbSession,
    form: CheckedForm,
) -> Response:
    assert ctx.principal is not None
    rfq = _rfq(ctx, session, rfq_id)
    if invitation_id not in {i.id for i in rfq.invitations}:
        raise NotFound("No such invitation", code="invitation_not_found")
    body = forms.text(form, f"body.{invitation_id}")
    if not body:
        errors = FormErrors()
        errors.add(f"body.{invitation_id}", ctx.gettext(forms.REQUIRED))
        return _render_detail(ctx, session, rfq, errors=errors, status_code=422)
    try:
        rfqs.post_message(session, principal=ctx.principal, invitation_id=invitation_id, body=body)
    except AppError as exc:
        session.rollback()
        ctx.flash("error", error_message(ctx, exc))
    else:
        ctx.flash("success", ctx.gettext("Your question was sent."))
    return ctx.redirect(f"/sme/rfqs/{rfq_id}#thread-{invitation_id}")


@router.post("/sme/rfqs/{rfq_id}/extend", response_class=HTMLResponse)
def extend(rfq_id: uuid.UUID, ctx: SmeWeb, session: DbSession, form: CheckedForm) -> Response:
    assert ctx.principal is not None
    rfq = _rfq(ctx, session, rfq_id)
    raw = forms.text(form, "deadline")
    values = {"deadline": raw, "reason": ""}
    errors = FormErrors()
    try:
        deadline = parse_local_datetime(raw, ctx, "deadline")
        rfqs.extend_deadline(session, principal=ctx.principal, rfq_id=rfq_id, deadline=deadline)
    except FieldProblem as problem:
        errors.add(problem.key, problem.message)
    except AppError as exc:
        session.rollback()
        errors = errors_from(ctx, exc, _rfq_key)
    if errors:
        return _render_detail(ctx, session, rfq, errors=errors, values=values, status_code=422)
    ctx.flash("success", ctx.gettext("The deadline was moved; the providers were told."))
    return ctx.redirect(f"/sme/rfqs/{rfq_id}")


@router.post("/sme/rfqs/{rfq_id}/cancel", response_class=HTMLResponse)
def cancel(rfq_id: uuid.UUID, ctx: SmeWeb, session: DbSession, form: CheckedForm) -> Response:
    assert ctx.principal is not None
    rfq = _rfq(ctx, session, rfq_id)
    reason = forms.text(form, "reason")
    values = {"deadline": local_input(rfq.deadline), "reason": reason}
    errors = FormErrors()
    if not reason:
        errors.add("reason", ctx.gettext("Say why you cancel; the providers are told."))
    else:
        try:
            rfqs.cancel_rfq(session, principal=ctx.principal, rfq_id=rfq_id, reason=reason)
        except AppError as exc:
            session.rollback()
            errors = errors_from(ctx, exc, _rfq_key)
    if errors:
        return _render_detail(ctx, session, rfq, errors=errors, values=values, status_code=422)
    ctx.flash("success", ctx.gettext("The request for quotation was cancelled."))
    return ctx.redirect(f"/sme/rfqs/{rfq_id}")


# --- comparison --------------------------------------------------------------------------------


def _without_scripts(root: Any) -> Any:
    """pygal always writes its configuration as an inline script for its optional tooltips;
    the page uses no JavaScript, so the chart is served without it."""
    for parent in list(root.iter()):
        for child in list(parent):
            if str(child.tag).endswith("script"):
                parent.remove(child)
    return root


def tco_chart(ctx: WebContext, comparison: ComparisonOut) -> Markup | None:
    """Cost per year of each quote, in 元, as inline SVG (no script, no XML declaration)."""
    rows = [row for row in comparison.rows if row.quote is not None]
    if not rows:
        return None
    chart = pygal.Bar(
        disable_xml_declaration=True,
        js=[],
        height=320,
        legend_at_bottom=True,
        title=ctx.gettext("Cost per year over three years (yuan)"),
        x_title=ctx.gettext("Year"),
        value_formatter=lambda value: f"¥{value:,.0f}",
    )
    chart.add_xml_filter(_without_scripts)
    years = max(len(row.quote.tco.by_year) for row in rows if row.quote is not None)
    chart.x_labels = [ctx.gettext("Year %(n)s", n=n) for n in range(1, years + 1)]
    for row in rows:
        assert row.quote is not None
        chart.add(row.provider.name, [fen / 100 for fen in row.quote.tco.by_year])
    return Markup(chart.render(is_unicode=True))


@router.get("/sme/rfqs/{rfq_id}/compare", response_class=HTMLResponse)
def compare(rfq_id: uuid.UUID, ctx: SmeWeb, session: DbSession) -> HTMLResponse:
    assert ctx.principal is not None
    rfq = _rfq(ctx, session, rfq_id)
    comparison = rfqs.comparison(session, principal=ctx.principal, rfq_id=rfq_id)
    return ctx.render(
        "sme/compare.html", rfq=rfq, comparison=comparison, chart=tco_chart(ctx, comparison)
    )


# --- accepting a quote -------------------------------------------------------------------------


def _render_accept(
    ctx: WebContext,
    session: Session,
    quote_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    closed: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    assert ctx.principal is not None
    quote = rfqs.get_quote(session, principal=ctx.principal, quote_id=quote_id)
    rfq = _rfq(ctx, session, quote.rfq_id)
    return ctx.render(
        "sme/accept.html",
        status_code=status_code,
        quote=quote,
        rfq=rfq,
        errors=errors or FormErrors(),
        values=values or {"contract_reference": "", "start_date": ""},
        closed=closed,
    )


@router.get("/sme/quotes/{quote_id}/accept", response_class=HTMLResponse)
def confirm_accept(quote_id: uuid.UUID, ctx: SmeWeb, session: DbSession) -> HTMLResponse:
    return _render_accept(ctx, session, quote_id)


def _accept_key(parts: list[str], _error: Any) -> str:
    return parts[0] if parts else forms.GENERAL


@router.post("/sme/quotes/{quote_id}/accept", response_class=HTMLResponse)
def accept(quote_id: uuid.UUID, ctx: SmeWeb, session: DbSession, form: CheckedForm) -> Response:
    assert ctx.principal is not None
    values = {
        "contract_reference": forms.text(form, "contract_reference"),
        "start_date": forms.text(form, "start_date"),
    }
    try:
        data = AcceptIn.model_validate(
            {
                "contract_reference": values["contract_reference"],
                "start_date": values["start_date"] or None,
            }
        )
    except ValidationError as exc:
        errors = forms.from_validation(ctx, exc, _accept_key)
        return _render_accept(ctx, session, quote_id, errors=errors, values=values, status_code=422)
    try:
        engagement = rfqs.accept_quote(
            session, principal=ctx.principal, quote_id=quote_id, data=data
        )
    except AppError as exc:
        session.rollback()
        errors = errors_from(ctx, exc, _accept_key)
        closed = exc.status_code == 409 and exc.code == "invalid_transition"
        if closed:
            errors = FormErrors()
            errors.add(
                forms.GENERAL,
                ctx.gettext(
                    "This request for quotation is closed: a quote was accepted already, "
                    "or the request was cancelled or has expired. Nothing was changed."
                ),
            )
        return _render_accept(
            ctx,
            session,
            quote_id,
            errors=errors,
            values=values,
            closed=closed,
            status_code=exc.status_code,
        )
    ctx.flash("success", ctx.gettext("You accepted the quote. The project has started."))
    return ctx.redirect(f"/engagements/{engagement.id}")
