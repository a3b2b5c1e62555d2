"""What every curator (主管部门) page shares: the pools a curator runs, names for states and
audit actions, and running a form's action with its outcome said as a flash message.

A refusal that means "not yours" (another agency's pool, an application the curator cannot
see) becomes the error page; every other refusal (a wrong state, a full quota, the same
curator deciding an appeal) is said on the page the form came from, so the curator can act on
it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.pools import service as pools
from catalog.pools.models import Pool
from core.errors import AppError
from market.accounts.models import User
from market.web import forms
from market.web.i18n import N_
from market.web.security import WebContext

STATE_LABELS: dict[str, str] = {
    "submitted": N_("Awaiting formal check"),
    "returned": N_("Returned for completion"),
    "under_review": N_("Under expert review"),
    "in_notice": N_("In public notice"),
    "listed": N_("Listed in the pool"),
    "suspended": N_("Suspended (停牌)"),
    "expired": N_("Expired"),
    "removed": N_("Removed from the pool"),
    "rejected": N_("Rejected after review"),
    "withdrawn": N_("Withdrawn by the provider"),
}
# Steps in an application's history (audit actions without their "pool.application." prefix).
ACTION_LABELS: dict[str, str] = {
    "submitted": N_("Application submitted"),
    "returned": N_("Returned for completion"),
    "resubmitted": N_("Submitted again"),
    "accepted": N_("Accepted for expert review"),
    "reviewers_assigned": N_("Reviewers assigned"),
    "scored": N_("Scores given"),
    "conflict_declared": N_("Conflict of interest declared"),
    "approved": N_("Approved into the public notice"),
    "override": N_("Quota or pass score overridden"),
    "rejected": N_("Rejected after review"),
    "objection_lodged": N_("Objection raised"),
    "objection_dismissed": N_("Objection dismissed"),
    "objection_upheld": N_("Objection upheld"),
    "listed": N_("Listed in the pool"),
    "withdrawn": N_("Withdrawn by the provider"),
    "imported": N_("Imported from an existing list"),
    "warned": N_("Warning issued"),
    "rectification_ordered": N_("Rectification ordered"),
    "suspended": N_("Suspended (停牌)"),
    "suspension_lifted": N_("Suspension lifted"),
    "removed": N_("Removed from the pool"),
    "rereview_opened": N_("Re-review opened"),
    "expired": N_("Validity expired"),
}
# The states a curator works through, in the order an application moves.
QUEUE_STATES = ("submitted", "returned", "under_review", "in_notice", "listed")

# Refusals curators meet on their forms, in their language; anything else keeps the service's
# own (English) words rather than saying nothing.
CURATOR_ERRORS: dict[str, str] = {
    "invalid_transition": N_("This action is not possible in the application's current state."),
    "quota_full": N_(
        "The category's quota is full. To approve anyway, give a reason for the override."
    ),
    "below_pass_score": N_(
        "The total score is below the pool's pass score. To approve anyway, give a reason "
        "for the override."
    ),
    "scores_missing": N_("Decide once at least one assigned reviewer has scored."),
    "not_assigned_reviewer": N_("Only reviewers assigned to this application can score it."),
    "reviewer_conflict": N_(
        "Your conflict of interest is recorded. Ask a colleague to review instead."
    ),
    "same_curator": N_(
        "You took part in the decision appealed against, so you may not decide this appeal. "
        "Another curator of the agency must decide it."
    ),
    "appeal_exists": N_("This decision has been appealed already."),
    "rereview_open": N_("A re-review of this listing is open already."),
    "import_rejected": N_("Nothing was imported: correct the rows listed below and try again."),
    "validation_error": N_("Check the marked fields."),
}
# Form fields named in a refusal, by the key the schema reports.
FIELD_LABELS: dict[str, str] = {
    "reason": N_("Reason given"),
    "reasons": N_("Reasons for the decision"),
    "text": N_("Raise an objection"),
    "deadline": N_("Rectification deadline"),
    "override_reason": N_("Reason for overriding the quota or pass score"),
    "star_rating": N_("Star rating"),
    "user_ids": N_("Assign reviewers"),
    "scores": N_("Your scores (专家评审)"),
}
# Refusals that mean the thing is not the curator's to see or run: shown as the error page.
NOT_YOURS = frozenset({"not_pool_curator", "role_required"})


def label(ctx: WebContext, table: dict[str, str], key: str) -> str:
    return ctx.gettext(table[key]) if key in table else key


def error_message(ctx: WebContext, exc: AppError) -> str:
    template = CURATOR_ERRORS.get(exc.code)
    return ctx.gettext(template) if template else forms.app_error_message(ctx, exc)


def managed_pools(session: Session, ctx: WebContext) -> list[Pool]:
    """The pools of the curator's agency (every pool for an admin), by name."""
    assert ctx.principal is not None
    stmt = select(Pool).order_by(Pool.name, Pool.id)
    if not ctx.principal.is_admin:
        stmt = stmt.where(Pool.agency_org_id == ctx.principal.org_id)
    return list(session.scalars(stmt))


