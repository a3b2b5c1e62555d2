"""Dispute use cases: opening, the mediated thread, proposals, the parties' answers, outcomes.

Who may do what (object-level, applied here):

* The parties — users of the engagement's SME organisation and of its provider organisation —
  open a dispute on their engagement, read it, write in its thread, add evidence, and accept or
  reject the mediator's proposal. Only the side that opened it may withdraw it.
* The mediator — a curator of the agency running the pool the engagement came through, or a
  platform admin — reads the dispute, writes in the thread, proposes a resolution and closes it
  (decided, or without agreement). Each of these is written to the audit trail.
* Anyone else is told the dispute does not exist (404). A party trying the mediator's action,
  or the mediator a party's, gets 403; a state that forbids the action, 409.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from typing import Any, BinaryIO, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.pools import evidence as pool_evidence
from catalog.pools import rereview
from catalog.pools import service as pools
from catalog.pools.errors import UnsupportedEvidence
from catalog.pools.models import MEMBER_STATES, Pool, PoolApplication
from catalog.pools.storage import EvidenceStorage, new_key
from core import audit
from core.database import utcnow
from core.deps import Principal
from core.errors import Conflict, Forbidden, NotFound, field_error
from core.outbox import emit
from core.pagination import PageParams, order_by_clause, paginate
from market.disputes.models import DISPUTE, LIVE_STATES, Dispute, DisputeEvidence, DisputeMessage
from market.disputes.schemas import (
    CloseIn,
    DisputeIn,
    DisputeOut,
    DisputeRecordOut,
    DisputeSummaryOut,
    EvidenceOut,
    MessageOut,
)
from market.engagements import service as engagements
from market.engagements.models import Engagement

Viewer = Literal["sme", "provider", "mediator"]
PARTY_ACTIONS = ("message", "add_evidence", "accept_proposal", "reject_proposal")
MEDIATOR_ACTIONS = ("message", "propose", "close")
SORTS = {"created_at": Dispute.created_at, "updated_at": Dispute.updated_at}


class DisputeOpen(Conflict):
    code = "dispute_already_open"


class MediatorRequired(Forbidden):
    code = "mediator_required"


class PartyRequired(Forbidden):
    code = "party_required"


class OpenerRequired(Forbidden):
    code = "opener_required"


def not_found() -> NotFound:
    return NotFound("No such dispute", code="dispute_not_found")


# --- who is who --------------------------------------------------------------------------------


def _mediating_pool(session: Session, engagement: Engagement) -> uuid.UUID | None:
    """The engagement's pool, or else a pool the provider is a member of (oldest first)."""
    if engagement.pool_id is not None:
        return engagement.pool_id
    return session.scalar(
        select(PoolApplication.pool_id)
        .where(
            PoolApplication.provider_id == engagement.provider_id,
            PoolApplication.state.in_(MEMBER_STATES),
        )
        .order_by(PoolApplication.declared_at, PoolApplication.id)
        .limit(1)
    )


def is_mediator(session: Session, principal: Principal, dispute: Dispute) -> bool:
    if principal.is_admin:
        return True
    if principal.role != "curator" or dispute.pool_id is None:
        return False
    pool = session.get(Pool, dispute.pool_id)
    return pool is not None and pools.is_pool_curator(principal, pool)


def viewer_of(session: Session, principal: Principal, dispute: Dispute) -> Viewer | None:
    if principal.role == "sme" and principal.org_id == dispute.sme_org_id:
        return "sme"
    if principal.role == "provider" and principal.org_id == dispute.provider_org_id:
        return "provider"
    if is_mediator(session, principal, dispute):
        return "mediator"
    return None


def get_visible(
    session: Session, *, principal: Principal, dispute_id: uuid.UUID
) -> tuple[Dispute, Viewer]:
    dispute = session.get(Dispute, dispute_id)
    if dispute is not None:
        viewer = viewer_of(session, principal, dispute)
        if viewer is not None:
            return dispute, viewer
    raise not_found()


def _as_party(
    session: Session, principal: Principal, dispute_id: uuid.UUID, what: str
) -> tuple[Dispute, Viewer]:
    dispute, viewer = get_visible(session, principal=principal, dispute_id=dispute_id)
    if viewer == "mediator":
        raise PartyRequired(f"Only the parties of this dispute can {what}")
    return dispute, viewer


def _as_mediator(
    session: Session, principal: Principal, dispute_id: uuid.UUID, what: str
) -> Dispute:
    dispute, viewer = get_visible(session, principal=principal, dispute_id=dispute_id)
    if viewer != "mediator":
        raise MediatorRequired(
            f"Only the mediating curator of this dispute's pool can {what}",
        )
    return dispute


