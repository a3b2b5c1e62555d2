"""recommendation lists

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Curators' per-pool weight overrides for the matching engine; they go with their pool.
    op.create_table(
        "pool_matching_weights",
        sa.Column("pool_id", sa.Uuid(), nullable=False),
        sa.Column(
            "overrides",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_by", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["pools.id"],
            name=op.f("fk_pool_matching_weights_pool_id_pools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_pool_matching_weights_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("pool_id", name=op.f("pk_pool_matching_weights")),
    )
    # Every recommendation list shown, for exposure audits. Results carry no foreign keys to
    # providers or solutions on purpose: a stored list is a record and outlives what it names.
    op.create_table(
        "recommendation_lists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("need_id", sa.Uuid(), nullable=True),
        sa.Column("requester_org_id", sa.Uuid(), nullable=True),
        sa.Column("requester_user_id", sa.Uuid(), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column("engine_version", sa.String(length=40), nullable=False),
        sa.Column("weights_fingerprint", sa.String(length=16), nullable=False),
        sa.Column("weights_pool_id", sa.Uuid(), nullable=True),
        sa.Column("text_mode", sa.String(length=32), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("prefer_local", sa.Boolean(), nullable=False),
        sa.Column(
            "request",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "relaxations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "excluded",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('need', 'adhoc')", name=op.f("ck_recommendation_lists_source")
        ),
        sa.ForeignKeyConstraint(
            ["requester_org_id"],
            ["organisations.id"],
            name=op.f("fk_recommendation_lists_requester_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["requester_user_id"],
            ["users.id"],
            name=op.f("fk_recommendation_lists_requester_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_lists")),
    )
    with op.batch_alter_table("recommendation_lists", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recommendation_lists_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            "ix_recommendation_lists_need_created", ["need_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recommendation_lists_region_code"), ["region_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recommendation_lists_requester_org_id"),
            ["requester_org_id"],
            unique=False,
        )

    op.create_table(
        "recommendation_results",
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("solution_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("exposure_weight", sa.Double(), nullable=False),
        sa.Column(
            "features",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "explanation",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("exploration", sa.Boolean(), nullable=False),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rank >= 1", name=op.f("ck_recommendation_results_rank")),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["recommendation_lists.id"],
            name=op.f("fk_recommendation_results_list_id_recommendation_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "rank", name=op.f("pk_recommendation_results")),
    )
    with op.batch_alter_table("recommendation_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recommendation_results_shown_provider", ["shown_at", "provider_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("recommendation_results", schema=None) as batch_op:
        batch_op.drop_index("ix_recommendation_results_shown_provider")
    op.drop_table("recommendation_results")
    with op.batch_alter_table("recommendation_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recommendation_lists_requester_org_id"))
        batch_op.drop_index(batch_op.f("ix_recommendation_lists_region_code"))
        batch_op.drop_index("ix_recommendation_lists_need_created")
        batch_op.drop_index(batch_op.f("ix_recommendation_lists_created_at"))
    op.drop_table("recommendation_lists")
    op.drop_table("pool_matching_weights")
