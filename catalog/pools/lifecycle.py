"""The steps of a pool application: 申报 → 形式审查 → 专家评审 → 公示 → 入库.

Each step is a move of ``catalog.pools.models.TRANSITIONS``: it checks the move is allowed from
the current state (409 ``invalid_transition`` naming the state and what is possible from it),
writes an audit record in the same transaction and, when membership changes, an outbox event.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.pools import evidence
from catalog.pools import service as pools
from catalog.pools.errors import (
    ApplicationExists,
    ApplicationsClosed,
    BelowPassScore,
    InvalidTransition,
    NotAssignedReviewer,
    QuotaFull,
    ReviewerConflict,
    ScoresMissing,
)
from catalog.pools.models import (
    ACTIVE_STATES,
    MEMBER_STATES,
    MEMBERSHIP_STATES,
    TRANSITIONS,
    Move,
    Pool,
    PoolApplication,
    PoolApplicationSolution,
    PoolObjection,
    PoolReview,
    ReviewFields,
    add_months,
    next_actions,
    star_rating_for,
    weighted_total,
)
from catalog.pools.schemas import (
    ApplicationIn,
    ApplicationOut,
    DecisionIn,
    ObjectionIn,
    ResolutionIn,
    ResubmitIn,
    ReviewersIn,
    ScoreIn,
)
from catalog.pools.service import Loaded
from catalog.providers import service as providers
from catalog.providers.models import Provider
from catalog.solutions.models import Solution
from core import audit
from core.database import new_id, utcnow
from core.deps import Principal
from core.errors import NotFound, field_error
from core.outbox import emit

LISTED_REASON = "公示期满，无未决异议 (notice period over with no open objection)"
CLOSED_REASON = "申请已因其他异议成立而被驳回 (application rejected on another objection)"


def check_move(app: PoolApplication, action: str) -> Move:
    move = TRANSITIONS[action]
    if app.state not in move.sources:
        allowed = next_actions(app.state)
        raise InvalidTransition(
            f"Cannot {action} an application that is {app.state}; "
            f"from {app.state} the possible actions are: {', '.join(allowed) or 'none'}",
            details={"state": app.state, "action": action, "allowed_actions": allowed},
        )
    return move


def audit_step(
    session: Session,
    actor: Principal | None,
    loaded: Loaded,
    action: str,
    before: str | None,
    reason: str = "",
    **after: Any,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=pools.APPLICATION_AUDIT_PREFIX + action,
        target_type=pools.APPLICATION_TARGET,
        target_id=loaded.app.id,
        scope_id=loaded.pool.id,
        subject_org_id=loaded.provider.org_id,
        reason=reason,
        before=None if before is None else {"state": before},
        after={"state": loaded.app.state, **after},
    )


def transition(
    session: Session,
    actor: Principal | None,
    loaded: Loaded,
    action: str,
    reason: str = "",
    **after: Any,
) -> None:
    """Carry out ``action``: move the state, record it, and announce membership changes."""
    move = check_move(loaded.app, action)
    before = loaded.app.state
    if move.target is not None:
        loaded.app.state = move.target
    session.flush()
    audit_step(session, actor, loaded, move.recorded_as, before, reason, **after)
    if move.target in MEMBERSHIP_STATES:
        emit(
            session,
            "pool.membership.changed",
            pool_id=str(loaded.pool.id),
            provider_id=str(loaded.provider.id),
            application_id=str(loaded.app.id),
            state=loaded.app.state,
        )


# --- provider steps ----------------------------------------------------------------------------


def _check_category(pool: Pool, provider: Provider, category_id: str) -> dict[str, Any]:
    category = pool.category(category_id)
    if category is None:
        ids = ", ".join(c["id"] for c in pool.categories)
        raise field_error("body.category_id", f"no category {category_id!r}; use one of {ids}")
    types = category.get("provider_types") or []
    if types and provider.provider_type not in types:
        raise field_error(
            "body.category_id",
            f"category {category_id!r} admits provider types {', '.join(types)}; "
            f"the provider profile says {provider.provider_type}",
        )
    return category


def _solution_links(
    session: Session, provider: Provider, solution_ids: list[uuid.UUID]
) -> list[PoolApplicationSolution]:
    usable = set(
        session.scalars(
            select(Solution.id).where(
                Solution.id.in_(solution_ids),
                Solution.provider_id == provider.id,
                Solution.status.in_(("draft", "published")),
            )
        )
    )
    for i, sid in enumerate(solution_ids):
        if sid not in usable:
            message = f"{sid} is not one of your draft or published solutions"
            raise field_error(f"body.solution_ids.{i}", message)
    return [PoolApplicationSolution(solution_id=sid) for sid in solution_ids]


def _active_application(session: Session, pool: Pool, provider: Provider) -> uuid.UUID | None:
    return session.scalar(
        select(PoolApplication.id).where(
            PoolApplication.pool_id == pool.id,
            PoolApplication.provider_id == provider.id,
            PoolApplication.state.in_(ACTIVE_STATES),
        )
    )


def _exists(application_id: uuid.UUID | None) -> ApplicationExists:
    return ApplicationExists(
        "You already have an application in this pool that is open or listed; "
        "withdraw it or wait for its decision",
        details={"application_id": str(application_id) if application_id else None},
    )


def submit(
    session: Session, *, principal: Principal, pool_id: uuid.UUID, data: ApplicationIn
) -> Loaded:
    provider = providers.own_provider(session, principal=principal)
    pool = pools.get_pool(session, pool_id)
    if not pool.applications_open:
        raise ApplicationsClosed("This pool is not taking applications at the moment")
    existing = _active_application(session, pool, provider)
    if existing is not None:
        raise _exists(existing)
    _check_category(pool, provider, data.category_id)
    now = utcnow()
    app = PoolApplication(
        pool_id=pool.id,
        provider_id=provider.id,
        category_id=data.category_id,
        note=data.note,
        declared_at=now,
        submitted_at=now,
        state="submitted",
        reasons=[],
        solution_links=_solution_links(session, provider, data.solution_ids),
        reviews=[],
    )
    try:
        # The partial unique index settles two submissions racing past the check above; added
        # inside the savepoint, the refused row leaves the session when it rolls back.
        with session.begin_nested():
            session.add(app)
            session.flush()
    except IntegrityError:
        raise _exists(_active_application(session, pool, provider)) from None
    loaded = Loaded(app=app, pool=pool, provider=provider)
    documents = evidence.link(
        session,
        principal=principal,
        loaded=loaded,
        document_ids=data.evidence_ids,
        purpose="application",
    )
    solutions = [str(s) for s in app.solution_ids]
    audit_step(
        session,
        principal,
        loaded,
        "submitted",
        None,
        data.note,
        category_id=app.category_id,
        solution_ids=solutions,
        evidence_ids=[str(d.document_id) for d in documents],
        declaration=True,
    )
    pools.notify_curators(session, loaded, "application.submitted")
    return loaded


def resubmit(
    session: Session, *, principal: Principal, application_id: uuid.UUID, data: ResubmitIn
) -> Loaded:
    loaded = pools.as_owner(session, principal, application_id)
    app = loaded.app
    check_move(app, "resubmit")
    changes = data.model_dump(exclude_unset=True)
    if "category_id" in changes:
        _check_category(loaded.pool, loaded.provider, changes["category_id"])
        app.category_id = changes["category_id"]
    if "solution_ids" in changes:
        app.solution_links = _solution_links(session, loaded.provider, changes["solution_ids"])
    app.note = changes.get("note", app.note)
    documents = evidence.link(
        session,
        principal=principal,
        loaded=loaded,
        document_ids=changes.get("evidence_ids") or [],
        purpose="application",
    )
    # The return's reasons have been answered; the audit history keeps them.
    app.reasons = []
    app.submitted_at = utcnow()
    solutions = [str(s) for s in app.solution_ids]
    transition(
        session,
        principal,
        loaded,
        "resubmit",
        app.note,
        category_id=app.category_id,
        solution_ids=solutions,
        evidence_ids=[str(d.document_id) for d in documents],
    )
    pools.notify_curators(session, loaded, "application.resubmitted")
    return loaded


def withdraw(
    session: Session, *, principal: Principal, application_id: uuid.UUID, reason: str
) -> Loaded:
    loaded = pools.as_owner(session, principal, application_id)
    transition(session, principal, loaded, "withdraw", reason)
    return loaded


# --- curator steps -----------------------------------------------------------------------------


def return_application(
    session: Session, *, principal: Principal, application_id: uuid.UUID, reasons: list[str]
) -> Loaded:
    loaded = pools.as_curator(session, principal, application_id)
    check_move(loaded.app, "return")
    loaded.app.reasons = reasons
    transition(session, principal, loaded, "return", "\n".join(reasons), reasons=reasons)
    pools.notify_provider(session, loaded, "application.returned", reasons=reasons)
    return loaded


def accept(session: Session, *, principal: Principal, application_id: uuid.UUID) -> Loaded:
    loaded = pools.as_curator(session, principal, application_id)
    check_move(loaded.app, "accept")
    # Reviewers score against the card as it is now, whatever later edits to the pool do.
    loaded.app.scorecard = [dict(c) for c in loaded.pool.scorecard]
    transition(session, principal, loaded, "accept")
    return loaded


def assign_reviewers(
    session: Session, *, principal: Principal, application_id: uuid.UUID, data: ReviewersIn
) -> Loaded:
    loaded = pools.as_curator(session, principal, application_id)
    check_move(loaded.app, "assign_reviewers")
    eligible = pools.eligible_reviewers(session, pool=loaded.pool, user_ids=data.user_ids)
    for i, user_id in enumerate(data.user_ids):
        if user_id not in eligible:
            message = f"{user_id} is not an active curator of this pool's agency or an admin"
            raise field_error(f"body.user_ids.{i}", message)
    added = [uid for uid in data.user_ids if loaded.app.review_by(uid) is None]
    loaded.app.reviews.extend(
        PoolReview(reviewer_user_id=uid, assigned_by_user_id=principal.user_id, conflict_note="")
        for uid in added
    )
    reviewers = [str(uid) for uid in added]
    transition(session, principal, loaded, "assign_reviewers", reviewers=reviewers)
    return loaded


def score(
    session: Session, *, principal: Principal, application_id: uuid.UUID, data: ScoreIn
) -> Loaded:
    loaded, _ = pools.visible_application(
        session, principal=principal, application_id=application_id
    )
    app = loaded.app
    check_move(app, "score")
    review = app.review_by(principal.user_id)
    if review is None:
        raise NotAssignedReviewer("Only reviewers assigned to this application can score it")
    if review.conflict_declared:
        raise ReviewerConflict(
            "You declared a conflict of interest for this application and cannot score it"
        )
    if not data.no_conflict:
        review.conflict_declared_at = utcnow()
        review.conflict_note = data.conflict_note
        # Scores given before the conflict came to light no longer count.
        review.scores, review.total, review.scored_at = None, None, None
        app.recompute_total()
        session.flush()
        audit_step(session, principal, loaded, "conflict_declared", app.state, data.conflict_note)
        raise ReviewerConflict(
            "Your conflict of interest is recorded; ask the curator to assign another reviewer",
            details={"recorded": True},
        )
    scorecard = app.scorecard or []
    points = data.checked_against(scorecard)
    complete_before = scoring_complete(app.reviews)
    review.scores = points
    review.total = weighted_total(scorecard, points)
    review.scored_at = utcnow()
    app.recompute_total()
    transition(
        session,
        principal,
        loaded,
        "score",
        # Points go to the curators' log; the reviewer's comments stay on the review only.
        points={p["criterion_id"]: p["points"] for p in points},
        reviewer_total=review.total,
        total_score=app.total_score,
    )
    if not complete_before and scoring_complete(app.reviews):
        # Every reviewer without a conflict has scored: the curators can decide.
        pools.notify_curators(session, loaded, "application.scored", total_score=app.total_score)
    return loaded


def scoring_complete(reviews: Sequence[ReviewFields]) -> bool:
    """Whether every assigned reviewer who declared no conflict has scored (and one has)."""
    counting = [r for r in reviews if not r.conflict_declared]
    return bool(counting) and all(r.total is not None for r in counting)


def _places_taken(session: Session, loaded: Loaded, category_id: str) -> int:
    """A category's places in use: providers in notice or members (a suspended or expired
    listing keeps its place until it is removed), other than this one."""
    taken = session.scalar(
        select(func.count()).where(
            PoolApplication.pool_id == loaded.pool.id,
            PoolApplication.category_id == category_id,
            PoolApplication.state.in_(("in_notice", *MEMBER_STATES)),
            PoolApplication.id != loaded.app.id,
        )
    )
    return int(taken or 0)


def _overrides(
    session: Session, loaded: Loaded, category: dict[str, Any], data: DecisionIn
) -> dict[str, Any]:
    """What an approval would exceed (quota, pass score); refused unless overridden."""
    exceeded: dict[str, Any] = {}
    taken = _places_taken(session, loaded, category["id"])
    quota = category.get("quota")
    if quota is not None and taken >= quota:
        exceeded["quota"] = {"category_id": category["id"], "quota": quota, "taken": taken}
        if data.override_reason is None:
            raise QuotaFull(
                f"Category {category['id']} is full ({taken} of {quota} in notice or listed); "
                "give override_reason to approve beyond the quota",
                details=exceeded["quota"],
            )
    total, pass_score = loaded.app.total_score or 0.0, loaded.pool.pass_score
    if total < pass_score:
        exceeded["pass_score"] = {"pass_score": pass_score, "total_score": total}
        if data.override_reason is None:
            raise BelowPassScore(
                f"The total score {total} is below the pool's pass score {pass_score}; "
                "give override_reason to approve anyway",
                details=exceeded["pass_score"],
            )
    return exceeded


def decide(
    session: Session, *, principal: Principal, application_id: uuid.UUID, data: DecisionIn
) -> Loaded:
    loaded = pools.as_curator(session, principal, application_id)
    app = loaded.app
    check_move(app, data.decision)
    if not any(r.total is not None for r in app.reviews):
        raise ScoresMissing("Decide once at least one assigned reviewer has scored the application")
    now, reason = utcnow(), "\n".join(data.reasons)
    if data.decision == "reject":
        app.decided_at, app.reasons = now, list(data.reasons)
        transition(
            session,
            principal,
            loaded,
            "reject",
            reason,
            reasons=app.reasons,
            total_score=app.total_score,
        )
        pools.notify_provider(session, loaded, "application.rejected", reasons=app.reasons)
        return loaded
    category = _check_category(loaded.pool, loaded.provider, data.category_id or app.category_id)
    # Lock the pool row so two approvals cannot both take the last place in a category.
    pools.get_pool(session, loaded.pool.id, for_update=True)
    exceeded = _overrides(session, loaded, category, data)
    applied = app.category_id
    app.decided_at, app.reasons, app.category_id = now, list(data.reasons), category["id"]
    app.notice_ends_at = now + timedelta(days=loaded.pool.notice_days)
    transition(
        session,
        principal,
        loaded,
        "approve",
        reason,
        applied_category_id=applied,
        category_id=app.category_id,
        total_score=app.total_score,
        notice_ends_at=app.notice_ends_at.isoformat(),
    )
    if exceeded:
        # Its own record, so curators can list every override in the pool's audit.
        override = data.override_reason or ""
        audit_step(session, principal, loaded, "override", app.state, override, exceeded=exceeded)
    pools.notify_provider(
        session, loaded, "application.approved", notice_ends_at=app.notice_ends_at
    )
    return loaded


# --- the public notice (公示) ------------------------------------------------------------------


def lodge_objection(
    session: Session, *, principal: Principal, application_id: uuid.UUID, data: ObjectionIn
) -> PoolObjection:
    loaded = pools.load_application(session, application_id)
    # Applications in notice or listed are public; others exist only for those who may read them.
    public = loaded.app.state in ("in_notice", "listed")
    if not public and pools.viewer_of(principal, loaded) is None:
        raise pools.application_not_found()
    objection = PoolObjection(
        id=new_id(), application_id=loaded.app.id, author_user_id=principal.user_id, text=data.text
    )
    check_move(loaded.app, "object")
    session.add(objection)
    transition(session, principal, loaded, "object", data.text, objection_id=str(objection.id))
    pools.notify_curators(
        session, loaded, "objection.filed", objection_id=objection.id, text=data.text
    )
    return objection


def resolve_objection(
    session: Session,
    *,
    principal: Principal,
    application_id: uuid.UUID,
    objection_id: uuid.UUID,
    data: ResolutionIn,
) -> Loaded:
    loaded = pools.as_curator(session, principal, application_id)
    objection = session.get(PoolObjection, objection_id)
    if objection is None or objection.application_id != loaded.app.id:
        raise NotFound("No such objection", code="objection_not_found")
    if objection.status != "open":
        raise InvalidTransition(
            f"This objection is {objection.status} already; only open objections are resolved",
            details={"status": objection.status, "allowed_actions": []},
        )
    action = "uphold_objection" if data.outcome == "uphold" else "dismiss_objection"
    check_move(loaded.app, action)
    now = utcnow()
    objection.status = "upheld" if data.outcome == "uphold" else "dismissed"
    objection.resolution_reason, objection.resolved_at = data.reason, now
    objection.resolved_by_user_id = principal.user_id
    after: dict[str, Any] = {"objection_id": str(objection.id), "objection": objection.text}
    if data.outcome == "uphold":
        loaded.app.reasons = after["reasons"] = [objection.text, data.reason]
        # The application leaves the notice, so the other objections have nothing to rule on.
        others = select(PoolObjection).where(
            PoolObjection.application_id == loaded.app.id,
            PoolObjection.status == "open",
            PoolObjection.id != objection.id,
        )
        for other in session.scalars(others):
            other.status, other.resolution_reason = "closed", CLOSED_REASON
            other.resolved_by_user_id, other.resolved_at = principal.user_id, now
    transition(session, principal, loaded, action, data.reason, **after)
    if data.outcome == "uphold":
        pools.notify_provider(session, loaded, "application.rejected", reasons=loaded.app.reasons)
    return loaded


def close_notices(
    session: Session, *, now: datetime | None = None, pool_id: uuid.UUID | None = None
) -> list[Loaded]:
    """List every application whose notice is over and has no open objection.

    Run by a scheduler (all pools) or by a curator for one pool. It is an automatic step, so
    the audit record has no actor. Applications with open objections wait for their disposal.
    """
    now = now or utcnow()
    open_objection = exists().where(
        PoolObjection.application_id == PoolApplication.id, PoolObjection.status == "open"
    )
    stmt = (
        select(PoolApplication, Pool, Provider)
        .join(Pool, Pool.id == PoolApplication.pool_id)
        .join(Provider, Provider.id == PoolApplication.provider_id)
        .where(
            PoolApplication.state == "in_notice",
            PoolApplication.notice_ends_at <= now,
            ~open_objection,
        )
        .order_by(PoolApplication.notice_ends_at, PoolApplication.id)
        .options(*pools.WITH_CHILDREN)
        # Two schedulers (or a scheduler and a curator) share the work instead of colliding.
        .with_for_update(skip_locked=True, of=PoolApplication)
    )
    if pool_id is not None:
        stmt = stmt.where(PoolApplication.pool_id == pool_id)
    listed: list[Loaded] = []
    for app, pool, provider in session.execute(stmt).all():
        loaded = Loaded(app=app, pool=pool, provider=provider)
        app.listed_since = now
        app.valid_until = add_months(now, pool.evaluation_period_months)
        app.star_rating, app.rated_at = star_rating_for(app.total_score), now
        transition(
            session,
            None,
            loaded,
            "list",
            LISTED_REASON,
            star_rating=app.star_rating,
            valid_until=app.valid_until.isoformat(),
        )
        pools.notify_provider(
            session,
            loaded,
            "application.listed",
            star_rating=app.star_rating,
            valid_until=app.valid_until,
        )
        listed.append(loaded)
    return listed


def close_due_for_pool(
    session: Session, *, principal: Principal, pool_id: uuid.UUID
) -> list[ApplicationOut]:
    pool = pools.get_pool(session, pool_id)
    pools.ensure_pool_curator(principal, pool)
    return [pools.to_out(loaded, "curator") for loaded in close_notices(session, pool_id=pool.id)]
