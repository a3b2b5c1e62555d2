"""Review pages: the SME reviews a completed engagement; the provider replies to a review.

Both call the same service functions as the API, so the rules (completed engagements only, one
review, related-party holds, one reply) are the API's, and its refusals are shown on the page.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from core.deps import DbSession
from core.errors import AppError
from market.engagements import service as engagements
from market.engagements.models import Engagement
from market.reviews import rules
from market.reviews import service as reviews
from market.reviews.models import DIMENSIONS
from market.reviews.schemas import ReplyIn, ReviewIn
from market.web import forms
from market.web.forms import GENERAL, FormErrors
from market.web.i18n import N_
from market.web.security import CheckedForm, LoggedIn, ProviderWeb, WebContext
from market.web.templating import Option

router = APIRouter(include_in_schema=False)

RATINGS = (*DIMENSIONS, "overall")
RATING_LABELS = {
    "quality": N_("Quality of the work"),
    "schedule": N_("Keeping to the schedule"),
    "cost_value": N_("Value for money"),
    "service": N_("Service and communication"),
    "recommend": N_("Would recommend to other factories"),
    "overall": N_("Overall rating"),
}
# The review service's refusals in the page's language (the API says them in English).
REFUSALS = {
    "engagement_not_completed": N_("Reviews open once the engagement is completed."),
    "review_exists": N_("This engagement has already been reviewed."),
    "already_replied": N_("You have already replied to this review."),
    "invalid_transition": N_("Only a published review can be replied to."),
    "wrong_party": N_("Only the SME that ordered the work can review it."),
}


def _refusal(ctx: WebContext, exc: AppError) -> str:
    template = REFUSALS.get(exc.code)
    return ctx.gettext(template) if template else forms.app_error_message(ctx, exc)


def _rating_options(ctx: WebContext) -> list[Option]:
    names = {
        5: N_("5 – excellent"),
        4: N_("4 – good"),
        3: N_("3 – acceptable"),
        2: N_("2 – poor"),
        1: N_("1 – very poor"),
    }
    return [Option(str(value), ctx.gettext(label)) for value, label in names.items()]


def _sme_engagement(ctx: WebContext, session: Session, engagement_id: uuid.UUID) -> Engagement:
    assert ctx.principal is not None
    engagement, side = engagements.get_for_party(
        session, principal=ctx.principal, engagement_id=engagement_id
    )
    if side != "sme":
        refusal = REFUSALS["wrong_party"]
        raise reviews.WrongParty(ctx.gettext(refusal))
    return engagement


def _render_form(
    ctx: WebContext,
    session: Session,
    engagement: Engagement,
    *,
    values: dict[str, str],
    errors: FormErrors,
    status_code: int = 200,
) -> HTMLResponse:
    existing = reviews.of_engagement(session, engagement.id)
    return ctx.render(
        "reviews/form.html",
        status_code=status_code,
        engagement=engagement,
        outcomes=rules.outcomes_of(engagement),
        review=reviews.to_out(session, existing, view="author") if existing else None,
        values=values,
        errors=errors,
        ratings=[(name, ctx.gettext(RATING_LABELS[name])) for name in RATINGS],
        rating_options=_rating_options(ctx),
    )


@router.get("/engagements/{engagement_id}/review", response_class=HTMLResponse)
def review_form(engagement_id: uuid.UUID, ctx: LoggedIn, session: DbSession) -> HTMLResponse:
    engagement = _sme_engagement(ctx, session, engagement_id)
    values = dict.fromkeys((*RATINGS, "text", "private_feedback"), "")
    return _render_form(ctx, session, engagement, values=values, errors=FormErrors())


def _review_from_form(form: FormData) -> tuple[dict[str, str], dict[str, Any]]:
    values = {name: forms.text(form, name) for name in (*RATINGS, "text", "private_feedback")}
    payload: dict[str, Any] = {name: values[name] or None for name in RATINGS}
    payload.update(text=values["text"], private_feedback=values["private_feedback"])
    return values, payload


@router.post("/engagements/{engagement_id}/review", response_model=None)
def create_review(
    engagement_id: uuid.UUID, ctx: LoggedIn, form: CheckedForm, session: DbSession
) -> Response:
    assert ctx.principal is not None
    engagement = _sme_engagement(ctx, session, engagement_id)
    values, payload = _review_from_form(form)
    try:
        data = ReviewIn.model_validate(payload)
    except ValidationError as exc:
        errors = forms.from_validation(ctx, exc)
        return _render_form(ctx, session, engagement, values=values, errors=errors, status_code=422)
    try:
        review = reviews.create_review(
            session, principal=ctx.principal, engagement_id=engagement.id, data=data
        )
    except AppError as exc:
        session.rollback()
        errors = FormErrors()
        errors.add(GENERAL, _refusal(ctx, exc))
        engagement = _sme_engagement(ctx, session, engagement_id)
        return _render_form(
            ctx, session, engagement, values=values, errors=errors, status_code=exc.status_code
        )
    if review.status == "held":
        ctx.flash(
            "info",
            ctx.gettext(
                "Thank you. Your review waits for a curator's check before it is published."
            ),
        )
    else:
        ctx.flash("success", ctx.gettext("Thank you. Your review is published."))
    return ctx.redirect(f"/engagements/{engagement.id}/review")


# --- the provider's reply ------------------------------------------------------------------------


def _render_reply(
    ctx: WebContext,
    session: Session,
    review_id: uuid.UUID,
    *,
    text: str,
    errors: FormErrors,
    status_code: int = 200,
) -> HTMLResponse:
    assert ctx.principal is not None
    review = reviews.get_for_provider(session, principal=ctx.principal, review_id=review_id)
    return ctx.render(
        "reviews/reply.html",
        status_code=status_code,
        review=reviews.to_out(session, review, view="provider"),
        text=text,
        errors=errors,
        ratings=[(name, ctx.gettext(RATING_LABELS[name])) for name in RATINGS],
    )


@router.get("/provider/reviews/{review_id}/reply", response_class=HTMLResponse)
def reply_form(review_id: uuid.UUID, ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
    return _render_reply(ctx, session, review_id, text="", errors=FormErrors())


@router.post("/provider/reviews/{review_id}/reply", response_model=None)
def reply(
    review_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
) -> Response:
    assert ctx.principal is not None
    text = forms.text(form, "text")
    try:
        data = ReplyIn.model_validate({"text": text})
    except ValidationError as exc:
        errors = forms.from_validation(ctx, exc)
        return _render_reply(ctx, session, review_id, text=text, errors=errors, status_code=422)
    try:
        reviews.reply(session, principal=ctx.principal, review_id=review_id, data=data)
    except AppError as exc:
        session.rollback()
        errors = FormErrors()
        errors.add(GENERAL, _refusal(ctx, exc))
        return _render_reply(
            ctx, session, review_id, text=text, errors=errors, status_code=exc.status_code
        )
    ctx.flash("success", ctx.gettext("Your reply is published with the review."))
    return ctx.redirect(f"/provider/reviews/{review_id}/reply")
