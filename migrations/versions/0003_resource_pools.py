"""resource pools

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Pools, their applications (with linked solutions), expert reviews and 公示 objections.
    op.create_table(
        "pools",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_org_id", sa.Uuid(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("entry_criteria", sa.Text(), nullable=False),
        sa.Column(
            "categories",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "scorecard",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("evaluation_period_months", sa.Integer(), nullable=False),
        sa.Column("notice_days", sa.Integer(), nullable=False),
        sa.Column("pass_score", sa.Integer(), nullable=False),
        sa.Column("applications_open", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "evaluation_period_months >= 1", name=op.f("ck_pools_evaluation_period")
        ),
        sa.CheckConstraint("notice_days BETWEEN 1 AND 60", name=op.f("ck_pools_notice_days")),
        sa.CheckConstraint("pass_score BETWEEN 0 AND 100", name=op.f("ck_pools_pass_score")),
        sa.ForeignKeyConstraint(
            ["agency_org_id"],
            ["organisations.id"],
            name=op.f("fk_pools_agency_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pools")),
    )
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pools_agency_org_id"), ["agency_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pools_jurisdiction"), ["jurisdiction"], unique=False)

    op.create_table(
        "pool_applications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pool_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("category_id", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "scorecard",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("total_score", sa.Double(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notice_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("listed_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("star_rating", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('submitted', 'returned', 'under_review', 'in_notice', 'listed', 'rejected', 'withdrawn')",
            name=op.f("ck_pool_applications_state"),
        ),
        sa.CheckConstraint(
            "star_rating IS NULL OR star_rating BETWEEN 1 AND 5",
            name=op.f("ck_pool_applications_star_rating"),
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_pool_applications_pool_id_pools")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_pool_applications_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_applications")),
    )
    with op.batch_alter_table("pool_applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pool_applications_notice_ends_at"), ["notice_ends_at"], unique=False
        )
        batch_op.create_index(
            "ix_pool_applications_pool_state", ["pool_id", "state", "category_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_pool_applications_provider_id"), ["provider_id"], unique=False
        )
        # At most one open or listed application per provider and pool, even for requests
        # racing each other: a partial unique index, which SQLite and PostgreSQL both support.
        batch_op.create_index(
            "uq_pool_applications_one_active",
            ["pool_id", "provider_id"],
            unique=True,
            sqlite_where=sa.text(
                "state IN ('submitted', 'returned', 'under_review', 'in_notice', 'listed')"
            ),
            postgresql_where=sa.text(
                "state IN ('submitted', 'returned', 'under_review', 'in_notice', 'listed')"
            ),
        )

    op.create_table(
        "pool_application_solutions",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("solution_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["pool_applications.id"],
            name=op.f("fk_pool_application_solutions_application_id_pool_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["solution_id"],
            ["solutions.id"],
            name=op.f("fk_pool_application_solutions_solution_id_solutions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "application_id", "solution_id", name=op.f("pk_pool_application_solutions")
        ),
    )
    with op.batch_alter_table("pool_application_solutions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pool_application_solutions_solution_id"), ["solution_id"], unique=False
        )

    op.create_table(
        "pool_objections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution_reason", sa.Text(), nullable=False),
        sa.Column("resolved_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'upheld', 'dismissed', 'closed')",
            name=op.f("ck_pool_objections_status"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["pool_applications.id"],
            name=op.f("fk_pool_objections_application_id_pool_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"], ["users.id"], name=op.f("fk_pool_objections_author_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_user_id"],
            ["users.id"],
            name=op.f("fk_pool_objections_resolved_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_objections")),
    )
    with op.batch_alter_table("pool_objections", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pool_objections_application_status", ["application_id", "status"], unique=False
        )

    op.create_table(
        "pool_reviews",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("reviewer_user_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conflict_declared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("conflict_note", sa.Text(), nullable=False),
        sa.Column(
            "scores",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("total", sa.Double(), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["pool_applications.id"],
            name=op.f("fk_pool_reviews_application_id_pool_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by_user_id"],
            ["users.id"],
            name=op.f("fk_pool_reviews_assigned_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_user_id"], ["users.id"], name=op.f("fk_pool_reviews_reviewer_user_id_users")
        ),
        sa.PrimaryKeyConstraint("application_id", "reviewer_user_id", name=op.f("pk_pool_reviews")),
    )
    with op.batch_alter_table("pool_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pool_reviews_reviewer_user_id"), ["reviewer_user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pool_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pool_reviews_reviewer_user_id"))

    op.drop_table("pool_reviews")
    with op.batch_alter_table("pool_objections", schema=None) as batch_op:
        batch_op.drop_index("ix_pool_objections_application_status")

    op.drop_table("pool_objections")
    with op.batch_alter_table("pool_application_solutions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pool_application_solutions_solution_id"))

    op.drop_table("pool_application_solutions")
    with op.batch_alter_table("pool_applications", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_pool_applications_one_active",
            sqlite_where=sa.text(
                "state IN ('submitted', 'returned', 'under_review', 'in_notice', 'listed')"
            ),
            postgresql_where=sa.text(
                "state IN ('submitted', 'returned', 'under_review', 'in_notice', 'listed')"
            ),
        )
        batch_op.drop_index(batch_op.f("ix_pool_applications_provider_id"))
        batch_op.drop_index("ix_pool_applications_pool_state")
        batch_op.drop_index(batch_op.f("ix_pool_applications_notice_ends_at"))

    op.drop_table("pool_applications")
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pools_jurisdiction"))
        batch_op.drop_index(batch_op.f("ix_pools_agency_org_id"))

    op.drop_table("pools")
