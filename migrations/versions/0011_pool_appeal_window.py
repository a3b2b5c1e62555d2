"""pool appeal window

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Appeals against a star rating or a sanction must come within the pool's window; existing
    # pools get the default of 15 days.
    # Plain ALTER TABLE on both engines (SQLite 3.35+ drops columns natively): a batch copy of
    # the pools table would trip the foreign keys that point at it.
    op.add_column(
        "pools",
        sa.Column("appeal_window_days", sa.Integer(), server_default=sa.text("15"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("pools", "appeal_window_days")
