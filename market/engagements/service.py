"""Engagement use cases: from the accepted quote through milestones, delivery and 验收 (acceptance
against KPIs) to completion, with post-award price changes and the subsidy record.

Who may do what (object-level, applied here):

* The two parties — users of the SME organisation and of the provider organisation — read the
  engagement, its milestones, change requests and subsidy record. Anyone else is told it does
  not exist (404), curators and admins included: contracts are private business.
* The provider submits milestones, declares delivery and proposes price changes; the SME sets
  the plan (contract reference, baseline and target KPIs, maturity level before), decides
  milestones and changes, accepts delivery (验收), completes and applies for the subsidy. Either
  party may cancel with a reason. A party trying the other party's action gets 403.
* Curators of the engagement's pool (and admins) read and decide its subsidy record only.

Every state change is checked against the machines in ``models.py``; a refused one is a 409
``invalid_transition`` naming the current state and the actions allowed in it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from catalog.pools import service as pools
from catalog.providers.models import Provider
from core import audit
from core.concurrency import check_version
from core.database import utcnow
from core.deps import Principal
from core.errors import Conflict, Forbidden, NotFound, field_error
from core.outbox import emit
from core.pagination import PageParams, order_by_clause, paginate
from market.accounts import service as accounts
from market.engagements.models import (
    CHANGE_REQUEST,
    ENGAGEMENT,
    MILESTONE,
    OCCUPYING_STATES,
    PRICED_STATES,
    SUBSIDY,
    ChangeRequest,
    Engagement,
    EngagementMilestone,
    SubsidyRecord,
)
from market.engagements.schemas import (
    AcceptanceIn,
    ChangeRequestIn,
    ChangeRequestOut,
    EngagementOut,
    EngagementPatch,
    EngagementSummaryOut,
    MilestoneOut,
    OrgRef,
    ProviderRef,
    SplitOut,
    SubsidyDecisionIn,
    SubsidyIn,
    SubsidyOut,
    kpi_out,
)
from market.rfqs import tco

Side = Literal["sme", "provider"]

ENGAGEMENT_SORTS = {
    "created_at": Engagement.created_at,
    "start_date": Engagement.start_date,
    "title": Engagement.title,
}
# The price band needs enough agreed prices to mean anything; below this, nothing is flagged.
BAND_MIN_SAMPLES = 5
BAND_PERCENTILE = 10


class WrongParty(Forbidden):
    code = "wrong_party"


# --- what other domains ask -------------------------------------------------------------------


def occupying_counts(session: Session, provider_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Engagements that occupy each provider (active or delivered), for capacity checks and the
    matching engine's load."""
    ids = list(provider_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Engagement.provider_id, func.count())
        .where(Engagement.provider_id.in_(ids), Engagement.status.in_(OCCUPYING_STATES))
        .group_by(Engagement.provider_id)
    )
    counts = dict.fromkeys(ids, 0)
    counts.update({provider_id: int(count) for provider_id, count in rows})
    return counts


@dataclass(frozen=True)
class Band:
    """The category's reference price band: P10 of effective three-year prices agreed."""

    category: str | None
    count: int
    p10_fen: int | None


def price_band(session: Session, *, category: str | None) -> Band:
    """P10 (nearest rank) of (list − concession) over engagements whose price was agreed.

    Cancelled engagements are left out: a price nobody went through with is no reference. With
    fewer than BAND_MIN_SAMPLES prices, there is no band and so no flag.
    """
    if category is None:
        return Band(category, 0, None)
    effective = Engagement.list_fen - Engagement.concession_fen
    values = sorted(
        int(v)
        for v in session.scalars(
            select(effective).where(
                Engagement.category == category, Engagement.status.in_(PRICED_STATES)
            )
        )
    )
    if len(values) < BAND_MIN_SAMPLES:
        return Band(category, len(values), None)
    return Band(category, len(values), tco.nearest_rank(values, BAND_PERCENTILE))


@dataclass(frozen=True)
class MilestonePlan:
    title: str
    deliverable: str
    amount_fen: int
    due_date: date


