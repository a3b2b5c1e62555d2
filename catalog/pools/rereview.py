"""Re-review (定期考核) of listings, validity expiry, and the reminders of approaching deadlines.

A listing is valid for the pool's evaluation period. A curator may re-review it at any time (on
demand, or after a reported change); when the validity runs out first, the scheduler expires
the listing (hidden from the public until renewed) and opens a re-review round itself. A round
is scored like an application, on its own copy of the scorecard; passing sets the star rating
from the round's total (评星: the rating always comes from the latest review) and renews the
validity, failing removes the listing, as a removal sanction the provider may appeal.

The scheduled duties (``run_scheduled``: close notices, expire, remind) are written for cron:
``market pool expire`` runs them for every pool, and running them twice changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from catalog.pools import lifecycle
from catalog.pools import service as pools
from catalog.pools.errors import (
    BelowPassScore,
    InvalidTransition,
    NotAssignedReviewer,
    RereviewOpen,
    ReviewerConflict,
    ScoresMissing,
)
from catalog.pools.models import (
    SANCTION_TRANSITIONS,
    Pool,
    PoolApplication,
    PoolReminder,
    PoolRereview,
    PoolRereviewReview,
    PoolSanction,
    add_months,
    star_rating_for,
    weighted_total,
)
from catalog.pools.schemas import (
    CriterionOut,
    ExpiryOut,
    RereviewDecisionIn,
    RereviewOut,
    RereviewReviewOut,
    ReviewersIn,
    ScoreIn,
)
from catalog.pools.service import Loaded
from catalog.providers.models import Provider
from core.database import utcnow
from core.deps import Principal
from core.errors import NotFound, field_error

EXPIRED_REASON = "有效期届满，待复审 (validity ended; awaiting re-review)"
EXPIRY_ROUND_REASON = "有效期届满自动复审 (re-review opened on expiry)"
# How long before a deadline its reminder goes out.
RECTIFICATION_LEAD = timedelta(days=3)
NOTICE_LEAD = timedelta(days=1)
VALIDITY_LEAD = timedelta(days=30)

RoundViewer = Literal["curator", "reviewer", "provider"]


def round_not_found() -> NotFound:
    return NotFound("No such re-review", code="rereview_not_found")


# --- opening rounds ----------------------------------------------------------------------------


def _open_round_of(session: Session, app_id: uuid.UUID) -> PoolRereview | None:
    return session.scalar(
        select(PoolRereview).where(
            PoolRereview.application_id == app_id, PoolRereview.state == "open"
        )
    )


def open_round(
    session: Session,
    *,
    actor: Principal | None,
    loaded: Loaded,
    trigger: str,
    reason: str,
) -> PoolRereview:
    """Open a round on the listing; the scheduler (``actor=None``) reuses one already open."""
    lifecycle.check_move(loaded.app, "open_rereview")
    existing = _open_round_of(session, loaded.app.id)
    if existing is not None:
        if actor is None:
            return existing
        raise RereviewOpen(
            "This listing is under re-review already; finish that round first",
            details={"rereview_id": str(existing.id)},
        )
    round_ = PoolRereview(
        application_id=loaded.app.id,
        trigger=trigger,
        reason=reason,
        state="open",
        scorecard=[dict(c) for c in loaded.pool.scorecard],
        opened_by_user_id=actor.user_id if actor else None,
        reasons=[],
        reviews=[],
    )
    try:
        # The partial unique index settles a curator and the scheduler opening at once.
        with session.begin_nested():
            session.add(round_)
            session.flush()
    except IntegrityError:
        raise RereviewOpen("This listing is under re-review already") from None
    lifecycle.transition(
        session, actor, loaded, "open_rereview", reason, rereview_id=str(round_.id), trigger=trigger
    )
    pools.notify_provider(
        session, loaded, "rereview.opened", rereview_id=round_.id, trigger=trigger, reason=reason
    )
    return round_


def request_rereview(
    session: Session, *, principal: Principal, application_id: uuid.UUID, reason: str
) -> tuple[PoolRereview, Loaded]:
    """A curator re-reviews a listing on demand; the listing stays as it is meanwhile."""
    loaded = pools.as_curator(session, principal, application_id)
    round_ = open_round(session, actor=principal, loaded=loaded, trigger="on_demand", reason=reason)
    return round_, loaded


def close_open_round(session: Session, loaded: Loaded, reason: str) -> None:
    """End a round that has nothing left to decide (the listing was removed meanwhile)."""
    round_ = _open_round_of(session, loaded.app.id)
    if round_ is not None:
        round_.state, round_.decided_at, round_.reasons = "closed", utcnow(), [reason]


# --- loading and showing rounds ----------------------------------------------------------------


def _load_round(session: Session, rereview_id: uuid.UUID) -> tuple[PoolRereview, Loaded]:
    round_ = session.scalar(
        select(PoolRereview)
        .where(PoolRereview.id == rereview_id)
        .options(selectinload(PoolRereview.reviews))
    )
    if round_ is None:
        raise round_not_found()
    return round_, pools.load_application(session, round_.application_id)


def round_viewer(principal: Principal, round_: PoolRereview, loaded: Loaded) -> RoundViewer | None:
    if pools.is_pool_curator(principal, loaded.pool):
        return "curator"
    if round_.review_by(principal.user_id) is not None:
        return "reviewer"
    if principal.role == "provider" and principal.org_id == loaded.provider.org_id:
        return "provider"
    return None


def _visible_round(
    session: Session, principal: Principal, rereview_id: uuid.UUID
) -> tuple[PoolRereview, Loaded, RoundViewer]:
    round_, loaded = _load_round(session, rereview_id)
    viewer = round_viewer(principal, round_, loaded)
    if viewer is None:
        raise round_not_found()
    return round_, loaded, viewer


def round_out(
    round_: PoolRereview, loaded: Loaded, viewer: RoundViewer, *, user_id: uuid.UUID | None = None
) -> RereviewOut:
    reviews: list[RereviewReviewOut] | None = None
    if viewer == "curator":
        reviews = [RereviewReviewOut.model_validate(r) for r in round_.reviews]
    elif viewer == "reviewer":
        mine = [r for r in round_.reviews if r.reviewer_user_id == user_id]
        reviews = [RereviewReviewOut.model_validate(r) for r in mine]
    # As with applications: the provider learns the total with the decision, a reviewer never
    # sees the others' running total.
    decided = round_.decided_at is not None
    show_total = viewer == "curator" or (viewer == "provider" and decided)
    return RereviewOut(
        id=round_.id,
        application_id=loaded.app.id,
        pool_id=loaded.pool.id,
        provider_id=loaded.provider.id,
        trigger=round_.trigger,
        reason=round_.reason,
        state=round_.state,
        scorecard=[CriterionOut.model_validate(c) for c in round_.scorecard],
        total_score=round_.total_score if show_total else None,
        star_rating=round_.star_rating,
        opened_at=round_.opened_at,
        decided_at=round_.decided_at,
        reasons=list(round_.reasons),
        reviews=reviews,
        version=round_.version,
    )


def get_round(session: Session, *, principal: Principal, rereview_id: uuid.UUID) -> RereviewOut:
    round_, loaded, viewer = _visible_round(session, principal, rereview_id)
    return round_out(round_, loaded, viewer, user_id=principal.user_id)


def rounds_of(
    session: Session, *, principal: Principal, application_id: uuid.UUID
) -> list[RereviewOut]:
    """A listing's rounds, newest first, for its provider and the pool's curators."""
    loaded, viewer = pools.visible_application(
        session, principal=principal, application_id=application_id
    )
    if viewer == "reviewer":
        # A reviewer reads the rounds it is assigned to, one by one (GET /rereviews/{id}).
        raise pools.application_not_found()
    rounds = session.scalars(
        select(PoolRereview)
        .where(PoolRereview.application_id == loaded.app.id)
        .options(selectinload(PoolRereview.reviews))
        .order_by(PoolRereview.opened_at.desc(), PoolRereview.id)
    )
    return [round_out(r, loaded, viewer, user_id=principal.user_id) for r in rounds]


def _as_round_curator(
    session: Session, principal: Principal, rereview_id: uuid.UUID
) -> tuple[PoolRereview, Loaded]:
    round_, loaded, viewer = _visible_round(session, principal, rereview_id)
    pools.ensure_pool_curator(principal, loaded.pool)
    return round_, loaded


def _check_open(round_: PoolRereview) -> None:
    if round_.state != "open":
        raise InvalidTransition(
            f"This re-review is {round_.state}; only an open round takes reviewers, scores and "
            "a decision",
            details={"state": round_.state, "allowed_actions": []},
        )


# --- the provider's disputes, as context for the round -------------------------------------------
#
# Disputes live in the market, which this package must not import. Reading the market's table by
# name would tie the catalog to another package's schema with nothing to catch a rename but a
# failing query; instead the market registers a function answering in this package's own terms
# (``DisputeRecord``), so the query stays next to the table it reads and the catalog only knows
# the shape of the answer. With nothing registered (the catalog on its own) the record is empty.


@dataclass(frozen=True)
class DisputeRecord:
    opened: int = 0
    live: int = 0
    resolved_by_agreement: int = 0
    withdrawn: int = 0
    decided: int = 0
    closed_without_agreement: int = 0


class DisputeSource(Protocol):
    def __call__(self, session: Session, provider_id: uuid.UUID) -> DisputeRecord: ...


_dispute_sources: list[DisputeSource] = []


def register_dispute_source(source: DisputeSource) -> None:
    if source not in _dispute_sources:
        _dispute_sources.append(source)


def dispute_record(session: Session, provider_id: uuid.UUID) -> DisputeRecord:
    totals = DisputeRecord()
    for source in _dispute_sources:
        found = source(session, provider_id)
        totals = DisputeRecord(
            **{name: getattr(totals, name) + getattr(found, name) for name in vars(totals)}
        )
    return totals


def round_dispute_record(
    session: Session, *, principal: Principal, rereview_id: uuid.UUID
) -> tuple[uuid.UUID, DisputeRecord]:
    """The disputes of the provider under re-review, for the round's curators."""
    _round, loaded = _as_round_curator(session, principal, rereview_id)
    return loaded.provider.id, dispute_record(session, loaded.provider.id)