def next_actions(dispute: Dispute, viewer: Viewer) -> list[str]:
    allowed = set(DISPUTE.allowed(dispute.status)) - {"settle"}
    if viewer == "mediator":
        return sorted(allowed & set(MEDIATOR_ACTIONS))
    mine = set(PARTY_ACTIONS)
    if viewer == dispute.opened_by_side:
        mine.add("withdraw")
    if _response_of(dispute, viewer):
        mine -= {"accept_proposal", "reject_proposal"}
    return sorted(allowed & mine)


def _response_of(dispute: Dispute, side: Viewer) -> str:
    return dispute.sme_response if side == "sme" else dispute.provider_response


# --- events ------------------------------------------------------------------------------------


def _notify(
    session: Session, dispute: Dispute, event: str, *, mediators: bool, **data: Any
) -> None:
    """Both parties always; the pool's curators when the mediator has something to do."""
    engagement = session.get(Engagement, dispute.engagement_id)
    emit(
        session,
        f"notify.dispute.{event}",
        recipients={
            "org_ids": sorted({str(dispute.sme_org_id), str(dispute.provider_org_id)}),
            "user_ids": [],
            "curators_of_pool": str(dispute.pool_id) if mediators and dispute.pool_id else None,
        },
        dispute_id=str(dispute.id),
        engagement_id=str(dispute.engagement_id),
        title=engagement.title if engagement else "",
        status=dispute.status,
        **data,
    )


def _thread(
    session: Session, dispute: Dispute, principal: Principal, side: str, kind: str, body: str
) -> None:
    session.add(
        DisputeMessage(
            dispute_id=dispute.id,
            author_user_id=principal.user_id,
            author_side=side,
            kind=kind,
            body=body,
        )
    )


def _audit(
    session: Session, principal: Principal, dispute: Dispute, action: str, reason: str, before: str
) -> None:
    audit.record(
        session,
        actor=principal,
        action=f"dispute.{action}",
        target_type="dispute",
        target_id=dispute.id,
        reason=reason,
        scope_id=dispute.pool_id,
        subject_org_id=dispute.provider_org_id,
        before={"status": before},
        after={"status": dispute.status, "outcome": dispute.outcome},
    )


# --- opening and reading -----------------------------------------------------------------------


def open_dispute(
    session: Session, *, principal: Principal, engagement_id: uuid.UUID, data: DisputeIn
) -> Dispute:
    engagement, side = engagements.get_for_party(
        session, principal=principal, engagement_id=engagement_id
    )
    live = session.scalar(
        select(Dispute.id).where(
            Dispute.engagement_id == engagement.id, Dispute.status.in_(LIVE_STATES)
        )
    )
    if live is not None:
        raise DisputeOpen(
            "This engagement already has a dispute in mediation; continue in that one",
            details={"dispute_id": str(live)},
        )
    dispute = Dispute(
        engagement_id=engagement.id,
        pool_id=_mediating_pool(session, engagement),
        provider_id=engagement.provider_id,
        sme_org_id=engagement.sme_org_id,
        provider_org_id=engagement.provider_org_id,
        opened_by_user_id=principal.user_id,
        opened_by_side=side,
        category=data.category,
        description=data.description,
        status="open",
    )
    try:
        with session.begin_nested():
            session.add(dispute)
            session.flush()
    except IntegrityError as exc:
        # The other party opened one at the same moment: the partial unique index decided.
        raise DisputeOpen(
            "This engagement already has a dispute in mediation; continue in that one"
        ) from exc
    _notify(session, dispute, "opened", mediators=True, category=dispute.category, by=side)
    return dispute


def to_out(session: Session, dispute: Dispute, viewer: Viewer) -> DisputeOut:
    messages = session.scalars(
        select(DisputeMessage)
        .where(DisputeMessage.dispute_id == dispute.id)
        .order_by(DisputeMessage.created_at, DisputeMessage.id)
    )
    files = session.scalars(
        select(DisputeEvidence)
        .where(DisputeEvidence.dispute_id == dispute.id)
        .order_by(DisputeEvidence.created_at, DisputeEvidence.id)
    )
    summary = _summaries(session, [dispute])[0]
    return DisputeOut(
        **summary.model_dump(),
        description=dispute.description,
        proposal=dispute.proposal,
        proposed_at=dispute.proposed_at,
        sme_response=dispute.sme_response,
        provider_response=dispute.provider_response,
        outcome_reason=dispute.outcome_reason,
        closed_at=dispute.closed_at,
        viewer=viewer,
        messages=[MessageOut.model_validate(m) for m in messages],
        evidence=[EvidenceOut.model_validate(f) for f in files],
        next_actions=next_actions(dispute, viewer),
        version=dispute.version,
    )


