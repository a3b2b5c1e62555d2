"""Resource pools (资源池) and the applications, reviews and objections that fill them, and the
dynamic management (动态管理) of listings: sanctions, appeals, re-reviews, reported changes,
evidence documents and deadline reminders.

A pool's categories and scorecard are JSON on the pool row: they are edited together with the
pool and read with it. Everything that happens to a provider in a pool is a row of its own, so
each piece hangs off ``PoolApplication`` without reshaping it.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.database import Base, new_id, utcnow

# Every state an application can be in; TRANSITIONS below gives the moves between them.
ApplicationState = Literal[
    "submitted",
    "returned",
    "under_review",
    "in_notice",
    "listed",
    # A listing under sanction (停牌): still a member, hidden from search and matching.
    "suspended",
    # A listing whose validity ran out before a re-review renewed it: hidden until renewed.
    "expired",
    # 取消资格: the membership has ended; the provider may apply again later.
    "removed",
    "rejected",
    "withdrawn",
]
APPLICATION_STATES: tuple[str, ...] = get_args(ApplicationState)
# States that block a second application by the same provider to the same pool. Kept in SQL
# form too: the partial unique index below enforces it even for two requests racing. A
# suspended or expired listing is still a membership, to be lifted or renewed, not re-applied.
ACTIVE_STATES = (
    "submitted",
    "returned",
    "under_review",
    "in_notice",
    "listed",
    "suspended",
    "expired",
)
# A membership, shown or not: what sanctions, appeals and re-reviews act on.
MEMBER_STATES = ("listed", "suspended", "expired")
OBJECTION_STATUSES = ("open", "upheld", "dismissed", "closed")
APPLICATION_SOURCES = ("application", "import")


def _in_sql(column: str, values: tuple[str, ...]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in values))


By = Literal["provider", "curator", "reviewer", "anyone", "system"]


@dataclass(frozen=True)
class Move:
    sources: frozenset[str]
    target: str | None  # None: the application stays in the state it is in
    # Who makes the move; enforced by the endpoints' role dependencies and the services'
    # ownership checks, named here so the table reads whole.
    by: By
    recorded_as: str  # the audit action, "pool.application.<recorded_as>"


def _move(sources: str, target: str | None, by: By, recorded_as: str) -> Move:
    return Move(frozenset(sources.split()), target, by, recorded_as)


# The application state machine (申报 → 形式审查 → 专家评审 → 公示 → 入库 → 动态管理);
# catalog.pools.lifecycle carries out the moves up to listing, catalog.pools.sanctions and
# catalog.pools.rereview the moves of a listing. An application is born ``submitted`` by the
# provider's submit. ``rejected``, ``withdrawn`` and ``removed`` are final (the provider may
# apply again later); an upheld appeal against a removal is the one way back from ``removed``.
TRANSITIONS: dict[str, Move] = {
    # action: (from states, to state, by whom, recorded as)
    "return": _move("submitted", "returned", "curator", "returned"),
    "resubmit": _move("returned", "submitted", "provider", "resubmitted"),
    "accept": _move("submitted", "under_review", "curator", "accepted"),
    "assign_reviewers": _move("under_review", None, "curator", "reviewers_assigned"),
    "score": _move("under_review", None, "reviewer", "scored"),
    "approve": _move("under_review", "in_notice", "curator", "approved"),
    "reject": _move("under_review", "rejected", "curator", "rejected"),
    "object": _move("in_notice", None, "anyone", "objection_lodged"),
    "dismiss_objection": _move("in_notice", None, "curator", "objection_dismissed"),
    "uphold_objection": _move("in_notice", "rejected", "curator", "objection_upheld"),
    # Automatic once the notice is over with no open objection.
    "list": _move("in_notice", "listed", "system", "listed"),
    "withdraw": _move("submitted returned under_review", "withdrawn", "provider", "withdrawn"),
    # --- sanctions (警告 → 限期整改 → 停牌 → 取消资格), each a PoolSanction row as well
    "warn": _move("listed suspended expired", None, "curator", "warned"),
    "order_rectification": _move("listed suspended", None, "curator", "rectification_ordered"),
    "report_rectification": _move("listed suspended", None, "provider", "rectification_reported"),
    "accept_rectification": _move("listed suspended", None, "curator", "rectification_accepted"),
    "reject_rectification": _move("listed suspended", None, "curator", "rectification_rejected"),
    "suspend": _move("listed", "suspended", "curator", "suspended"),
    "lift": _move("suspended", "listed", "curator", "suspension_lifted"),
    "remove": _move("listed suspended expired", "removed", "curator", "removed"),
    # --- appeals (申诉) against a rating or a sanction, decided by another curator
    "appeal": _move("listed suspended expired removed", None, "provider", "appeal_filed"),
    "dismiss_appeal": _move(
        "listed suspended expired removed", None, "curator", "appeal_dismissed"
    ),
    "uphold_appeal": _move("listed suspended expired removed", None, "curator", "appeal_upheld"),
    # What an upheld appeal undoes: a suspension or a removal.
    "revoke_suspension": _move("suspended", "listed", "curator", "suspension_revoked"),
    # A revoked removal puts the listing back as it was when removed.
    "reinstate": _move("removed", "listed", "curator", "reinstated"),
    "reinstate_suspended": _move("removed", "suspended", "curator", "reinstated"),
    "reinstate_expired": _move("removed", "expired", "curator", "reinstated"),
    # --- validity and re-review (定期考核); ``expire`` is the scheduler's, when valid_until passes
    "expire": _move("listed", "expired", "system", "expired"),
    "open_rereview": _move("listed suspended expired", None, "curator", "rereview_opened"),
    "assign_rereviewers": _move(
        "listed suspended expired", None, "curator", "rereview_reviewers_assigned"
    ),
    "score_rereview": _move("listed suspended expired", None, "reviewer", "rereview_scored"),
    # A passed re-review renews an expired listing and re-rates a current one.
    "pass_rereview": _move("listed suspended", None, "curator", "rereview_passed"),
    "renew": _move("expired", "listed", "curator", "renewed"),
    "fail_rereview": _move("listed suspended expired", "removed", "curator", "rereview_failed"),
}

# Moves into these states change who is, or may become, a member or who is shown; subscribers
# (the search index, matching) hear of them.
MEMBERSHIP_STATES = frozenset(
    {"listed", "suspended", "expired", "removed", "rejected", "withdrawn"}
)


def next_actions(state: str) -> list[str]:
    return sorted(action for action, move in TRANSITIONS.items() if state in move.sources)


# Total score (0–100) → star rating (评星) given at listing: the first threshold reached wins,
# and anything below the last one gets LOWEST_STARS.
STAR_THRESHOLDS: tuple[tuple[float, int], ...] = ((90, 5), (80, 4), (70, 3), (60, 2))
LOWEST_STARS = 1


def star_rating_for(total: float | None) -> int:
    for threshold, stars in STAR_THRESHOLDS:
        if total is not None and total >= threshold:
            return stars
    return LOWEST_STARS


def add_months(moment: datetime, months: int) -> datetime:
    """Same day ``months`` later, or that month's last day when it is shorter (31 Jan → 28 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def weighted_total(scorecard: list[dict[str, Any]], points: list[dict[str, Any]]) -> float:
    """Σ points × weight, scaled so a full card scores 100 (with all weights 1: just Σ points)."""
    weights = {c["id"]: float(c.get("weight", 1.0)) for c in scorecard}
    full = sum(c["max_points"] * weights[c["id"]] for c in scorecard)
    got = sum(p["points"] * weights[p["criterion_id"]] for p in points)
    return round(100 * got / full, 2)


