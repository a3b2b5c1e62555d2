"""Request and response bodies for pools, applications, reviews and objections, and for the
management of listings: sanctions, appeals, re-reviews, reported changes and evidence."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, Field, model_validator

from catalog.fields import IndustryCode, ProviderTypeId, RegionCode
from catalog.pools.models import APPEAL_WINDOW_DAYS, ChangeKind, Pool, PoolApplication, SanctionKind
from catalog.providers.models import Provider
from core.audit import AuditRecord
from core.errors import field_error
from core.schemas import InputModel, OutputModel, ShortText

T = TypeVar("T")

FULL_CARD = 100

Slug = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$",
        description="lower-case letters, digits, - and _; up to 40 characters",
    ),
]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]
Reasons = Annotated[list[Reason], Field(min_length=1, max_length=20)]
LongText = Annotated[str, Field(max_length=20_000)]
Note = Annotated[str, Field(max_length=4000)]


def _distinct(values: list[T]) -> list[T]:
    seen: set[T] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.add(value)
    return values


class CategoryIn(InputModel):
    """A 细分行业 / provider-type slice of the pool, optionally with a quota of listings."""

    id: Slug
    name: ShortText
    provider_types: Annotated[
        list[ProviderTypeId], Field(max_length=20, description="empty = any provider type")
    ] = []
    industries: Annotated[
        list[IndustryCode], Field(max_length=60, description="GB/T 4754 codes; empty = any")
    ] = []
    quota: Annotated[
        int | None, Field(ge=1, description="most providers in notice or listed; null = none")
    ] = None


class CriterionIn(InputModel):
    id: Slug
    name: ShortText
    max_points: Annotated[int, Field(gt=0, le=FULL_CARD)]
    weight: Annotated[float, Field(gt=0, le=10)] = 1.0
    guidance: Annotated[str, Field(max_length=4000)] = ""


def _distinct_ids(values: list[Any]) -> list[Any]:
    _distinct([v.id for v in values])
    return values


def _full_card(values: list[CriterionIn]) -> list[CriterionIn]:
    total = sum(c.max_points for c in values)
    if total != FULL_CARD:
        raise ValueError(
            f"max_points must add up to {FULL_CARD} (a {FULL_CARD}-point card); "
            f"these add up to {total}"
        )
    return values


Categories = Annotated[
    list[CategoryIn], Field(min_length=1, max_length=50), AfterValidator(_distinct_ids)
]
Scorecard = Annotated[
    list[CriterionIn],
    Field(min_length=1, max_length=50),
    AfterValidator(_distinct_ids),
    AfterValidator(_full_card),
]
EvaluationMonths = Annotated[int, Field(ge=1, le=120, description="how long a listing is valid")]
NoticeDays = Annotated[int, Field(ge=1, le=60, description="length of the 公示 in days")]
PassScore = Annotated[int, Field(ge=0, le=FULL_CARD)]
AppealWindowDays = Annotated[
    int,
    Field(ge=1, le=365, description="days after a star rating or sanction to appeal it"),
]


class PoolIn(InputModel):
    agency_org_id: uuid.UUID | None = Field(
        default=None, description="admins only: the agency that runs the pool"
    )
    jurisdiction: RegionCode | None = Field(
        default=None, description="defaults to the agency's jurisdiction; must lie within it"
    )
    name: ShortText
    description: LongText = ""
    entry_criteria: LongText = ""
    categories: Categories
    scorecard: Scorecard
    evaluation_period_months: EvaluationMonths = 24
    notice_days: NoticeDays = 7
    appeal_window_days: AppealWindowDays = APPEAL_WINDOW_DAYS
    pass_score: PassScore = 60
    applications_open: bool = False


class PoolPatch(InputModel):
    """Only the fields sent change; a list sent replaces the whole list."""

    jurisdiction: RegionCode | None = None
    name: ShortText | None = None
    description: LongText | None = None
    entry_criteria: LongText | None = None
    categories: Categories | None = None
    scorecard: Scorecard | None = None
    evaluation_period_months: EvaluationMonths | None = None
    notice_days: NoticeDays | None = None
    appeal_window_days: AppealWindowDays | None = None
    pass_score: PassScore | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> PoolPatch:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; omit it to leave it unchanged")
        return self


class CategoryOut(OutputModel):
    id: str
    name: str
    provider_types: list[str]
    industries: list[str]
    quota: int | None
    # Filled in from a count query; the stored category does not carry it.
    listed_count: int = 0


class CriterionOut(OutputModel):
    id: str
    name: str
    max_points: int
    weight: float
    guidance: str


class PoolSummaryOut(OutputModel):
    id: uuid.UUID
    name: str
    jurisdiction: str
    applications_open: bool
    categories: list[CategoryOut]
    listed_count: int = 0


class PoolOut(PoolSummaryOut):
    agency_org_id: uuid.UUID
    description: str
    entry_criteria: str
    scorecard: list[CriterionOut]
    evaluation_period_months: int
    notice_days: int
    appeal_window_days: int
    pass_score: int
    version: int
    created_at: datetime
    updated_at: datetime


# --- applications --------------------------------------------------------------------------


SolutionIds = Annotated[
    list[uuid.UUID], Field(min_length=1, max_length=50), AfterValidator(_distinct)
]
EvidenceIds = Annotated[
    list[uuid.UUID],
    Field(max_length=50, description="your uploaded evidence documents (POST /api/v1/evidence)"),
    AfterValidator(_distinct),
]


def _signed(value: bool) -> bool:
    if not value:
        raise ValueError("must be true: an application needs the signed 承诺书 (commitment letter)")
    return value


class ApplicationIn(InputModel):
    category_id: Slug
    solution_ids: SolutionIds
    declaration: Annotated[bool, AfterValidator(_signed)] = Field(
        description="the signed 承诺书 (commitment letter); must be true"
    )
    note: Note = ""
    evidence_ids: EvidenceIds = []


class ResubmitIn(InputModel):
    """What the provider may change after a return; omitted fields stay. Evidence sent is
    added to what the application already has."""

    category_id: Slug | None = None
    solution_ids: SolutionIds | None = None
    note: Note | None = None
    evidence_ids: EvidenceIds | None = None


class ReasonsIn(InputModel):
    reasons: Reasons


class OptionalReasonIn(InputModel):
    reason: Annotated[str, Field(max_length=2000)] = ""


class ReviewersIn(InputModel):
    user_ids: Annotated[
        list[uuid.UUID],
        Field(min_length=1, max_length=20, description="curators of the pool's agency or admins"),
        AfterValidator(_distinct),
    ]


class PointsIn(InputModel):
    criterion_id: Slug
    points: Annotated[float, Field(ge=0)]
    comment: Annotated[str, Field(max_length=4000)] = ""


class ScoreIn(InputModel):
    no_conflict: bool = Field(
        description="true: you declare no conflict of interest; false records a conflict"
    )
    conflict_note: Note = ""
    scores: Annotated[list[PointsIn], Field(max_length=50)] = []

    def checked_against(self, scorecard: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The points in scorecard order, each criterion present once and within its maximum.

        Checked here rather than by field types because the limits come from the scorecard
        the application was accepted with.
        """
        criteria = {c["id"]: c for c in scorecard}
        given: dict[str, dict[str, Any]] = {}
        for i, item in enumerate(self.scores):
            criterion = criteria.get(item.criterion_id)
            where = f"body.scores.{i}"
            if criterion is None:
                known = ", ".join(criteria)
                raise field_error(f"{where}.criterion_id", f"no such criterion; use {known}")
            if item.criterion_id in given:
                raise field_error(f"{where}.criterion_id", "this criterion is scored twice")
            if item.points > criterion["max_points"]:
                message = f"at most {criterion['max_points']} points for {criterion['name']}"
                raise field_error(f"{where}.points", message, kind="less_than_equal")
            given[item.criterion_id] = item.model_dump()
        missing = [cid for cid in criteria if cid not in given]
        if missing:
            message = f"score every criterion; missing: {', '.join(missing)}"
            raise field_error("body.scores", message, kind="missing")
        return [given[cid] for cid in criteria]