def _summaries(session: Session, rows: Iterable[Dispute]) -> list[DisputeSummaryOut]:
    disputes = list(rows)
    rows_ = session.execute(
        select(Engagement.id, Engagement.title).where(
            Engagement.id.in_({d.engagement_id for d in disputes})
        )
    )
    titles: dict[uuid.UUID, str] = {row.id: row.title for row in rows_}
    return [
        DisputeSummaryOut(
            id=d.id,
            engagement_id=d.engagement_id,
            engagement_title=titles.get(d.engagement_id, ""),
            pool_id=d.pool_id,
            provider_id=d.provider_id,
            opened_by_side=d.opened_by_side,
            category=d.category,
            status=d.status,
            outcome=d.outcome,
            created_at=d.created_at,
            updated_at=d.updated_at,
        )
        for d in disputes
    ]


def list_disputes(
    session: Session,
    *,
    principal: Principal,
    status: str | None,
    engagement_id: uuid.UUID | None,
    params: PageParams,
) -> tuple[list[DisputeSummaryOut], int]:
    """Parties: their organisation's disputes. Curators: those of their agency's pools.
    Admins: all."""
    stmt: Select[Any] = select(Dispute)
    if principal.role == "sme":
        stmt = stmt.where(Dispute.sme_org_id == principal.org_id)
    elif principal.role == "provider":
        stmt = stmt.where(Dispute.provider_org_id == principal.org_id)
    elif principal.role == "curator":
        own_pools = select(Pool.id).where(Pool.agency_org_id == principal.org_id)
        stmt = stmt.where(Dispute.pool_id.in_(own_pools))
    elif not principal.is_admin:
        raise Forbidden("Disputes are for parties and mediators", code="role_required")
    if status == "live":
        stmt = stmt.where(Dispute.status.in_(LIVE_STATES))
    elif status:
        stmt = stmt.where(Dispute.status == status)
    if engagement_id is not None:
        stmt = stmt.where(Dispute.engagement_id == engagement_id)
    order = order_by_clause(params.sort, SORTS, default="-updated_at", tiebreaker=Dispute.id)
    rows, total = paginate(session, stmt, params, order)
    return _summaries(session, rows), total


# --- the thread and evidence -------------------------------------------------------------------


def post_message(
    session: Session, *, principal: Principal, dispute_id: uuid.UUID, body: str
) -> Dispute:
    dispute, viewer = get_visible(session, principal=principal, dispute_id=dispute_id)
    DISPUTE.target(dispute.status, "message")
    _thread(session, dispute, principal, viewer, "message", body)
    dispute.updated_at = utcnow()
    session.flush()
    _notify(session, dispute, "message", mediators=viewer != "mediator", by=viewer)
    return dispute


def add_evidence(
    session: Session,
    *,
    principal: Principal,
    dispute_id: uuid.UUID,
    storage: EvidenceStorage,
    filename: str | None,
    content_type: str | None,
    stream: BinaryIO,
    max_bytes: int,
) -> DisputeEvidence:
    """A PDF, JPEG or PNG checked as pool evidence is: declared type, first bytes and size."""
    dispute, side = _as_party(session, principal, dispute_id, "add evidence")
    DISPUTE.target(dispute.status, "add_evidence")
    declared = pool_evidence.declared_type(content_type)
    if declared not in pool_evidence.ACCEPTED:
        raise UnsupportedEvidence(
            f"Upload a PDF, JPEG or PNG file; this one is declared as {declared or 'nothing'}",
            details={"declared": declared, "accepted": sorted(pool_evidence.ACCEPTED)},
        )
    data = pool_evidence.read_limited(stream, max_bytes)
    if not data:
        raise field_error("body.file", "the file is empty")
    detected = pool_evidence.sniff(data[:16])
    if detected != declared:
        raise UnsupportedEvidence(
            f"The file is declared as {declared} but its content is "
            f"{detected or 'not a PDF, JPEG or PNG'}; upload the original document",
            details={"declared": declared, "detected": detected},
        )
    extension = pool_evidence.ACCEPTED[detected]
    key = new_key(extension)
    storage.save(key, data)
    row = DisputeEvidence(
        dispute_id=dispute.id,
        uploaded_by_user_id=principal.user_id,
        side=side,
        filename=pool_evidence.clean_filename(filename, extension),
        content_type=detected,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
    )
    session.add(row)
    dispute.updated_at = utcnow()
    session.flush()
    _notify(session, dispute, "evidence", mediators=True, by=side, filename=row.filename)
    return row


def open_evidence(
    session: Session,
    *,
    principal: Principal,
    dispute_id: uuid.UUID,
    evidence_id: uuid.UUID,
    storage: EvidenceStorage,
) -> tuple[DisputeEvidence, BinaryIO]:
    dispute, _viewer = get_visible(session, principal=principal, dispute_id=dispute_id)
    row = session.get(DisputeEvidence, evidence_id)
    if row is None or row.dispute_id != dispute.id:
        raise NotFound("No such evidence file", code="evidence_not_found")
    try:
        return row, storage.open(row.storage_key)
    except FileNotFoundError:
        raise NotFound(
            "The file is missing from the evidence store; ask the party to upload it again",
            code="evidence_file_missing",
        ) from None


