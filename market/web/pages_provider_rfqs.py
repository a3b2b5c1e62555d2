"""The provider's quote requests (询价): invitations, the need as sent, Q&A, the quote editor
with line items and milestones, revisions, declining, and the cost breakdown a flagged quote
owes.

Addresses name the invitation (the provider's seat in an RFQ). The RFQ service answers 404 for
an invitation of another provider, so nobody learns which requests others received.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from catalog.providers import service as providers
from core.deps import DbSession
from core.errors import AppError
from core.pagination import PageParams
from market.rfqs import provider_desk
from market.rfqs import service as rfqs
from market.rfqs.models import INVITATION, Quote
from market.rfqs.schemas import CostBreakdownIn, MessageIn, QuoteIn, QuoteOut, ReasonIn
from market.web import forms
from market.web.editing import filled_rows, validated, with_spare_rows
from market.web.forms import FormErrors
from market.web.market_forms import Model, attempt, fen_key, message_for, money, whole
from market.web.security import CheckedForm, FlashKind, ProviderWeb, WebContext
from market.web.templating import today_local, yuan_input

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
STATUSES = INVITATION.states
LINE_FIELDS = ("description", "quantity", "unit", "unit_price")
MILESTONE_FIELDS = ("title", "deliverable", "amount", "due_in_days", "due_date")
COST_FIELDS = ("item", "cost")
MAX_LINES = 100  # the schema's limits
MAX_MILESTONES = 30
MAX_COSTS = 50
MONEY = ("amount", "one_off", "recurring", "concession")
TERMS_MONEY = ("buyout", "unit_price", "gain_per_month", "cap")


def _principal(ctx: WebContext) -> Any:
    assert ctx.principal is not None
    return ctx.principal


# --- list ------------------------------------------------------------------------------------


@router.get("/provider/rfqs", response_class=HTMLResponse)
def invitation_list(
    ctx: ProviderWeb,
    session: DbSession,
    status: str | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    provider = providers.own_provider(session, principal=_principal(ctx))
    chosen = status if status in STATUSES else None
    params = PageParams(page=page, size=PAGE_SIZE)
    rows, total = provider_desk.invitations(
        session, provider_id=provider.id, status=chosen, params=params
    )
    return ctx.render(
        "provider/rfqs/list.html",
        items=rows,
        total=total,
        page=params.page,
        pages=max(1, math.ceil(total / params.size)),
        status=chosen,
        statuses=STATUSES,
        query={"status": chosen},
    )


# --- detail, Q&A, decline --------------------------------------------------------------------


def _render_detail(
    ctx: WebContext,
    session: Session,
    invitation_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    principal = _principal(ctx)
    invitation = rfqs.get_invitation(session, principal=principal, invitation_id=invitation_id)
    rfq = rfqs.rfq_out(
        session, rfqs.get_rfq(session, principal=principal, rfq_id=invitation.rfq_id)
    )
    revisions = rfqs.list_revisions(session, principal=principal, invitation_id=invitation_id)
    latest = revisions[0] if revisions else None
    costs = list(latest.cost_breakdown.get("items", [])) if latest and latest.cost_breakdown else []
    return ctx.render(
        "provider/rfqs/detail.html",
        status_code=status_code,
        invitation=invitation,
        rfq=rfq,
        need=rfq.need,
        messages=rfqs.list_messages(session, principal=principal, invitation_id=invitation_id),
        latest=latest,
        revisions=revisions,
        cost_rows=with_spare_rows(
            (values or {}).get("costs")
            or [{"item": c["item"], "cost": yuan_input(c["cost_fen"])} for c in costs],
            COST_FIELDS,
            MAX_COSTS,
        ),
        errors=errors or FormErrors(),
        values=values or {},
    )


@router.get("/provider/rfqs/{invitation_id}", response_class=HTMLResponse)
def invitation_detail(
    invitation_id: uuid.UUID, ctx: ProviderWeb, session: DbSession
) -> HTMLResponse:
    return _render_detail(ctx, session, invitation_id)


def _answer(
    ctx: WebContext,
    session: Session,
    invitation_id: uuid.UUID,
    values: dict[str, str],
    schema: type[Model],
    act: Callable[[Model], Any],
    done: tuple[FlashKind, str],
) -> Response:
    """A short form on the invitation page (a message, a decline): problems with the form are
    shown on the page; a refusal of the step (the RFQ closed meanwhile) is flashed."""
    errors = FormErrors()
    data = validated(ctx, schema, values, errors)
    if data is None:
        return _render_detail(
            ctx, session, invitation_id, errors=errors, values=values, status_code=422
        )
    try:
        act(data)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        session.rollback()
        ctx.flash("error", message_for(ctx, exc))
    else:
        ctx.flash(*done)
    return ctx.redirect(f"/provider/rfqs/{invitation_id}")


@router.post("/provider/rfqs/{invitation_id}/messages", response_model=None)
def post_message(
    invitation_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    return _answer(
        ctx,
        session,
        invitation_id,
        {"body": forms.text(form, "body")},
        MessageIn,
        lambda data: rfqs.post_message(
            session, principal=_principal(ctx), invitation_id=invitation_id, body=data.body
        ),
        ("success", ctx.gettext("Message sent. The SME is told.")),
    )


@router.post("/provider/rfqs/{invitation_id}/decline", response_model=None)
def decline(
    invitation_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    return _answer(
        ctx,
        session,
        invitation_id,
        {"reason": forms.text(form, "reason")},
        ReasonIn,
        lambda data: rfqs.decline(
            session, principal=_principal(ctx), invitation_id=invitation_id, reason=data.reason
        ),
        ("info", ctx.gettext("Declined. The SME sees your reason.")),
    )


@router.post("/provider/rfqs/{invitation_id}/cost-breakdown", response_model=None)
def explain_cost(
    invitation_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    principal = _principal(ctx)
    revisions = rfqs.list_revisions(session, principal=principal, invitation_id=invitation_id)
    rows = filled_rows(form, "costs", COST_FIELDS, MAX_COSTS)
    values: dict[str, Any] = {"costs": rows, "cost_note": forms.text(form, "cost_note")}
    errors = FormErrors()
    items = []
    for i, row in enumerate(rows):
        items.append(
            {"item": row["item"], "cost_fen": money(ctx, row["cost"], f"costs.{i}.cost", errors)}
        )
    payload = {"items": items, "note": values["cost_note"]}
    if not revisions:
        errors.add(forms.GENERAL, ctx.gettext("Send a quote first."))
    status_code = attempt(
        ctx,
        session,
        validated(ctx, CostBreakdownIn, payload, errors, _cost_key),
        lambda data: rfqs.explain_cost(
            session, principal=principal, quote_id=revisions[0].id, data=data
        ),
        errors,
        _cost_key,
    )
    if status_code is not None:
        return _render_detail(
            ctx, session, invitation_id, errors=errors, values=values, status_code=status_code
        )
    ctx.flash("success", ctx.gettext("Cost breakdown sent with your quote."))
    return ctx.redirect(f"/provider/rfqs/{invitation_id}")


def _cost_key(parts: list[str], error: Any) -> str:
    if parts and parts[0] == "items":
        return "costs" if len(parts) < 3 else f"costs.{parts[1]}.{parts[2].removesuffix('_fen')}"
    return "cost_note" if parts == ["note"] else fen_key(parts, error)


# --- the quote editor ------------------------------------------------------------------------


def _quote_values(quote: QuoteOut | None) -> dict[str, Any]:
    """The form's values: a revision starts from the latest quote, a first quote from blank."""
    if quote is None:
        return {
            "scope": "",
            "pricing_model": "",
            "amount_unit": "",
            **dict.fromkeys(MONEY, ""),
            "recurring_months": "",
            "terms": {**dict.fromkeys(TERMS_MONEY, ""), "units_per_month": "", "share": ""},
            "lines": [],
            "milestones": [],
            "valid_until": "",
            "attachments": "",
            "note": "",
        }
    terms = quote.terms
    return {
        "scope": quote.scope,
        "pricing_model": quote.pricing_model,
        "amount_unit": quote.amount_unit,
        "amount": yuan_input(quote.amount_fen),
        "one_off": yuan_input(quote.one_off_fen),
        "recurring": yuan_input(quote.recurring_fen),
        "concession": yuan_input(quote.concession_fen),
        "recurring_months": str(quote.recurring_months or ""),
        "terms": {
            **{k: yuan_input(terms.get(f"{k}_fen")) for k in TERMS_MONEY},
            "units_per_month": str(terms.get("units_per_month") or ""),
            "share": _percent(terms.get("share_bp")),
        },
        "lines": [
            {
                "description": li.description,
                "quantity": f"{li.quantity.normalize():f}",
                "unit": li.unit,
                "unit_price": yuan_input(li.unit_price_fen),
            }
            for li in quote.line_items
        ],
        "milestones": [
            {
                "title": m.title,
                "deliverable": m.deliverable,
                "amount": yuan_input(m.amount_fen),
                "due_in_days": str(m.due_in_days or ""),
                "due_date": m.due_date.isoformat() if m.due_date else "",
            }
            for m in quote.milestones
        ],
        "valid_until": quote.valid_until.isoformat(),
        "attachments": "\n".join(quote.attachments),
        "note": "",
    }