# --- reviewing ---------------------------------------------------------------------------------


def assign(
    session: Session, *, principal: Principal, rereview_id: uuid.UUID, data: ReviewersIn
) -> tuple[PoolRereview, Loaded]:
    round_, loaded = _as_round_curator(session, principal, rereview_id)
    _check_open(round_)
    lifecycle.check_move(loaded.app, "assign_rereviewers")
    eligible = pools.eligible_reviewers(session, pool=loaded.pool, user_ids=data.user_ids)
    for i, user_id in enumerate(data.user_ids):
        if user_id not in eligible:
            message = f"{user_id} is not an active curator of this pool's agency or an admin"
            raise field_error(f"body.user_ids.{i}", message)
    added = [uid for uid in data.user_ids if round_.review_by(uid) is None]
    round_.reviews.extend(
        PoolRereviewReview(
            reviewer_user_id=uid, assigned_by_user_id=principal.user_id, conflict_note=""
        )
        for uid in added
    )
    lifecycle.transition(
        session,
        principal,
        loaded,
        "assign_rereviewers",
        rereview_id=str(round_.id),
        reviewers=[str(uid) for uid in added],
    )
    return round_, loaded


def score(
    session: Session, *, principal: Principal, rereview_id: uuid.UUID, data: ScoreIn
) -> tuple[PoolRereview, Loaded]:
    round_, loaded, _ = _visible_round(session, principal, rereview_id)
    _check_open(round_)
    lifecycle.check_move(loaded.app, "score_rereview")
    review = round_.review_by(principal.user_id)
    if review is None:
        raise NotAssignedReviewer("Only reviewers assigned to this re-review can score it")
    if review.conflict_declared:
        raise ReviewerConflict(
            "You declared a conflict of interest for this re-review and cannot score it"
        )
    if not data.no_conflict:
        review.conflict_declared_at = utcnow()
        review.conflict_note = data.conflict_note
        review.scores, review.total, review.scored_at = None, None, None
        round_.recompute_total()
        session.flush()
        lifecycle.audit_step(
            session,
            principal,
            loaded,
            "rereview_conflict_declared",
            loaded.app.state,
            data.conflict_note,
            rereview_id=str(round_.id),
        )
        raise ReviewerConflict(
            "Your conflict of interest is recorded; ask the curator to assign another reviewer",
            details={"recorded": True},
        )
    points = data.checked_against(round_.scorecard)
    complete_before = lifecycle.scoring_complete(round_.reviews)
    review.scores = points
    review.total = weighted_total(round_.scorecard, points)
    review.scored_at = utcnow()
    round_.recompute_total()
    lifecycle.transition(
        session,
        principal,
        loaded,
        "score_rereview",
        rereview_id=str(round_.id),
        points={p["criterion_id"]: p["points"] for p in points},
        reviewer_total=review.total,
        total_score=round_.total_score,
    )
    if not complete_before and lifecycle.scoring_complete(round_.reviews):
        pools.notify_curators(
            session,
            loaded,
            "rereview.scored",
            rereview_id=round_.id,
            total_score=round_.total_score,
        )
    return round_, loaded


