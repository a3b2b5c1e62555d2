"""Sanctions on listings and the provider's appeals (警告 → 限期整改 → 停牌 → 取消资格; 申诉).

A sanction is a row of its own (``PoolSanction``) beside the application's state move:

- warning (警告): a record on the listing; the listing stays as it is.
- rectification (限期整改): the provider must report what it fixed by a deadline; curators
  accept the report (closed) or send it back (open again, usually with a new deadline).
- suspension (停牌): the listing is hidden from search and matching until lifted; engagements
  already under way continue (they are not the pool's to stop).
- removal (取消资格): the membership ends; running rectifications and suspensions are
  superseded.

The provider may appeal a sanction in force, or the star rating of a listing, once per
decision. An appeal is decided by a curator of the pool who took no part in the decision: not
the sanction's issuer, and for a rating neither its reviewers nor the curator who decided it.
Upholding undoes the sanction (a suspension is revoked, a removal reinstates the listing with
what it superseded) or corrects the rating.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.pools import evidence, lifecycle, rereview
from catalog.pools import service as pools
from catalog.pools.errors import (
    AppealExists,
    AppealTooLate,
    ApplicationExists,
    InvalidTransition,
    SameCurator,
)
from catalog.pools.models import (
    SANCTION_HOLDING,
    SANCTION_START,
    SANCTION_TRANSITIONS,
    PoolAppeal,
    PoolApplication,
    PoolRereview,
    PoolRereviewReview,
    PoolSanction,
    SanctionMove,
)
from catalog.pools.schemas import (
    AppealDecisionIn,
    AppealIn,
    AppealOut,
    RectificationReportIn,
    RectificationReviewIn,
    SanctionIn,
    SanctionOut,
)
from catalog.pools.service import Loaded
from core import audit
from core.database import utcnow
from core.deps import Principal
from core.errors import NotFound, field_error

# The application move each kind of sanction makes.
ISSUE_ACTION = {
    "warning": "warn",
    "rectification": "order_rectification",
    "suspension": "suspend",
    "removal": "remove",
}
# Where a revoked removal puts the listing back: the state it was removed from.
REINSTATE_ACTION = {
    "listed": "reinstate",
    "suspended": "reinstate_suspended",
    "expired": "reinstate_expired",
}


def sanction_not_found() -> NotFound:
    return NotFound("No such sanction", code="sanction_not_found")


def appeal_not_found() -> NotFound:
    return NotFound("No such appeal", code="appeal_not_found")


def check_sanction(sanction: PoolSanction, action: str) -> SanctionMove:
    """The sanction's own move: allowed for its kind and from its status, or a clear 409."""
    move = SANCTION_TRANSITIONS[action]
    if sanction.kind not in move.kinds or sanction.status not in move.sources:
        allowed = sorted(
            name
            for name, m in SANCTION_TRANSITIONS.items()
            if sanction.kind in m.kinds and sanction.status in m.sources and m.by != "system"
        )
        raise InvalidTransition(
            f"Cannot {action} a {sanction.kind} that is {sanction.status}; possible now: "
            f"{', '.join(allowed) or 'none'}",
            details={
                "kind": sanction.kind,
                "status": sanction.status,
                "action": action,
                "allowed_actions": allowed,
            },
        )
    return move


def sanction_out(sanction: PoolSanction) -> SanctionOut:
    out = SanctionOut.model_validate(sanction)
    return out.model_copy(update={"overdue": sanction.is_overdue(utcnow())})


def _resolve(sanction: PoolSanction, principal: Principal, status: str, reason: str) -> None:
    sanction.status, sanction.resolution_reason = status, reason
    sanction.resolved_by_user_id, sanction.resolved_at = principal.user_id, utcnow()


def _load_sanction(session: Session, sanction_id: uuid.UUID) -> tuple[PoolSanction, Loaded]:
    sanction = session.get(PoolSanction, sanction_id)
    if sanction is None:
        raise sanction_not_found()
    return sanction, pools.load_application(session, sanction.application_id)


def _as_curator(
    session: Session, principal: Principal, sanction_id: uuid.UUID
) -> tuple[PoolSanction, Loaded]:
    """As for applications: strangers are told it does not exist, the provider that it may
    not act here."""
    sanction, loaded = _load_sanction(session, sanction_id)
    if pools.viewer_of(principal, loaded) is None:
        raise sanction_not_found()
    pools.ensure_pool_curator(principal, loaded.pool)
    return sanction, loaded


