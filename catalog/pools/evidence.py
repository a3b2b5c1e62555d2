"""Evidence documents (营业执照, certificates, case proofs) put forward with applications.

A provider uploads a document once and puts it forward with applications, rectification
reports, appeals and change reports; each use is a link. Who may download a document follows
from those links: its owner, the curators of a pool it was put forward in, and the reviewers
assigned in that pool. Anyone else is told the document does not exist.

Only PDF, JPEG and PNG are accepted, and only when the declared content type and the file's
own first bytes agree: a renamed executable or an HTML page claiming to be a PDF is refused.
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from collections.abc import Iterable
from pathlib import PurePosixPath, PureWindowsPath
from typing import BinaryIO

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from catalog.pools import service as pools
from catalog.pools.errors import EvidenceTooLarge, InvalidTransition, UnsupportedEvidence
from catalog.pools.models import (
    EVIDENCE_KINDS,
    EvidenceDocument,
    EvidenceLink,
    Pool,
    PoolApplication,
    PoolRereview,
    PoolRereviewReview,
    PoolReview,
)
from catalog.pools.schemas import LinkedEvidenceOut
from catalog.pools.service import Loaded
from catalog.pools.storage import EvidenceStorage, new_key
from catalog.providers import service as providers
from catalog.providers.models import Provider
from core.deps import Principal
from core.errors import NotFound, field_error

# Declared type → extension of the stored file.
ACCEPTED = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
# Names some browsers and scanners use for the same types.
ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-pdf": "application/pdf",
}
# The signatures the formats start with (ISO 32000 header, JPEG SOI marker, PNG signature).
MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
CHUNK = 64 * 1024
# Documents can be put forward until the application is decided; later evidence goes with a
# rectification report, an appeal or a change report instead.
OPEN_FOR_EVIDENCE = ("submitted", "returned", "under_review")


def evidence_not_found() -> NotFound:
    return NotFound("No such evidence document", code="evidence_not_found")


def sniff(head: bytes) -> str | None:
    """The content type the bytes themselves announce, or None when none we accept."""
    return next((kind for magic, kind in MAGIC if head.startswith(magic)), None)


def declared_type(raw: str | None) -> str:
    """The declared media type without parameters, with aliases resolved; "" when absent."""
    base = (raw or "").split(";", 1)[0].strip().lower()
    return ALIASES.get(base, base)


def read_limited(stream: BinaryIO, limit: int) -> bytes:
    """Read at most ``limit`` bytes; one byte more means the file is too large."""
    parts: list[bytes] = []
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise EvidenceTooLarge(
                f"The file is larger than {limit // (1024 * 1024)} MB; scan at a lower "
                "resolution or split the document",
                details={"max_bytes": limit},
            )
        parts.append(chunk)
    return b"".join(parts)


def clean_filename(raw: str | None, extension: str) -> str:
    """A display name: the last path part only, no control characters, bounded length."""
    name = unicodedata.normalize("NFKC", raw or "")
    # Either separator may come from a browser on any system.
    name = PureWindowsPath(PurePosixPath(name).name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    if not name:
        return f"document.{extension}"
    return name[-200:]


def upload(
    session: Session,
    *,
    principal: Principal,
    storage: EvidenceStorage,
    kind: str,
    filename: str | None,
    content_type: str | None,
    stream: BinaryIO,
    max_bytes: int,
) -> EvidenceDocument:
    """Store one document of the caller's provider after checking type, magic and size."""
    provider = providers.own_provider(session, principal=principal)
    if kind not in EVIDENCE_KINDS:
        raise field_error("body.kind", f"unknown kind {kind!r}; use {', '.join(EVIDENCE_KINDS)}")
    declared = declared_type(content_type)
    if declared not in ACCEPTED:
        raise UnsupportedEvidence(
            f"Upload a PDF, JPEG or PNG file; this one is declared as {declared or 'nothing'}",
            details={"declared": declared, "accepted": sorted(ACCEPTED)},
        )
    data = read_limited(stream, max_bytes)
    if not data:
        raise field_error("body.file", "the file is empty")
    detected = sniff(data[:16])
    if detected != declared:
        found = detected or "not a PDF, JPEG or PNG"
        raise UnsupportedEvidence(
            f"The file is declared as {declared} but its content is {found}; "
            "upload the original document",
            details={"declared": declared, "detected": detected},
        )
    extension = ACCEPTED[detected]
    key = new_key(extension)
    # The bytes are written before the row commits; a rolled-back upload leaves a file that no
    # row names, which nobody can reach and a sweep may delete.
    storage.save(key, data)
    document = EvidenceDocument(
        provider_id=provider.id,
        kind=kind,
        filename=clean_filename(filename, extension),
        content_type=detected,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        uploaded_by_user_id=principal.user_id,
    )
    session.add(document)
    session.flush()
    return document


def list_mine(session: Session, *, principal: Principal) -> list[EvidenceDocument]:
    provider = providers.own_provider(session, principal=principal)
    return list(
        session.scalars(
            select(EvidenceDocument)
            .where(EvidenceDocument.provider_id == provider.id)
            .order_by(EvidenceDocument.uploaded_at.desc(), EvidenceDocument.id)
        )
    )