class DecisionIn(InputModel):
    decision: Literal["approve", "reject"]
    category_id: Slug | None = Field(
        default=None, description="approve only: the category to list in (default: applied)"
    )
    reasons: Annotated[list[Reason], Field(max_length=20)] = Field(
        default=[], description="required to reject"
    )
    override_reason: Annotated[str, Field(min_length=1, max_length=2000)] | None = Field(
        default=None, description="approve beyond a full quota or below the pass score"
    )

    @model_validator(mode="after")
    def _consistent(self) -> DecisionIn:
        if self.decision == "reject":
            if not self.reasons:
                raise ValueError("reasons are required to reject an application")
            if self.category_id is not None or self.override_reason is not None:
                raise ValueError("category_id and override_reason apply to approve only")
        return self


class ObjectionIn(InputModel):
    text: Annotated[str, Field(min_length=1, max_length=4000)]


class ResolutionIn(InputModel):
    outcome: Literal["uphold", "dismiss"]
    reason: Reason


class PointsOut(OutputModel):
    criterion_id: str
    points: float
    comment: str


class ReviewOut(OutputModel):
    reviewer_user_id: uuid.UUID
    assigned_at: datetime
    conflict_declared: bool
    conflict_note: str
    scores: list[PointsOut] | None
    total: float | None
    scored_at: datetime | None