@dataclass(frozen=True)
class Award:
    """Everything an engagement copies from the RFQ and the accepted quote."""

    rfq_id: uuid.UUID
    quote_id: uuid.UUID
    need_id: uuid.UUID | None
    pool_id: uuid.UUID | None
    sme_org_id: uuid.UUID
    provider_id: uuid.UUID
    provider_org_id: uuid.UUID
    title: str
    category: str | None
    pricing_model: str
    contract_reference: str
    contract_value_fen: int
    split: tco.Split
    subsidy_rate_bp: int
    subsidy_cap_fen: int | None
    start_date: date
    milestones: Sequence[MilestonePlan]


def create_from_award(session: Session, *, award: Award) -> Engagement:
    """Called by the RFQ service inside the accept transaction, after it won the RFQ row."""
    engagement = Engagement(
        rfq_id=award.rfq_id,
        quote_id=award.quote_id,
        need_id=award.need_id,
        pool_id=award.pool_id,
        sme_org_id=award.sme_org_id,
        provider_id=award.provider_id,
        provider_org_id=award.provider_org_id,
        title=award.title,
        category=award.category,
        pricing_model=award.pricing_model,
        contract_reference=award.contract_reference,
        contract_value_fen=award.contract_value_fen,
        list_fen=award.split.list_fen,
        concession_fen=award.split.concession_fen,
        subsidy_fen=award.split.subsidy_fen,
        sme_net_fen=award.split.sme_net_fen,
        subsidy_rate_bp=award.subsidy_rate_bp,
        subsidy_cap_fen=award.subsidy_cap_fen,
        start_date=award.start_date,
        status="active",
        kpis=[],
        milestones=[
            EngagementMilestone(
                position=position,
                title=plan.title,
                deliverable=plan.deliverable,
                amount_fen=plan.amount_fen,
                due_date=plan.due_date,
                status="pending",
            )
            for position, plan in enumerate(award.milestones)
        ],
    )
    session.add(engagement)
    session.flush()
    _changed(session, engagement)
    return engagement


# --- reading ----------------------------------------------------------------------------------


def _changed(session: Session, engagement: Engagement) -> None:
    """For the matching engine (provider load) and later for reviews and webhooks."""
    emit(
        session,
        "market.engagement.changed",
        engagement_id=str(engagement.id),
        provider_id=str(engagement.provider_id),
        status=engagement.status,
    )


def _notify(
    session: Session, engagement: Engagement, event: str, to: Iterable[uuid.UUID], **data: Any
) -> None:
    """A ``notify.*`` event addressed to organisations, in the shape the inbox reads."""
    org_ids = sorted({str(org_id) for org_id in to})
    emit(
        session,
        f"notify.engagement.{event}",
        recipients={"org_ids": org_ids, "user_ids": [], "curators_of_pool": None},
        engagement_id=str(engagement.id),
        title=engagement.title,
        **data,
    )


def _load(session: Session, engagement_id: uuid.UUID) -> Engagement | None:
    return session.scalar(
        select(Engagement)
        .where(Engagement.id == engagement_id)
        .options(selectinload(Engagement.milestones))
    )


def side_of(principal: Principal, engagement: Engagement) -> Side | None:
    if principal.role == "sme" and principal.org_id == engagement.sme_org_id:
        return "sme"
    if principal.role == "provider" and principal.org_id == engagement.provider_org_id:
        return "provider"
    return None


def _not_found() -> NotFound:
    return NotFound("No such engagement", code="engagement_not_found")


def get_for_party(
    session: Session, *, principal: Principal, engagement_id: uuid.UUID
) -> tuple[Engagement, Side]:
    engagement = _load(session, engagement_id)
    if engagement is not None:
        side = side_of(principal, engagement)
        if side is not None:
            return engagement, side
    raise _not_found()


def _as(
    session: Session, principal: Principal, engagement_id: uuid.UUID, wanted: Side, what: str
) -> Engagement:
    engagement, side = get_for_party(session, principal=principal, engagement_id=engagement_id)
    if side != wanted:
        who = "SME" if wanted == "sme" else "provider"
        raise WrongParty(f"Only the {who} party of this engagement can {what}")
    return engagement


