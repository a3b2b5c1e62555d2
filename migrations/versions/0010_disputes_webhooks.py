"""disputes, webhooks, mail preferences

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 04:24:56.295320
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Disputes with their thread and evidence, webhook endpoints with their delivery log, and
    # users' e-mail choices. New tables only, referring only to tables that exist at 0008 and earlier.
    op.create_table(
        "mail_preferences",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "topics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mail_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_mail_preferences")),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column(
            "topics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_webhook_endpoints_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_webhook_endpoints_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_endpoints_org_id"), ["org_id"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('delivered', 'failed', 'pending')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_webhook_deliveries_endpoint_created", ["endpoint_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_webhook_deliveries_endpoint_event", ["endpoint_id", "event_id"], unique=True
        )

    op.create_table(
        "disputes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("pool_id", sa.Uuid(), nullable=True),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("sme_org_id", sa.Uuid(), nullable=False),
        sa.Column("provider_org_id", sa.Uuid(), nullable=False),
        sa.Column("opened_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("opened_by_side", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposal", sa.Text(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sme_response", sa.String(length=16), nullable=False),
        sa.Column("provider_response", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=False),
        sa.Column("closed_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "category IN ('acceptance', 'conduct', 'delay', 'other', 'payment', 'quality', 'scope')",
            name=op.f("ck_disputes_category"),
        ),
        sa.CheckConstraint("opened_by_side IN ('provider', 'sme')", name=op.f("ck_disputes_side")),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('closed_without_agreement', 'decided', 'resolved_by_agreement', 'withdrawn')",
            name=op.f("ck_disputes_outcome"),
        ),
        sa.CheckConstraint(
            "provider_response IN ('', 'accepted', 'rejected')",
            name=op.f("ck_disputes_provider_response"),
        ),
        sa.CheckConstraint(
            "sme_response IN ('', 'accepted', 'rejected')", name=op.f("ck_disputes_sme_response")
        ),
        sa.CheckConstraint(
            "status IN ('closed', 'open', 'proposed', 'resolved', 'withdrawn')",
            name=op.f("ck_disputes_status"),
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_user_id"], ["users.id"], name=op.f("fk_disputes_closed_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_disputes_engagement_id_engagements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_user_id"], ["users.id"], name=op.f("fk_disputes_opened_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(["pool_id"], ["pools.id"], name=op.f("fk_disputes_pool_id_pools")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_disputes_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["provider_org_id"],
            ["organisations.id"],
            name=op.f("fk_disputes_provider_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["sme_org_id"], ["organisations.id"], name=op.f("fk_disputes_sme_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index("ix_disputes_pool_status", ["pool_id", "status"], unique=False)
        batch_op.create_index(
            "ix_disputes_provider_status", ["provider_id", "status"], unique=False
        )
        batch_op.create_index(
            "uq_disputes_one_live",
            ["engagement_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('open', 'proposed')"),
            postgresql_where=sa.text("status IN ('open', 'proposed')"),
        )

    op.create_table(
        "dispute_evidence",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dispute_id", sa.Uuid(), nullable=False),
        sa.Column("uploaded_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.id"],
            name=op.f("fk_dispute_evidence_dispute_id_disputes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_user_id"],
            ["users.id"],
            name=op.f("fk_dispute_evidence_uploaded_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_evidence")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_dispute_evidence_storage_key")),
    )
    with op.batch_alter_table("dispute_evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispute_evidence_dispute_id"), ["dispute_id"], unique=False
        )

    op.create_table(
        "dispute_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dispute_id", sa.Uuid(), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=False),
        sa.Column("author_side", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_user_id"], ["users.id"], name=op.f("fk_dispute_messages_author_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.id"],
            name=op.f("fk_dispute_messages_dispute_id_disputes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_messages")),
    )
    with op.batch_alter_table("dispute_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dispute_messages_dispute_at", ["dispute_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dispute_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_dispute_messages_dispute_at")

    op.drop_table("dispute_messages")
    with op.batch_alter_table("dispute_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_evidence_dispute_id"))

    op.drop_table("dispute_evidence")
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_disputes_one_live",
            sqlite_where=sa.text("status IN ('open', 'proposed')"),
            postgresql_where=sa.text("status IN ('open', 'proposed')"),
        )
        batch_op.drop_index("ix_disputes_provider_status")
        batch_op.drop_index("ix_disputes_pool_status")

    op.drop_table("disputes")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("uq_webhook_deliveries_endpoint_event")
        batch_op.drop_index("ix_webhook_deliveries_endpoint_created")
        batch_op.drop_index("ix_webhook_deliveries_due")

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_endpoints_org_id"))

    op.drop_table("webhook_endpoints")
    op.drop_table("mail_preferences")
