"""Review use cases: write, reply, curator check, and the provider's public trust.

Who may do what (object-level, applied here):

* The SME party of a **completed** engagement writes its one review (403 ``wrong_party`` for the
  provider party, 404 for anyone else, as for the engagement itself; 409 before completion or
  when a review exists).
* Both parties read the engagement's review; only its author's side sees the private feedback.
* The provider party replies publicly, once, to a published review (403 ``wrong_party`` for
  anyone else who can see the review, 404 for a review that is not on show).
* Curators of a pool the provider is listed (or suspended) in, and admins, read the queue of held
  and flagged reviews and decide them with a reason (403 ``not_pool_curator`` for other
  curators); every decision is audited.
* Anyone reads a provider's published reviews and trust summary.

A change to what counts in the provider's trust emits ``market.review.changed`` so the
recommendation index re-reads that provider.
"""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog import visibility
from catalog.pools.models import Pool, PoolApplication
from catalog.providers import service as providers
from catalog.providers.models import Provider
from core import audit
from core.database import utcnow
from core.deps import Principal
from core.errors import Conflict, Forbidden, NotFound
from core.outbox import emit
from core.pagination import PageParams, paginate
from market.accounts.models import Organisation
from market.engagements import service as engagements
from market.engagements.models import Engagement
from market.reviews import rules
from market.reviews.models import REVIEW, Review
from market.reviews.schemas import (
    DecisionIn,
    KpiOutcomeOut,
    OutcomesOut,
    ProviderReviewsOut,
    ReplyIn,
    ReplyOut,
    ReviewIn,
    ReviewOut,
    TrustOut,
)
from matching.trust import HIGH_RATING_BADGE_WILSON, has_high_rating_badge
from matching.weights import DEFAULT_WEIGHTS

View = Literal["public", "author", "provider", "curator"]
TOPIC = "market.review.changed"
# Membership states in which a pool's curators oversee the provider's reviews.
CURATED_STATES: tuple[str, ...] = (*visibility.SHOWN_STATES, "suspended")


class WrongParty(Forbidden):
    code = "wrong_party"


class NotPoolCurator(Forbidden):
    code = "not_pool_curator"


class NotCompleted(Conflict):
    code = "engagement_not_completed"


class ReviewExists(Conflict):
    code = "review_exists"


class AlreadyReplied(Conflict):
    code = "already_replied"


class NotPending(Conflict):
    code = "review_not_pending"


def _not_found() -> NotFound:
    return NotFound("No such review", code="review_not_found")


def _changed(session: Session, review: Review) -> None:
    emit(
        session,
        TOPIC,
        review_id=str(review.id),
        provider_id=str(review.provider_id),
        status=review.status,
    )


# --- writing ------------------------------------------------------------------------------------


def create_review(
    session: Session, *, principal: Principal, engagement_id: uuid.UUID, data: ReviewIn
) -> Review:
    engagement, side = engagements.get_for_party(
        session, principal=principal, engagement_id=engagement_id
    )
    if side != "sme":
        raise WrongParty("Only the SME party of this engagement can review it")
    if engagement.status != "completed":
        raise NotCompleted(
            f"Reviews open once the engagement is completed; it is {engagement.status}"
        )
    if of_engagement(session, engagement.id) is not None:
        raise ReviewExists("This engagement has already been reviewed; a review is written once")
    now = utcnow()
    hold = rules.related_party_reasons(session, engagement)
    review = Review(
        engagement_id=engagement.id,
        provider_id=engagement.provider_id,
        provider_org_id=engagement.provider_org_id,
        sme_org_id=engagement.sme_org_id,
        author_user_id=principal.user_id,
        **data.model_dump(),
        outcomes=rules.outcomes_of(engagement),
        status="held" if hold else "published",
        hold_reasons=hold,
        flags=[],
        flagged=False,
        created_at=now,
        published_at=None if hold else now,
    )
    try:
        with session.begin_nested():
            session.add(review)
            session.flush()
    except IntegrityError as exc:
        raise ReviewExists("A colleague reviewed this engagement at the same moment") from exc
    for member in rules.burst_reviews(session, engagement.provider_id, now):
        if "burst" not in member.flags:
            member.flags = [*member.flags, "burst"]
            member.flagged = True
    session.flush()
    if review.status == "published":
        _changed(session, review)
    return review


def of_engagement(session: Session, engagement_id: uuid.UUID) -> Review | None:
    return session.scalar(select(Review).where(Review.engagement_id == engagement_id))