def _provider_refs(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ProviderRef]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Provider.id, Provider.org_id, Provider.legal_name).where(Provider.id.in_(wanted))
    )
    return {pid: ProviderRef(id=pid, org_id=org, name=name) for pid, org, name in rows}


def _org_ref(session: Session, org_id: uuid.UUID) -> OrgRef:
    return OrgRef(id=org_id, name=accounts.get_organisation(session, org_id).name)


def milestone_out(milestone: EngagementMilestone, *, engagement: Engagement) -> MilestoneOut:
    live = engagement.status == "active"
    return MilestoneOut(
        id=milestone.id,
        position=milestone.position,
        title=milestone.title,
        deliverable=milestone.deliverable,
        amount_fen=milestone.amount_fen,
        due_date=milestone.due_date,
        status=milestone.status,
        submission_note=milestone.submission_note,
        rejection_reason=milestone.rejection_reason,
        submitted_at=milestone.submitted_at,
        decided_at=milestone.decided_at,
        next_actions=MILESTONE.allowed(milestone.status) if live else [],
    )


def change_out(change: ChangeRequest) -> ChangeRequestOut:
    return ChangeRequestOut(
        id=change.id,
        engagement_id=change.engagement_id,
        reason=change.reason,
        contract_value_before_fen=change.contract_value_before_fen,
        contract_value_fen=change.contract_value_fen,
        milestone_amounts={str(k): int(v) for k, v in change.milestone_amounts.items()},
        status=change.status,
        decision_reason=change.decision_reason,
        created_at=change.created_at,
        decided_at=change.decided_at,
        next_actions=CHANGE_REQUEST.allowed(change.status),
    )


def subsidy_out(record: SubsidyRecord) -> SubsidyOut:
    return SubsidyOut(
        id=record.id,
        engagement_id=record.engagement_id,
        pool_id=record.pool_id,
        application_reference=record.application_reference,
        amount_fen=record.amount_fen,
        approved_amount_fen=record.approved_amount_fen,
        status=record.status,
        decision_reason=record.decision_reason,
        applied_at=record.applied_at,
        decided_at=record.decided_at,
        paid_at=record.paid_at,
        next_actions=SUBSIDY.allowed(record.status),
    )


def _pending_change(session: Session, engagement_id: uuid.UUID) -> ChangeRequest | None:
    return session.scalar(
        select(ChangeRequest).where(
            ChangeRequest.engagement_id == engagement_id, ChangeRequest.status == "proposed"
        )
    )


def _subsidy(session: Session, engagement_id: uuid.UUID) -> SubsidyRecord | None:
    return session.scalar(select(SubsidyRecord).where(SubsidyRecord.engagement_id == engagement_id))


def to_out(session: Session, engagement: Engagement) -> EngagementOut:
    pending = _pending_change(session, engagement.id)
    record = _subsidy(session, engagement.id)
    provider = _provider_refs(session, [engagement.provider_id])[engagement.provider_id]
    return EngagementOut(
        id=engagement.id,
        rfq_id=engagement.rfq_id,
        quote_id=engagement.quote_id,
        need_id=engagement.need_id,
        pool_id=engagement.pool_id,
        sme=_org_ref(session, engagement.sme_org_id),
        provider=provider,
        title=engagement.title,
        category=engagement.category,
        pricing_model=engagement.pricing_model,
        contract_reference=engagement.contract_reference,
        contract_value_fen=engagement.contract_value_fen,
        split=SplitOut(
            list_fen=engagement.list_fen,
            concession_fen=engagement.concession_fen,
            subsidy_fen=engagement.subsidy_fen,
            sme_net_fen=engagement.sme_net_fen,
        ),
        start_date=engagement.start_date,
        status=engagement.status,
        status_reason=engagement.status_reason,
        kpis=[kpi_out(kpi) for kpi in engagement.kpis],
        maturity_level_before=engagement.maturity_before,
        maturity_level_after=engagement.maturity_after,
        delivery_note=engagement.delivery_note,
        acceptance_note=engagement.acceptance_note,
        delivered_at=engagement.delivered_at,
        accepted_at=engagement.accepted_at,
        completed_at=engagement.completed_at,
        cancelled_at=engagement.cancelled_at,
        milestones=[milestone_out(m, engagement=engagement) for m in engagement.milestones],
        pending_change_request=change_out(pending) if pending else None,
        subsidy=subsidy_out(record) if record else None,
        version=engagement.version,
        created_at=engagement.created_at,
        updated_at=engagement.updated_at,
        next_actions=ENGAGEMENT.allowed(engagement.status),
    )


