"""reviews

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Verified reviews of providers, one per completed engagement. A new table only: needs
    # already have the 'closed' status an accepted quote moves them to.
    op.create_table(
        "reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("provider_org_id", sa.Uuid(), nullable=False),
        sa.Column("sme_org_id", sa.Uuid(), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.Integer(), nullable=False),
        sa.Column("cost_value", sa.Integer(), nullable=False),
        sa.Column("service", sa.Integer(), nullable=False),
        sa.Column("recommend", sa.Integer(), nullable=False),
        sa.Column("overall", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("private_feedback", sa.Text(), nullable=False),
        sa.Column(
            "outcomes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "hold_reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "flags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("replied_by", sa.Uuid(), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('held', 'published', 'rejected')", name=op.f("ck_reviews_status")
        ),
        sa.CheckConstraint("cost_value BETWEEN 1 AND 5", name=op.f("ck_reviews_cost_value_range")),
        sa.CheckConstraint("overall BETWEEN 1 AND 5", name=op.f("ck_reviews_overall_range")),
        sa.CheckConstraint("quality BETWEEN 1 AND 5", name=op.f("ck_reviews_quality_range")),
        sa.CheckConstraint("recommend BETWEEN 1 AND 5", name=op.f("ck_reviews_recommend_range")),
        sa.CheckConstraint("schedule BETWEEN 1 AND 5", name=op.f("ck_reviews_schedule_range")),
        sa.CheckConstraint("service BETWEEN 1 AND 5", name=op.f("ck_reviews_service_range")),
        sa.ForeignKeyConstraint(
            ["author_user_id"], ["users.id"], name=op.f("fk_reviews_author_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_reviews_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_reviews_engagement_id_engagements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_reviews_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["provider_org_id"],
            ["organisations.id"],
            name=op.f("fk_reviews_provider_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["replied_by"], ["users.id"], name=op.f("fk_reviews_replied_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["sme_org_id"], ["organisations.id"], name=op.f("fk_reviews_sme_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("engagement_id", name=op.f("uq_reviews_engagement_id")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reviews_provider_status_published",
            ["provider_id", "status", "published_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_reviews_sme_org_id"), ["sme_org_id"], unique=False)
        batch_op.create_index("ix_reviews_flagged", ["flagged"], unique=False)
        batch_op.create_index("ix_reviews_status_created", ["status", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_status_created")
        batch_op.drop_index("ix_reviews_flagged")
        batch_op.drop_index(batch_op.f("ix_reviews_sme_org_id"))
        batch_op.drop_index("ix_reviews_provider_status_published")

    op.drop_table("reviews")
