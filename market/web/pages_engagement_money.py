"""The money side of an engagement page: price changes, which apply only with the SME's
consent, and the SME's subsidy application under the pool's programme."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from core.deps import DbSession
from market.engagements import service
from market.engagements.schemas import ChangeRequestIn, SubsidyIn
from market.web import forms
from market.web.forms import FieldProblem
from market.web.pages_engagements import required_reason, run_step
from market.web.security import CheckedForm, LoggedIn

router = APIRouter(include_in_schema=False)


# --- price changes -----------------------------------------------------------------------------


@router.post("/engagements/{engagement_id}/changes", response_class=HTMLResponse)
def propose_change(
    engagement_id: uuid.UUID, ctx: LoggedIn, session: DbSession, form: CheckedForm
) -> Response:
    def act() -> None:
        assert ctx.principal is not None
        value = forms.yuan_to_fen(forms.text(form, "contract_value"), ctx, "contract_value")
        if value is None:
            raise FieldProblem("contract_value", ctx.gettext(forms.REQUIRED))
        amounts: dict[str, int] = {}
        for key in form:
            if key.startswith("milestone."):
                fen = forms.yuan_to_fen(forms.text(form, key), ctx, key)
                if fen is not None:
                    amounts[key.removeprefix("milestone.")] = fen
        data = ChangeRequestIn.model_validate(
            {
                "reason": required_reason(ctx, form),
                "contract_value_fen": value,
                "milestone_amounts": amounts,
            }
        )
        service.propose_change(
            session, principal=ctx.principal, engagement_id=engagement_id, data=data
        )

    return run_step(
        ctx,
        session,
        engagement_id,
        form_name="change",
        done=ctx.gettext(
            "The price change was proposed; nothing changes until the company agrees."
        ),
        action=act,
    )


@router.post(
    "/engagements/{engagement_id}/changes/{change_id}/{decision}", response_class=HTMLResponse
)
def decide_change(
    engagement_id: uuid.UUID,
    change_id: uuid.UUID,
    decision: Literal["accept", "reject", "withdraw"],
    ctx: LoggedIn,
    session: DbSession,
    form: CheckedForm,
) -> Response:
    def act() -> None:
        assert ctx.principal is not None
        reason = required_reason(ctx, form) if decision == "reject" else forms.text(form, "reason")
        service.decide_change(
            session,
            principal=ctx.principal,
            engagement_id=engagement_id,
            change_id=change_id,
            action=decision,
            reason=reason,
        )

    done = {
        "accept": ctx.gettext("You agreed to the new price."),
        "reject": ctx.gettext("You refused the new price."),
        "withdraw": ctx.gettext("The proposal was withdrawn."),
    }[decision]
    return run_step(
        ctx, session, engagement_id, form_name=f"change-{change_id}", done=done, action=act
    )


# --- subsidy (SME) -----------------------------------------------------------------------------


@router.post("/engagements/{engagement_id}/subsidy", response_class=HTMLResponse)
def apply_subsidy(
    engagement_id: uuid.UUID, ctx: LoggedIn, session: DbSession, form: CheckedForm
) -> Response:
    def act() -> None:
        assert ctx.principal is not None
        amount = forms.yuan_to_fen(forms.text(form, "amount"), ctx, "amount")
        data = SubsidyIn.model_validate(
            {
                "application_reference": forms.text(form, "application_reference"),
                "amount_fen": amount,
            }
        )
        service.apply_subsidy(
            session, principal=ctx.principal, engagement_id=engagement_id, data=data
        )

    return run_step(
        ctx,
        session,
        engagement_id,
        form_name="subsidy",
        done=ctx.gettext("The subsidy application was recorded."),
        action=act,
    )