def list_engagements(
    session: Session, *, principal: Principal, status: str | None, params: PageParams
) -> tuple[list[EngagementSummaryOut], int]:
    """The caller's organisation's engagements, as SME or as provider."""
    stmt: Select[Any]
    if principal.role == "sme":
        stmt = select(Engagement).where(Engagement.sme_org_id == principal.org_id)
    elif principal.role == "provider":
        stmt = select(Engagement).where(Engagement.provider_org_id == principal.org_id)
    else:
        raise Forbidden(
            "Engagements are private to their SME and provider; "
            f"you are logged in as {principal.role}",
            code="role_required",
        )
    if status:
        stmt = stmt.where(Engagement.status == status)
    order = order_by_clause(
        params.sort, ENGAGEMENT_SORTS, default="-created_at", tiebreaker=Engagement.id
    )
    rows, total = paginate(session, stmt, params, order)
    refs = _provider_refs(session, [row.provider_id for row in rows])
    items = [
        EngagementSummaryOut(
            id=row.id,
            title=row.title,
            status=row.status,
            sme=_org_ref(session, row.sme_org_id),
            provider=refs[row.provider_id],
            contract_value_fen=row.contract_value_fen,
            start_date=row.start_date,
            created_at=row.created_at,
        )
        for row in rows
    ]
    return items, total


# --- the plan -----------------------------------------------------------------------------------


def _touch(engagement: Engagement) -> None:
    # Bumps the version even when only a child row changed, so two parties acting on the same
    # engagement at once cannot both succeed on a stale view (the second gets 412).
    engagement.updated_at = utcnow()


def update_plan(
    session: Session,
    *,
    principal: Principal,
    engagement_id: uuid.UUID,
    data: EngagementPatch,
    if_match: str | None,
) -> Engagement:
    """Contract reference, baseline and target KPIs, maturity level before: fixed before
    delivery, so a baseline cannot be moved once results are in."""
    engagement = _as(session, principal, engagement_id, "sme", "change its plan")
    check_version(if_match, engagement.version)
    ENGAGEMENT.target(engagement.status, "update_plan")
    sent = data.model_fields_set
    if "contract_reference" in sent:
        engagement.contract_reference = data.contract_reference or ""
    if "kpis" in sent:
        engagement.kpis = [
            {**kpi.model_dump(mode="json"), "measured": None} for kpi in data.kpis or []
        ]
    if "maturity_level_before" in sent:
        engagement.maturity_before = data.maturity_level_before
    _touch(engagement)
    session.flush()
    return engagement


# --- milestones ---------------------------------------------------------------------------------


def _milestone(engagement: Engagement, milestone_id: uuid.UUID) -> EngagementMilestone:
    found = next((m for m in engagement.milestones if m.id == milestone_id), None)
    if found is None:
        raise NotFound("No such milestone in this engagement", code="milestone_not_found")
    return found


def submit_milestone(
    session: Session,
    *,
    principal: Principal,
    engagement_id: uuid.UUID,
    milestone_id: uuid.UUID,
    note: str,
) -> Engagement:
    engagement = _as(session, principal, engagement_id, "provider", "submit a milestone")
    milestone = _milestone(engagement, milestone_id)
    ENGAGEMENT.target(engagement.status, "milestone")
    milestone.status = MILESTONE.target(milestone.status, "submit")
    milestone.submission_note, milestone.submitted_at = note, utcnow()
    milestone.rejection_reason = ""
    _touch(engagement)
    session.flush()
    _notify(
        session,
        engagement,
        "milestone_submitted",
        [engagement.sme_org_id],
        milestone_id=str(milestone.id),
        milestone=milestone.title,
    )
    return engagement


