"""Routes for pool market settings, RFQs (询价), invitations, quotes (报价), comparison (比价), Q&A
and accepting a quote.

Object-level rules live in ``market.rfqs.service``: routes acting on an existing RFQ, invitation
or quote take any logged-in caller, and the service answers 404 to outsiders, 403 to the wrong
party and 409 to a state that forbids the action.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import JSONResponse

from core.concurrency import IfMatch, etag_for, set_etag
from core.deps import (
    AdminPrincipal,
    CuratorPrincipal,
    CurrentPrincipal,
    DbSession,
    Principal,
    require_role,
)
from core.pagination import Page, PageParams, page_params
from market import idempotency
from market.engagements import service as engagements
from market.engagements.schemas import EngagementOut
from market.idempotency import IdempotencyKeyHeader
from market.rfqs import service
from market.rfqs.schemas import (
    AcceptIn,
    ComparisonOut,
    CostBreakdownIn,
    DeadlineIn,
    FlaggedQuoteOut,
    InvitationOut,
    InviteIn,
    MessageIn,
    MessageOut,
    PoolMarketSettingsIn,
    PoolMarketSettingsOut,
    QuoteIn,
    QuoteOut,
    ReasonIn,
    RfqIn,
    RfqOut,
    RfqSummaryOut,
)

router = APIRouter(prefix="/api/v1", tags=["rfqs"])

SmePrincipal = Annotated[Principal, Depends(require_role("sme"))]
RfqStatus = Literal["open", "closed", "cancelled", "expired"]


# --- pool market settings ------------------------------------------------------------------------


@router.get("/pools/{pool_id}/market-settings", response_model=PoolMarketSettingsOut)
def get_market_settings(
    pool_id: uuid.UUID, session: DbSession, response: Response
) -> PoolMarketSettingsOut:
    """The pool's RFQ invitation cap (default 5) and subsidy programme; public, so SMEs know
    the rules before they ask. Version 0 (ETag W/"0") while the pool uses the defaults."""
    out = service.read_settings(session, pool_id=pool_id)
    set_etag(response, out.version)
    return out


@router.put("/pools/{pool_id}/market-settings", response_model=PoolMarketSettingsOut)
def put_market_settings(
    pool_id: uuid.UUID,
    data: PoolMarketSettingsIn,
    principal: CuratorPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> PoolMarketSettingsOut:
    """Curators of the pool's agency (or admins) set the rules; recorded in the audit trail.
    Send ``If-Match`` with the ETag you read (optional on the first save)."""
    out = service.put_settings(
        session, principal=principal, pool_id=pool_id, data=data, if_match=if_match
    )
    set_etag(response, out.version)
    return out


# --- RFQs ----------------------------------------------------------------------------------------


@router.post("/rfqs", status_code=status.HTTP_201_CREATED, response_model=RfqOut)
def create_rfq(
    data: RfqIn,
    principal: SmePrincipal,
    session: DbSession,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Send one of your needs to up to N providers (the pool's cap, default 5) with a deadline.
    Providers must be listed (not suspended), in the RFQ's pool when one is named, and below
    capacity; each refusal has its own code (``invitation_cap_exceeded``,
    ``provider_not_listed``, ``provider_not_in_pool``, ``provider_at_capacity`` …)."""

    def act() -> tuple[RfqOut, dict[str, str]]:
        rfq = service.create_rfq(session, principal=principal, data=data)
        out = service.rfq_out(session, service.RfqView(rfq, "sme", None))
        return out, {"Location": f"/api/v1/rfqs/{rfq.id}"}

    return idempotency.run(
        session,
        principal=principal,
        key=idempotency_key,
        endpoint="POST /api/v1/rfqs",
        path={},
        body=data,
        status_code=status.HTTP_201_CREATED,
        action=act,
    )


@router.get("/rfqs", response_model=Page[RfqSummaryOut])
def list_rfqs(
    principal: CurrentPrincipal,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
    status_: Annotated[RfqStatus | None, Query(alias="status")] = None,
) -> Page[RfqSummaryOut]:
    """SMEs: your organisation's RFQs. Providers: the RFQs sent to you. Sort by created_at
    (default, newest first), deadline or title."""
    items, total = service.list_rfqs(session, principal=principal, status=status_, params=params)
    return Page(items=items, total=total, page=params.page, size=params.size)


