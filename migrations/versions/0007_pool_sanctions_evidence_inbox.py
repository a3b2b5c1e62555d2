"""pool sanctions, appeals, re-review, reported changes, evidence, reminders; the inbox

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# pool_applications.state before and after this revision: listings can now be suspended,
# expired (validity over, awaiting re-review) or removed. Suspended and expired listings are
# still memberships, so they count as active for the one-application-per-pool index.
STATES_BEFORE = (
    "submitted",
    "returned",
    "under_review",
    "in_notice",
    "listed",
    "rejected",
    "withdrawn",
)
STATES_AFTER = (
    "submitted",
    "returned",
    "under_review",
    "in_notice",
    "listed",
    "suspended",
    "expired",
    "removed",
    "rejected",
    "withdrawn",
)
ACTIVE_BEFORE = ("submitted", "returned", "under_review", "in_notice", "listed")
ACTIVE_AFTER = (*ACTIVE_BEFORE, "suspended", "expired")
SOURCES = ("application", "import")


def _in(column: str, values: tuple[str, ...]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in values))


def _one_active_index(active: tuple[str, ...]) -> None:
    op.create_index(
        "uq_pool_applications_one_active",
        "pool_applications",
        ["pool_id", "provider_id"],
        unique=True,
        sqlite_where=sa.text(_in("state", active)),
        postgresql_where=sa.text(_in("state", active)),
    )


def _drop_one_active_index(active: tuple[str, ...]) -> None:
    op.drop_index(
        "uq_pool_applications_one_active",
        table_name="pool_applications",
        sqlite_where=sa.text(_in("state", active)),
        postgresql_where=sa.text(_in("state", active)),
    )


def upgrade() -> None:
    # Dynamic management of listings: reminders sent, evidence documents and their uses,
    # the in-app inbox, reported changes and each pool's review of them, re-review rounds with
    # their reviewers, sanctions and appeals.
    op.create_table(
        "pool_reminders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_reminders")),
    )
    with op.batch_alter_table("pool_reminders", schema=None) as batch_op:
        batch_op.create_index(
            "uq_pool_reminders_once", ["kind", "target_id", "due_at"], unique=True
        )

    op.create_table(
        "evidence_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=80), nullable=False),
        sa.Column("uploaded_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('licence', 'certificate', 'case_proof', 'declaration', 'other')",
            name=op.f("ck_evidence_documents_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_evidence_documents_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_user_id"],
            ["users.id"],
            name=op.f("fk_evidence_documents_uploaded_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_documents")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_evidence_documents_storage_key")),
    )
    with op.batch_alter_table("evidence_documents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_evidence_documents_provider", ["provider_id", "uploaded_at"], unique=False
        )

    op.create_table(
        "inbox_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_inbox_items_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_items")),
    )
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbox_items_user_read_created", ["user_id", "read_at", "created_at"], unique=False
        )
        batch_op.create_index("uq_inbox_items_event_user", ["event_id", "user_id"], unique=True)

    op.create_table(
        "provider_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "before",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "after",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reported_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('name', 'credit_code', 'certification')",
            name=op.f("ck_provider_changes_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_provider_changes_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_user_id"],
            ["users.id"],
            name=op.f("fk_provider_changes_reported_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_changes")),
    )
    with op.batch_alter_table("provider_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_changes_provider_id"), ["provider_id"], unique=False
        )

    op.create_table(
        "evidence_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=36), nullable=False),
        sa.Column("linked_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('application', 'rectification', 'appeal', 'change')",
            name=op.f("ck_evidence_links_purpose"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["pool_applications.id"],
            name=op.f("fk_evidence_links_application_id_pool_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["evidence_documents.id"],
            name=op.f("fk_evidence_links_document_id_evidence_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_user_id"],
            ["users.id"],
            name=op.f("fk_evidence_links_linked_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_links")),
    )
    with op.batch_alter_table("evidence_links", schema=None) as batch_op:
        batch_op.create_index(
            "ix_evidence_links_application", ["application_id", "purpose"], unique=False
        )
        batch_op.create_index(
            "uq_evidence_links_use",
            ["document_id", "application_id", "purpose", "ref"],
            unique=True,
        )

    op.create_table(
        "pool_change_reviews",
        sa.Column("change_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolved_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'confirmed', 'rereview', 'closed')",
            name=op.f("ck_pool_change_reviews_status"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["pool_applications.id"],
            name=op.f("fk_pool_change_reviews_application_id_pool_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["provider_changes.id"],
            name=op.f("fk_pool_change_reviews_change_id_provider_changes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_user_id"],
            ["users.id"],
            name=op.f("fk_pool_change_reviews_resolved_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("change_id", "application_id", name=op.f("pk_pool_change_reviews")),
    )
    with op.batch_alter_table("pool_change_reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pool_change_reviews_application_status", ["application_id", "status"], unique=False
        )

    op.create_table(
        "pool_rereviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column(
            "scorecard",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("total_score", sa.Double(), nullable=True),
        sa.Column("star_rating", sa.Integer(), nullable=True),
        sa.Column("opened_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('open', 'passed', 'failed', 'closed')", name=op.f("ck_pool_rereviews_state")
        ),
        sa.CheckConstraint(
            "trigger IN ('expiry', 'on_demand', 'change')", name=op.f("ck_pool_rereviews_trigger")
        ),
        sa.CheckConstraint(
            "star_rating IS NULL OR star_rating BETWEEN 1 AND 5",
            name=op.f("ck_pool_rereviews_star_rating"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["pool_applications.id"],
            name=op.f("fk_pool_rereviews_application_id_pool_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["users.id"],
            name=op.f("fk_pool_rereviews_decided_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_user_id"],
            ["users.id"],
            name=op.f("fk_pool_rereviews_opened_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_rereviews")),
    )
    with op.batch_alter_table("pool_rereviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pool_rereviews_application", ["application_id", "opened_at"], unique=False
        )
        batch_op.create_index(
            "uq_pool_rereviews_one_open",
            ["application_id"],
            unique=True,
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )

    op.create_table(
        "pool_rereview_reviews",
        sa.Column("rereview_id", sa.Uuid(), nullable=False),
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
            ["assigned_by_user_id"],
            ["users.id"],
            name=op.f("fk_pool_rereview_reviews_assigned_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["rereview_id"],
            ["pool_rereviews.id"],
            name=op.f("fk_pool_rereview_reviews_rereview_id_pool_rereviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_user_id"],
            ["users.id"],
            name=op.f("fk_pool_rereview_reviews_reviewer_user_id_users"),
        ),
        sa.PrimaryKeyConstraint(
            "rereview_id", "reviewer_user_id", name=op.f("pk_pool_rereview_reviews")
        ),
    )
    with op.batch_alter_table("pool_rereview_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pool_rereview_reviews_reviewer_user_id"),
            ["reviewer_user_id"],
            unique=False,
        )

    op.create_table(
        "pool_sanctions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state_before", sa.String(length=16), nullable=False),
        sa.Column("issued_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_reason", sa.Text(), nullable=False),
        sa.Column("superseded_by_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind <> 'rectification' OR deadline IS NOT NULL",
            name=op.f("ck_pool_sanctions_deadline"),
        ),
        sa.CheckConstraint(
            "kind IN ('warning', 'rectification', 'suspension', 'removal')",
            name=op.f("ck_pool_sanctions_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'open', 'reported', 'closed', 'lifted', 'revoked', 'superseded')",
            name=op.f("ck_pool_sanctions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["pool_applications.id"],
            name=op.f("fk_pool_sanctions_application_id_pool_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_user_id"],
            ["users.id"],
            name=op.f("fk_pool_sanctions_issued_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_user_id"],
            ["users.id"],
            name=op.f("fk_pool_sanctions_resolved_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by_id"],
            ["pool_sanctions.id"],
            name=op.f("fk_pool_sanctions_superseded_by_id_pool_sanctions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_sanctions")),
    )
    with op.batch_alter_table("pool_sanctions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pool_sanctions_application_status", ["application_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_pool_sanctions_status_deadline", ["status", "deadline"], unique=False
        )

    op.create_table(
        "pool_appeals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("sanction_id", sa.Uuid(), nullable=True),
        sa.Column("subject_key", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filed_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "excluded_user_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("star_rating_before", sa.Integer(), nullable=True),
        sa.Column("star_rating_after", sa.Integer(), nullable=True),
        sa.Column("decided_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(subject = 'sanction') = (sanction_id IS NOT NULL)",
            name=op.f("ck_pool_appeals_sanction_subject"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'upheld', 'dismissed')", name=op.f("ck_pool_appeals_status")
        ),
        sa.CheckConstraint(
            "subject IN ('rating', 'sanction')", name=op.f("ck_pool_appeals_subject")
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["pool_applications.id"],
            name=op.f("fk_pool_appeals_application_id_pool_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["users.id"],
            name=op.f("fk_pool_appeals_decided_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["filed_by_user_id"], ["users.id"], name=op.f("fk_pool_appeals_filed_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["sanction_id"],
            ["pool_sanctions.id"],
            name=op.f("fk_pool_appeals_sanction_id_pool_sanctions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_appeals")),
    )
    with op.batch_alter_table("pool_appeals", schema=None) as batch_op:
        batch_op.create_index("ix_pool_appeals_status", ["status", "filed_at"], unique=False)
        batch_op.create_index(
            "uq_pool_appeals_subject", ["application_id", "subject_key"], unique=True
        )

    # The partial index is dropped before the table is rebuilt (SQLite batch mode recreates
    # the table) and created afterwards with the new set of active states.
    _drop_one_active_index(ACTIVE_BEFORE)
    with op.batch_alter_table("pool_applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "change_under_review", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="application", nullable=False)
        )
        batch_op.drop_constraint(op.f("ck_pool_applications_state"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_pool_applications_state"), _in("state", STATES_AFTER)
        )
        batch_op.create_check_constraint(
            op.f("ck_pool_applications_source"), _in("source", SOURCES)
        )
        batch_op.create_index(
            "ix_pool_applications_state_valid_until", ["state", "valid_until"], unique=False
        )
    _one_active_index(ACTIVE_AFTER)


def downgrade() -> None:
    # The old states cannot hold the new ones: a suspended or expired listing goes back to
    # listed and a removed one to rejected, so the older code sees a consistent pool. The
    # sanctions and re-reviews that explain them are dropped with their tables below.
    op.execute(
        "UPDATE pool_applications SET state = 'listed' WHERE state IN ('suspended', 'expired')"
    )
    op.execute("UPDATE pool_applications SET state = 'rejected' WHERE state = 'removed'")
    _drop_one_active_index(ACTIVE_AFTER)
    with op.batch_alter_table("pool_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_pool_applications_state_valid_until")
        batch_op.drop_constraint(op.f("ck_pool_applications_source"), type_="check")
        batch_op.drop_constraint(op.f("ck_pool_applications_state"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_pool_applications_state"), _in("state", STATES_BEFORE)
        )
        batch_op.drop_column("source")
        batch_op.drop_column("change_under_review")
        batch_op.drop_column("rated_at")
    _one_active_index(ACTIVE_BEFORE)

    # Children before parents.
    for name, indexes in (
        ("pool_appeals", ("uq_pool_appeals_subject", "ix_pool_appeals_status")),
        (
            "pool_sanctions",
            ("ix_pool_sanctions_status_deadline", "ix_pool_sanctions_application_status"),
        ),
        ("pool_rereview_reviews", ("ix_pool_rereview_reviews_reviewer_user_id",)),
        ("pool_rereviews", ("ix_pool_rereviews_application",)),
        ("pool_change_reviews", ("ix_pool_change_reviews_application_status",)),
        ("provider_changes", ("ix_provider_changes_provider_id",)),
        ("evidence_links", ("uq_evidence_links_use", "ix_evidence_links_application")),
        ("evidence_documents", ("ix_evidence_documents_provider",)),
        ("inbox_items", ("uq_inbox_items_event_user", "ix_inbox_items_user_read_created")),
        ("pool_reminders", ("uq_pool_reminders_once",)),
    ):
        if name == "pool_rereviews":
            op.drop_index(
                "uq_pool_rereviews_one_open",
                table_name=name,
                sqlite_where=sa.text("state = 'open'"),
                postgresql_where=sa.text("state = 'open'"),
            )
        for index in indexes:
            op.drop_index(index, table_name=name)
        op.drop_table(name)
