"""RFQ use cases: pool market settings, sending an RFQ, invitations, quotes and their revisions,
Q&A, comparison with three-year TCO, the abnormally-low flag and exactly-once accept.

Who may see what (object-level, applied here rather than in the routers):

* The SME organisation that sent an RFQ sees the RFQ, every invitation, every quote revision and
  every Q&A thread of it; only its SME users act on it.
* An invited provider sees the RFQ (with the need as it was sent), its own invitation, its own
  quotes and its own Q&A thread; never another provider's invitation or quote. It is not told
  how many others were invited.
* A quote flagged abnormally low is also visible, read-only, to curators of the pools that
  oversee it — the pool the RFQ runs under and the pools the quoting provider is listed in —
  and to admins.
* Everyone else is told the object does not exist (404). A party that tries the other party's
  action gets 403; a state that forbids the action gets 409 ``invalid_transition``.

Time-driven states (deadline passed, nothing left to accept) are applied lazily whenever an RFQ
is read or acted on, and by ``expire_due`` for a scheduler; both lock the RFQ row first so an
expiry and an accept never interleave.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, exists, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog import visibility
from catalog.pools import service as pools
from catalog.pools.models import Pool, PoolApplication
from catalog.providers import service as providers
from catalog.providers.models import Provider
from core import audit
from core.concurrency import check_version
from core.database import utcnow
from core.deps import Principal
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error
from core.outbox import emit
from core.pagination import PageParams, order_by_clause, paginate
from market.accounts import service as accounts
from market.engagements import service as engagements
from market.engagements.models import Engagement
from market.engagements.schemas import OrgRef, ProviderRef, SplitOut
from market.needs import service as needs
from market.rfqs import tco
from market.rfqs.models import (
    INVITATION,
    LIVE_INVITATIONS,
    QUOTE,
    RFQ,
    MarketPoolSettings,
    Quote,
    Rfq,
    RfqInvitation,
    RfqMessage,
)
from market.rfqs.schemas import (
    AcceptIn,
    ComparisonOut,
    ComparisonRowOut,
    CostBreakdownIn,
    FlaggedQuoteOut,
    InvitationOut,
    LineItemOut,
    MilestonePlanOut,
    PoolMarketSettingsIn,
    PoolMarketSettingsOut,
    QuoteIn,
    QuoteOut,
    QuoteSummaryOut,
    RfqIn,
    RfqOut,
    RfqSummaryOut,
    TcoOut,
)

DEFAULT_INVITATION_CAP = 5
MAX_DEADLINE_DAYS = 90
# Validity dates and "today" are calendar days in China (no daylight saving: a fixed offset).
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
EXPIRED_REASON = "截止时间已过，无可接受的报价 (deadline passed with nothing left to accept)"
RFQ_SORTS = {"created_at": Rfq.created_at, "deadline": Rfq.deadline, "title": Rfq.title}
Side = Literal["sme", "provider", "curator"]

# What each side can do next, shown with the objects (the machines also hold system moves).
SME_RFQ_ACTIONS = frozenset({"invite", "extend", "accept", "cancel"})
PROVIDER_INVITATION_ACTIONS = frozenset({"quote", "decline", "message"})
SME_INVITATION_ACTIONS = frozenset({"message"})
PROVIDER_QUOTE_ACTIONS = frozenset({"revise", "withdraw", "explain_cost"})
SME_QUOTE_ACTIONS = frozenset({"accept"})


class WrongParty(Forbidden):
    code = "wrong_party"


class NeedClosed(Conflict):
    code = "need_closed"


class DeadlinePassed(Conflict):
    code = "rfq_deadline_passed"


class QuoteSuperseded(Conflict):
    code = "quote_superseded"


class QuoteExpired(Conflict):
    code = "quote_expired"


class RevisionConflict(Conflict):
    code = "quote_revision_conflict"


def today_in_china(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(CHINA).date()


def _not_invitable(code: str, field: str, message: str) -> InvalidInput:
    """422 with a code of its own, so a client can tell "cap reached" from "at capacity"."""
    return InvalidInput(
        f"{field}: {message}",
        code=code,
        details=[{"field": field, "message": message, "type": code}],
    )


def _notify(session: Session, topic: str, to: Iterable[uuid.UUID], **data: Any) -> None:
    """A ``notify.*`` event for the inbox (and later webhooks and e-mail), addressed to the
    members of organisations in the shape the inbox reads: ``recipients.org_ids``."""
    org_ids = sorted({str(org_id) for org_id in to})
    if org_ids:
        recipients = {"org_ids": org_ids, "user_ids": [], "curators_of_pool": None}
        emit(session, f"notify.{topic}", recipients=recipients, **data)


# --- pool market settings ------------------------------------------------------------------------


def _settings_row(session: Session, pool_id: uuid.UUID | None) -> MarketPoolSettings | None:
    return None if pool_id is None else session.get(MarketPoolSettings, pool_id)


def settings_out(pool_id: uuid.UUID, row: MarketPoolSettings | None) -> PoolMarketSettingsOut:
    if row is None:
        return PoolMarketSettingsOut(
            pool_id=pool_id,
            invitation_cap=DEFAULT_INVITATION_CAP,
            subsidy_programme="",
            subsidy_rate_bp=0,
            subsidy_cap_fen=None,
            runs_subsidy=False,
            version=0,
            updated_at=None,
        )
    return PoolMarketSettingsOut(
        pool_id=pool_id,
        invitation_cap=row.invitation_cap,
        subsidy_programme=row.subsidy_programme,
        subsidy_rate_bp=row.subsidy_rate_bp,
        subsidy_cap_fen=row.subsidy_cap_fen,
        runs_subsidy=row.subsidy_rate_bp > 0,
        version=row.version,
        updated_at=row.updated_at,
    )


def read_settings(session: Session, *, pool_id: uuid.UUID) -> PoolMarketSettingsOut:
    pool = pools.get_pool(session, pool_id)
    return settings_out(pool.id, _settings_row(session, pool.id))


def put_settings(
    session: Session,
    *,
    principal: Principal,
    pool_id: uuid.UUID,
    data: PoolMarketSettingsIn,
    if_match: str | None,
) -> PoolMarketSettingsOut:
    """Replace the pool's market rules; the first save may omit If-Match (or send W/"0")."""
    pool = pools.get_pool(session, pool_id)
    pools.ensure_pool_curator(principal, pool)
    if data.subsidy_rate_bp > 0 and not data.subsidy_programme:
        raise field_error(
            "body.subsidy_programme", "name the programme that pays the subsidy", kind="missing"
        )
    row = _settings_row(session, pool.id)
    before = settings_out(pool.id, row).model_dump(mode="json")
    if row is None:
        if if_match is not None:
            check_version(if_match, 0)
        row = MarketPoolSettings(pool_id=pool.id)
        session.add(row)
    else:
        check_version(if_match, row.version)
    for key, value in data.model_dump().items():
        setattr(row, key, value)
    row.updated_by = principal.user_id
    row.updated_at = utcnow()
    session.flush()
    after = settings_out(pool.id, row).model_dump(mode="json")
    audit.record(
        session,
        actor=principal,
        action="pool.market_settings.updated",
        target_type="pool",
        target_id=pool.id,
        scope_id=pool.id,
        before=before,
        after=after,
    )
    return settings_out(pool.id, row)