def decide_milestone(
    session: Session,
    *,
    principal: Principal,
    engagement_id: uuid.UUID,
    milestone_id: uuid.UUID,
    accept: bool,
    reason: str,
) -> Engagement:
    engagement = _as(session, principal, engagement_id, "sme", "decide on a milestone")
    milestone = _milestone(engagement, milestone_id)
    ENGAGEMENT.target(engagement.status, "milestone")
    milestone.status = MILESTONE.target(milestone.status, "accept" if accept else "reject")
    milestone.decided_at = utcnow()
    milestone.rejection_reason = "" if accept else reason
    _touch(engagement)
    session.flush()
    _notify(
        session,
        engagement,
        f"milestone_{milestone.status}",
        [engagement.provider_org_id],
        milestone_id=str(milestone.id),
        milestone=milestone.title,
        reason=reason,
    )
    return engagement


# --- delivery, 验收, completion, cancellation ----------------------------------------------------


class MilestonesOpen(Conflict):
    code = "milestones_open"


class KpisMissing(Conflict):
    code = "kpis_missing"


def _open_milestones(engagement: Engagement, done: tuple[str, ...]) -> list[str]:
    return [m.title for m in engagement.milestones if m.status not in done]


def deliver(
    session: Session, *, principal: Principal, engagement_id: uuid.UUID, note: str
) -> Engagement:
    """The provider declares the work delivered; every milestone must be handed in by then."""
    engagement = _as(session, principal, engagement_id, "provider", "declare delivery")
    target = ENGAGEMENT.target(engagement.status, "deliver")
    open_ = _open_milestones(engagement, ("submitted", "accepted"))
    if open_:
        raise MilestonesOpen(
            "Submit every milestone before declaring delivery; still open: " + ", ".join(open_),
            details={"milestones": open_},
        )
    engagement.status, engagement.delivered_at = target, utcnow()
    engagement.delivery_note, engagement.status_reason = note, ""
    session.flush()
    _changed(session, engagement)
    _notify(session, engagement, "delivered", [engagement.sme_org_id])
    return engagement


def reject_delivery(
    session: Session, *, principal: Principal, engagement_id: uuid.UUID, reason: str
) -> Engagement:
    engagement = _as(session, principal, engagement_id, "sme", "send a delivery back")
    engagement.status = ENGAGEMENT.target(engagement.status, "reject_delivery")
    engagement.status_reason, engagement.delivered_at = reason, None
    session.flush()
    _changed(session, engagement)
    _notify(session, engagement, "delivery_rejected", [engagement.provider_org_id], reason=reason)
    return engagement


def accept_delivery(
    session: Session, *, principal: Principal, engagement_id: uuid.UUID, data: AcceptanceIn
) -> Engagement:
    """验收: every milestone accepted, every planned KPI measured, the level reached recorded."""
    engagement = _as(session, principal, engagement_id, "sme", "accept delivery (验收)")
    target = ENGAGEMENT.target(engagement.status, "accept")
    if not engagement.kpis:
        raise KpisMissing(
            "Acceptance is measured against KPIs: send the engagement back to active and set "
            "baseline and target KPIs first"
        )
    if _pending_change(session, engagement.id) is not None:
        raise ChangePending("Settle the pending price change before accepting delivery")
    open_ = _open_milestones(engagement, ("accepted",))
    if open_:
        raise MilestonesOpen(
            "Accept every milestone before accepting delivery; still open: " + ", ".join(open_),
            details={"milestones": open_},
        )
    measured = {item.name: item.value for item in data.measured}
    planned = [kpi["name"] for kpi in engagement.kpis]
    unknown = [name for name in measured if name not in planned]
    if unknown:
        raise field_error(
            "body.measured", f"not planned KPIs: {', '.join(unknown)}", kind="unknown"
        )
    missing = [name for name in planned if name not in measured]
    if missing:
        raise field_error(
            "body.measured",
            f"measure every planned KPI; missing {', '.join(missing)}",
            kind="missing",
        )
    engagement.kpis = [{**kpi, "measured": measured[kpi["name"]]} for kpi in engagement.kpis]
    engagement.maturity_after = data.maturity_level_after
    engagement.acceptance_note = data.note
    engagement.status, engagement.accepted_at = target, utcnow()
    session.flush()
    _changed(session, engagement)
    _notify(session, engagement, "accepted", [engagement.provider_org_id])
    return engagement


