"""Routes of disputes (调解): opening from an engagement, the thread, evidence, proposals,
answers and outcomes, and a provider's dispute record for its pool re-review.

Every route takes any logged-in caller; ``market.disputes.service`` answers 404 to callers who
are neither a party nor the mediator, 403 to the wrong role and 409 to a forbidden transition.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from catalog.pools import rereview
from catalog.pools.evidence import CHUNK
from catalog.pools.storage import storage_for
from core.concurrency import set_etag
from core.deps import AppSettings, CurrentPrincipal, DbSession
from core.pagination import Page, PageParams, page_params
from market.disputes import service
from market.disputes.models import Dispute
from market.disputes.schemas import (
    CloseIn,
    DisputeIn,
    DisputeOut,
    DisputeRecordOut,
    DisputeSummaryOut,
    EvidenceOut,
    MessageIn,
    ProposalIn,
    ReasonIn,
    ResponseIn,
)

router = APIRouter(prefix="/api/v1", tags=["disputes"])

StatusFilter = Literal["live", "open", "proposed", "resolved", "withdrawn", "closed"]


def _out(
    session: DbSession, principal: CurrentPrincipal, dispute: Dispute, response: Response
) -> DisputeOut:
    _, viewer = service.get_visible(session, principal=principal, dispute_id=dispute.id)
    out = service.to_out(session, dispute, viewer)
    set_etag(response, out.version)
    return out


@router.post(
    "/engagements/{engagement_id}/disputes",
    status_code=status.HTTP_201_CREATED,
    response_model=DisputeOut,
)
def open_dispute(
    engagement_id: uuid.UUID,
    data: DisputeIn,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
) -> DisputeOut:
    """Either party opens a dispute on its engagement; the pool's curators mediate."""
    dispute = service.open_dispute(
        session, principal=principal, engagement_id=engagement_id, data=data
    )
    response.headers["Location"] = f"/api/v1/disputes/{dispute.id}"
    return _out(session, principal, dispute, response)


@router.get("/disputes", response_model=Page[DisputeSummaryOut])
def list_disputes(
    principal: CurrentPrincipal,
    session: DbSession,
    params: Annotated[PageParams, Depends(page_params)],
    status_: Annotated[StatusFilter | None, Query(alias="status")] = None,
    engagement_id: uuid.UUID | None = None,
) -> Page[DisputeSummaryOut]:
    """Parties see their organisation's disputes, curators those of their pools, admins all.
    ``status=live`` is open or proposed. Sort by updated_at (default, newest first) or
    created_at."""
    items, total = service.list_disputes(
        session, principal=principal, status=status_, engagement_id=engagement_id, params=params
    )
    return Page(items=items, total=total, page=params.page, size=params.size)


@router.get("/disputes/{dispute_id}", response_model=DisputeOut)
def get_dispute(
    dispute_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, response: Response
) -> DisputeOut:
    dispute, _ = service.get_visible(session, principal=principal, dispute_id=dispute_id)
    return _out(session, principal, dispute, response)


@router.post("/disputes/{dispute_id}/messages", response_model=DisputeOut)
def post_message(
    dispute_id: uuid.UUID,
    data: MessageIn,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
) -> DisputeOut:
    dispute = service.post_message(
        session, principal=principal, dispute_id=dispute_id, body=data.body
    )
    return _out(session, principal, dispute, response)


@router.post(
    "/disputes/{dispute_id}/evidence",
    status_code=status.HTTP_201_CREATED,
    response_model=EvidenceOut,
)
def add_evidence(
    dispute_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
    settings: AppSettings,
    file: Annotated[UploadFile, File(description="PDF, JPEG or PNG")],
) -> EvidenceOut:
    """A party adds a document or photo (PDF, JPEG or PNG up to the configured size)."""
    row = service.add_evidence(
        session,
        principal=principal,
        dispute_id=dispute_id,
        storage=storage_for(request, settings),
        filename=file.filename,
        content_type=file.content_type,
        stream=file.file,
        max_bytes=settings.max_upload_mb * 1024 * 1024,
    )
    return EvidenceOut.model_validate(row)


@router.get("/disputes/{dispute_id}/evidence/{evidence_id}")
def download_evidence(
    dispute_id: uuid.UUID,
    evidence_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
    settings: AppSettings,
) -> StreamingResponse:
    row, handle = service.open_evidence(
        session,
        principal=principal,
        dispute_id=dispute_id,
        evidence_id=evidence_id,
        storage=storage_for(request, settings),
    )

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type=row.content_type,
        headers={
            # Always a download, never rendered in the page: a PDF can carry scripts.
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}",
            "Content-Length": str(row.size_bytes),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/disputes/{dispute_id}/proposal", response_model=DisputeOut)
def propose(
    dispute_id: uuid.UUID,
    data: ProposalIn,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
) -> DisputeOut:
    """The mediator puts a resolution to both parties (replacing any earlier proposal)."""
    dispute = service.propose(
        session, principal=principal, dispute_id=dispute_id, proposal=data.proposal
    )
    return _out(session, principal, dispute, response)


@router.post("/disputes/{dispute_id}/response", response_model=DisputeOut)
def respond(
    dispute_id: uuid.UUID,
    data: ResponseIn,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
) -> DisputeOut:
    """A party accepts or rejects (with a reason) the proposal on the table."""
    dispute = service.respond(
        session, principal=principal, dispute_id=dispute_id, accept=data.accept, reason=data.reason
    )
    return _out(session, principal, dispute, response)


@router.post("/disputes/{dispute_id}/withdraw", response_model=DisputeOut)
def withdraw(
    dispute_id: uuid.UUID,
    data: ReasonIn,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
) -> DisputeOut:
    """The party that opened the dispute withdraws it, with a reason."""
    dispute = service.withdraw(
        session, principal=principal, dispute_id=dispute_id, reason=data.reason
    )
    return _out(session, principal, dispute, response)


@router.post("/disputes/{dispute_id}/close", response_model=DisputeOut)
def close(
    dispute_id: uuid.UUID,
    data: CloseIn,
    principal: CurrentPrincipal,
    session: DbSession,
    response: Response,
) -> DisputeOut:
    """The mediator records the outcome: ``decided`` or ``closed_without_agreement``."""
    dispute = service.close(session, principal=principal, dispute_id=dispute_id, data=data)
    return _out(session, principal, dispute, response)


@router.get("/rereviews/{rereview_id}/dispute-record", response_model=DisputeRecordOut)
def rereview_dispute_record(
    rereview_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> DisputeRecordOut:
    """How many disputes the provider under re-review had, and how they ended (round curators)."""
    provider_id, record = rereview.round_dispute_record(
        session, principal=principal, rereview_id=rereview_id
    )
    return service.record_out(provider_id, record)