def decide(
    session: Session, *, principal: Principal, rereview_id: uuid.UUID, data: RereviewDecisionIn
) -> tuple[PoolRereview, Loaded]:
    round_, loaded = _as_round_curator(session, principal, rereview_id)
    _check_open(round_)
    app = loaded.app
    action = "fail_rereview"
    if data.decision == "pass":
        action = "renew" if app.state == "expired" else "pass_rereview"
    lifecycle.check_move(app, action)
    if not any(r.total is not None for r in round_.reviews):
        raise ScoresMissing("Decide once at least one assigned reviewer has scored the re-review")
    now, reason = utcnow(), "\n".join(data.reasons)
    total = round_.total_score or 0.0
    round_.decided_by_user_id, round_.decided_at = principal.user_id, now
    round_.reasons = list(data.reasons)
    if data.decision == "fail":
        round_.state = "failed"
        # Failing is a removal: recorded as such, it supersedes running sanctions and can be
        # appealed like any other.
        sanction = issue_removal(session, principal=principal, loaded=loaded, reason=reason)
        lifecycle.transition(
            session,
            principal,
            loaded,
            "fail_rereview",
            reason,
            rereview_id=str(round_.id),
            sanction_id=str(sanction.id),
            total_score=round_.total_score,
        )
    else:
        pass_score = loaded.pool.pass_score
        if total < pass_score and data.override_reason is None:
            raise BelowPassScore(
                f"The re-review total {total} is below the pool's pass score {pass_score}; "
                "give override_reason to pass it anyway",
                details={"pass_score": pass_score, "total_score": total},
            )
        round_.state = "passed"
        round_.star_rating = star_rating_for(round_.total_score)
        rating_before = app.star_rating
        app.star_rating, app.rated_at = round_.star_rating, now
        app.valid_until = add_months(now, loaded.pool.evaluation_period_months)
        lifecycle.transition(
            session,
            principal,
            loaded,
            action,
            reason,
            rereview_id=str(round_.id),
            total_score=round_.total_score,
            star_rating_before=rating_before,
            star_rating=app.star_rating,
            valid_until=app.valid_until.isoformat(),
        )
        if total < pass_score:
            override = data.override_reason or ""
            exceeded = {"pass_score": {"pass_score": pass_score, "total_score": total}}
            lifecycle.audit_step(
                session, principal, loaded, "override", app.state, override, exceeded=exceeded
            )
    pools.notify_provider(
        session,
        loaded,
        "rereview.decided",
        rereview_id=round_.id,
        decision=data.decision,
        star_rating=app.star_rating,
        valid_until=app.valid_until,
        reasons=list(data.reasons),
    )
    return round_, loaded


