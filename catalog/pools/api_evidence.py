"""Routes for evidence documents: upload, download and attaching them to applications."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile, status
from fastapi.responses import StreamingResponse

from catalog.pools import (
    evidence,
)
from catalog.pools.schemas import (
    EvidenceAttachIn,
    EvidenceOut,
    LinkedEvidenceOut,
)
from catalog.pools.storage import storage_for
from core.deps import (
    AppSettings,
    CurrentPrincipal,
    DbSession,
    ProviderPrincipal,
)

router = APIRouter(prefix="/api/v1", tags=["pools"])


# --- evidence documents ------------------------------------------------------------------------


@router.post("/evidence", status_code=status.HTTP_201_CREATED, response_model=EvidenceOut)
def upload_evidence(
    request: Request,
    principal: ProviderPrincipal,
    session: DbSession,
    settings: AppSettings,
    file: Annotated[UploadFile, File(description="PDF, JPEG or PNG")],
    kind: Annotated[str, Form(description="licence, certificate, case_proof, declaration, other")],
) -> EvidenceOut:
    """Upload an evidence document (营业执照, certificate, case proof) up to the configured
    size; put it forward with ``evidence_ids`` on applications, reports and appeals."""
    document = evidence.upload(
        session,
        principal=principal,
        storage=storage_for(request, settings),
        kind=kind,
        filename=file.filename,
        content_type=file.content_type,
        stream=file.file,
        max_bytes=settings.max_upload_mb * 1024 * 1024,
    )
    return EvidenceOut.model_validate(document)


@router.get("/evidence/mine", response_model=list[EvidenceOut])
def my_evidence(principal: ProviderPrincipal, session: DbSession) -> list[EvidenceOut]:
    return [EvidenceOut.model_validate(d) for d in evidence.list_mine(session, principal=principal)]


@router.get("/evidence/{document_id}/download")
def download_evidence(
    document_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
    settings: AppSettings,
) -> StreamingResponse:
    """The document itself: for its owner, the curators of a pool it was put forward in and
    the reviewers assigned there."""
    document, handle = evidence.open_for_download(
        session,
        principal=principal,
        storage=storage_for(request, settings),
        document_id=document_id,
    )

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(evidence.CHUNK):
                yield chunk

    quoted = quote(document.filename)
    return StreamingResponse(
        chunks(),
        media_type=document.content_type,
        headers={
            # Always a download, never rendered in the page: a PDF can carry scripts.
            "Content-Disposition": f"attachment; filename*=UTF-8''{quoted}",
            "Content-Length": str(document.size_bytes),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/applications/{application_id}/evidence", response_model=list[LinkedEvidenceOut])
def attach_evidence(
    application_id: uuid.UUID,
    data: EvidenceAttachIn,
    principal: ProviderPrincipal,
    session: DbSession,
) -> list[LinkedEvidenceOut]:
    """Put more of your documents forward with an application not yet decided."""
    return evidence.attach(
        session, principal=principal, application_id=application_id, document_ids=data.document_ids
    )


@router.get("/applications/{application_id}/evidence", response_model=list[LinkedEvidenceOut])
def application_evidence(
    application_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[LinkedEvidenceOut]:
    """Everything put forward with the application (owner, curators, assigned reviewers)."""
    return evidence.application_evidence(
        session, principal=principal, application_id=application_id
    )
