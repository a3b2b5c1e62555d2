"""Response bodies of the inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from core.schemas import OutputModel


class InboxItemOut(OutputModel):
    id: uuid.UUID
    topic: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class InboxPage(OutputModel):
    items: list[InboxItemOut]
    total: int
    page: int
    size: int
    # Unread across the whole inbox, not just this page: the badge next to the bell.
    unread: int


class UnreadOut(OutputModel):
    unread: int


class MarkedOut(OutputModel):
    marked: int