def _percent(bp: Any) -> str:
    if not bp:
        return ""
    value = Decimal(int(bp)) / 100
    return f"{value.normalize():f}"


def _quote_from_form(
    ctx: WebContext, form: FormData
) -> tuple[dict[str, Any], dict[str, Any], FormErrors]:
    problems = FormErrors()
    values: dict[str, Any] = {
        name: forms.text(form, name)
        for name in (
            "scope",
            "pricing_model",
            "amount_unit",
            *MONEY,
            "recurring_months",
            "valid_until",
            "note",
        )
    }
    values["attachments"] = (
        form.get("attachments") if isinstance(form.get("attachments"), str) else ""
    )
    values["terms"] = {
        name: forms.text(form, f"terms.{name}")
        for name in (*TERMS_MONEY, "units_per_month", "share")
    }
    values["lines"] = filled_rows(form, "line_items", LINE_FIELDS, MAX_LINES)
    values["milestones"] = filled_rows(form, "milestones", MILESTONE_FIELDS, MAX_MILESTONES)
    payload: dict[str, Any] = {
        "scope": values["scope"],
        "pricing_model": values["pricing_model"],
        "amount_unit": values["amount_unit"],
        "valid_until": values["valid_until"] or None,
        "note": values["note"],
        "attachments": [
            line.strip() for line in str(values["attachments"]).splitlines() if line.strip()
        ],
    }
    for name in MONEY:
        fen = money(ctx, values[name], name, problems)
        if fen is not None:
            payload[f"{name}_fen"] = fen
    months = whole(ctx, values["recurring_months"], "recurring_months", problems)
    if months is not None:
        payload["recurring_months"] = months
    terms: dict[str, Any] = {}
    for name in TERMS_MONEY:
        fen = money(ctx, values["terms"][name], f"terms.{name}", problems)
        if fen is not None:
            terms[f"{name}_fen"] = fen
    if values["terms"]["units_per_month"]:
        terms["units_per_month"] = values["terms"]["units_per_month"].replace(",", "")
    share = _share_bp(ctx, values["terms"]["share"], problems)
    if share is not None:
        terms["share_bp"] = share
    payload["terms"] = terms
    # Left out when blank, so the schema says "required" beside the field.
    payload["line_items"] = [
        _given(
            description=row["description"],
            quantity=row["quantity"].replace(",", ""),
            unit=row["unit"],
            unit_price_fen=money(ctx, row["unit_price"], f"line_items.{i}.unit_price", problems),
        )
        for i, row in enumerate(values["lines"])
    ]
    milestones = []
    for i, row in enumerate(values["milestones"]):
        milestone = _given(
            title=row["title"],
            deliverable=row["deliverable"],
            amount_fen=money(ctx, row["amount"], f"milestones.{i}.amount", problems),
        )
        days = whole(ctx, row["due_in_days"], f"milestones.{i}.due_in_days", problems)
        if days is not None:
            milestone["due_in_days"] = days
        if row["due_date"]:
            milestone["due_date"] = row["due_date"]
        milestones.append(milestone)
    payload["milestones"] = milestones
    return values, payload, problems