# The default appeal window (申诉期限) of a new pool, in days; each pool may set its own.
APPEAL_WINDOW_DAYS = 15


class Pool(Base):
    __tablename__ = "pools"
    __table_args__ = (
        CheckConstraint("notice_days BETWEEN 1 AND 60", name="notice_days"),
        CheckConstraint("pass_score BETWEEN 0 AND 100", name="pass_score"),
        CheckConstraint("evaluation_period_months >= 1", name="evaluation_period"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # The agency (主管部门) whose curators run the pool; named by table to keep the catalog free
    # of imports from the market package.
    agency_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    entry_criteria: Mapped[str] = mapped_column(Text, default="")
    # [{id, name, provider_types, industries, quota}]
    categories: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    # [{id, name, max_points, weight, guidance}], max_points summing to 100
    scorecard: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    evaluation_period_months: Mapped[int] = mapped_column(default=24)
    notice_days: Mapped[int] = mapped_column(default=7)
    # Days after a star rating or a sanction within which the provider may appeal it.
    appeal_window_days: Mapped[int] = mapped_column(
        default=APPEAL_WINDOW_DAYS, server_default=text(str(APPEAL_WINDOW_DAYS))
    )
    pass_score: Mapped[int] = mapped_column(default=60)
    applications_open: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    def category(self, category_id: str) -> dict[str, Any] | None:
        return next((c for c in self.categories if c["id"] == category_id), None)

    def category_name(self, category_id: str) -> str:
        category = self.category(category_id)
        # A category removed from the pool after the fact shows its id rather than failing.
        return str(category["name"]) if category else category_id


class PoolApplication(Base):
    """One application of one provider to one pool, from 申报 to 入库 (or its end)."""

    __tablename__ = "pool_applications"
    __table_args__ = (
        CheckConstraint(_in_sql("state", APPLICATION_STATES), name="state"),
        CheckConstraint("star_rating IS NULL OR star_rating BETWEEN 1 AND 5", name="star_rating"),
        Index("ix_pool_applications_pool_state", "pool_id", "state", "category_id"),
        Index(
            "uq_pool_applications_one_active",
            "pool_id",
            "provider_id",
            unique=True,
            sqlite_where=text(_in_sql("state", ACTIVE_STATES)),
            postgresql_where=text(_in_sql("state", ACTIVE_STATES)),
        ),
        # The scheduler's question: which listings ran out of validity by now?
        Index("ix_pool_applications_state_valid_until", "state", "valid_until"),
        CheckConstraint(_in_sql("source", APPLICATION_SOURCES), name="source"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    pool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pools.id"))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    # The category applied for, replaced by the one approved into when the curator picks another.
    category_id: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    # When the provider signed the 承诺书; an application cannot exist without it.
    declared_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="submitted")
    # The reasons given with the latest return or rejection, shown to the provider.
    reasons: Mapped[list[str]] = mapped_column(default=list)
    # The pool's scorecard as it was when review began, so later edits to the pool cannot
    # change what reviewers scored against.
    scorecard: Mapped[list[dict[str, Any]] | None] = mapped_column(nullable=True)
    # Mean of the reviewers' totals (0–100), recomputed whenever a reviewer scores.
    total_score: Mapped[float | None]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    notice_ends_at: Mapped[datetime | None] = mapped_column(index=True)
    listed_since: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    star_rating: Mapped[int | None]
    # When the star rating was last set (listing, re-review, upheld appeal): a rating may be
    # appealed once, so an appeal names the rating by this moment.
    rated_at: Mapped[datetime | None]
    # Set while a material change the provider reported (name, credit code, key certificates)
    # waits for this pool's curators; see catalog.pools.changes.
    change_under_review: Mapped[bool] = mapped_column(default=False, server_default=false())
    # "import" for listings brought in from an existing pool list, which skipped 申报 here.
    source: Mapped[str] = mapped_column(
        String(16), default="application", server_default="application"
    )
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    solution_links: Mapped[list[PoolApplicationSolution]] = relationship(
        lazy="raise", cascade="all, delete-orphan"
    )
    reviews: Mapped[list[PoolReview]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="PoolReview.assigned_at"
    )

    # Two curators deciding the same application at once: the second write fails (412).
    __mapper_args__ = {"version_id_col": version}

    @property
    def solution_ids(self) -> list[uuid.UUID]:
        return [link.solution_id for link in self.solution_links]

    def review_by(self, user_id: uuid.UUID) -> PoolReview | None:
        return next((r for r in self.reviews if r.reviewer_user_id == user_id), None)

    def recompute_total(self) -> None:
        """The application's total is the mean of the reviewers' totals."""
        totals = [r.total for r in self.reviews if r.total is not None]
        self.total_score = round(sum(totals) / len(totals), 2) if totals else None


class PoolApplicationSolution(Base):
    """A solution the provider offers as evidence for its application."""

    __tablename__ = "pool_application_solutions"

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pool_applications.id", ondelete="CASCADE"), primary_key=True
    )
    solution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("solutions.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ReviewFields:
    """What one expert records on an assignment: a conflict declaration, then scores.

    Shared by the first review of an application and by the rounds of re-review, which score
    the same way against their own copy of the scorecard.
    """

    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set once the reviewer declares a conflict of interest; it is never cleared.
    conflict_declared_at: Mapped[datetime | None]
    conflict_note: Mapped[str] = mapped_column(Text, default="")
    # [{criterion_id, points, comment}] in scorecard order; comments stay with curators.
    scores: Mapped[list[dict[str, Any]] | None] = mapped_column(nullable=True)
    # Weighted and normalised so a full card is 100.
    total: Mapped[float | None]
    scored_at: Mapped[datetime | None]

    @property
    def conflict_declared(self) -> bool:
        return self.conflict_declared_at is not None


class PoolReview(ReviewFields, Base):
    """One expert's assignment to an application: conflict declaration, then scores."""

    __tablename__ = "pool_reviews"

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pool_applications.id", ondelete="CASCADE"), primary_key=True
    )
    reviewer_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id"), primary_key=True, index=True
    )
    assigned_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))