def invitation_cap(session: Session, pool_id: uuid.UUID | None) -> int:
    row = _settings_row(session, pool_id)
    return row.invitation_cap if row is not None else DEFAULT_INVITATION_CAP


def _subsidy_rule(session: Session, pool_id: uuid.UUID | None) -> tuple[int, int | None]:
    row = _settings_row(session, pool_id)
    if row is None or row.subsidy_rate_bp <= 0:
        return 0, None
    return row.subsidy_rate_bp, row.subsidy_cap_fen


# --- who sees what -----------------------------------------------------------------------------


def _my_provider_id(session: Session, principal: Principal) -> uuid.UUID | None:
    if principal.role != "provider":
        return None
    return providers.provider_id_for_org(session, org_id=principal.org_id)


def _is_sme_of(principal: Principal, rfq: Rfq) -> bool:
    return principal.role == "sme" and principal.org_id == rfq.sme_org_id


def _rfq_not_found() -> NotFound:
    return NotFound("No such RFQ", code="rfq_not_found")


@dataclass
class RfqView:
    rfq: Rfq
    side: Literal["sme", "provider"]
    # The provider's own invitation; None for the SME.
    invitation: RfqInvitation | None


def _view(session: Session, principal: Principal, rfq_id: uuid.UUID) -> RfqView:
    rfq = session.get(Rfq, rfq_id)
    if rfq is not None:
        if _is_sme_of(principal, rfq):
            return RfqView(rfq, "sme", None)
        provider_id = _my_provider_id(session, principal)
        if provider_id is not None:
            invitation = session.scalar(
                select(RfqInvitation).where(
                    RfqInvitation.rfq_id == rfq.id, RfqInvitation.provider_id == provider_id
                )
            )
            if invitation is not None:
                return RfqView(rfq, "provider", invitation)
    raise _rfq_not_found()


def _sme_view(session: Session, principal: Principal, rfq_id: uuid.UUID, what: str) -> Rfq:
    view = _view(session, principal, rfq_id)
    if view.side != "sme":
        raise WrongParty(f"Only the SME that sent this RFQ can {what}")
    _refresh(session, view.rfq)
    return view.rfq


def _invitation_view(
    session: Session, principal: Principal, invitation_id: uuid.UUID
) -> tuple[RfqInvitation, Rfq, Literal["sme", "provider"]]:
    invitation = session.get(RfqInvitation, invitation_id)
    if invitation is not None:
        rfq = session.get(Rfq, invitation.rfq_id)
        assert rfq is not None
        if _is_sme_of(principal, rfq):
            return invitation, rfq, "sme"
        if _my_provider_id(session, principal) == invitation.provider_id:
            return invitation, rfq, "provider"
    raise NotFound("No such invitation", code="invitation_not_found")


def _curated_pools(principal: Principal) -> Select[Any]:
    return select(Pool.id).where(Pool.agency_org_id == principal.org_id)


def _oversees(session: Session, principal: Principal, rfq: Rfq, quote: Quote) -> bool:
    """Curators oversee a flagged quote of an RFQ run under their pool, or by a provider listed
    in their pool (its conduct is theirs to watch); admins oversee every pool."""
    if principal.role == "admin":
        return True
    if principal.role != "curator":
        return False
    listed_there = exists().where(
        PoolApplication.provider_id == quote.provider_id,
        PoolApplication.pool_id.in_(_curated_pools(principal)),
        visibility.is_shown_listing(),
    )
    in_pool = rfq.pool_id is not None and rfq.pool_id in set(
        session.scalars(_curated_pools(principal))
    )
    return in_pool or bool(session.scalar(select(listed_there)))


def _quote_view(
    session: Session, principal: Principal, quote_id: uuid.UUID
) -> tuple[Quote, RfqInvitation, Rfq, Side]:
    quote = session.get(Quote, quote_id)
    if quote is not None:
        invitation = session.get(RfqInvitation, quote.invitation_id)
        rfq = session.get(Rfq, quote.rfq_id)
        assert invitation is not None
        assert rfq is not None
        if _is_sme_of(principal, rfq):
            return quote, invitation, rfq, "sme"
        if _my_provider_id(session, principal) == quote.provider_id:
            return quote, invitation, rfq, "provider"
        if quote.abnormally_low and _oversees(session, principal, rfq, quote):
            return quote, invitation, rfq, "curator"
    raise NotFound("No such quote", code="quote_not_found")


# --- time: deadlines and expiry ------------------------------------------------------------------