# --- mediation ---------------------------------------------------------------------------------


def propose(
    session: Session, *, principal: Principal, dispute_id: uuid.UUID, proposal: str
) -> Dispute:
    """Put a resolution to both parties; a new proposal replaces the last and its answers."""
    dispute = _as_mediator(session, principal, dispute_id, "propose a resolution")
    before = dispute.status
    dispute.status = DISPUTE.target(dispute.status, "propose")
    dispute.proposal = proposal
    dispute.proposed_at = utcnow()
    dispute.sme_response = dispute.provider_response = ""
    _thread(session, dispute, principal, "mediator", "proposal", proposal)
    session.flush()
    _audit(session, principal, dispute, "propose", proposal, before)
    _notify(session, dispute, "proposed", mediators=False)
    return dispute


def respond(
    session: Session,
    *,
    principal: Principal,
    dispute_id: uuid.UUID,
    accept: bool,
    reason: str,
) -> Dispute:
    """A party's answer to the proposal: both accepting settles it, one rejecting reopens it."""
    dispute, side = _as_party(session, principal, dispute_id, "answer a proposal")
    action = "accept_proposal" if accept else "reject_proposal"
    target = DISPUTE.target(dispute.status, action)
    if _response_of(dispute, side):
        raise Conflict(
            "Your side has already answered this proposal; wait for the mediator's next one",
            code="already_answered",
        )
    if not accept and not reason:
        raise field_error("body.reason", "say why the proposal is not acceptable")
    answer = "accepted" if accept else "rejected"
    if side == "sme":
        dispute.sme_response = answer
    else:
        dispute.provider_response = answer
    dispute.status = target
    _thread(session, dispute, principal, side, answer, reason or answer)
    if dispute.sme_response == dispute.provider_response == "accepted":
        dispute.status = DISPUTE.target(dispute.status, "settle")
        dispute.outcome = "resolved_by_agreement"
        dispute.outcome_reason = dispute.proposal
        dispute.closed_at = utcnow()
    session.flush()
    event = "resolved" if dispute.status == "resolved" else f"proposal_{answer}"
    _notify(session, dispute, event, mediators=True, by=side, reason=reason)
    return dispute


def withdraw(
    session: Session, *, principal: Principal, dispute_id: uuid.UUID, reason: str
) -> Dispute:
    dispute, side = _as_party(session, principal, dispute_id, "withdraw it")
    if side != dispute.opened_by_side:
        raise OpenerRequired("Only the party that opened this dispute can withdraw it")
    dispute.status = DISPUTE.target(dispute.status, "withdraw")
    dispute.outcome = "withdrawn"
    dispute.outcome_reason = reason
    dispute.closed_by_user_id = principal.user_id
    dispute.closed_at = utcnow()
    _thread(session, dispute, principal, side, "outcome", reason)
    session.flush()
    _notify(session, dispute, "withdrawn", mediators=True, reason=reason)
    return dispute


def close(
    session: Session, *, principal: Principal, dispute_id: uuid.UUID, data: CloseIn
) -> Dispute:
    """The mediator ends it: decided (a ruling recorded in the reason) or without agreement."""
    dispute = _as_mediator(session, principal, dispute_id, "close it")
    before = dispute.status
    dispute.status = DISPUTE.target(dispute.status, "close")
    dispute.outcome = data.outcome
    dispute.outcome_reason = data.reason
    dispute.closed_by_user_id = principal.user_id
    dispute.closed_at = utcnow()
    _thread(session, dispute, principal, "mediator", "outcome", data.reason)
    session.flush()
    _audit(session, principal, dispute, "close", data.reason, before)
    _notify(session, dispute, "closed", mediators=False, outcome=data.outcome, reason=data.reason)
    return dispute


# --- the provider's record, for its pool re-review --------------------------------------------


def provider_record(session: Session, provider_id: uuid.UUID) -> rereview.DisputeRecord:
    rows = session.execute(
        select(Dispute.status, Dispute.outcome, func.count())
        .where(Dispute.provider_id == provider_id)
        .group_by(Dispute.status, Dispute.outcome)
    )
    counts: dict[str, int] = {}
    opened = live = 0
    for status, outcome, count in rows:
        opened += int(count)
        if status in LIVE_STATES:
            live += int(count)
        elif outcome:
            counts[outcome] = counts.get(outcome, 0) + int(count)
    return rereview.DisputeRecord(opened=opened, live=live, **counts)


def record_out(provider_id: uuid.UUID, record: rereview.DisputeRecord) -> DisputeRecordOut:
    return DisputeRecordOut(provider_id=provider_id, **vars(record))


rereview.register_dispute_source(provider_record)