class PoolObjection(Base):
    """An 异议 raised during the public notice; every one gets a reasoned disposal."""

    __tablename__ = "pool_objections"
    __table_args__ = (
        CheckConstraint(_in_sql("status", OBJECTION_STATUSES), name="status"),
        Index("ix_pool_objections_application_status", "application_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pool_applications.id", ondelete="CASCADE")
    )
    author_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolution_reason: Mapped[str] = mapped_column(Text, default="")
    resolved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- sanctions (警告 → 限期整改 → 停牌 → 取消资格) ------------------------------------------------

SanctionKind = Literal["warning", "rectification", "suspension", "removal"]
SANCTION_KINDS: tuple[str, ...] = get_args(SanctionKind)
SANCTION_STATUSES = ("active", "open", "reported", "closed", "lifted", "revoked", "superseded")
# The status a sanction of each kind is issued in: a rectification waits for the provider's
# report, the others simply hold.
SANCTION_START = {
    "warning": "active",
    "rectification": "open",
    "suspension": "active",
    "removal": "active",
}
# A sanction in one of these still has effect: it can be appealed, lifted or superseded.
SANCTION_HOLDING = ("active", "open", "reported")


@dataclass(frozen=True)
class SanctionMove:
    kinds: frozenset[str]
    sources: frozenset[str]
    target: str
    by: By