def _leave_open(session: Session, rfq: Rfq, action: str, reason: str) -> None:
    """Move the RFQ out of ``open`` with a conditional UPDATE: of two transactions racing to do
    so (two accepts, accept and cancel), exactly one changes the row; the other gets the 409 the
    state machine gives for the state the winner left behind."""
    target = RFQ.target(rfq.status, action)
    now = utcnow()
    moved = session.execute(
        update(Rfq)
        .where(Rfq.id == rfq.id, Rfq.status == "open")
        .values(status=target, status_reason=reason, ended_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(rfq)
    if getattr(moved, "rowcount", 0) != 1:
        RFQ.target(rfq.status, action)
        raise AssertionError("an RFQ that is not open always refuses to leave open")


def _end_invitations(
    session: Session, rfq: Rfq, *, winner: uuid.UUID | None = None
) -> list[uuid.UUID]:
    """Close the live invitations and their submitted quotes (all but the winner's); returns the
    organisations of the providers that were still in the running, to be told."""
    now = utcnow()
    live_stmt = select(RfqInvitation).where(
        RfqInvitation.rfq_id == rfq.id, RfqInvitation.status.in_(LIVE_INVITATIONS)
    )
    quotes_stmt = (
        update(Quote)
        .where(Quote.rfq_id == rfq.id, Quote.status == "submitted")
        .values(status=QUOTE.target("submitted", "close"), status_changed_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if winner is not None:
        live_stmt = live_stmt.where(RfqInvitation.id != winner)
        quotes_stmt = quotes_stmt.where(Quote.invitation_id != winner)
    live = list(session.scalars(live_stmt))
    for invitation in live:
        invitation.status = INVITATION.target(invitation.status, "close")
        invitation.ended_at = now
    session.execute(quotes_stmt)
    session.flush()
    return list(_provider_orgs(session, [i.provider_id for i in live]).values())


def _refresh(session: Session, rfq: Rfq, now: datetime | None = None) -> None:
    """Apply the deadline: unanswered invitations expire; with nothing left to accept (no
    submitted quote still valid), the RFQ expires."""
    now = now or utcnow()
    if rfq.status != "open" or rfq.deadline > now:
        return
    # Lock the RFQ first (every writer of an RFQ's invitations starts here) so this never
    # deadlocks with an accept and never expires an RFQ that was just closed.
    session.scalar(
        select(Rfq)
        .where(Rfq.id == rfq.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if rfq.status != "open":
        return
    expired = list(
        session.scalars(
            select(RfqInvitation).where(
                RfqInvitation.rfq_id == rfq.id, RfqInvitation.status == "invited"
            )
        )
    )
    for invitation in expired:
        invitation.status = INVITATION.target(invitation.status, "expire")
        invitation.ended_at = now
    session.flush()
    acceptable = session.scalar(
        select(
            exists().where(
                Quote.rfq_id == rfq.id,
                Quote.status == "submitted",
                Quote.valid_until >= today_in_china(now),
            )
        )
    )
    if acceptable:
        return
    _leave_open(session, rfq, "expire", EXPIRED_REASON)
    told = _end_invitations(session, rfq)
    expired_orgs = _provider_orgs(session, [i.provider_id for i in expired]).values()
    _notify(
        session,
        "rfq.expired",
        [rfq.sme_org_id, *told, *expired_orgs],
        rfq_id=str(rfq.id),
        title=rfq.title,
    )


def expire_due(session: Session, *, now: datetime | None = None) -> int:
    """For a scheduler: apply every passed deadline; returns how many RFQs were looked at."""
    now = now or utcnow()
    due = list(session.scalars(select(Rfq).where(Rfq.status == "open", Rfq.deadline <= now)))
    for rfq in due:
        _refresh(session, rfq, now)
    return len(due)


# --- names ---------------------------------------------------------------------------------------


def _provider_refs(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ProviderRef]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Provider.id, Provider.org_id, Provider.legal_name).where(Provider.id.in_(wanted))
    )
    return {pid: ProviderRef(id=pid, org_id=org, name=name) for pid, org, name in rows}


def _provider_orgs(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    return {pid: ref.org_id for pid, ref in _provider_refs(session, ids).items()}


def _org_ref(session: Session, org_id: uuid.UUID) -> OrgRef:
    return OrgRef(id=org_id, name=accounts.get_organisation(session, org_id).name)


# --- sending an RFQ and inviting -----------------------------------------------------------------


def _require_sme(principal: Principal) -> None:
    if principal.role != "sme":
        raise Forbidden(
            f"Only SME accounts send RFQs; you are logged in as {principal.role}",
            code="role_required",
        )


def _check_deadline(deadline: datetime, field: str, *, after: datetime) -> datetime:
    now = utcnow()
    if deadline <= max(now, after):
        raise field_error(field, "the deadline must lie in the future", kind="past")
    if deadline > now + timedelta(days=MAX_DEADLINE_DAYS):
        raise field_error(
            field, f"the deadline may lie at most {MAX_DEADLINE_DAYS} days ahead", kind="too_late"
        )
    return deadline.astimezone(UTC)


def _invite(
    session: Session, rfq: Rfq, provider_ids: list[uuid.UUID], *, by: uuid.UUID, field: str
) -> list[RfqInvitation]:
    """Add invitations after checking the cap and each provider; any failure refuses them all.

    Every invitation ever made counts towards the cap, declined ones included: otherwise an RFQ
    could be broadcast to the whole catalogue a few providers at a time.
    """
    existing = list(session.scalars(select(RfqInvitation).where(RfqInvitation.rfq_id == rfq.id)))
    cap = invitation_cap(session, rfq.pool_id)
    if len(existing) + len(provider_ids) > cap:
        raise _not_invitable(
            "invitation_cap_exceeded",
            field,
            f"an RFQ may invite at most {cap} providers; {len(existing)} invited already",
        )
    invited = {invitation.provider_id for invitation in existing}
    load = engagements.occupying_counts(session, provider_ids)
    for index, provider_id in enumerate(provider_ids):
        where = f"{field}.{index}"
        provider = session.get(Provider, provider_id)
        if provider is None:
            raise _not_invitable("provider_not_found", where, f"no provider has id {provider_id}")
        if provider_id in invited:
            raise _not_invitable(
                "provider_already_invited", where, f"{provider.legal_name} is invited already"
            )
        if not session.scalar(select(visibility.is_public_provider(literal(provider_id)))):
            raise _not_invitable(
                "provider_not_listed",
                where,
                f"{provider.legal_name} is not listed in any pool, or is suspended",
            )
        if rfq.pool_id is not None and not session.scalar(
            select(
                exists().where(
                    PoolApplication.provider_id == provider_id,
                    PoolApplication.pool_id == rfq.pool_id,
                    visibility.is_shown_listing(),
                )
            )
        ):
            raise _not_invitable(
                "provider_not_in_pool",
                where,
                f"{provider.legal_name} is not listed in the pool this RFQ runs under",
            )
        if load[provider_id] >= provider.capacity:
            raise _not_invitable(
                "provider_at_capacity",
                where,
                f"{provider.legal_name} is at capacity "
                f"({load[provider_id]}/{provider.capacity} engagements under way)",
            )
    added = [
        RfqInvitation(
            rfq_id=rfq.id,
            provider_id=provider_id,
            position=len(existing) + offset,
            status="invited",
            invited_by=by,
        )
        for offset, provider_id in enumerate(provider_ids)
    ]
    session.add_all(added)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "A colleague invited the same provider at the same moment; reload the RFQ",
            code="provider_already_invited",
        ) from exc
    orgs = _provider_orgs(session, provider_ids)
    _notify(
        session,
        "rfq.invited",
        orgs.values(),
        rfq_id=str(rfq.id),
        title=rfq.title,
        deadline=rfq.deadline.isoformat(),
    )
    return added


def _primary_capability(must: list[str], nice: list[str]) -> str | None:
    first = must or nice
    return first[0] if first else None


def create_rfq(session: Session, *, principal: Principal, data: RfqIn) -> Rfq:
    _require_sme(principal)
    need = needs.get_readable(session, principal=principal, need_id=data.need_id)
    if need.status != "open":
        raise NeedClosed("This need is closed; reopen it before asking for quotes")
    deadline = _check_deadline(data.deadline, "body.deadline", after=utcnow())
    if data.pool_id is not None:
        try:
            pools.get_pool(session, data.pool_id)
        except NotFound:
            raise field_error("body.pool_id", f"no pool has id {data.pool_id}") from None
    snapshot = {
        "title": need.title,
        "description": need.description,
        "must_capabilities": list(need.must_capabilities),
        "nice_capabilities": list(need.nice_capabilities),
        "scenes": list(need.scenes),
        "protocols": list(need.protocols),
        "budget_min_fen": need.budget_min_fen,
        "budget_max_fen": need.budget_max_fen,
        "preferred_pricing": list(need.preferred_pricing),
        "target_start": need.target_start.isoformat() if need.target_start else None,
        "duration_weeks": need.duration_weeks,
        "onsite_required": need.onsite_required,
    }
    rfq = Rfq(
        need_id=need.id,
        sme_org_id=principal.org_id,
        created_by=principal.user_id,
        pool_id=data.pool_id,
        title=need.title,
        category=_primary_capability(need.must_capabilities, need.nice_capabilities),
        need_snapshot=snapshot,
        message=data.message,
        deadline=deadline,
        status="open",
    )
    session.add(rfq)
    session.flush()
    _invite(session, rfq, list(data.provider_ids), by=principal.user_id, field="body.provider_ids")
    return rfq


def invite_more(
    session: Session, *, principal: Principal, rfq_id: uuid.UUID, provider_ids: list[uuid.UUID]
) -> Rfq:
    rfq = _sme_view(session, principal, rfq_id, "invite providers")
    RFQ.target(rfq.status, "invite")
    if rfq.deadline <= utcnow():
        raise DeadlinePassed("The deadline has passed; extend it before inviting more providers")
    _invite(session, rfq, provider_ids, by=principal.user_id, field="body.provider_ids")
    return rfq


def extend_deadline(
    session: Session, *, principal: Principal, rfq_id: uuid.UUID, deadline: datetime
) -> Rfq:
    """Only later: a deadline brought forward would cut short providers already working."""
    rfq = _sme_view(session, principal, rfq_id, "move its deadline")
    RFQ.target(rfq.status, "extend")
    rfq.deadline = _check_deadline(deadline, "body.deadline", after=rfq.deadline)
    rfq.updated_at = utcnow()
    session.flush()
    live = session.scalars(
        select(RfqInvitation.provider_id).where(
            RfqInvitation.rfq_id == rfq.id, RfqInvitation.status.in_(LIVE_INVITATIONS)
        )
    )
    _notify(
        session,
        "rfq.deadline_extended",
        _provider_orgs(session, live).values(),
        rfq_id=str(rfq.id),
        title=rfq.title,
        deadline=rfq.deadline.isoformat(),
    )
    return rfq


def cancel_rfq(session: Session, *, principal: Principal, rfq_id: uuid.UUID, reason: str) -> Rfq:
    rfq = _sme_view(session, principal, rfq_id, "cancel it")
    _leave_open(session, rfq, "cancel", reason)
    told = _end_invitations(session, rfq)
    _notify(session, "rfq.cancelled", told, rfq_id=str(rfq.id), title=rfq.title, reason=reason)
    return rfq


# --- reading RFQs --------------------------------------------------------------------------------


def get_rfq(session: Session, *, principal: Principal, rfq_id: uuid.UUID) -> RfqView:
    view = _view(session, principal, rfq_id)
    _refresh(session, view.rfq)
    return view


def _latest_quotes(session: Session, invitation_ids: list[uuid.UUID]) -> dict[uuid.UUID, Quote]:
    latest: dict[uuid.UUID, Quote] = {}
    if invitation_ids:
        rows = session.scalars(
            select(Quote)
            .where(Quote.invitation_id.in_(invitation_ids))
            .order_by(Quote.invitation_id, Quote.revision.desc())
        )
        for quote in rows:
            latest.setdefault(quote.invitation_id, quote)
    return latest


def _summary(quote: Quote) -> QuoteSummaryOut:
    return QuoteSummaryOut.model_validate(quote)


def _invitation_actions(rfq: Rfq, invitation: RfqInvitation, side: str) -> list[str]:
    if rfq.status != "open":
        return []
    mine = PROVIDER_INVITATION_ACTIONS if side == "provider" else SME_INVITATION_ACTIONS
    return [a for a in INVITATION.allowed(invitation.status) if a in mine]


def invitation_out(
    session: Session,
    rfq: Rfq,
    invitation: RfqInvitation,
    *,
    side: str,
    latest: Quote | None,
    ref: ProviderRef | None = None,
) -> InvitationOut:
    ref = ref or _provider_refs(session, [invitation.provider_id])[invitation.provider_id]
    return InvitationOut(
        id=invitation.id,
        rfq_id=invitation.rfq_id,
        provider=ref,
        status=invitation.status,
        decline_reason=invitation.decline_reason,
        invited_at=invitation.invited_at,
        responded_at=invitation.responded_at,
        ended_at=invitation.ended_at,
        latest_quote=_summary(latest) if latest else None,
        next_actions=_invitation_actions(rfq, invitation, side),
    )


def rfq_out(session: Session, view: RfqView) -> RfqOut:
    rfq = view.rfq
    if view.side == "sme":
        invitations = list(
            session.scalars(
                select(RfqInvitation)
                .where(RfqInvitation.rfq_id == rfq.id)
                .order_by(RfqInvitation.position, RfqInvitation.id)
            )
        )
    else:
        assert view.invitation is not None
        invitations = [view.invitation]
    latest = _latest_quotes(session, [i.id for i in invitations])
    refs = _provider_refs(session, [i.provider_id for i in invitations])
    engagement = engagements.engagement_for_rfq(session, rfq.id)
    # The awarded provider learns its engagement; the others learn only that they lost.
    shows_engagement = view.side == "sme" or (
        view.invitation is not None and view.invitation.status == "awarded"
    )
    return RfqOut(
        id=rfq.id,
        need_id=rfq.need_id,
        pool_id=rfq.pool_id,
        sme=_org_ref(session, rfq.sme_org_id),
        title=rfq.title,
        category=rfq.category,
        need=dict(rfq.need_snapshot),
        message=rfq.message,
        deadline=rfq.deadline,
        status=rfq.status,
        status_reason=rfq.status_reason,
        ended_at=rfq.ended_at,
        created_at=rfq.created_at,
        invitation_cap=invitation_cap(session, rfq.pool_id),
        invitations=[
            invitation_out(
                session, rfq, i, side=view.side, latest=latest.get(i.id), ref=refs[i.provider_id]
            )
            for i in invitations
        ],
        engagement_id=engagement.id if engagement is not None and shows_engagement else None,
        next_actions=(
            [a for a in RFQ.allowed(rfq.status) if a in SME_RFQ_ACTIONS]
            if view.side == "sme"
            else []
        ),
    )


def list_rfqs(
    session: Session, *, principal: Principal, status: str | None, params: PageParams
) -> tuple[list[RfqSummaryOut], int]:
    """SMEs: their organisation's RFQs. Providers: the RFQs they were invited to."""
    provider_id = _my_provider_id(session, principal)
    stmt: Select[Any]
    if principal.role == "sme":
        stmt = select(Rfq).where(Rfq.sme_org_id == principal.org_id)
    elif principal.role == "provider":
        stmt = (
            select(Rfq)
            .join(RfqInvitation, RfqInvitation.rfq_id == Rfq.id)
            .where(RfqInvitation.provider_id == provider_id)
        )
    else:
        raise Forbidden(
            "RFQs are private to the SME that sends them and the providers it invites; "
            f"you are logged in as {principal.role}",
            code="role_required",
        )
    # Bring passed deadlines up to date first, so the status filter and page are truthful.
    due = session.scalars(stmt.where(Rfq.status == "open", Rfq.deadline <= utcnow()).limit(100))
    for rfq in list(due):
        _refresh(session, rfq)
    if status:
        stmt = stmt.where(Rfq.status == status)
    order = order_by_clause(params.sort, RFQ_SORTS, default="-created_at", tiebreaker=Rfq.id)
    rows, total = paginate(session, stmt, params, order)
    ids = [row.id for row in rows]
    counts: dict[uuid.UUID, tuple[int, int]] = {}
    mine: dict[uuid.UUID, str] = {}
    if principal.role == "sme" and ids:
        quoted = func.count(RfqInvitation.id).filter(
            RfqInvitation.status.in_(("quoted", "awarded"))
        )
        for rfq_id, invited, answered in session.execute(
            select(RfqInvitation.rfq_id, func.count(RfqInvitation.id), quoted)
            .where(RfqInvitation.rfq_id.in_(ids))
            .group_by(RfqInvitation.rfq_id)
        ):
            counts[rfq_id] = (int(invited), int(answered))
    elif ids:
        statuses = session.execute(
            select(RfqInvitation.rfq_id, RfqInvitation.status).where(
                RfqInvitation.rfq_id.in_(ids), RfqInvitation.provider_id == provider_id
            )
        )
        mine = dict(statuses.all())
    items = [
        RfqSummaryOut(
            id=row.id,
            title=row.title,
            category=row.category,
            pool_id=row.pool_id,
            sme=_org_ref(session, row.sme_org_id),
            status=row.status,
            deadline=row.deadline,
            created_at=row.created_at,
            invitation_count=counts.get(row.id, (0, 0))[0] if principal.role == "sme" else None,
            quote_count=counts.get(row.id, (0, 0))[1] if principal.role == "sme" else None,
            my_invitation_status=mine.get(row.id),
        )
        for row in rows
    ]
    return items, total


def get_invitation(
    session: Session, *, principal: Principal, invitation_id: uuid.UUID
) -> InvitationOut:
    invitation, rfq, side = _invitation_view(session, principal, invitation_id)
    _refresh(session, rfq)
    latest = _latest_quotes(session, [invitation.id]).get(invitation.id)
    return invitation_out(session, rfq, invitation, side=side, latest=latest)


# --- quotes --------------------------------------------------------------------------------------


def _fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def terms_of(quote: Quote) -> tco.Terms:
    extra = quote.terms
    return tco.Terms(
        pricing_model=quote.pricing_model,
        one_off_fen=quote.one_off_fen,
        recurring_fen=quote.recurring_fen,
        months=quote.recurring_months,
        buyout_fen=int(extra.get("buyout_fen", 0)),
        units_per_month=Decimal(str(extra.get("units_per_month", "0"))),
        unit_price_fen=int(extra.get("unit_price_fen", 0)),
        share_bp=int(extra.get("share_bp", 0)),
        gain_per_month_fen=int(extra.get("gain_per_month_fen", 0)),
        cap_fen=extra.get("cap_fen"),
    )


# Fields each pricing model cannot do without, with the message shown when one is missing.
_REQUIRED: dict[str, list[tuple[str, str]]] = {
    "one_off": [("one_off_fen", "a one-off quote states its one-off amount")],
    "subscription": [("recurring_fen", "a subscription states its monthly fee")],
    "metered": [
        ("terms.units_per_month", "estimate the monthly usage so the TCO can be computed"),
        ("terms.unit_price_fen", "state the price per unit"),
    ],
    "lease": [("recurring_fen", "a lease states its monthly rent")],
    "lease_to_own": [
        ("recurring_fen", "a lease-to-own states its monthly rent"),
        ("recurring_months", "a lease-to-own states its term (after which the asset is owned)"),
    ],
    "outcome": [
        ("terms.share_bp", "state the share of the verified gain"),
        ("terms.gain_per_month_fen", "estimate the monthly gain so the TCO can be computed"),
    ],
}


def _check_quote(data: QuoteIn, today: date) -> None:
    for name, message in _REQUIRED[data.pricing_model]:
        holder: Any = data.terms if name.startswith("terms.") else data
        if not getattr(holder, name.removeprefix("terms.")):
            raise field_error(f"body.{name}", message, kind="missing")
    if data.valid_until < today:
        raise field_error("body.valid_until", "a quote must be valid at least today", kind="past")
    for index, milestone in enumerate(data.milestones):
        if milestone.due_date is not None and milestone.due_date < today:
            raise field_error(
                f"body.milestones.{index}.due_date", "a milestone cannot be due in the past"
            )


def _band_flag(session: Session, rfq: Rfq, effective_fen: int) -> tuple[bool, int | None, int]:
    band = engagements.price_band(session, category=rfq.category)
    flagged = band.p10_fen is not None and effective_fen < band.p10_fen
    return flagged, band.p10_fen, band.count


def _overseers(session: Session, rfq: Rfq, provider_id: uuid.UUID) -> set[uuid.UUID]:
    """Agencies whose curators oversee a flagged quote (see ``_oversees``)."""
    listed_pools = select(PoolApplication.pool_id).where(
        PoolApplication.provider_id == provider_id, visibility.is_shown_listing()
    )
    condition: ColumnElement[bool] = Pool.id.in_(listed_pools)
    if rfq.pool_id is not None:
        condition = or_(condition, Pool.id == rfq.pool_id)
    return set(session.scalars(select(Pool.agency_org_id).where(condition)))


def submit_quote(
    session: Session, *, principal: Principal, invitation_id: uuid.UUID, data: QuoteIn
) -> Quote:
    """A new revision; the previous submitted one is superseded and kept as history."""
    invitation, rfq, side = _invitation_view(session, principal, invitation_id)
    if side != "provider":
        raise WrongParty("Only the invited provider can quote")
    _refresh(session, rfq)
    RFQ.target(rfq.status, "respond")
    INVITATION.target(invitation.status, "quote")
    now = utcnow()
    if rfq.deadline <= now:
        raise DeadlinePassed("The RFQ's deadline has passed; quotes and revisions are closed")
    _check_quote(data, today_in_china(now))
    terms = tco.Terms(
        pricing_model=data.pricing_model,
        one_off_fen=data.one_off_fen,
        recurring_fen=data.recurring_fen,
        months=data.recurring_months,
        buyout_fen=data.terms.buyout_fen,
        units_per_month=data.terms.units_per_month,
        unit_price_fen=data.terms.unit_price_fen,
        share_bp=data.terms.share_bp,
        gain_per_month_fen=data.terms.gain_per_month_fen,
        cap_fen=data.terms.cap_fen,
    )
    total = tco.total_cost(terms).total_fen
    value = tco.contract_value(terms)
    if data.concession_fen > total:
        raise field_error(
            "body.concession_fen", f"the concession exceeds the three-year cost ({total} fen)"
        )
    scheduled = sum(m.amount_fen for m in data.milestones)
    if scheduled > value:
        raise field_error(
            "body.milestones",
            f"the milestones add up to {scheduled} fen, more than the contract value {value}",
        )
    flagged, p10, count = _band_flag(session, rfq, total - data.concession_fen)
    previous = session.scalar(
        select(Quote).where(Quote.invitation_id == invitation.id, Quote.status == "submitted")
    )
    if previous is not None:
        previous.status = QUOTE.target(previous.status, "revise")
        previous.status_changed_at = now
    revision = (
        session.scalar(select(func.max(Quote.revision)).where(Quote.invitation_id == invitation.id))
        or 0
    ) + 1
    quote = Quote(
        invitation_id=invitation.id,
        rfq_id=rfq.id,
        provider_id=invitation.provider_id,
        revision=revision,
        status="submitted",
        created_by=principal.user_id,
        scope=data.scope,
        line_items=[
            {
                "description": item.description,
                "quantity": str(item.quantity),
                "unit": item.unit,
                "unit_price_fen": item.unit_price_fen,
                "amount_fen": _fen(item.quantity * item.unit_price_fen),
            }
            for item in data.line_items
        ],
        pricing_model=data.pricing_model,
        amount_fen=data.amount_fen,
        amount_unit=data.amount_unit,
        one_off_fen=data.one_off_fen,
        recurring_fen=data.recurring_fen,
        recurring_months=data.recurring_months,
        terms=data.terms.model_dump(mode="json"),
        concession_fen=data.concession_fen,
        milestones=[m.model_dump(mode="json") for m in data.milestones],
        valid_until=data.valid_until,
        attachments=list(data.attachments),
        note=data.note,
        contract_value_fen=value,
        tco_3y_fen=total,
        abnormally_low=flagged,
        reference_p10_fen=p10,
        reference_count=count,
    )
    try:
        with session.begin_nested():
            session.add(quote)
            session.flush()
    except IntegrityError as exc:
        raise RevisionConflict(
            "A colleague submitted a revision at the same moment; reload and try again"
        ) from exc
    invitation.status = INVITATION.target(invitation.status, "quote")
    invitation.responded_at = invitation.responded_at or now
    session.flush()
    provider_org = principal.org_id
    event = {"rfq_id": str(rfq.id), "quote_id": str(quote.id), "revision": revision}
    _notify(session, "quote.submitted", [rfq.sme_org_id], title=rfq.title, **event)
    if flagged:
        _notify(
            session,
            "quote.abnormally_low",
            {rfq.sme_org_id, provider_org, *_overseers(session, rfq, quote.provider_id)},
            title=rfq.title,
            reference_p10_fen=p10,
            effective_fen=total - data.concession_fen,
            **event,
        )
    return quote


def decline(
    session: Session, *, principal: Principal, invitation_id: uuid.UUID, reason: str
) -> RfqInvitation:
    """Decline to quote, or withdraw a quote already given (with a reason either way)."""
    invitation, rfq, side = _invitation_view(session, principal, invitation_id)
    if side != "provider":
        raise WrongParty("Only the invited provider can decline")
    _refresh(session, rfq)
    RFQ.target(rfq.status, "respond")
    invitation.status = INVITATION.target(invitation.status, "decline")
    now = utcnow()
    invitation.decline_reason = reason
    invitation.responded_at = invitation.responded_at or now
    invitation.ended_at = now
    submitted = session.scalar(
        select(Quote).where(Quote.invitation_id == invitation.id, Quote.status == "submitted")
    )
    if submitted is not None:
        submitted.status = QUOTE.target(submitted.status, "withdraw")
        submitted.status_changed_at = now
    session.flush()
    _notify(
        session,
        "invitation.declined",
        [rfq.sme_org_id],
        rfq_id=str(rfq.id),
        invitation_id=str(invitation.id),
        title=rfq.title,
        reason=reason,
    )
    return invitation


def _quote_actions(rfq: Rfq, quote: Quote, side: Side, *, latest: bool) -> list[str]:
    if side == "curator" or not latest:
        return []
    mine = PROVIDER_QUOTE_ACTIONS if side == "provider" else SME_QUOTE_ACTIONS
    actions = [a for a in QUOTE.allowed(quote.status) if a in mine]
    if rfq.status != "open":
        actions = [a for a in actions if a == "explain_cost"]
    return actions


def quote_out(
    session: Session,
    quote: Quote,
    rfq: Rfq,
    *,
    side: Side,
    latest_revision: int | None = None,
    rule: tuple[int, int | None] | None = None,
    ref: ProviderRef | None = None,
) -> QuoteOut:
    if latest_revision is None:
        latest_revision = session.scalar(
            select(func.max(Quote.revision)).where(Quote.invitation_id == quote.invitation_id)
        )
    rate, cap = rule if rule is not None else _subsidy_rule(session, rfq.pool_id)
    cost = tco.total_cost(terms_of(quote))
    parts = tco.split(cost.total_fen, quote.concession_fen, rate_bp=rate, cap_fen=cap)
    is_latest = quote.revision == latest_revision
    return QuoteOut(
        id=quote.id,
        invitation_id=quote.invitation_id,
        rfq_id=quote.rfq_id,
        provider=ref or _provider_refs(session, [quote.provider_id])[quote.provider_id],
        revision=quote.revision,
        is_latest=is_latest,
        status=quote.status,
        scope=quote.scope,
        line_items=[LineItemOut.model_validate(item) for item in quote.line_items],
        pricing_model=quote.pricing_model,
        amount_fen=quote.amount_fen,
        amount_unit=quote.amount_unit,
        one_off_fen=quote.one_off_fen,
        recurring_fen=quote.recurring_fen,
        recurring_months=quote.recurring_months,
        terms=dict(quote.terms),
        concession_fen=quote.concession_fen,
        milestones=[MilestonePlanOut.model_validate(m) for m in quote.milestones],
        valid_until=quote.valid_until,
        attachments=list(quote.attachments),
        note=quote.note,
        contract_value_fen=quote.contract_value_fen,
        tco=TcoOut(
            horizon_months=cost.horizon_months,
            one_off_fen=cost.one_off_fen,
            recurring_fen=cost.recurring_fen,
            other_fen=cost.other_fen,
            total_fen=cost.total_fen,
            by_year=list(cost.by_year),
            formula=tco.FORMULAS[quote.pricing_model],
        ),
        split=SplitOut(
            list_fen=parts.list_fen,
            concession_fen=parts.concession_fen,
            subsidy_fen=parts.subsidy_fen,
            sme_net_fen=parts.sme_net_fen,
        ),
        abnormally_low=quote.abnormally_low,
        reference_p10_fen=quote.reference_p10_fen,
        reference_count=quote.reference_count,
        cost_breakdown_requested=quote.abnormally_low and quote.cost_breakdown is None,
        cost_breakdown=quote.cost_breakdown,
        cost_breakdown_at=quote.cost_breakdown_at,
        created_at=quote.created_at,
        next_actions=_quote_actions(rfq, quote, side, latest=is_latest),
    )


def get_quote(session: Session, *, principal: Principal, quote_id: uuid.UUID) -> QuoteOut:
    quote, _, rfq, side = _quote_view(session, principal, quote_id)
    _refresh(session, rfq)
    return quote_out(session, quote, rfq, side=side)


def list_revisions(
    session: Session, *, principal: Principal, invitation_id: uuid.UUID
) -> list[QuoteOut]:
    """Every revision of the invitation's quote, newest first."""
    invitation, rfq, side = _invitation_view(session, principal, invitation_id)
    _refresh(session, rfq)
    quotes = list(
        session.scalars(
            select(Quote)
            .where(Quote.invitation_id == invitation.id)
            .order_by(Quote.revision.desc())
        )
    )
    if not quotes:
        return []
    rule = _subsidy_rule(session, rfq.pool_id)
    ref = _provider_refs(session, [invitation.provider_id])[invitation.provider_id]
    newest = quotes[0].revision
    return [
        quote_out(session, q, rfq, side=side, latest_revision=newest, rule=rule, ref=ref)
        for q in quotes
    ]


def explain_cost(
    session: Session, *, principal: Principal, quote_id: uuid.UUID, data: CostBreakdownIn
) -> QuoteOut:
    """The provider's cost breakdown: an annex to the quote, not a price change, so it is set
    on the revision itself rather than making a new one."""
    quote, _, rfq, side = _quote_view(session, principal, quote_id)
    if side != "provider":
        raise WrongParty("Only the provider that quoted can explain its costs")
    QUOTE.target(quote.status, "explain_cost")
    quote.cost_breakdown = data.model_dump(mode="json")
    quote.cost_breakdown_at = utcnow()
    session.flush()
    if quote.abnormally_low:
        _notify(
            session,
            "quote.cost_breakdown",
            {rfq.sme_org_id, *_overseers(session, rfq, quote.provider_id)},
            rfq_id=str(rfq.id),
            quote_id=str(quote.id),
            title=rfq.title,
        )
    return quote_out(session, quote, rfq, side=side)


def comparison(session: Session, *, principal: Principal, rfq_id: uuid.UUID) -> ComparisonOut:
    """Every invitation side by side: the latest revision's three-year TCO per pricing model,
    the funding split under the pool's subsidy, and a rank by what the SME pays."""
    rfq = _sme_view(session, principal, rfq_id, "compare its quotes")
    invitations = list(
        session.scalars(
            select(RfqInvitation)
            .where(RfqInvitation.rfq_id == rfq.id)
            .order_by(RfqInvitation.position, RfqInvitation.id)
        )
    )
    latest = _latest_quotes(session, [i.id for i in invitations])
    refs = _provider_refs(session, [i.provider_id for i in invitations])
    rule = _subsidy_rule(session, rfq.pool_id)
    today = today_in_china()
    rows: list[ComparisonRowOut] = []
    for invitation in invitations:
        quote = latest.get(invitation.id)
        out = None
        if quote is not None:
            out = quote_out(
                session,
                quote,
                rfq,
                side="sme",
                latest_revision=quote.revision,
                rule=rule,
                ref=refs[invitation.provider_id],
            )
        acceptable = (
            rfq.status == "open"
            and quote is not None
            and quote.status == "submitted"
            and quote.valid_until >= today
        )
        rows.append(
            ComparisonRowOut(
                invitation_id=invitation.id,
                provider=refs[invitation.provider_id],
                invitation_status=invitation.status,
                decline_reason=invitation.decline_reason,
                quote=out,
                acceptable=acceptable,
                rank=None,
            )
        )
    ranked = sorted(
        (row.quote.split.sme_net_fen, str(row.invitation_id), index)
        for index, row in enumerate(rows)
        if row.acceptable and row.quote is not None
    )
    for position, (_, _, index) in enumerate(ranked, start=1):
        rows[index].rank = position
    row_settings = _settings_row(session, rfq.pool_id)
    subsidy = None
    if rfq.pool_id is not None and row_settings is not None and row_settings.subsidy_rate_bp > 0:
        subsidy = settings_out(rfq.pool_id, row_settings)
    return ComparisonOut(
        rfq_id=rfq.id,
        title=rfq.title,
        category=rfq.category,
        status=rfq.status,
        horizon_months=tco.HORIZON_MONTHS,
        subsidy=subsidy,
        formulas=tco.FORMULAS,
        rows=rows,
    )


def flagged_quotes(
    session: Session, *, principal: Principal, params: PageParams
) -> tuple[list[FlaggedQuoteOut], int]:
    """Abnormally low quotes for curators to watch (read-only), newest first."""
    if principal.role not in ("curator", "admin"):
        raise Forbidden("Only curators watch flagged quotes", code="role_required")
    stmt = select(Quote).join(Rfq, Rfq.id == Quote.rfq_id).where(Quote.abnormally_low.is_(True))
    if principal.role == "curator":
        curated = _curated_pools(principal)
        listed_there = exists().where(
            PoolApplication.provider_id == Quote.provider_id,
            PoolApplication.pool_id.in_(curated),
            visibility.is_shown_listing(),
        )
        stmt = stmt.where(or_(Rfq.pool_id.in_(curated), listed_there))
    order = order_by_clause(
        params.sort, {"created_at": Quote.created_at}, default="-created_at", tiebreaker=Quote.id
    )
    rows, total = paginate(session, stmt, params, order)
    items = []
    for quote in rows:
        rfq = session.get(Rfq, quote.rfq_id)
        assert rfq is not None
        items.append(
            FlaggedQuoteOut(
                quote=quote_out(session, quote, rfq, side="curator"),
                rfq_title=rfq.title,
                rfq_status=rfq.status,
                pool_id=rfq.pool_id,
                sme=_org_ref(session, rfq.sme_org_id),
                category=rfq.category,
            )
        )
    return items, total


# --- accept: exactly once ------------------------------------------------------------------------


def accept_quote(
    session: Session, *, principal: Principal, quote_id: uuid.UUID, data: AcceptIn
) -> Engagement:
    """Accept the latest revision of one quote: the RFQ closes, every other quote and invitation
    closes, the engagement is created — all in one transaction, and only once per RFQ.

    The race is decided by ``_leave_open``'s conditional UPDATE on the RFQ row. On PostgreSQL
    the second of two simultaneous accepts waits on the first's row lock, then finds the RFQ no
    longer open and gets 409 ``invalid_transition``; the unique ``engagements.rfq_id`` is the
    database's last line behind it.
    """
    quote, invitation, rfq, side = _quote_view(session, principal, quote_id)
    if side != "sme":
        raise WrongParty("Only the SME that sent the RFQ can accept a quote")
    _refresh(session, rfq)
    RFQ.target(rfq.status, "accept")
    if quote.status == "superseded":
        # Its own code, with the latest revision named: the SME compared an old offer.
        newest = session.scalar(
            select(Quote)
            .where(Quote.invitation_id == invitation.id)
            .order_by(Quote.revision.desc())
            .limit(1)
        )
        assert newest is not None
        raise QuoteSuperseded(
            f"Revision {quote.revision} was replaced by revision {newest.revision}; "
            "compare and accept the latest",
            details={
                "entity": "quote",
                "state": quote.status,
                "action": "accept",
                "allowed_actions": [],
                "latest_quote_id": str(newest.id),
                "latest_revision": newest.revision,
            },
        )
    QUOTE.target(quote.status, "accept")
    INVITATION.target(invitation.status, "award")
    today = today_in_china()
    if quote.valid_until < today:
        raise QuoteExpired(
            f"This quote was valid until {quote.valid_until.isoformat()}; "
            "ask the provider for a new revision"
        )
    _leave_open(session, rfq, "accept", "")
    now = utcnow()
    quote.status, quote.status_changed_at = QUOTE.target(quote.status, "accept"), now
    invitation.status = INVITATION.target(invitation.status, "award")
    invitation.ended_at = now
    losers = _end_invitations(session, rfq, winner=invitation.id)
    rate, cap = _subsidy_rule(session, rfq.pool_id)
    start = data.start_date or today
    provider_org = _provider_orgs(session, [quote.provider_id])[quote.provider_id]
    engagement = engagements.create_from_award(
        session,
        award=engagements.Award(
            rfq_id=rfq.id,
            quote_id=quote.id,
            need_id=rfq.need_id,
            pool_id=rfq.pool_id,
            sme_org_id=rfq.sme_org_id,
            provider_id=quote.provider_id,
            provider_org_id=provider_org,
            title=rfq.title,
            category=rfq.category,
            pricing_model=quote.pricing_model,
            contract_reference=data.contract_reference,
            contract_value_fen=quote.contract_value_fen,
            split=tco.split(quote.tco_3y_fen, quote.concession_fen, rate_bp=rate, cap_fen=cap),
            subsidy_rate_bp=rate,
            subsidy_cap_fen=cap,
            start_date=start,
            milestones=[
                engagements.MilestonePlan(
                    title=m["title"],
                    deliverable=m.get("deliverable", ""),
                    amount_fen=int(m["amount_fen"]),
                    due_date=(
                        date.fromisoformat(m["due_date"])
                        if m.get("due_date")
                        else start + timedelta(days=int(m["due_in_days"]))
                    ),
                )
                for m in quote.milestones
            ],
        ),
    )
    if rfq.need_id is not None:
        needs.close_for_award(session, need_id=rfq.need_id)
    event = {"rfq_id": str(rfq.id), "title": rfq.title}
    _notify(
        session,
        "quote.accepted",
        [provider_org],
        quote_id=str(quote.id),
        engagement_id=str(engagement.id),
        **event,
    )
    _notify(session, "rfq.closed", losers, **event)
    return engagement


# --- Q&A -----------------------------------------------------------------------------------------


def list_messages(
    session: Session, *, principal: Principal, invitation_id: uuid.UUID
) -> list[RfqMessage]:
    invitation, _, _ = _invitation_view(session, principal, invitation_id)
    return list(
        session.scalars(
            select(RfqMessage)
            .where(RfqMessage.invitation_id == invitation.id)
            .order_by(RfqMessage.created_at, RfqMessage.id)
        )
    )


def post_message(
    session: Session, *, principal: Principal, invitation_id: uuid.UUID, body: str
) -> RfqMessage:
    invitation, rfq, side = _invitation_view(session, principal, invitation_id)
    _refresh(session, rfq)
    RFQ.target(rfq.status, "respond")
    INVITATION.target(invitation.status, "message")
    message = RfqMessage(
        invitation_id=invitation.id, author_user_id=principal.user_id, side=side, body=body
    )
    session.add(message)
    session.flush()
    other = (
        _provider_orgs(session, [invitation.provider_id]).values()
        if side == "sme"
        else [rfq.sme_org_id]
    )
    _notify(
        session,
        "rfq.message",
        other,
        rfq_id=str(rfq.id),
        invitation_id=str(invitation.id),
        message_id=str(message.id),
        title=rfq.title,
    )
    return message