def complete(session: Session, *, principal: Principal, engagement_id: uuid.UUID) -> Engagement:
    """The SME closes the engagement (final payment made); reviews open from here."""
    engagement = _as(session, principal, engagement_id, "sme", "complete it")
    engagement.status = ENGAGEMENT.target(engagement.status, "complete")
    engagement.completed_at = utcnow()
    session.flush()
    _changed(session, engagement)
    _notify(session, engagement, "completed", [engagement.sme_org_id, engagement.provider_org_id])
    return engagement


def cancel(
    session: Session, *, principal: Principal, engagement_id: uuid.UUID, reason: str
) -> Engagement:
    engagement, side = get_for_party(session, principal=principal, engagement_id=engagement_id)
    engagement.status = ENGAGEMENT.target(engagement.status, "cancel")
    engagement.status_reason, engagement.cancelled_at = reason, utcnow()
    engagement.cancelled_by_org_id = principal.org_id
    other = engagement.provider_org_id if side == "sme" else engagement.sme_org_id
    pending = _pending_change(session, engagement.id)
    if pending is not None:
        pending.status = CHANGE_REQUEST.target(pending.status, "withdraw")
        pending.decision_reason, pending.decided_at = "项目已取消 (engagement cancelled)", utcnow()
    session.flush()
    _changed(session, engagement)
    _notify(session, engagement, "cancelled", [other], reason=reason, by=side)
    return engagement


# --- post-award price changes --------------------------------------------------------------------


class ChangePending(Conflict):
    code = "change_request_pending"


def _resplit(engagement: Engagement, delta_fen: int) -> None:
    """Move the three-year list price by the agreed change and re-apply the award's rule."""
    list_fen = max(0, engagement.list_fen + delta_fen)
    concession = min(engagement.concession_fen, list_fen)
    parts = tco.split(
        list_fen, concession, rate_bp=engagement.subsidy_rate_bp, cap_fen=engagement.subsidy_cap_fen
    )
    engagement.list_fen, engagement.concession_fen = parts.list_fen, parts.concession_fen
    engagement.subsidy_fen, engagement.sme_net_fen = parts.subsidy_fen, parts.sme_net_fen


def propose_change(
    session: Session, *, principal: Principal, engagement_id: uuid.UUID, data: ChangeRequestIn
) -> ChangeRequest:
    engagement = _as(session, principal, engagement_id, "provider", "propose a price change")
    ENGAGEMENT.target(engagement.status, "change_price")
    if _pending_change(session, engagement.id) is not None:
        raise ChangePending("A price change already waits for the SME; withdraw it first")
    by_id = {m.id: m for m in engagement.milestones}
    for milestone_id in data.milestone_amounts:
        milestone = by_id.get(milestone_id)
        if milestone is None:
            raise field_error(
                f"body.milestone_amounts.{milestone_id}", "not a milestone of this engagement"
            )
        if milestone.status == "accepted":
            raise field_error(
                f"body.milestone_amounts.{milestone_id}",
                "an accepted milestone's amount cannot change",
            )
    amounts = {m.id: data.milestone_amounts.get(m.id, m.amount_fen) for m in engagement.milestones}
    if sum(amounts.values()) > data.contract_value_fen:
        raise field_error(
            "body.contract_value_fen",
            f"the milestones add up to {sum(amounts.values())} fen, more than the contract value",
        )
    unchanged = data.contract_value_fen == engagement.contract_value_fen and all(
        amounts[m.id] == m.amount_fen for m in engagement.milestones
    )
    if unchanged:
        raise field_error("body", "the proposal changes nothing", kind="unchanged")
    change = ChangeRequest(
        engagement_id=engagement.id,
        proposed_by=principal.user_id,
        reason=data.reason,
        contract_value_before_fen=engagement.contract_value_fen,
        contract_value_fen=data.contract_value_fen,
        milestone_amounts={str(k): v for k, v in data.milestone_amounts.items()},
        status="proposed",
    )
    try:
        with session.begin_nested():
            session.add(change)
            session.flush()
    except IntegrityError as exc:
        raise ChangePending("A colleague proposed a price change at the same moment") from exc
    _notify(
        session,
        engagement,
        "change_proposed",
        [engagement.sme_org_id],
        change_request_id=str(change.id),
        contract_value_fen=change.contract_value_fen,
    )
    return change