class ApplicationOut(OutputModel):
    id: uuid.UUID
    pool_id: uuid.UUID
    pool_name: str
    provider_id: uuid.UUID
    provider_name: str
    category_id: str
    solution_ids: list[uuid.UUID]
    note: str
    state: str
    # What can be done next from this state (by whoever may do it).
    next_actions: list[str]
    reasons: list[str]
    total_score: float | None
    star_rating: int | None
    declared_at: datetime
    submitted_at: datetime
    decided_at: datetime | None
    notice_ends_at: datetime | None
    listed_since: datetime | None
    valid_until: datetime | None
    rated_at: datetime | None
    # A material change the provider reported waits for this pool's curators.
    change_under_review: bool
    source: str
    # Curators see every review, a reviewer only its own; providers see none.
    reviews: list[ReviewOut] | None
    version: int
    created_at: datetime
    updated_at: datetime


class ObjectionOut(OutputModel):
    id: uuid.UUID
    application_id: uuid.UUID
    text: str
    status: str
    resolution_reason: str
    created_at: datetime
    resolved_at: datetime | None


class NoticeOut(OutputModel):
    """One line of the 公示 list."""

    application_id: uuid.UUID
    provider_id: uuid.UUID
    provider_name: str
    category_id: str
    category_name: str
    total_score: float | None
    notice_started_at: datetime | None
    notice_ends_at: datetime

    @classmethod
    def of(cls, app: PoolApplication, pool: Pool, provider: Provider) -> NoticeOut:
        return cls(
            application_id=app.id,
            provider_id=provider.id,
            provider_name=provider.legal_name,
            category_id=app.category_id,
            category_name=pool.category_name(app.category_id),
            total_score=app.total_score,
            notice_started_at=app.decided_at,
            notice_ends_at=app.notice_ends_at,
        )


class BadgeOut(OutputModel):
    """A listing, as shown on a provider's page and in a pool's member list."""

    pool_id: uuid.UUID
    pool_name: str
    jurisdiction: str
    provider_id: uuid.UUID
    provider_name: str
    category_id: str
    category_name: str
    star_rating: int | None
    listed_since: datetime
    valid_until: datetime | None

    @classmethod
    def of(cls, app: PoolApplication, pool: Pool, provider: Provider) -> BadgeOut:
        return cls(
            pool_id=pool.id,
            pool_name=pool.name,
            jurisdiction=pool.jurisdiction,
            provider_id=provider.id,
            provider_name=provider.legal_name,
            category_id=app.category_id,
            category_name=pool.category_name(app.category_id),
            star_rating=app.star_rating,
            listed_since=app.listed_since,
            valid_until=app.valid_until,
        )


