"""The rules a review is checked against: related parties, bursts, outcomes and trust.

**Related parties** (the review is held for a curator). The SME organisation and the provider
are related when either

* their 统一社会信用代码 carry the same organisation part — characters 9–17, the 组织机构代码
  (eight body characters and their check character) that identifies one legal subject across
  registrations: a branch or a re-registration in another district keeps it; or
* they share a contact e-mail address: an e-mail of a user of the SME organisation equals the
  provider's contact e-mail or the e-mail of one of the provider's users. SME accounts record no
  telephone number, so telephone numbers cannot be compared.

**Bursts** (the review is published, flagged for curators and weighs nothing in trust until a
curator clears it): :data:`BURST_REVIEWS` or more reviews of one provider created within
:data:`BURST_WINDOW`. Every published review of that window is flagged, not only the last.

**Trust** is :func:`matching.trust.summarise` over the published reviews, with the parameters of
:data:`matching.weights.DEFAULT_WEIGHTS`, so the public summary and the matching engine's ranking
use the same numbers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.providers.models import Provider
from market.accounts.models import Organisation, User
from market.engagements.models import Engagement
from market.reviews.models import DIMENSIONS, Review
from matching import trust
from matching.weights import DEFAULT_WEIGHTS

BURST_REVIEWS = 3
BURST_WINDOW = timedelta(hours=24)
SECONDS_PER_DAY = 86_400.0


# --- related parties ----------------------------------------------------------------------------


def organisation_part(credit_code: str | None) -> str | None:
    """Characters 9–17 of an 18-character code (the 组织机构代码), or None without one."""
    if not credit_code or len(credit_code) != 18:
        return None
    return credit_code[8:17].upper()


def _emails(values: Iterable[str | None]) -> set[str]:
    return {value.strip().lower() for value in values if value and value.strip()}


def related_party_reasons(session: Session, engagement: Engagement) -> list[str]:
    """Why the SME and the provider of ``engagement`` look related; empty when they do not."""
    sme_code = session.scalar(
        select(Organisation.credit_code).where(Organisation.id == engagement.sme_org_id)
    )
    provider = session.execute(
        select(Provider.credit_code, Provider.contact_email).where(
            Provider.id == engagement.provider_id
        )
    ).one()
    provider_org_code = session.scalar(
        select(Organisation.credit_code).where(Organisation.id == engagement.provider_org_id)
    )
    reasons: list[str] = []
    sme_part = organisation_part(sme_code)
    provider_parts = {organisation_part(provider[0]), organisation_part(provider_org_code)}
    if sme_part is not None and sme_part in provider_parts:
        reasons.append("same_organisation_code")
    sme_emails = _emails(
        session.scalars(select(User.email).where(User.org_id == engagement.sme_org_id))
    )
    provider_emails = _emails(
        [
            provider[1],
            *session.scalars(select(User.email).where(User.org_id == engagement.provider_org_id)),
        ]
    )
    if sme_emails & provider_emails:
        reasons.append("shared_contact_email")
    return reasons


# --- bursts -------------------------------------------------------------------------------------


def burst_reviews(session: Session, provider_id: uuid.UUID, now: datetime) -> list[Review]:
    """The provider's reviews of the burst window, if they are a burst; else empty."""
    since = now - BURST_WINDOW
    count = session.scalar(
        select(func.count())
        .select_from(Review)
        .where(Review.provider_id == provider_id, Review.created_at >= since)
    )
    if int(count or 0) < BURST_REVIEWS:
        return []
    return list(
        session.scalars(
            select(Review).where(
                Review.provider_id == provider_id,
                Review.created_at >= since,
                Review.status == "published",
            )
        )
    )


# --- outcomes -----------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def outcomes_of(engagement: Engagement) -> dict[str, Any]:
    """The KPI deltas and maturity levels measured at 验收, as stored with the review."""
    kpis = []
    for kpi in engagement.kpis:
        baseline, measured = _number(kpi.get("baseline")), _number(kpi.get("measured"))
        direction = str(kpi.get("direction") or "increase")
        delta = None if baseline is None or measured is None else round(measured - baseline, 6)
        improved = None
        if delta is not None:
            improved = delta > 0 if direction == "increase" else delta < 0
        kpis.append(
            {
                "name": str(kpi.get("name", "")),
                "unit": str(kpi.get("unit") or ""),
                "direction": direction,
                "baseline": baseline,
                "measured": measured,
                "delta": delta,
                "improved": improved,
            }
        )
    before, after = engagement.maturity_before, engagement.maturity_after
    return {
        "kpis": kpis,
        "maturity_before": before,
        "maturity_after": after,
        "maturity_delta": None if before is None or after is None else after - before,
    }


# --- trust --------------------------------------------------------------------------------------


def age_days(published_at: datetime | None, now: datetime) -> float:
    if published_at is None:
        return 0.0
    return max(0.0, (now - published_at).total_seconds() / SECONDS_PER_DAY)


def as_engine_review(
    overall: int, published_at: datetime | None, flagged: bool, now: datetime
) -> trust.Review:
    """A published review as the engine weighs it: verified (it comes from an engagement)."""
    return trust.Review(
        rating=float(overall), age_days=age_days(published_at, now), verified=True, flagged=flagged
    )


def trust_summary(reviews: Sequence[Review], now: datetime) -> trust.TrustSummary:
    return trust.summarise(
        [as_engine_review(r.overall, r.published_at, r.flagged, now) for r in reviews],
        DEFAULT_WEIGHTS,
    )


def dimension_means(reviews: Sequence[Review]) -> dict[str, float | None]:
    names = (*DIMENSIONS, "overall")
    if not reviews:
        return dict.fromkeys(names)
    return {name: round(sum(getattr(r, name) for r in reviews) / len(reviews), 2) for name in names}