def issue_removal(
    session: Session, *, principal: Principal, loaded: Loaded, reason: str
) -> PoolSanction:
    """Record a removal (取消资格) and end what it makes moot; the caller moves the state.

    Running rectifications and suspensions are superseded (and come back if the removal is
    revoked on appeal); an open re-review round is closed.
    """
    now = utcnow()
    removal = PoolSanction(
        application_id=loaded.app.id,
        kind="removal",
        status="active",
        reason=reason,
        state_before=loaded.app.state,
        issued_by_user_id=principal.user_id,
        issued_at=now,
        report="",
        resolution_reason="",
    )
    session.add(removal)
    session.flush()
    supersede = SANCTION_TRANSITIONS["supersede"]
    running = select(PoolSanction).where(
        PoolSanction.application_id == loaded.app.id,
        PoolSanction.kind.in_(supersede.kinds),
        PoolSanction.status.in_(supersede.sources),
    )
    for sanction in session.scalars(running):
        sanction.status, sanction.superseded_by_id = supersede.target, removal.id
        sanction.resolved_by_user_id, sanction.resolved_at = principal.user_id, now
        sanction.resolution_reason = "被取消资格取代 (superseded by the removal)"
    if loaded.app.state != "removed":
        close_open_round(session, loaded, "取消资格 (listing removed)")
    return removal


