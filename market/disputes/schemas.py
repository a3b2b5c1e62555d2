"""Request and response bodies of disputes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import StringConstraints

from core.schemas import InputModel, OutputModel

Category = Literal["quality", "delay", "scope", "payment", "acceptance", "conduct", "other"]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class DisputeIn(InputModel):
    category: Category
    description: Text


class MessageIn(InputModel):
    body: Text


class ProposalIn(InputModel):
    proposal: Text


class ResponseIn(InputModel):
    accept: bool
    reason: Annotated[str, StringConstraints(max_length=2000)] = ""


class ReasonIn(InputModel):
    reason: Reason


class CloseIn(InputModel):
    # "decided": the mediator settled it; "closed_without_agreement": no settlement was found.
    outcome: Literal["decided", "closed_without_agreement"]
    reason: Reason


class MessageOut(OutputModel):
    id: uuid.UUID
    author_side: str
    kind: str
    body: str
    created_at: datetime


class EvidenceOut(OutputModel):
    id: uuid.UUID
    side: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    created_at: datetime


class DisputeSummaryOut(OutputModel):
    id: uuid.UUID
    engagement_id: uuid.UUID
    engagement_title: str
    pool_id: uuid.UUID | None
    provider_id: uuid.UUID
    opened_by_side: str
    category: str
    status: str
    outcome: str | None
    created_at: datetime
    updated_at: datetime


class DisputeOut(DisputeSummaryOut):
    description: str
    proposal: str
    proposed_at: datetime | None
    sme_response: str
    provider_response: str
    outcome_reason: str
    closed_at: datetime | None
    # How the caller relates to the dispute: "sme", "provider" or "mediator".
    viewer: str
    messages: list[MessageOut]
    evidence: list[EvidenceOut]
    # What the caller may do now.
    next_actions: list[str]
    version: int


class DisputeRecordOut(OutputModel):
    """A provider's disputes, as counted for its pool re-review."""

    provider_id: uuid.UUID
    opened: int
    live: int
    resolved_by_agreement: int
    withdrawn: int
    decided: int
    closed_without_agreement: int
