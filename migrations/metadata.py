"""Imports every model module so the shared metadata knows all tables."""

from __future__ import annotations

import catalog.cases.models  # noqa: F401
import catalog.providers.models  # noqa: F401
import catalog.solutions.models  # noqa: F401
import core.audit  # noqa: F401
import core.outbox  # noqa: F401
import market.accounts.models  # noqa: F401
from core.database import Base

target_metadata = Base.metadata