# --- validity expiry ---------------------------------------------------------------------------


def _loaded_rows(session: Session, stmt: Any) -> list[Loaded]:
    return [Loaded(app=a, pool=p, provider=v) for a, p, v in session.execute(stmt).all()]


def _with_pool_and_provider() -> Any:
    return (
        select(PoolApplication, Pool, Provider)
        .join(Pool, Pool.id == PoolApplication.pool_id)
        .join(Provider, Provider.id == PoolApplication.provider_id)
        .options(*pools.WITH_CHILDREN)
    )


def expire_listing(session: Session, loaded: Loaded) -> PoolRereview:
    """Expire one listing whose validity has run out and open its re-review round."""
    valid_until = loaded.app.valid_until
    lifecycle.transition(
        session,
        None,
        loaded,
        "expire",
        EXPIRED_REASON,
        valid_until=valid_until.isoformat() if valid_until else None,
    )
    round_ = open_round(
        session, actor=None, loaded=loaded, trigger="expiry", reason=EXPIRY_ROUND_REASON
    )
    for notify in (pools.notify_provider, pools.notify_curators):
        notify(session, loaded, "listing.expired", valid_until=valid_until, rereview_id=round_.id)
    return round_


def expire_if_due(session: Session, loaded: Loaded, now: datetime | None = None) -> bool:
    """After a listing comes back (lifted, reinstated), expire it at once if its time is up."""
    now = now or utcnow()
    due = loaded.app.valid_until is not None and loaded.app.valid_until <= now
    if loaded.app.state == "listed" and due:
        expire_listing(session, loaded)
        return True
    return False


@dataclass
class Expiry:
    expired: list[Loaded] = field(default_factory=list)
    rounds: list[PoolRereview] = field(default_factory=list)

    def out(self) -> ExpiryOut:
        return ExpiryOut(
            expired=[loaded.app.id for loaded in self.expired],
            rereviews_opened=[r.id for r in self.rounds],
        )


def expire_due(
    session: Session, *, now: datetime | None = None, pool_id: uuid.UUID | None = None
) -> Expiry:
    """Expire every listing whose validity ended by ``now`` and open its re-review.

    Suspended listings keep their sanction; they expire when lifted if their time is up by
    then. Run by the scheduler for all pools or by a curator for one; the audit record of an
    expiry has no actor.
    """
    now = now or utcnow()
    stmt = (
        _with_pool_and_provider()
        .where(PoolApplication.state == "listed", PoolApplication.valid_until <= now)
        .order_by(PoolApplication.valid_until, PoolApplication.id)
        .with_for_update(skip_locked=True, of=PoolApplication)
    )
    if pool_id is not None:
        stmt = stmt.where(PoolApplication.pool_id == pool_id)
    result = Expiry()
    for loaded in _loaded_rows(session, stmt):
        result.rounds.append(expire_listing(session, loaded))
        result.expired.append(loaded)
    return result


def expire_due_for_pool(session: Session, *, principal: Principal, pool_id: uuid.UUID) -> ExpiryOut:
    pool = pools.get_pool(session, pool_id)
    pools.ensure_pool_curator(principal, pool)
    return expire_due(session, pool_id=pool.id).out()


# --- reminders ---------------------------------------------------------------------------------


def _once(
    session: Session, sent: set[tuple[str, str, datetime]], kind: str, target: Any, due: datetime
) -> bool:
    """Record a reminder unless it went out already; True when it is to be sent now."""
    key = (kind, str(target), due)
    if key in sent:
        return False
    sent.add(key)
    try:
        # Two scheduler runs racing: the unique index lets one of them announce the deadline.
        with session.begin_nested():
            session.add(PoolReminder(kind=kind, target_id=str(target), due_at=due))
            session.flush()
    except IntegrityError:
        return False
    return True


