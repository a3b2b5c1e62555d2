"""Imports every model module so the shared metadata knows all tables."""

from __future__ import annotations

import catalog.cases.models  # noqa: F401
import catalog.pools.models  # noqa: F401
import catalog.providers.models  # noqa: F401
import catalog.solutions.models  # noqa: F401
import core.audit  # noqa: F401
import core.outbox  # noqa: F401
import market.accounts.models  # noqa: F401
import market.disputes.models  # noqa: F401
import market.engagements.models  # noqa: F401
import market.idempotency  # noqa: F401
import market.inbox.models  # noqa: F401
import market.mail.models  # noqa: F401
import market.needs.models  # noqa: F401
import market.recommendations.models  # noqa: F401
import market.reviews.models  # noqa: F401
import market.rfqs.models  # noqa: F401
import market.webhooks.models  # noqa: F401
import search.sql_schema  # noqa: F401
from core.database import Base
from search.sql_schema import is_engine_specific

target_metadata = Base.metadata


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic hook: compare every table except the search backend's per-engine full-text
    structure (FTS5 on SQLite, a tsvector table on PostgreSQL), which the metadata cannot
    describe. Used by env.py and by the drift test, so both skip exactly the same objects."""
    return not (type_ == "table" and name is not None and is_engine_specific(name))