def _as_owner(
    session: Session, principal: Principal, sanction_id: uuid.UUID
) -> tuple[PoolSanction, Loaded]:
    sanction, loaded = _load_sanction(session, sanction_id)
    if principal.role != "provider" or principal.org_id != loaded.provider.org_id:
        raise sanction_not_found()
    return sanction, loaded


def _future(deadline: datetime | None, field: str) -> None:
    if deadline is not None and deadline <= utcnow():
        raise field_error(field, "the deadline must lie in the future")


# --- issuing -----------------------------------------------------------------------------------


def issue(
    session: Session, *, principal: Principal, application_id: uuid.UUID, data: SanctionIn
) -> tuple[PoolSanction, Loaded]:
    loaded = pools.as_curator(session, principal, application_id)
    action = ISSUE_ACTION[data.kind]
    lifecycle.check_move(loaded.app, action)
    _future(data.deadline, "body.deadline")
    if data.kind == "removal":
        sanction = rereview.issue_removal(
            session, principal=principal, loaded=loaded, reason=data.reason
        )
    else:
        sanction = PoolSanction(
            application_id=loaded.app.id,
            kind=data.kind,
            status=SANCTION_START[data.kind],
            reason=data.reason,
            deadline=data.deadline,
            state_before=loaded.app.state,
            issued_by_user_id=principal.user_id,
            report="",
            resolution_reason="",
        )
        session.add(sanction)
        session.flush()
    lifecycle.transition(
        session,
        principal,
        loaded,
        action,
        data.reason,
        sanction_id=str(sanction.id),
        kind=data.kind,
        deadline=data.deadline.isoformat() if data.deadline else None,
    )
    pools.notify_provider(
        session,
        loaded,
        "sanction.issued",
        sanction_id=sanction.id,
        kind=data.kind,
        reason=data.reason,
        deadline=data.deadline,
    )
    return sanction, loaded


# --- rectification -----------------------------------------------------------------------------


def report(
    session: Session, *, principal: Principal, sanction_id: uuid.UUID, data: RectificationReportIn
) -> PoolSanction:
    """The provider reports what it has put right (整改报告), with evidence."""
    sanction, loaded = _as_owner(session, principal, sanction_id)
    check_sanction(sanction, "report")
    lifecycle.check_move(loaded.app, "report_rectification")
    sanction.status, sanction.report, sanction.reported_at = "reported", data.report, utcnow()
    documents = evidence.link(
        session,
        principal=principal,
        loaded=loaded,
        document_ids=data.evidence_ids,
        purpose="rectification",
        ref=sanction.id,
    )
    lifecycle.transition(
        session,
        principal,
        loaded,
        "report_rectification",
        data.report,
        sanction_id=str(sanction.id),
        evidence_ids=[str(d.document_id) for d in documents],
    )
    pools.notify_curators(session, loaded, "rectification.reported", sanction_id=sanction.id)
    return sanction


def review_report(
    session: Session, *, principal: Principal, sanction_id: uuid.UUID, data: RectificationReviewIn
) -> PoolSanction:
    sanction, loaded = _as_curator(session, principal, sanction_id)
    accept = data.outcome == "accept"
    check_sanction(sanction, "accept_report" if accept else "reject_report")
    action = "accept_rectification" if accept else "reject_rectification"
    lifecycle.check_move(loaded.app, action)
    if accept:
        _resolve(sanction, principal, "closed", data.reason)
    else:
        _future(data.deadline, "body.deadline")
        assert sanction.deadline is not None  # a rectification always has one
        if data.deadline is None and sanction.deadline <= utcnow():
            raise field_error("body.deadline", "the deadline has passed; give a new one")
        sanction.status = "open"
        sanction.deadline = data.deadline or sanction.deadline
    lifecycle.transition(
        session,
        principal,
        loaded,
        action,
        data.reason,
        sanction_id=str(sanction.id),
        deadline=sanction.deadline.isoformat() if sanction.deadline else None,
    )
    pools.notify_provider(
        session,
        loaded,
        "rectification.reviewed",
        sanction_id=sanction.id,
        outcome=data.outcome,
        reason=data.reason,
        deadline=sanction.deadline,
    )
    return sanction


# --- suspension --------------------------------------------------------------------------------