def get_for_engagement(
    session: Session, *, principal: Principal, engagement_id: uuid.UUID
) -> tuple[Review, engagements.Side]:
    engagement, side = engagements.get_for_party(
        session, principal=principal, engagement_id=engagement_id
    )
    review = of_engagement(session, engagement.id)
    if review is None:
        raise NotFound("This engagement has no review yet", code="review_not_found")
    return review, side


def _load(session: Session, review_id: uuid.UUID) -> Review:
    review = session.get(Review, review_id)
    if review is None:
        raise _not_found()
    return review


def get_for_provider(session: Session, *, principal: Principal, review_id: uuid.UUID) -> Review:
    """A review of the caller's own provider (any status); 404 for everyone else."""
    review = session.get(Review, review_id)
    if review is None or not (
        principal.role == "provider" and principal.org_id == review.provider_org_id
    ):
        raise _not_found()
    return review


def reply(session: Session, *, principal: Principal, review_id: uuid.UUID, data: ReplyIn) -> Review:
    review = _load(session, review_id)
    is_party = principal.role == "provider" and principal.org_id == review.provider_org_id
    if not is_party:
        if review.status != "published" and not _curates(session, principal, review):
            raise _not_found()
        raise WrongParty("Only the reviewed provider can reply to a review")
    REVIEW.target(review.status, "reply")
    if review.reply_text is not None:
        raise AlreadyReplied("The provider replies to a review once; this one has its reply")
    review.reply_text, review.replied_by, review.replied_at = data.text, principal.user_id, utcnow()
    session.flush()
    return review


# --- curators -----------------------------------------------------------------------------------


def _curated_providers(principal: Principal) -> Select[uuid.UUID]:
    """Providers with a membership in a pool run by the curator's agency."""
    return (
        select(PoolApplication.provider_id)
        .join(Pool, Pool.id == PoolApplication.pool_id)
        .where(Pool.agency_org_id == principal.org_id, PoolApplication.state.in_(CURATED_STATES))
    )


def _curates(session: Session, principal: Principal, review: Review) -> bool:
    if principal.is_admin:
        return True
    if principal.role != "curator":
        return False
    found = session.scalar(
        _curated_providers(principal)
        .where(PoolApplication.provider_id == review.provider_id)
        .limit(1)
    )
    return found is not None


def _pool_of(session: Session, principal: Principal, provider_id: uuid.UUID) -> uuid.UUID | None:
    """The curator's pool the provider is in, as the audit record's scope."""
    if principal.role != "curator":
        return None
    return session.scalar(
        select(PoolApplication.pool_id)
        .join(Pool, Pool.id == PoolApplication.pool_id)
        .where(
            Pool.agency_org_id == principal.org_id,
            PoolApplication.provider_id == provider_id,
            PoolApplication.state.in_(CURATED_STATES),
        )
        .order_by(PoolApplication.pool_id)
        .limit(1)
    )


def queue(
    session: Session, *, principal: Principal, params: PageParams
) -> tuple[list[Review], int]:
    """Held and flagged reviews the caller curates, oldest first."""
    stmt = select(Review).where(
        or_(Review.status == "held", (Review.status == "published") & Review.flagged.is_(True))
    )
    if not principal.is_admin:
        stmt = stmt.where(Review.provider_id.in_(_curated_providers(principal)))
    return paginate(session, stmt, params, [Review.created_at.asc(), Review.id.asc()])


def decide(
    session: Session, *, principal: Principal, review_id: uuid.UUID, data: DecisionIn
) -> Review:
    review = _load(session, review_id)
    if not _curates(session, principal, review):
        raise NotPoolCurator(
            "Only curators of a pool the provider is listed in (or admins) decide its reviews"
        )
    pending = review.status == "held" or (review.status == "published" and review.flagged)
    if not pending:
        raise NotPending(
            f"This review waits for no decision: it is {review.status} and not flagged"
        )
    before = {"status": review.status, "flags": list(review.flags)}
    now = utcnow()
    if data.decision == "reject":
        review.status = REVIEW.target(review.status, "reject")
        action = "review.rejected"
    elif review.status == "held":
        review.status = REVIEW.target(review.status, "publish")
        review.published_at = now
        action = "review.published"
    else:
        REVIEW.target(review.status, "clear_flags")
        action = "review.flags_cleared"
    review.flagged = False
    review.decision_reason, review.decided_by, review.decided_at = (
        data.reason,
        principal.user_id,
        now,
    )
    session.flush()
    audit.record(
        session,
        actor=principal,
        action=action,
        target_type="review",
        target_id=review.id,
        reason=data.reason,
        scope_id=_pool_of(session, principal, review.provider_id),
        subject_org_id=review.provider_org_id,
        before=before,
        after={"status": review.status, "flags": list(review.flags)},
    )
    # Rejecting a held review changes nothing anyone weighs; everything else does.
    if before["status"] == "published" or review.status == "published":
        _changed(session, review)
    return review