def _sanction_move(kinds: str, sources: str, target: str, by: By) -> SanctionMove:
    return SanctionMove(frozenset(kinds.split()), frozenset(sources.split()), target, by)


# The life of a sanction row, beside the application's own move (TRANSITIONS) that the same
# step makes: e.g. lifting a suspension is "lift" here and "lift" there.
SANCTION_TRANSITIONS: dict[str, SanctionMove] = {
    "report": _sanction_move("rectification", "open", "reported", "provider"),
    "accept_report": _sanction_move("rectification", "reported", "closed", "curator"),
    # Not enough: back to the provider, usually with a new deadline.
    "reject_report": _sanction_move("rectification", "reported", "open", "curator"),
    "lift": _sanction_move("suspension", "active", "lifted", "curator"),
    # The two below follow from another decision and are recorded with it ("system": no
    # endpoint of their own). An upheld appeal undoes the sanction, whatever its kind.
    "revoke": _sanction_move(
        "warning rectification suspension removal", "active open reported", "revoked", "system"
    ),
    # A removal ends the rectifications and suspensions still running on the listing.
    "supersede": _sanction_move(
        "rectification suspension", "active open reported", "superseded", "system"
    ),
}


class PoolSanction(Base):
    """One sanction on one listing, with the provider's rectification report when asked for."""

    __tablename__ = "pool_sanctions"
    __table_args__ = (
        CheckConstraint(_in_sql("kind", SANCTION_KINDS), name="kind"),
        CheckConstraint(_in_sql("status", SANCTION_STATUSES), name="status"),
        CheckConstraint("kind <> 'rectification' OR deadline IS NOT NULL", name="deadline"),
        Index("ix_pool_sanctions_application_status", "application_id", "status"),
        # The reminder run looks for rectifications whose deadline is near.
        Index("ix_pool_sanctions_status_deadline", "status", "deadline"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pool_applications.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    # Rectification only: by when the provider must have fixed the problem and reported.
    deadline: Mapped[datetime | None]
    # The application's state when the sanction was issued, for the record and for undoing.
    state_before: Mapped[str] = mapped_column(String(16))
    issued_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    report: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[datetime | None]
    resolved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    resolution_reason: Mapped[str] = mapped_column(Text, default="")
    # The removal that ended this sanction, so revoking that removal can bring it back.
    superseded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("pool_sanctions.id"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    def is_overdue(self, now: datetime) -> bool:
        """A rectification still waiting for its report after the deadline."""
        return self.status == "open" and self.deadline is not None and self.deadline < now


# --- appeals (申诉) -------------------------------------------------------------------------------

APPEAL_SUBJECTS = ("rating", "sanction")
APPEAL_STATUSES = ("open", "upheld", "dismissed")


class PoolAppeal(Base):
    """The provider's appeal against a star rating or a sanction of one of its listings."""

    __tablename__ = "pool_appeals"
    __table_args__ = (
        CheckConstraint(_in_sql("subject", APPEAL_SUBJECTS), name="subject"),
        CheckConstraint(_in_sql("status", APPEAL_STATUSES), name="status"),
        CheckConstraint(
            "(subject = 'sanction') = (sanction_id IS NOT NULL)", name="sanction_subject"
        ),
        # One appeal per decision: per sanction, and per rating (named by when it was set).
        Index("uq_pool_appeals_subject", "application_id", "subject_key", unique=True),
        Index("ix_pool_appeals_status", "status", "filed_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pool_applications.id", ondelete="CASCADE")
    )
    subject: Mapped[str] = mapped_column(String(16))
    sanction_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("pool_sanctions.id", ondelete="CASCADE")
    )
    # "sanction:<id>" or "rating:<rated_at>": what the uniqueness above is about.
    subject_key: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    filed_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who made the decision appealed against (the sanction's issuer; the reviewers and the
    # curator behind a rating): none of them may decide the appeal.
    excluded_user_ids: Mapped[list[str]] = mapped_column(default=list)
    star_rating_before: Mapped[int | None]
    star_rating_after: Mapped[int | None]
    decided_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


# --- re-review (定期考核) -------------------------------------------------------------------------

REREVIEW_TRIGGERS = ("expiry", "on_demand", "change")
# "closed": the listing ended some other way (e.g. removed) while the round was open.
REREVIEW_STATES = ("open", "passed", "failed", "closed")


class PoolRereview(Base):
    """One round of re-review of a listing, scored like an application on its own card copy."""

    __tablename__ = "pool_rereviews"
    __table_args__ = (
        CheckConstraint(_in_sql("trigger", REREVIEW_TRIGGERS), name="trigger"),
        CheckConstraint(_in_sql("state", REREVIEW_STATES), name="state"),
        CheckConstraint("star_rating IS NULL OR star_rating BETWEEN 1 AND 5", name="star_rating"),
        # At most one open round per listing, even with the scheduler and a curator racing.
        Index(
            "uq_pool_rereviews_one_open",
            "application_id",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        Index("ix_pool_rereviews_application", "application_id", "opened_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pool_applications.id", ondelete="CASCADE")
    )
    trigger: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="open")
    scorecard: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    total_score: Mapped[float | None]
    star_rating: Mapped[int | None]
    # None when the scheduler opened the round on expiry.
    opened_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    reasons: Mapped[list[str]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(default=1)

    reviews: Mapped[list[PoolRereviewReview]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="PoolRereviewReview.assigned_at"
    )

    __mapper_args__ = {"version_id_col": version}

    def review_by(self, user_id: uuid.UUID) -> PoolRereviewReview | None:
        return next((r for r in self.reviews if r.reviewer_user_id == user_id), None)

    def recompute_total(self) -> None:
        totals = [r.total for r in self.reviews if r.total is not None]
        self.total_score = round(sum(totals) / len(totals), 2) if totals else None


class PoolRereviewReview(ReviewFields, Base):
    """One expert's assignment to a re-review round."""

    __tablename__ = "pool_rereview_reviews"

    rereview_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pool_rereviews.id", ondelete="CASCADE"), primary_key=True
    )
    reviewer_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id"), primary_key=True, index=True
    )
    assigned_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))