def lift(
    session: Session, *, principal: Principal, sanction_id: uuid.UUID, reason: str
) -> PoolSanction:
    """End a suspension: the listing is on show again (or expires, if its time ran out)."""
    sanction, loaded = _as_curator(session, principal, sanction_id)
    check_sanction(sanction, "lift")
    lifecycle.check_move(loaded.app, "lift")
    _resolve(sanction, principal, "lifted", reason)
    lifecycle.transition(session, principal, loaded, "lift", reason, sanction_id=str(sanction.id))
    pools.notify_provider(
        session, loaded, "sanction.lifted", sanction_id=sanction.id, reason=reason
    )
    rereview.expire_if_due(session, loaded)
    return sanction


# --- reads -------------------------------------------------------------------------------------


def sanctions_of(
    session: Session, *, principal: Principal, application_id: uuid.UUID
) -> list[SanctionOut]:
    """A listing's sanctions, newest first, for its provider and the pool's curators."""
    loaded, viewer = pools.visible_application(
        session, principal=principal, application_id=application_id
    )
    if viewer == "reviewer":
        raise pools.application_not_found()
    rows = session.scalars(
        select(PoolSanction)
        .where(PoolSanction.application_id == loaded.app.id)
        .order_by(PoolSanction.issued_at.desc(), PoolSanction.id)
    )
    return [sanction_out(s) for s in rows]


def pool_sanctions(
    session: Session,
    *,
    principal: Principal,
    pool_id: uuid.UUID,
    kind: str | None,
    status: str | None,
) -> list[SanctionOut]:
    pool = pools.get_pool(session, pool_id)
    pools.ensure_pool_curator(principal, pool)
    stmt = (
        select(PoolSanction)
        .join(PoolApplication, PoolApplication.id == PoolSanction.application_id)
        .where(PoolApplication.pool_id == pool.id)
        .order_by(PoolSanction.issued_at.desc(), PoolSanction.id)
    )
    if kind:
        stmt = stmt.where(PoolSanction.kind == kind)
    if status:
        stmt = stmt.where(PoolSanction.status == status)
    return [sanction_out(s) for s in session.scalars(stmt)]


# --- appeals -----------------------------------------------------------------------------------


def _raters(session: Session, loaded: Loaded) -> list[str]:
    """Everyone behind the current rating: the latest passed re-review's reviewers and decider,
    or else the first review's reviewers and the curator who approved the application."""
    latest = session.scalar(
        select(PoolRereview)
        .where(PoolRereview.application_id == loaded.app.id, PoolRereview.state == "passed")
        .order_by(PoolRereview.decided_at.desc())
        .limit(1)
    )
    if latest is not None:
        reviewers = session.scalars(
            select(PoolRereviewReview.reviewer_user_id).where(
                PoolRereviewReview.rereview_id == latest.id
            )
        )
        people = {*reviewers, latest.decided_by_user_id}
    else:
        approvals = audit.query(
            session,
            filters=audit.AuditFilter(
                target_type=pools.APPLICATION_TARGET,
                target_id=str(loaded.app.id),
                action=pools.APPLICATION_AUDIT_PREFIX + "approved",
            ),
            limit=10,
            offset=0,
        )
        people = {r.reviewer_user_id for r in loaded.app.reviews}
        people |= {row.actor_user_id for row in approvals}
    return sorted(str(p) for p in people if p is not None)


def appeal_deadline(loaded: Loaded, decided_at: datetime) -> datetime:
    """The last moment to appeal a decision made at ``decided_at`` (the pool's window)."""
    return decided_at + timedelta(days=loaded.pool.appeal_window_days)


def _within_window(loaded: Loaded, decided_at: datetime, what: str) -> None:
    deadline = appeal_deadline(loaded, decided_at)
    if utcnow() > deadline:
        days = loaded.pool.appeal_window_days
        raise AppealTooLate(
            f"Appeals against {what} had to be filed within {days} days, by "
            f"{deadline.isoformat(timespec='minutes')}; the window has closed",
            details={"deadline": deadline.isoformat(), "appeal_window_days": days},
        )