def list_changes(
    session: Session, *, principal: Principal, engagement_id: uuid.UUID
) -> list[ChangeRequest]:
    engagement, _ = get_for_party(session, principal=principal, engagement_id=engagement_id)
    return list(
        session.scalars(
            select(ChangeRequest)
            .where(ChangeRequest.engagement_id == engagement.id)
            .order_by(ChangeRequest.created_at, ChangeRequest.id)
        )
    )


def _change(session: Session, engagement: Engagement, change_id: uuid.UUID) -> ChangeRequest:
    change = session.get(ChangeRequest, change_id)
    if change is None or change.engagement_id != engagement.id:
        raise NotFound("No such change request", code="change_request_not_found")
    return change


def decide_change(
    session: Session,
    *,
    principal: Principal,
    engagement_id: uuid.UUID,
    change_id: uuid.UUID,
    action: Literal["accept", "reject", "withdraw"],
    reason: str,
) -> ChangeRequest:
    """The SME accepts or rejects; the provider may withdraw its own proposal."""
    wanted: Side = "provider" if action == "withdraw" else "sme"
    engagement = _as(session, principal, engagement_id, wanted, f"{action} a price change")
    change = _change(session, engagement, change_id)
    ENGAGEMENT.target(engagement.status, "change_price")
    change.status = CHANGE_REQUEST.target(change.status, action)
    change.decision_reason, change.decided_at = reason, utcnow()
    change.decided_by = principal.user_id
    if action == "accept":
        for milestone in engagement.milestones:
            amount = change.milestone_amounts.get(str(milestone.id))
            if amount is not None:
                milestone.amount_fen = int(amount)
        _resplit(engagement, change.contract_value_fen - engagement.contract_value_fen)
        engagement.contract_value_fen = change.contract_value_fen
        _touch(engagement)
    session.flush()
    other = engagement.sme_org_id if wanted == "provider" else engagement.provider_org_id
    _notify(
        session,
        engagement,
        f"change_{change.status}",
        [other],
        change_request_id=str(change.id),
        reason=reason,
    )
    return change


# --- subsidy ------------------------------------------------------------------------------------


class NoSubsidy(Conflict):
    code = "no_subsidy_programme"


class SubsidyExists(Conflict):
    code = "subsidy_already_applied"


class ResultsNotAccepted(Conflict):
    code = "results_not_accepted"


