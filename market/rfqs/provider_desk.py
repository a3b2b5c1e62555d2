"""What a provider's workbench reads about its market: the invitations it holds, the
engagements it is delivering, and how often it was recommended, invited, quoted and won.

Reads only; the steps themselves (quote, decline, answer) are in ``market.rfqs.service``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, exists, func, select
from sqlalchemy.orm import Session

from core.database import utcnow
from core.pagination import PageParams, paginate
from market.accounts.models import Organisation
from market.engagements.models import OCCUPYING_STATES, Engagement
from market.recommendations.models import RecommendationResult
from market.rfqs import service
from market.rfqs.models import LIVE_INVITATIONS, Quote, Rfq, RfqInvitation

# How far back the workbench's market figures look.
STATS_WINDOW_DAYS = 90


@dataclass(frozen=True)
class InvitationRow:
    """One line of the provider's invitation list."""

    invitation_id: uuid.UUID
    rfq_id: uuid.UUID
    title: str
    category: str | None
    sme_name: str
    status: str
    rfq_status: str
    deadline: datetime
    invited_at: datetime
    latest_revision: int | None
    latest_amount_fen: int | None
    latest_unit: str | None

    @property
    def open(self) -> bool:
        """Still to be answered or improved: the RFQ is open and the seat is live."""
        return self.rfq_status == "open" and self.status in LIVE_INVITATIONS


def invitations(
    session: Session, *, provider_id: uuid.UUID, status: str | None, params: PageParams
) -> tuple[list[InvitationRow], int]:
    """The provider's invitations: open ones first by nearest deadline, then the rest newest
    first. Passed deadlines are applied first, so every status shown is true now."""
    service.expire_due(session)
    stmt: Select[Any] = (
        select(RfqInvitation)
        .join(Rfq, Rfq.id == RfqInvitation.rfq_id)
        .where(RfqInvitation.provider_id == provider_id)
    )
    if status:
        stmt = stmt.where(RfqInvitation.status == status)
    live = (Rfq.status == "open") & RfqInvitation.status.in_(LIVE_INVITATIONS)
    order: list[ColumnElement[Any]] = [
        case((live, 0), else_=1),
        case((live, Rfq.deadline), else_=None).asc(),
        RfqInvitation.invited_at.desc(),
        RfqInvitation.id.asc(),
    ]
    rows, total = paginate(session, stmt, params, order)
    rfqs = {r.id: r for r in session.scalars(select(Rfq).where(Rfq.id.in_(i.rfq_id for i in rows)))}
    names = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.id.in_({r.sme_org_id for r in rfqs.values()})
            )
        ).all()
    )
    latest = _latest_quotes(session, [i.id for i in rows])
    items = []
    for invitation in rows:
        rfq = rfqs[invitation.rfq_id]
        quote = latest.get(invitation.id)
        items.append(
            InvitationRow(
                invitation_id=invitation.id,
                rfq_id=rfq.id,
                title=rfq.title,
                category=rfq.category,
                sme_name=names.get(rfq.sme_org_id, ""),
                status=invitation.status,
                rfq_status=rfq.status,
                deadline=rfq.deadline,
                invited_at=invitation.invited_at,
                latest_revision=quote.revision if quote else None,
                latest_amount_fen=quote.amount_fen if quote else None,
                latest_unit=quote.amount_unit if quote else None,
            )
        )
    return items, total


def _latest_quotes(session: Session, invitation_ids: list[uuid.UUID]) -> dict[uuid.UUID, Quote]:
    """Each invitation's newest revision, in one query."""
    newest = (
        select(Quote.invitation_id, func.max(Quote.revision).label("revision"))
        .where(Quote.invitation_id.in_(invitation_ids))
        .group_by(Quote.invitation_id)
        .subquery()
    )
    rows = session.scalars(
        select(Quote).join(
            newest,
            (Quote.invitation_id == newest.c.invitation_id) & (Quote.revision == newest.c.revision),
        )
    )
    return {quote.invitation_id: quote for quote in rows}


def active_engagements(session: Session, *, provider_id: uuid.UUID) -> list[Engagement]:
    """Engagements under way (not yet accepted by the SME), newest first."""
    return list(
        session.scalars(
            select(Engagement)
            .where(Engagement.provider_id == provider_id, Engagement.status.in_(OCCUPYING_STATES))
            .order_by(Engagement.created_at.desc(), Engagement.id)
        )
    )


@dataclass(frozen=True)
class Funnel:
    """From being recommended to winning, over the last ``days`` days."""

    days: int
    recommended: int
    invited: int
    quoted: int
    won: int

    @property
    def win_rate(self) -> float | None:
        """Won of quoted; None before anything was quoted."""
        return self.won / self.quoted if self.quoted else None


def funnel(
    session: Session,
    *,
    provider_id: uuid.UUID,
    days: int = STATS_WINDOW_DAYS,
    now: datetime | None = None,
) -> Funnel:
    since = (now or utcnow()) - timedelta(days=days)
    recommended = session.scalar(
        select(func.count(func.distinct(RecommendationResult.list_id))).where(
            RecommendationResult.provider_id == provider_id,
            RecommendationResult.shown_at >= since,
        )
    )
    quoted = exists().where(Quote.invitation_id == RfqInvitation.id)
    invited, answered, won = session.execute(
        select(
            func.count(RfqInvitation.id),
            func.count(RfqInvitation.id).filter(quoted),
            func.count(RfqInvitation.id).filter(RfqInvitation.status == "awarded"),
        ).where(RfqInvitation.provider_id == provider_id, RfqInvitation.invited_at >= since)
    ).one()
    return Funnel(
        days=days,
        recommended=int(recommended or 0),
        invited=int(invited),
        quoted=int(answered),
        won=int(won),
    )