def file_appeal(
    session: Session, *, principal: Principal, application_id: uuid.UUID, data: AppealIn
) -> tuple[PoolAppeal, Loaded]:
    loaded = pools.as_owner(session, principal, application_id)
    app = loaded.app
    lifecycle.check_move(app, "appeal")
    sanction: PoolSanction | None = None
    if data.sanction_id is not None:
        sanction = session.get(PoolSanction, data.sanction_id)
        if sanction is None or sanction.application_id != app.id:
            raise field_error("body.sanction_id", "no such sanction on this listing")
        if sanction.status not in SANCTION_HOLDING:
            raise InvalidTransition(
                f"This {sanction.kind} is {sanction.status}; only a sanction in force can be "
                "appealed",
                details={"status": sanction.status, "allowed_actions": []},
            )
        key, excluded = f"sanction:{sanction.id}", [str(sanction.issued_by_user_id)]
        _within_window(loaded, sanction.issued_at, f"this {sanction.kind}")
    else:
        if app.star_rating is None or app.rated_at is None or app.state == "removed":
            raise InvalidTransition(
                "There is no star rating in force to appeal on this listing",
                details={"state": app.state, "allowed_actions": []},
            )
        key, excluded = f"rating:{app.rated_at.isoformat()}", _raters(session, loaded)
        _within_window(loaded, app.rated_at, "the star rating")
    taken = session.scalar(
        select(PoolAppeal.id).where(
            PoolAppeal.application_id == app.id, PoolAppeal.subject_key == key
        )
    )
    if taken is not None:
        raise AppealExists(
            "This decision has been appealed already; an appeal is decided once",
            details={"appeal_id": str(taken)},
        )
    appeal = PoolAppeal(
        application_id=app.id,
        subject=data.subject,
        sanction_id=data.sanction_id,
        subject_key=key,
        text=data.text,
        status="open",
        filed_by_user_id=principal.user_id,
        excluded_user_ids=excluded,
        star_rating_before=app.star_rating,
        decision_reason="",
    )
    try:
        # The unique index settles two appeals of the same decision sent at once.
        with session.begin_nested():
            session.add(appeal)
            session.flush()
    except IntegrityError:
        raise AppealExists("This decision has been appealed already") from None
    documents = evidence.link(
        session,
        principal=principal,
        loaded=loaded,
        document_ids=data.evidence_ids,
        purpose="appeal",
        ref=appeal.id,
    )
    lifecycle.transition(
        session,
        principal,
        loaded,
        "appeal",
        data.text,
        appeal_id=str(appeal.id),
        subject=data.subject,
        sanction_id=str(data.sanction_id) if data.sanction_id else None,
        evidence_ids=[str(d.document_id) for d in documents],
    )
    pools.notify_curators(
        session, loaded, "appeal.filed", appeal_id=appeal.id, subject=data.subject
    )
    return appeal, loaded


def _load_appeal(
    session: Session, principal: Principal, appeal_id: uuid.UUID
) -> tuple[PoolAppeal, Loaded]:
    appeal = session.get(PoolAppeal, appeal_id)
    if appeal is None:
        raise appeal_not_found()
    loaded = pools.load_application(session, appeal.application_id)
    if pools.viewer_of(principal, loaded) in (None, "reviewer"):
        raise appeal_not_found()
    return appeal, loaded


def decide_appeal(
    session: Session, *, principal: Principal, appeal_id: uuid.UUID, data: AppealDecisionIn
) -> tuple[PoolAppeal, Loaded]:
    appeal, loaded = _load_appeal(session, principal, appeal_id)
    pools.ensure_pool_curator(principal, loaded.pool)
    if appeal.status != "open":
        raise InvalidTransition(
            f"This appeal is {appeal.status} already; an appeal is decided once",
            details={"status": appeal.status, "allowed_actions": []},
        )
    if str(principal.user_id) in appeal.excluded_user_ids:
        raise SameCurator(
            "You took part in the decision appealed against; another curator of the pool "
            "must decide this appeal"
        )
    uphold = data.outcome == "uphold"
    app = loaded.app
    lifecycle.check_move(app, "uphold_appeal" if uphold else "dismiss_appeal")
    if data.star_rating is not None and not (uphold and appeal.subject == "rating"):
        raise field_error("body.star_rating", "a rating is set only when upholding a rating appeal")
    if uphold and appeal.subject == "rating" and data.star_rating is None:
        raise field_error("body.star_rating", "give the corrected rating (1–5)", kind="missing")
    appeal.status = "upheld" if uphold else "dismissed"
    appeal.decided_by_user_id, appeal.decided_at = principal.user_id, utcnow()
    appeal.decision_reason = data.reason
    if uphold and appeal.subject == "rating":
        # The corrected rating is the appeal's own outcome; rated_at stays, so the rating that
        # was appealed is not appealed again.
        app.star_rating = appeal.star_rating_after = data.star_rating
    lifecycle.transition(
        session,
        principal,
        loaded,
        "uphold_appeal" if uphold else "dismiss_appeal",
        data.reason,
        appeal_id=str(appeal.id),
        subject=appeal.subject,
        star_rating_before=appeal.star_rating_before,
        star_rating=app.star_rating,
    )
    if uphold and appeal.sanction_id is not None:
        _undo(session, principal, loaded, appeal.sanction_id, data.reason)
    pools.notify_provider(
        session,
        loaded,
        "appeal.decided",
        appeal_id=appeal.id,
        subject=appeal.subject,
        outcome=data.outcome,
        reason=data.reason,
        star_rating=app.star_rating,
    )
    return appeal, loaded