class MemberCategoryOut(OutputModel):
    id: str
    name: str
    quota: int | None
    members: list[BadgeOut]


class MembersOut(OutputModel):
    pool_id: uuid.UUID
    pool_name: str
    categories: list[MemberCategoryOut]


class AuditOut(OutputModel):
    id: uuid.UUID
    at: datetime
    actor_user_id: uuid.UUID | None
    actor_role: str
    action: str
    target_type: str
    target_id: str
    reason: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(OutputModel):
    items: list[AuditOut]
    page: int
    size: int
    has_more: bool


class DecisionOut(OutputModel):
    """A step of the provider's own application, with the reasons it was given."""

    at: datetime
    action: str
    actor_role: str
    from_state: str | None
    to_state: str | None
    reason: str
    reasons: list[str]

    @classmethod
    def of(cls, row: AuditRecord, action: str) -> DecisionOut:
        after = row.after or {}
        return cls(
            at=row.at,
            action=action,
            # Who objected stays private; the provider sees that the public did.
            actor_role="public" if action == "objection_lodged" else row.actor_role,
            from_state=(row.before or {}).get("state"),
            to_state=after.get("state"),
            reason=row.reason,
            reasons=list(after.get("reasons", [])),
        )


# --- sanctions -----------------------------------------------------------------------------


class SanctionIn(InputModel):
    kind: SanctionKind = Field(
        description="warning 警告, rectification 限期整改 (needs a deadline), suspension 停牌 "
        "(hidden from search and matching), removal 取消资格"
    )
    reason: Reason
    deadline: AwareDatetime | None = Field(
        default=None, description="rectification only: when the provider must have reported"
    )

    @model_validator(mode="after")
    def _deadline_for_rectification(self) -> SanctionIn:
        if self.kind == "rectification" and self.deadline is None:
            raise ValueError("a rectification needs a deadline")
        if self.kind != "rectification" and self.deadline is not None:
            raise ValueError("only a rectification has a deadline")
        return self


class RectificationReportIn(InputModel):
    report: Annotated[str, Field(min_length=1, max_length=4000)]
    evidence_ids: EvidenceIds = []


class RectificationReviewIn(InputModel):
    outcome: Literal["accept", "reject"]
    reason: Reason
    deadline: AwareDatetime | None = Field(
        default=None, description="reject only: a new deadline (default: the current one)"
    )

    @model_validator(mode="after")
    def _deadline_on_reject(self) -> RectificationReviewIn:
        if self.outcome == "accept" and self.deadline is not None:
            raise ValueError("a new deadline goes with reject only")
        return self


class ReasonIn(InputModel):
    reason: Reason


class SanctionOut(OutputModel):
    id: uuid.UUID
    application_id: uuid.UUID
    kind: str
    status: str
    reason: str
    deadline: datetime | None
    overdue: bool = False
    state_before: str
    issued_at: datetime
    report: str
    reported_at: datetime | None
    resolved_at: datetime | None
    resolution_reason: str
    version: int


# --- appeals -------------------------------------------------------------------------------


class AppealIn(InputModel):
    subject: Literal["rating", "sanction"]
    sanction_id: uuid.UUID | None = Field(default=None, description="sanction appeals only")
    text: Annotated[str, Field(min_length=1, max_length=4000)]
    evidence_ids: EvidenceIds = []

    @model_validator(mode="after")
    def _sanction_named(self) -> AppealIn:
        if (self.subject == "sanction") != (self.sanction_id is not None):
            raise ValueError("name sanction_id for a sanction appeal, and only then")
        return self


class AppealDecisionIn(InputModel):
    outcome: Literal["uphold", "dismiss"]
    reason: Reason
    star_rating: Annotated[int, Field(ge=1, le=5)] | None = Field(
        default=None, description="upholding a rating appeal: the corrected rating"
    )