# --- public -------------------------------------------------------------------------------------


def _published(provider_id: uuid.UUID) -> Select[Review]:
    return select(Review).where(Review.provider_id == provider_id, Review.status == "published")


def trust_out(session: Session, provider_id: uuid.UUID) -> TrustOut:
    reviews = list(session.scalars(_published(provider_id)))
    summary = rules.trust_summary(reviews, utcnow())
    return TrustOut(
        provider_id=provider_id,
        review_count=len(reviews),
        score=round(summary.mean, 3),
        effective_reviews=round(summary.n_eff, 2),
        positive_share=round(summary.positive_share, 3),
        wilson_lower_bound=round(summary.wilson, 3),
        high_rating_badge=has_high_rating_badge(summary),
        badge_threshold=HIGH_RATING_BADGE_WILSON,
        prior_mean=DEFAULT_WEIGHTS.prior_mean,
        prior_weight=DEFAULT_WEIGHTS.prior_strength,
        half_life_days=DEFAULT_WEIGHTS.half_life_days,
        dimensions=rules.dimension_means(reviews),
    )


def provider_reviews(
    session: Session, *, provider_id: uuid.UUID, params: PageParams
) -> ProviderReviewsOut:
    provider = providers.get_provider(session, provider_id)
    rows, total = paginate(
        session,
        _published(provider.id),
        params,
        [Review.published_at.desc(), Review.id.desc()],
    )
    return ProviderReviewsOut(
        trust=trust_out(session, provider.id),
        items=to_outs(session, rows, view="public"),
        total=total,
        page=params.page,
        size=params.size,
    )


# --- output -------------------------------------------------------------------------------------


def _outcomes(data: dict[str, object]) -> OutcomesOut:
    kpis = data.get("kpis") or []
    assert isinstance(kpis, list)
    return OutcomesOut(
        kpis=[KpiOutcomeOut.model_validate(kpi) for kpi in kpis],
        maturity_before=data.get("maturity_before"),
        maturity_after=data.get("maturity_after"),
        maturity_delta=data.get("maturity_delta"),
    )


def to_outs(session: Session, reviews: list[Review], *, view: View) -> list[ReviewOut]:
    if not reviews:
        return []
    categories = dict(
        session.execute(
            select(Engagement.id, Engagement.category).where(
                Engagement.id.in_({r.engagement_id for r in reviews})
            )
        ).all()
    )
    names: dict[uuid.UUID, str] = {}
    if view == "curator":
        names.update(
            session.execute(
                select(Organisation.id, Organisation.name).where(
                    Organisation.id.in_({r.sme_org_id for r in reviews})
                )
            ).all()
        )
        names.update(
            session.execute(
                select(Provider.id, Provider.legal_name).where(
                    Provider.id.in_({r.provider_id for r in reviews})
                )
            ).all()
        )
    return [_out(r, categories.get(r.engagement_id), names, view) for r in reviews]


def to_out(session: Session, review: Review, *, view: View) -> ReviewOut:
    return to_outs(session, [review], view=view)[0]


def _out(
    review: Review, category: str | None, names: dict[uuid.UUID, str], view: View
) -> ReviewOut:
    curator = view == "curator"
    reply_out = None
    if review.reply_text is not None and review.replied_at is not None:
        reply_out = ReplyOut(text=review.reply_text, replied_at=review.replied_at)
    next_actions: list[str] = []
    if view == "provider" and review.status == "published" and reply_out is None:
        next_actions = ["reply"]
    elif curator and (review.status == "held" or review.flagged):
        next_actions = ["publish", "reject"]
    return ReviewOut(
        id=review.id,
        # The public does not learn which engagement (a private contract) a review is about.
        engagement_id=None if view == "public" else review.engagement_id,
        provider_id=review.provider_id,
        category=category,
        quality=review.quality,
        schedule=review.schedule,
        cost_value=review.cost_value,
        service=review.service,
        recommend=review.recommend,
        overall=review.overall,
        text=review.text,
        outcomes=_outcomes(review.outcomes),
        status=review.status,
        reply=reply_out,
        created_at=review.created_at,
        published_at=review.published_at,
        private_feedback=review.private_feedback if view in ("author", "curator") else None,
        hold_reasons=list(review.hold_reasons) if curator else None,
        flags=list(review.flags) if curator else None,
        decision_reason=review.decision_reason if curator else None,
        sme_name=names.get(review.sme_org_id) if curator else None,
        provider_name=names.get(review.provider_id) if curator else None,
        next_actions=next_actions,
    )