def _given(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value not in (None, "")}


def _share_bp(ctx: WebContext, raw: str, problems: FormErrors) -> int | None:
    """A share typed in percent (12.5) → basis points (1250)."""
    cleaned = raw.replace("%", "").replace("％", "").strip()
    if not cleaned:
        return None
    try:
        return int(Decimal(cleaned) * 100)
    except InvalidOperation:
        problems.add("terms.share", ctx.gettext("Enter a number."))
        return None


def _quote_key(parts: list[str], error: Any) -> str:
    if parts[:1] == ["milestones"] and len(parts) == 2:
        return f"milestones.{parts[1]}"  # a rule about the whole row (one due date)
    if parts[:1] == ["attachments"]:
        return "attachments"
    return fen_key(parts, error)


def _render_quote(
    ctx: WebContext,
    session: Session,
    invitation_id: uuid.UUID,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    principal = _principal(ctx)
    invitation = rfqs.get_invitation(session, principal=principal, invitation_id=invitation_id)
    rfq = rfqs.rfq_out(
        session, rfqs.get_rfq(session, principal=principal, rfq_id=invitation.rfq_id)
    )
    revisions = rfqs.list_revisions(session, principal=principal, invitation_id=invitation_id)
    shown = values if values is not None else _quote_values(revisions[0] if revisions else None)
    return ctx.render(
        "provider/rfqs/quote_form.html",
        status_code=status_code,
        invitation=invitation,
        rfq=rfq,
        revision=(revisions[0].revision + 1) if revisions else 1,
        values=shown,
        line_rows=with_spare_rows(shown["lines"], LINE_FIELDS, MAX_LINES),
        milestone_rows=with_spare_rows(shown["milestones"], MILESTONE_FIELDS, MAX_MILESTONES),
        errors=errors or FormErrors(),
        today_iso=today_local().isoformat(),
    )


@router.get("/provider/rfqs/{invitation_id}/quote", response_class=HTMLResponse)
def quote_form(invitation_id: uuid.UUID, ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
    return _render_quote(ctx, session, invitation_id)


@router.post("/provider/rfqs/{invitation_id}/quote", response_model=None)
def submit_quote(
    invitation_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    principal = _principal(ctx)
    # Outsiders are told the invitation does not exist before their form is even read.
    rfqs.get_invitation(session, principal=principal, invitation_id=invitation_id)
    values, payload, errors = _quote_from_form(ctx, form)
    sent: list[Quote] = []

    def submit(data: QuoteIn) -> None:
        sent.append(
            rfqs.submit_quote(session, principal=principal, invitation_id=invitation_id, data=data)
        )

    status_code = attempt(
        ctx,
        session,
        validated(ctx, QuoteIn, payload, errors, _quote_key),
        submit,
        errors,
        _quote_key,
    )
    if status_code is not None:
        return _render_quote(
            ctx, session, invitation_id, values=values, errors=errors, status_code=status_code
        )
    quote = sent[0]
    if quote.abnormally_low:
        ctx.flash(
            "info",
            ctx.gettext(
                "Quote sent. It is well below the usual price for this kind of work: "
                "explain your costs below so the SME can trust it."
            ),
        )
    else:
        ctx.flash(
            "success",
            ctx.gettext("Quote sent (revision %(n)s). The SME is told.", n=quote.revision),
        )
    return ctx.redirect(f"/provider/rfqs/{invitation_id}")