class AppealOut(OutputModel):
    id: uuid.UUID
    application_id: uuid.UUID
    subject: str
    sanction_id: uuid.UUID | None
    text: str
    status: str
    filed_at: datetime
    star_rating_before: int | None
    star_rating_after: int | None
    decided_at: datetime | None
    decision_reason: str


# --- re-review -----------------------------------------------------------------------------


class RereviewDecisionIn(InputModel):
    decision: Literal["pass", "fail"]
    reasons: Annotated[list[Reason], Field(max_length=20)] = Field(
        default=[], description="required to fail"
    )
    override_reason: Annotated[str, Field(min_length=1, max_length=2000)] | None = Field(
        default=None, description="pass below the pool's pass score"
    )

    @model_validator(mode="after")
    def _consistent(self) -> RereviewDecisionIn:
        if self.decision == "fail":
            if not self.reasons:
                raise ValueError("reasons are required to fail a re-review")
            if self.override_reason is not None:
                raise ValueError("override_reason applies to pass only")
        return self


class RereviewReviewOut(OutputModel):
    reviewer_user_id: uuid.UUID
    assigned_at: datetime
    conflict_declared: bool
    conflict_note: str
    scores: list[PointsOut] | None
    total: float | None
    scored_at: datetime | None


class RereviewOut(OutputModel):
    id: uuid.UUID
    application_id: uuid.UUID
    pool_id: uuid.UUID
    provider_id: uuid.UUID
    trigger: str
    reason: str
    state: str
    scorecard: list[CriterionOut]
    total_score: float | None
    star_rating: int | None
    opened_at: datetime
    decided_at: datetime | None
    reasons: list[str]
    # Curators see every review, a reviewer its own; the provider none.
    reviews: list[RereviewReviewOut] | None
    version: int


class ExpiryOut(OutputModel):
    """What one run of the validity check did."""

    expired: list[uuid.UUID]
    rereviews_opened: list[uuid.UUID]


# --- reported changes ----------------------------------------------------------------------


class ChangeIn(InputModel):
    kind: ChangeKind = Field(
        description="name (企业名称), credit_code (统一社会信用代码) or certification (key "
        "certificate gained, lost or lapsed)"
    )
    new_value: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="the new name or credit code, or what changed about the certificate"
    )
    note: Note = ""
    evidence_ids: EvidenceIds = []


class ChangeReviewIn(InputModel):
    outcome: Literal["confirm", "rereview"] = Field(
        description="confirm: the listing stands; rereview: open a re-review of the listing"
    )
    reason: Reason


class ChangeReviewOut(OutputModel):
    application_id: uuid.UUID
    pool_id: uuid.UUID
    pool_name: str
    status: str
    resolved_at: datetime | None
    reason: str


class ChangeOut(OutputModel):
    id: uuid.UUID
    provider_id: uuid.UUID
    provider_name: str
    kind: str
    before: dict[str, Any]
    after: dict[str, Any]
    note: str
    reported_at: datetime
    reviews: list[ChangeReviewOut]


# --- evidence ------------------------------------------------------------------------------


class EvidenceOut(OutputModel):
    id: uuid.UUID
    provider_id: uuid.UUID
    kind: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime


class LinkedEvidenceOut(EvidenceOut):
    purpose: str
    ref: str
    linked_at: datetime


class EvidenceAttachIn(InputModel):
    document_ids: Annotated[
        list[uuid.UUID], Field(min_length=1, max_length=50), AfterValidator(_distinct)
    ]


# --- import --------------------------------------------------------------------------------


class ImportIssueOut(OutputModel):
    row: int
    column: str | None
    value: str | None
    message: str


class ImportReportOut(OutputModel):
    dry_run: bool
    imported: bool
    rows: int
    rows_ok: int
    rows_failed: int
    # The header each field was read from, as found in the file.
    columns: dict[str, str]
    new_providers: int
    existing_providers: int
    listed: int
    errors: list[ImportIssueOut]
    warnings: list[ImportIssueOut]
    seconds: float
