"""专家评审 and the decision: a reviewer's scores against the application's scorecard (or a
declared conflict of interest), then approve into the 公示 (with an override reason beyond
the quota or below the pass score) or reject with reasons."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from catalog.pools import lifecycle
from catalog.pools import service as pools
from catalog.pools.schemas import DecisionIn, ScoreIn
from core.deps import DbSession
from market.web import curating, forms
from market.web.security import CheckedForm, CuratorWeb

router = APIRouter(include_in_schema=False)


def _back(application_id: uuid.UUID) -> str:
    return f"/curator/applications/{application_id}"


@router.post("/curator/applications/{application_id}/score")
def score(
    application_id: uuid.UUID, ctx: CuratorWeb, session: DbSession, form: CheckedForm
) -> Response:
    """One points field and one comment per criterion, named after the criterion's id."""
    assert ctx.principal is not None
    principal = ctx.principal
    # Only those who may see the application get as far as reading the form.
    loaded, _ = pools.visible_application(
        session, principal=principal, application_id=application_id
    )

    def act() -> None:
        scorecard = loaded.app.scorecard or []
        no_conflict = forms.text(form, "conflict") != "declared"
        payload: dict[str, Any] = {
            "no_conflict": no_conflict,
            "conflict_note": forms.text(form, "conflict_note"),
        }
        if no_conflict:
            payload["scores"] = [
                {
                    "criterion_id": c["id"],
                    "points": forms.text(form, f"points.{c['id']}") or None,
                    "comment": forms.text(form, f"comment.{c['id']}"),
                }
                for c in scorecard
            ]
        lifecycle.score(
            session,
            principal=principal,
            application_id=application_id,
            data=ScoreIn.model_validate(payload),
        )

    return curating.run(
        ctx,
        session,
        act,
        success=ctx.gettext("Your scores are saved."),
        back=_back(application_id) + "#scoring",
    )


@router.post("/curator/applications/{application_id}/decision")
def decide(
    application_id: uuid.UUID, ctx: CuratorWeb, session: DbSession, form: CheckedForm
) -> Response:
    assert ctx.principal is not None
    principal = ctx.principal
    pools.as_curator(session, principal, application_id)
    decision = forms.text(form, "decision")

    def act() -> None:
        payload: dict[str, Any] = {
            "decision": decision,
            "reasons": curating.lines(forms.text(form, "reasons")),
        }
        if decision == "approve":
            payload["category_id"] = forms.optional_text(form, "category_id")
            payload["override_reason"] = forms.optional_text(form, "override_reason")
        lifecycle.decide(
            session,
            principal=principal,
            application_id=application_id,
            data=DecisionIn.model_validate(payload),
        )

    success = (
        ctx.gettext("Approved. The public notice (公示) has started.")
        if decision == "approve"
        else ctx.gettext("Rejected. The provider is told your reasons.")
    )
    return curating.run(ctx, session, act, success=success, back=_back(application_id))