def apply_subsidy(
    session: Session, *, principal: Principal, engagement_id: uuid.UUID, data: SubsidyIn
) -> SubsidyRecord:
    engagement = _as(session, principal, engagement_id, "sme", "apply for its subsidy")
    ENGAGEMENT.target(engagement.status, "apply_subsidy")
    if engagement.pool_id is None or engagement.subsidy_fen <= 0:
        raise NoSubsidy("This engagement runs under no pool subsidy programme")
    if data.amount_fen > engagement.subsidy_fen:
        raise field_error(
            "body.amount_fen",
            f"at most {engagement.subsidy_fen} fen, the engagement's subsidy ceiling",
            kind="too_large",
        )
    if _subsidy(session, engagement.id) is not None:
        raise SubsidyExists("This engagement already has a subsidy application")
    record = SubsidyRecord(
        engagement_id=engagement.id,
        pool_id=engagement.pool_id,
        application_reference=data.application_reference,
        amount_fen=data.amount_fen,
        status="applied",
        applied_by=principal.user_id,
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError as exc:
        raise SubsidyExists("A colleague applied at the same moment") from exc
    return record


def _subsidy_for(
    session: Session, principal: Principal, engagement_id: uuid.UUID
) -> tuple[Engagement, SubsidyRecord | None, bool]:
    """The engagement, its record and whether the caller curates it. Parties and the pool's
    curators see it; everyone else gets 404."""
    engagement = _load(session, engagement_id)
    if engagement is None:
        raise _not_found()
    record = _subsidy(session, engagement.id)
    if side_of(principal, engagement) is not None:
        return engagement, record, False
    if engagement.pool_id is not None and principal.role in ("curator", "admin"):
        pool = pools.get_pool(session, engagement.pool_id)
        if pools.is_pool_curator(principal, pool):
            return engagement, record, True
    raise _not_found()


def get_subsidy(
    session: Session, *, principal: Principal, engagement_id: uuid.UUID
) -> SubsidyRecord:
    _, record, _ = _subsidy_for(session, principal, engagement_id)
    if record is None:
        raise NotFound("No subsidy application for this engagement", code="subsidy_not_found")
    return record


def decide_subsidy(
    session: Session,
    *,
    principal: Principal,
    engagement_id: uuid.UUID,
    data: SubsidyDecisionIn,
) -> SubsidyRecord:
    engagement, record, curates = _subsidy_for(session, principal, engagement_id)
    if not curates:
        raise Forbidden(
            "Only curators of the engagement's pool decide its subsidy", code="not_pool_curator"
        )
    if record is None:
        raise NotFound("No subsidy application for this engagement", code="subsidy_not_found")
    before = {"status": record.status}
    target = SUBSIDY.target(record.status, data.decision)
    if data.decision == "pay" and engagement.status not in ("accepted", "completed"):
        raise ResultsNotAccepted(
            "Subsidy is paid where results were shown: the SME must accept delivery (验收) first"
        )
    if data.decision == "approve":
        granted = (
            record.amount_fen if data.approved_amount_fen is None else (data.approved_amount_fen)
        )
        if granted > record.amount_fen:
            raise field_error(
                "body.approved_amount_fen", f"at most the {record.amount_fen} fen claimed"
            )
        record.approved_amount_fen = granted
    elif data.approved_amount_fen is not None:
        raise field_error("body.approved_amount_fen", "only an approval names an amount")
    if data.decision == "reject" and not data.reason:
        raise field_error("body.reason", "give the SME a reason for the rejection", kind="missing")
    now = utcnow()
    record.status = target
    record.decision_reason, record.decided_by = data.reason, principal.user_id
    record.decided_at = now
    if data.decision == "pay":
        record.paid_at = now
    session.flush()
    audit.record(
        session,
        actor=principal,
        action=f"subsidy.{record.status}",
        target_type="subsidy_record",
        target_id=record.id,
        reason=data.reason,
        scope_id=record.pool_id,
        subject_org_id=engagement.sme_org_id,
        before=before,
        after={"status": record.status, "approved_amount_fen": record.approved_amount_fen},
    )
    _notify(
        session,
        engagement,
        f"subsidy_{record.status}",
        [engagement.sme_org_id],
        amount_fen=record.approved_amount_fen,
        reason=data.reason,
    )
    return record


def list_pool_subsidies(
    session: Session,
    *,
    principal: Principal,
    pool_id: uuid.UUID,
    status: str | None,
    params: PageParams,
) -> tuple[list[SubsidyRecord], int]:
    pool = pools.get_pool(session, pool_id)
    pools.ensure_pool_curator(principal, pool)
    stmt = select(SubsidyRecord).where(SubsidyRecord.pool_id == pool.id)
    if status:
        stmt = stmt.where(SubsidyRecord.status == status)
    order = order_by_clause(
        params.sort,
        {"applied_at": SubsidyRecord.applied_at, "amount_fen": SubsidyRecord.amount_fen},
        default="-applied_at",
        tiebreaker=SubsidyRecord.id,
    )
    return paginate(session, stmt, params, order)


def engagement_for_rfq(session: Session, rfq_id: uuid.UUID) -> Engagement | None:
    return session.scalar(select(Engagement).where(Engagement.rfq_id == rfq_id))