def _sent(session: Session, targets: set[str]) -> set[tuple[str, str, datetime]]:
    """The reminders already sent about these targets (only theirs: the table only grows)."""
    found: set[tuple[str, str, datetime]] = set()
    ordered = sorted(targets)
    for start in range(0, len(ordered), 1000):
        rows = session.execute(
            select(PoolReminder.kind, PoolReminder.target_id, PoolReminder.due_at).where(
                PoolReminder.target_id.in_(ordered[start : start + 1000])
            )
        )
        found |= {(kind, target, due) for kind, target, due in rows}
    return found


def remind_due(session: Session, *, now: datetime | None = None) -> int:
    """Announce deadlines coming up: rectification deadlines (to the provider; overdue ones to
    the curators), the end of 公示 (to the curators, who must dispose of objections) and the
    end of a listing's validity (to both). Each deadline is announced once; returns how many
    reminders went out."""
    now = now or utcnow()
    rectifications = session.execute(
        select(PoolSanction, PoolApplication.id)
        .join(PoolApplication, PoolApplication.id == PoolSanction.application_id)
        .where(
            PoolSanction.kind == "rectification",
            PoolSanction.status == "open",
            PoolSanction.deadline <= now + RECTIFICATION_LEAD,
        )
        .order_by(PoolSanction.deadline, PoolSanction.id)
    ).all()
    notices = _loaded_rows(
        session,
        _with_pool_and_provider().where(
            PoolApplication.state == "in_notice",
            PoolApplication.notice_ends_at > now,
            PoolApplication.notice_ends_at <= now + NOTICE_LEAD,
        ),
    )
    ending = _loaded_rows(
        session,
        _with_pool_and_provider().where(
            PoolApplication.state == "listed",
            PoolApplication.valid_until > now,
            PoolApplication.valid_until <= now + VALIDITY_LEAD,
        ),
    )
    targets = {str(s.id) for s, _ in rectifications}
    targets |= {str(loaded.app.id) for loaded in (*notices, *ending)}
    sent = _sent(session, targets)
    count = 0

    for sanction, application_id in rectifications:
        assert sanction.deadline is not None  # a rectification always has one
        overdue = sanction.deadline < now
        kind = "rectification_overdue" if overdue else "rectification"
        if not _once(session, sent, kind, sanction.id, sanction.deadline):
            continue
        loaded = pools.load_application(session, application_id)
        details = {"sanction_id": sanction.id, "deadline": sanction.deadline}
        if overdue:
            pools.notify_curators(session, loaded, "deadline.rectification_overdue", **details)
        else:
            pools.notify_provider(session, loaded, "deadline.rectification", **details)
        count += 1

    for loaded in notices:
        ends = loaded.app.notice_ends_at
        assert ends is not None
        if _once(session, sent, "notice", loaded.app.id, ends):
            pools.notify_curators(session, loaded, "deadline.notice", notice_ends_at=ends)
            count += 1

    for loaded in ending:
        until = loaded.app.valid_until
        assert until is not None
        if _once(session, sent, "validity", loaded.app.id, until):
            pools.notify_provider(session, loaded, "deadline.validity", valid_until=until)
            pools.notify_curators(session, loaded, "deadline.validity", valid_until=until)
            count += 1
    return count


@dataclass(frozen=True)
class ScheduledRun:
    listed: int
    expired: int
    rereviews_opened: int
    reminders: int


def run_scheduled(session: Session, *, now: datetime | None = None) -> ScheduledRun:
    """Every time-driven step, in the order that keeps them consistent: notices that ended
    become listings, listings whose validity ended expire, then the reminders go out."""
    now = now or utcnow()
    listed = lifecycle.close_notices(session, now=now)
    expiry = expire_due(session, now=now)
    reminders = remind_due(session, now=now)
    return ScheduledRun(
        listed=len(listed),
        expired=len(expiry.expired),
        rereviews_opened=len(expiry.rounds),
        reminders=reminders,
    )
