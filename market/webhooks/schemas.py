"""Request and response bodies of webhook endpoints and deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from core.schemas import InputModel, OutputModel

Topic = Literal["rfq", "invitation", "quote", "engagement", "dispute"]


class EndpointIn(InputModel):
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    topics: Annotated[list[Topic], Field(min_length=1, description="event families to receive")]
    description: Annotated[str, StringConstraints(max_length=200)] = ""


class EndpointOut(OutputModel):
    id: uuid.UUID
    url: str
    topics: list[str]
    description: str
    created_at: datetime


class EndpointCreatedOut(EndpointOut):
    # Shown this once: store it with the receiver to verify X-IIMarket-Signature.
    secret: str


class DeliveryOut(OutputModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    topic: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None