@router.get("/rfqs/{rfq_id}", response_model=RfqOut)
def get_rfq(rfq_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> RfqOut:
    """The SME sees every invitation; an invited provider sees the need and its own invitation."""
    return service.rfq_out(session, service.get_rfq(session, principal=principal, rfq_id=rfq_id))


@router.post("/rfqs/{rfq_id}/invitations", response_model=RfqOut)
def invite(
    rfq_id: uuid.UUID,
    data: InviteIn,
    principal: CurrentPrincipal,
    session: DbSession,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Invite more providers while the RFQ is open, within the cap."""

    def act() -> tuple[RfqOut, dict[str, str]]:
        rfq = service.invite_more(
            session, principal=principal, rfq_id=rfq_id, provider_ids=list(data.provider_ids)
        )
        return service.rfq_out(session, service.RfqView(rfq, "sme", None)), {}

    return idempotency.run(
        session,
        principal=principal,
        key=idempotency_key,
        endpoint="POST /api/v1/rfqs/{rfq_id}/invitations",
        path={"rfq_id": rfq_id},
        body=data,
        status_code=status.HTTP_200_OK,
        action=act,
    )


@router.post("/rfqs/{rfq_id}/extend", response_model=RfqOut)
def extend(
    rfq_id: uuid.UUID, data: DeadlineIn, principal: CurrentPrincipal, session: DbSession
) -> RfqOut:
    """Move the deadline later (never earlier); invited providers are told."""
    rfq = service.extend_deadline(
        session, principal=principal, rfq_id=rfq_id, deadline=data.deadline
    )
    return service.rfq_out(session, service.RfqView(rfq, "sme", None))


@router.post("/rfqs/{rfq_id}/cancel", response_model=RfqOut)
def cancel(
    rfq_id: uuid.UUID, data: ReasonIn, principal: CurrentPrincipal, session: DbSession
) -> RfqOut:
    """Cancel an open RFQ with a reason; every invitation closes and providers are told."""
    rfq = service.cancel_rfq(session, principal=principal, rfq_id=rfq_id, reason=data.reason)
    return service.rfq_out(session, service.RfqView(rfq, "sme", None))


@router.get("/rfqs/{rfq_id}/comparison", response_model=ComparisonOut)
def compare(rfq_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> ComparisonOut:
    """Quotes side by side for the SME: three-year TCO per pricing model (formulas included),
    the funding split (list, provider concession, subsidy, SME net) under the pool's programme,
    abnormally-low flags, and a rank by SME net cost among quotes that can be accepted."""
    return service.comparison(session, principal=principal, rfq_id=rfq_id)


# --- invitations, quotes and Q&A -----------------------------------------------------------------


@router.get("/invitations/{invitation_id}", response_model=InvitationOut)
def get_invitation(
    invitation_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> InvitationOut:
    return service.get_invitation(session, principal=principal, invitation_id=invitation_id)


@router.post("/invitations/{invitation_id}/decline", response_model=InvitationOut)
def decline(
    invitation_id: uuid.UUID, data: ReasonIn, principal: CurrentPrincipal, session: DbSession
) -> InvitationOut:
    """Decline with a reason (a quote already given is withdrawn)."""
    service.decline(session, principal=principal, invitation_id=invitation_id, reason=data.reason)
    return service.get_invitation(session, principal=principal, invitation_id=invitation_id)


@router.post(
    "/invitations/{invitation_id}/quotes",
    status_code=status.HTTP_201_CREATED,
    response_model=QuoteOut,
)
def submit_quote(
    invitation_id: uuid.UUID,
    data: QuoteIn,
    principal: CurrentPrincipal,
    session: DbSession,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Quote, or revise: each submission is a new revision and the previous one is kept as
    history. Open until the RFQ's deadline. A quote well below the category's reference band
    (under P10 of agreed prices) is flagged and its cost breakdown requested."""

    def act() -> tuple[QuoteOut, dict[str, str]]:
        quote = service.submit_quote(
            session, principal=principal, invitation_id=invitation_id, data=data
        )
        out = service.get_quote(session, principal=principal, quote_id=quote.id)
        return out, {"Location": f"/api/v1/quotes/{quote.id}"}

    return idempotency.run(
        session,
        principal=principal,
        key=idempotency_key,
        endpoint="POST /api/v1/invitations/{invitation_id}/quotes",
        path={"invitation_id": invitation_id},
        body=data,
        status_code=status.HTTP_201_CREATED,
        action=act,
    )


@router.get("/invitations/{invitation_id}/quotes", response_model=list[QuoteOut])
def list_revisions(
    invitation_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[QuoteOut]:
    """Every revision of this invitation's quote, newest first."""
    return service.list_revisions(session, principal=principal, invitation_id=invitation_id)


@router.get("/invitations/{invitation_id}/messages", response_model=list[MessageOut])
def list_messages(
    invitation_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[MessageOut]:
    """The Q&A thread: private between the SME and this invitation's provider."""
    rows = service.list_messages(session, principal=principal, invitation_id=invitation_id)
    return [MessageOut.model_validate(row) for row in rows]


@router.post(
    "/invitations/{invitation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageOut,
)
def post_message(
    invitation_id: uuid.UUID,
    data: MessageIn,
    principal: CurrentPrincipal,
    session: DbSession,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    def act() -> tuple[MessageOut, dict[str, str]]:
        row = service.post_message(
            session, principal=principal, invitation_id=invitation_id, body=data.body
        )
        return MessageOut.model_validate(row), {}

    return idempotency.run(
        session,
        principal=principal,
        key=idempotency_key,
        endpoint="POST /api/v1/invitations/{invitation_id}/messages",
        path={"invitation_id": invitation_id},
        body=data,
        status_code=status.HTTP_201_CREATED,
        action=act,
    )


@router.get("/quotes/{quote_id}", response_model=QuoteOut)
def get_quote(quote_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> QuoteOut:
    """The RFQ's SME and the quoting provider; curators of the overseeing pools (read-only)
    when the quote is flagged abnormally low."""
    return service.get_quote(session, principal=principal, quote_id=quote_id)


@router.post("/quotes/{quote_id}/cost-breakdown", response_model=QuoteOut)
def explain_cost(
    quote_id: uuid.UUID, data: CostBreakdownIn, principal: CurrentPrincipal, session: DbSession
) -> QuoteOut:
    """The provider's cost breakdown, asked of abnormally low quotes (not a price change)."""
    return service.explain_cost(session, principal=principal, quote_id=quote_id, data=data)


@router.post(
    "/quotes/{quote_id}/accept",
    status_code=status.HTTP_201_CREATED,
    response_model=EngagementOut,
)
def accept_quote(
    quote_id: uuid.UUID,
    data: AcceptIn,
    principal: CurrentPrincipal,
    session: DbSession,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Accept the latest revision of a quote: the RFQ and every other invitation close (their
    providers are told) and the engagement is created. Exactly once: a second accept on the
    same RFQ, even at the same moment, gets 409 ``invalid_transition``. Send an
    ``Idempotency-Key`` to retry safely."""

    def act() -> tuple[EngagementOut, dict[str, str]]:
        engagement = service.accept_quote(
            session, principal=principal, quote_id=quote_id, data=data
        )
        out = engagements.to_out(session, engagement)
        return out, {
            "Location": f"/api/v1/engagements/{engagement.id}",
            "ETag": etag_for(engagement.version),
        }

    return idempotency.run(
        session,
        principal=principal,
        key=idempotency_key,
        endpoint="POST /api/v1/quotes/{quote_id}/accept",
        path={"quote_id": quote_id},
        body=data,
        status_code=status.HTTP_201_CREATED,
        action=act,
    )


# --- oversight -----------------------------------------------------------------------------------


@router.get("/curator/flagged-quotes", response_model=Page[FlaggedQuoteOut], tags=["curators"])
def flagged_quotes(
    principal: CuratorPrincipal,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[FlaggedQuoteOut]:
    """Abnormally low quotes in your pools' jurisdiction (RFQs run under your pools, providers
    listed in them), read-only: a guard against 恶性竞争, not a ban."""
    items, total = service.flagged_quotes(session, principal=principal, params=params)
    return Page(items=items, total=total, page=params.page, size=params.size)


@router.post("/admin/rfqs/expire-due", tags=["admin"])
def expire_due(principal: AdminPrincipal, session: DbSession) -> dict[str, int]:
    """Apply every passed deadline now (reads and actions also apply them as they go)."""
    return {"checked": service.expire_due(session)}