def link(
    session: Session,
    *,
    principal: Principal,
    loaded: Loaded,
    document_ids: Iterable[uuid.UUID],
    purpose: str,
    ref: uuid.UUID | None = None,
    field: str = "body.evidence_ids",
) -> list[EvidenceLink]:
    """Put the provider's own documents forward with the application; repeats are no-ops."""
    wanted = list(document_ids)
    if not wanted:
        return []
    own = set(
        session.scalars(
            select(EvidenceDocument.id).where(
                EvidenceDocument.id.in_(wanted),
                EvidenceDocument.provider_id == loaded.provider.id,
            )
        )
    )
    for i, document_id in enumerate(wanted):
        if document_id not in own:
            raise field_error(f"{field}.{i}", f"{document_id} is not one of your documents")
    ref_text = str(ref) if ref else ""
    present = set(
        session.scalars(
            select(EvidenceLink.document_id).where(
                EvidenceLink.application_id == loaded.app.id,
                EvidenceLink.purpose == purpose,
                EvidenceLink.ref == ref_text,
            )
        )
    )
    links = [
        EvidenceLink(
            document_id=document_id,
            application_id=loaded.app.id,
            purpose=purpose,
            ref=ref_text,
            linked_by_user_id=principal.user_id,
        )
        for document_id in wanted
        if document_id not in present
    ]
    session.add_all(links)
    session.flush()
    return links


def attach(
    session: Session,
    *,
    principal: Principal,
    application_id: uuid.UUID,
    document_ids: list[uuid.UUID],
) -> list[LinkedEvidenceOut]:
    loaded = pools.as_owner(session, principal, application_id)
    if loaded.app.state not in OPEN_FOR_EVIDENCE:
        raise InvalidTransition(
            f"Evidence is added to an application until it is decided; this one is "
            f"{loaded.app.state}. Send later documents with a rectification report, an appeal "
            "or a change report",
            details={"state": loaded.app.state, "allowed_states": list(OPEN_FOR_EVIDENCE)},
        )
    link(
        session,
        principal=principal,
        loaded=loaded,
        document_ids=document_ids,
        purpose="application",
        field="body.document_ids",
    )
    return _linked(session, loaded.app.id)


def application_evidence(
    session: Session, *, principal: Principal, application_id: uuid.UUID
) -> list[LinkedEvidenceOut]:
    """Everything put forward with the application, for its owner, curators and reviewers."""
    loaded, _ = pools.visible_application(
        session, principal=principal, application_id=application_id
    )
    return _linked(session, loaded.app.id)


def _linked(session: Session, application_id: uuid.UUID) -> list[LinkedEvidenceOut]:
    rows = session.execute(
        select(EvidenceDocument, EvidenceLink)
        .join(EvidenceLink, EvidenceLink.document_id == EvidenceDocument.id)
        .where(EvidenceLink.application_id == application_id)
        .order_by(EvidenceLink.linked_at, EvidenceLink.id)
    )
    return [
        LinkedEvidenceOut(
            id=doc.id,
            provider_id=doc.provider_id,
            kind=doc.kind,
            filename=doc.filename,
            content_type=doc.content_type,
            size_bytes=doc.size_bytes,
            sha256=doc.sha256,
            uploaded_at=doc.uploaded_at,
            purpose=use.purpose,
            ref=use.ref,
            linked_at=use.linked_at,
        )
        for doc, use in rows
    ]


def may_download(session: Session, principal: Principal, document: EvidenceDocument) -> bool:
    """Owner, curators of a pool it was put forward in, reviewers assigned there, admins."""
    if principal.is_admin:
        return True
    owner_org = session.scalar(select(Provider.org_id).where(Provider.id == document.provider_id))
    if principal.role == "provider":
        return owner_org == principal.org_id
    uses = select(EvidenceLink.application_id).where(EvidenceLink.document_id == document.id)
    if principal.role == "curator":
        curated = exists().where(
            PoolApplication.id.in_(uses),
            Pool.id == PoolApplication.pool_id,
            Pool.agency_org_id == principal.org_id,
        )
        if session.scalar(select(curated)):
            return True
    # Reviewers: assigned to the application itself or to one of its re-review rounds.
    reviewed = exists().where(
        PoolReview.application_id.in_(uses), PoolReview.reviewer_user_id == principal.user_id
    )
    rereviewed = exists().where(
        PoolRereview.application_id.in_(uses),
        PoolRereviewReview.rereview_id == PoolRereview.id,
        PoolRereviewReview.reviewer_user_id == principal.user_id,
    )
    return bool(session.scalar(select(reviewed | rereviewed)))


def open_for_download(
    session: Session, *, principal: Principal, storage: EvidenceStorage, document_id: uuid.UUID
) -> tuple[EvidenceDocument, BinaryIO]:
    document = session.get(EvidenceDocument, document_id)
    if document is None or not may_download(session, principal, document):
        raise evidence_not_found()
    try:
        return document, storage.open(document.storage_key)
    except FileNotFoundError:
        # The row outlived its bytes (a restore without the upload directory, say).
        raise NotFound(
            "The document's file is missing from the evidence store; ask the provider to "
            "upload it again",
            code="evidence_file_missing",
        ) from None
