"""专家评审 and the decision: a reviewer's scores against the application's scorecard (or a
declared conflict of interest), then approve into the 公示 (with an override reason beyond
the quota or below the pass score) or reject with reasons."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from catalog.pools import lifecycle
from catalog.pools import service as pools
from catalog.pools.schemas import DecisionIn, ScoreIn
from core.deps import DbSession
from market.web import curating, forms
from market.web.security import CheckedForm, CuratorWeb, WebContext

router = APIRouter(include_in_schema=False)


def _back(application_id: uuid.UUID) -> str:
    return f"/curator/applications/{application_id}"


def _beyond_maximum(ctx: WebContext, form: FormData, scorecard: list[dict[str, Any]]) -> list[str]:
    """Points above a criterion's maximum, said with the maximum: the service refuses them
    too, but only the page knows which box to name and what the limit is in words."""
    problems = []
    for criterion in scorecard:
        raw = forms.text(form, f"points.{criterion['id']}")
        try:
            points = float(raw)
        except ValueError:
            continue  # not a number: the schema says so
        if points > criterion["max_points"]:
            limit = ctx.gettext("Enter %(n)s or less.", n=criterion["max_points"])
            problems.append(f"{criterion['name']}: {limit}")
    return problems


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
        no_conflict = choice == "none"
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

    choice = forms.text(form, "conflict")
    if choice not in ("none", "declared"):
        # Scoring is a declaration: it is never assumed from a box left untouched.
        ctx.flash(
            "error",
            ctx.gettext("Declare whether you have a conflict of interest with this provider."),
        )
        return ctx.redirect(_back(application_id) + "#scoring")
    problems = _beyond_maximum(ctx, form, loaded.app.scorecard or [])
    if problems and choice == "none":
        for problem in problems:
            ctx.flash("error", problem)
        return ctx.redirect(_back(application_id) + "#scoring")
    criteria = [str(c["name"]) for c in loaded.app.scorecard or []]

    def named(key: str) -> str | None:
        """scores.<i>.<field> is the i-th criterion of the scorecard."""
        parts = key.split(".")
        if len(parts) >= 2 and parts[0] == "scores" and parts[1].isdigit():
            index = int(parts[1])
            return criteria[index] if index < len(criteria) else None
        return None

    return curating.run(
        ctx,
        session,
        act,
        success=ctx.gettext("Your scores are saved."),
        back=_back(application_id) + "#scoring",
        named=named,
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