def _undo(
    session: Session, principal: Principal, loaded: Loaded, sanction_id: uuid.UUID, reason: str
) -> None:
    """Revoke an appealed sanction and reverse what it did to the listing."""
    sanction = session.get(PoolSanction, sanction_id)
    assert sanction is not None  # the appeal's foreign key
    if sanction.status not in SANCTION_HOLDING:
        # Lifted or closed while the appeal waited: upholding it is then a finding for the
        # record, with nothing left to undo.
        return
    check_sanction(sanction, "revoke")
    _resolve(sanction, principal, "revoked", reason)
    app = loaded.app
    if sanction.kind == "suspension" and app.state == "suspended":
        lifecycle.transition(
            session, principal, loaded, "revoke_suspension", reason, sanction_id=str(sanction.id)
        )
        rereview.expire_if_due(session, loaded)
    elif sanction.kind == "removal" and app.state == "removed":
        _reinstate(session, principal, loaded, sanction, reason)


def _reinstate(
    session: Session, principal: Principal, loaded: Loaded, removal: PoolSanction, reason: str
) -> None:
    """Put a removed listing back as it was, with the sanctions the removal superseded."""
    superseded = session.scalars(
        select(PoolSanction).where(PoolSanction.superseded_by_id == removal.id)
    )
    for sanction in superseded:
        if sanction.kind == "suspension":
            sanction.status = "active"
        else:
            sanction.status = "reported" if sanction.reported_at else "open"
        sanction.superseded_by_id, sanction.resolution_reason = None, ""
        sanction.resolved_by_user_id, sanction.resolved_at = None, None
    try:
        # The provider may have applied again since the removal; the membership cannot then
        # come back beside the new application (one active application per pool).
        with session.begin_nested():
            lifecycle.transition(
                session,
                principal,
                loaded,
                REINSTATE_ACTION[removal.state_before],
                reason,
                sanction_id=str(removal.id),
            )
    except IntegrityError:
        raise ApplicationExists(
            "The provider has a newer application in this pool; decide or withdraw it before "
            "reinstating the removed listing"
        ) from None
    if loaded.app.state == "expired":
        # An expired listing waits for re-review; its round was closed by the removal.
        rereview.open_round(
            session,
            actor=None,
            loaded=loaded,
            trigger="expiry",
            reason=rereview.EXPIRY_ROUND_REASON,
        )
    else:
        rereview.expire_if_due(session, loaded)


def appeals_of(
    session: Session, *, principal: Principal, application_id: uuid.UUID
) -> list[AppealOut]:
    loaded, viewer = pools.visible_application(
        session, principal=principal, application_id=application_id
    )
    if viewer == "reviewer":
        raise pools.application_not_found()
    rows = session.scalars(
        select(PoolAppeal)
        .where(PoolAppeal.application_id == loaded.app.id)
        .order_by(PoolAppeal.filed_at.desc(), PoolAppeal.id)
    )
    return [AppealOut.model_validate(a) for a in rows]


def pool_appeals(
    session: Session, *, principal: Principal, pool_id: uuid.UUID, status: str | None
) -> list[AppealOut]:
    pool = pools.get_pool(session, pool_id)
    pools.ensure_pool_curator(principal, pool)
    stmt = (
        select(PoolAppeal)
        .join(PoolApplication, PoolApplication.id == PoolAppeal.application_id)
        .where(PoolApplication.pool_id == pool.id)
        .order_by(PoolAppeal.filed_at, PoolAppeal.id)
    )
    if status:
        stmt = stmt.where(PoolAppeal.status == status)
    return [AppealOut.model_validate(a) for a in session.scalars(stmt)]