def managed_pool(session: Session, ctx: WebContext, pool_id: uuid.UUID) -> Pool:
    """One pool the curator runs; 404 if there is none, 403 if it is another agency's."""
    assert ctx.principal is not None
    pool = pools.get_pool(session, pool_id)
    pools.ensure_pool_curator(ctx.principal, pool)
    return pool


def user_names(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {row[0]: row[1] for row in rows}


def agency_curators(session: Session, pool: Pool) -> list[User]:
    """Who may be assigned to review for the pool: the agency's active curators."""
    stmt = (
        select(User)
        .where(User.org_id == pool.agency_org_id, User.role == "curator", User.is_active.is_(True))
        .order_by(User.name, User.id)
    )
    return list(session.scalars(stmt))


def _field_label(ctx: WebContext, key: str, named: Callable[[str], str | None] | None) -> str:
    """What a person calls the field behind ``key`` (e.g. "scores.0.points")."""
    special = named(key) if named else None
    if special:
        return special
    return label(ctx, FIELD_LABELS, key.split(".")[0])


def run(
    ctx: WebContext,
    session: Session,
    action: Callable[[], Any],
    *,
    success: str,
    back: str,
    named: Callable[[str], str | None] | None = None,
) -> Response:
    """Carry out a form's action and redirect back with what happened.

    ``success`` is already translated; ``named`` may name fields the common labels do not
    know (a scorecard's criteria). The session is rolled back on a refusal unless the
    service asks to keep what it recorded (a declared conflict of interest).
    """
    try:
        action()
    except ValidationError as exc:
        session.rollback()
        found = forms.from_validation(ctx, exc)
        for error in exc.errors():
            if error.get("type") == "too_short":
                # An empty list where one is needed (no reasons given) is a missing field.
                key = forms.plain_key([str(p) for p in error.get("loc", ())], error)
                found.fields[key] = [ctx.gettext(forms.REQUIRED)]
        for key, messages in found.fields.items():
            for message in messages:
                if key == forms.GENERAL:
                    ctx.flash("error", message)
                else:
                    ctx.flash("error", f"{_field_label(ctx, key, named)}: {message}")
        return ctx.redirect(back)
    except AppError as exc:
        if exc.status_code == 404 or exc.code in NOT_YOURS:
            raise
        if not exc.keep_changes:
            session.rollback()
        ctx.flash("error", error_message(ctx, exc))
        for key, messages in forms.from_app_error(ctx, exc).fields.items():
            if key != forms.GENERAL:
                for message in messages:
                    ctx.flash("error", f"{_field_label(ctx, key, named)}: {message}")
        return ctx.redirect(back)
    ctx.flash("success", success)
    return ctx.redirect(back)


def lines(raw: str) -> list[str]:
    """Reasons typed one per line."""
    return [line.strip() for line in raw.splitlines() if line.strip()]
