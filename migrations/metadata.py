"""Imports every model module so the shared metadata knows all tables."""

from __future__ import annotations

import market.accounts.models  # noqa: F401
from core.database import Base

target_metadata = Base.metadata