# --- material changes the provider reports (重大事项变更) -----------------------------------------

ChangeKind = Literal["name", "credit_code", "certification"]
CHANGE_KINDS: tuple[str, ...] = get_args(ChangeKind)
CHANGE_REVIEW_STATUSES = ("open", "confirmed", "rereview", "closed")


class ProviderChange(Base):
    """A material change reported by the provider; it concerns every pool the provider is in."""

    __tablename__ = "provider_changes"
    __table_args__ = (CheckConstraint(_in_sql("kind", CHANGE_KINDS), name="kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    reported_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)


class PoolChangeReview(Base):
    """One pool's look at a reported change: confirmed as is, or sent to re-review."""

    __tablename__ = "pool_change_reviews"
    __table_args__ = (
        CheckConstraint(_in_sql("status", CHANGE_REVIEW_STATUSES), name="status"),
        Index("ix_pool_change_reviews_application_status", "application_id", "status"),
    )

    change_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("provider_changes.id", ondelete="CASCADE"), primary_key=True
    )
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pool_applications.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")


# --- evidence documents ---------------------------------------------------------------------------

EVIDENCE_KINDS = ("licence", "certificate", "case_proof", "declaration", "other")
EVIDENCE_PURPOSES = ("application", "rectification", "appeal", "change")


class EvidenceDocument(Base):
    """An uploaded PDF or image owned by a provider; the bytes live in the evidence storage."""

    __tablename__ = "evidence_documents"
    __table_args__ = (
        CheckConstraint(_in_sql("kind", EVIDENCE_KINDS), name="kind"),
        Index("ix_evidence_documents_provider", "provider_id", "uploaded_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # The uploader's file name, cleaned, shown and offered on download; never a path on disk.
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    # The generated name in the storage; unguessable, and nothing the uploader chose.
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    uploaded_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvidenceLink(Base):
    """A document put forward with an application, a rectification report, an appeal or a
    change report. Who may download a document follows from its links."""

    __tablename__ = "evidence_links"
    __table_args__ = (
        CheckConstraint(_in_sql("purpose", EVIDENCE_PURPOSES), name="purpose"),
        Index(
            "uq_evidence_links_use", "document_id", "application_id", "purpose", "ref", unique=True
        ),
        Index("ix_evidence_links_application", "application_id", "purpose"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evidence_documents.id", ondelete="CASCADE")
    )
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pool_applications.id", ondelete="CASCADE")
    )
    purpose: Mapped[str] = mapped_column(String(16))
    # The sanction, appeal or change the document supports; "" for the application itself.
    ref: Mapped[str] = mapped_column(String(36), default="")
    linked_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- reminders of approaching deadlines -----------------------------------------------------------


class PoolReminder(Base):
    """A reminder sent, so each deadline is announced once however often the scheduler runs.

    Keyed by the deadline itself: a deadline that moves (a new rectification deadline, a
    renewed listing) is a new deadline and is announced again.
    """

    __tablename__ = "pool_reminders"
    __table_args__ = (Index("uq_pool_reminders_once", "kind", "target_id", "due_at", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
