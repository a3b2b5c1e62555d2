"""rfqs, quotes, engagements

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The market flow: quote requests with their invitations, quotes (one row per revision) and
    # Q&A; engagements with milestones, change requests and subsidy records; the pools' market
    # settings; and the idempotency keys of the create/accept endpoints. New tables only.
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("endpoint", sa.String(length=120), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_idempotency_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint(
            "user_id", "endpoint", "key", name=op.f("uq_idempotency_keys_user_id_endpoint_key")
        ),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False
        )
    op.create_table(
        "market_pool_settings",
        sa.Column("pool_id", sa.Uuid(), nullable=False),
        sa.Column("invitation_cap", sa.Integer(), nullable=False),
        sa.Column("subsidy_programme", sa.String(length=200), nullable=False),
        sa.Column("subsidy_rate_bp", sa.Integer(), nullable=False),
        sa.Column("subsidy_cap_fen", sa.BigInteger(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "invitation_cap BETWEEN 1 AND 20", name=op.f("ck_market_pool_settings_invitation_cap")
        ),
        sa.CheckConstraint(
            "subsidy_cap_fen IS NULL OR subsidy_cap_fen >= 0",
            name=op.f("ck_market_pool_settings_subsidy_cap"),
        ),
        sa.CheckConstraint(
            "subsidy_rate_bp BETWEEN 0 AND 10000", name=op.f("ck_market_pool_settings_subsidy_rate")
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["pools.id"],
            name=op.f("fk_market_pool_settings_pool_id_pools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_market_pool_settings_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("pool_id", name=op.f("pk_market_pool_settings")),
    )
    op.create_table(
        "rfqs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("need_id", sa.Uuid(), nullable=True),
        sa.Column("sme_org_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("pool_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=True),
        sa.Column(
            "need_snapshot",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('cancelled', 'closed', 'expired', 'open')", name=op.f("ck_rfqs_status")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_rfqs_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_rfqs_need_id_needs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["pool_id"], ["pools.id"], name=op.f("fk_rfqs_pool_id_pools")),
        sa.ForeignKeyConstraint(
            ["sme_org_id"], ["organisations.id"], name=op.f("fk_rfqs_sme_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfqs")),
    )
    with op.batch_alter_table("rfqs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rfqs_need_id"), ["need_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rfqs_pool_id"), ["pool_id"], unique=False)
        batch_op.create_index("ix_rfqs_sme_created", ["sme_org_id", "created_at"], unique=False)
        batch_op.create_index("ix_rfqs_status_deadline", ["status", "deadline"], unique=False)
    op.create_table(
        "rfq_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rfq_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decline_reason", sa.Text(), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('awarded', 'closed', 'declined', 'expired', 'invited', 'quoted')",
            name=op.f("ck_rfq_invitations_status"),
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["users.id"], name=op.f("fk_rfq_invitations_invited_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_rfq_invitations_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["rfq_id"], ["rfqs.id"], name=op.f("fk_rfq_invitations_rfq_id_rfqs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfq_invitations")),
        sa.UniqueConstraint(
            "rfq_id", "provider_id", name=op.f("uq_rfq_invitations_rfq_id_provider_id")
        ),
    )
    with op.batch_alter_table("rfq_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rfq_invitations_provider_id"), ["provider_id"], unique=False
        )
    op.create_table(
        "quotes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("invitation_id", sa.Uuid(), nullable=False),
        sa.Column("rfq_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column(
            "line_items",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("pricing_model", sa.String(length=32), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("amount_unit", sa.String(length=40), nullable=False),
        sa.Column("one_off_fen", sa.BigInteger(), nullable=False),
        sa.Column("recurring_fen", sa.BigInteger(), nullable=False),
        sa.Column("recurring_months", sa.Integer(), nullable=True),
        sa.Column(
            "terms",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("concession_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "milestones",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column(
            "attachments",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("contract_value_fen", sa.BigInteger(), nullable=False),
        sa.Column("tco_3y_fen", sa.BigInteger(), nullable=False),
        sa.Column("abnormally_low", sa.Boolean(), nullable=False),
        sa.Column("reference_p10_fen", sa.BigInteger(), nullable=True),
        sa.Column("reference_count", sa.Integer(), nullable=False),
        sa.Column(
            "cost_breakdown",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("cost_breakdown_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('accepted', 'not_selected', 'submitted', 'superseded', 'withdrawn')",
            name=op.f("ck_quotes_status"),
        ),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_quotes_revision")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_quotes_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["rfq_invitations.id"],
            name=op.f("fk_quotes_invitation_id_rfq_invitations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_quotes_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["rfq_id"], ["rfqs.id"], name=op.f("fk_quotes_rfq_id_rfqs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint(
            "invitation_id", "revision", name=op.f("uq_quotes_invitation_id_revision")
        ),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index("ix_quotes_flagged", ["abnormally_low", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_quotes_provider_id"), ["provider_id"], unique=False)
        batch_op.create_index("ix_quotes_rfq_status", ["rfq_id", "status"], unique=False)
    op.create_table(
        "rfq_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("invitation_id", sa.Uuid(), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("side IN ('sme', 'provider')", name=op.f("ck_rfq_messages_side")),
        sa.ForeignKeyConstraint(
            ["author_user_id"], ["users.id"], name=op.f("fk_rfq_messages_author_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["rfq_invitations.id"],
            name=op.f("fk_rfq_messages_invitation_id_rfq_invitations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfq_messages")),
    )
    with op.batch_alter_table("rfq_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rfq_messages_invitation_created", ["invitation_id", "created_at"], unique=False
        )
    op.create_table(
        "engagements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rfq_id", sa.Uuid(), nullable=False),
        sa.Column("quote_id", sa.Uuid(), nullable=False),
        sa.Column("need_id", sa.Uuid(), nullable=True),
        sa.Column("pool_id", sa.Uuid(), nullable=True),
        sa.Column("sme_org_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("provider_org_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=True),
        sa.Column("pricing_model", sa.String(length=32), nullable=False),
        sa.Column("contract_reference", sa.String(length=100), nullable=False),
        sa.Column("contract_value_fen", sa.BigInteger(), nullable=False),
        sa.Column("list_fen", sa.BigInteger(), nullable=False),
        sa.Column("concession_fen", sa.BigInteger(), nullable=False),
        sa.Column("subsidy_fen", sa.BigInteger(), nullable=False),
        sa.Column("sme_net_fen", sa.BigInteger(), nullable=False),
        sa.Column("subsidy_rate_bp", sa.Integer(), nullable=False),
        sa.Column("subsidy_cap_fen", sa.BigInteger(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column(
            "kpis",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("maturity_before", sa.Integer(), nullable=True),
        sa.Column("maturity_after", sa.Integer(), nullable=True),
        sa.Column("delivery_note", sa.Text(), nullable=False),
        sa.Column("acceptance_note", sa.Text(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by_org_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('accepted', 'active', 'cancelled', 'completed', 'delivered')",
            name=op.f("ck_engagements_status"),
        ),
        sa.CheckConstraint(
            "maturity_after IS NULL OR maturity_after BETWEEN 1 AND 4",
            name=op.f("ck_engagements_ma"),
        ),
        sa.CheckConstraint(
            "maturity_before IS NULL OR maturity_before BETWEEN 1 AND 4",
            name=op.f("ck_engagements_mb"),
        ),
        sa.ForeignKeyConstraint(
            ["cancelled_by_org_id"],
            ["organisations.id"],
            name=op.f("fk_engagements_cancelled_by_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["need_id"],
            ["needs.id"],
            name=op.f("fk_engagements_need_id_needs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_engagements_pool_id_pools")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_engagements_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["provider_org_id"],
            ["organisations.id"],
            name=op.f("fk_engagements_provider_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_engagements_quote_id_quotes")
        ),
        sa.ForeignKeyConstraint(["rfq_id"], ["rfqs.id"], name=op.f("fk_engagements_rfq_id_rfqs")),
        sa.ForeignKeyConstraint(
            ["sme_org_id"],
            ["organisations.id"],
            name=op.f("fk_engagements_sme_org_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagements")),
        sa.UniqueConstraint("quote_id", name=op.f("uq_engagements_quote_id")),
        sa.UniqueConstraint("rfq_id", name=op.f("uq_engagements_rfq_id")),
    )
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_engagements_category_status", ["category", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_engagements_pool_id"), ["pool_id"], unique=False)
        batch_op.create_index(
            "ix_engagements_provider_status", ["provider_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_engagements_sme_created", ["sme_org_id", "created_at"], unique=False
        )
    op.create_table(
        "engagement_change_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("proposed_by", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("contract_value_before_fen", sa.BigInteger(), nullable=False),
        sa.Column("contract_value_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "milestone_amounts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('accepted', 'proposed', 'rejected', 'withdrawn')",
            name=op.f("ck_engagement_change_requests_status"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_engagement_change_requests_decided_by_users"),
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_engagement_change_requests_engagement_id_engagements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"],
            ["users.id"],
            name=op.f("fk_engagement_change_requests_proposed_by_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_change_requests")),
    )
    with op.batch_alter_table("engagement_change_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_engagement_change_requests_engagement_id"),
            ["engagement_id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_engagement_change_requests_one_open",
            ["engagement_id"],
            unique=True,
            sqlite_where=sa.text("status = 'proposed'"),
            postgresql_where=sa.text("status = 'proposed'"),
        )
    op.create_table(
        "engagement_milestones",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("deliverable", sa.Text(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("submission_note", sa.Text(), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('accepted', 'pending', 'rejected', 'submitted')",
            name=op.f("ck_engagement_milestones_status"),
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_engagement_milestones_engagement_id_engagements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_milestones")),
        sa.UniqueConstraint(
            "engagement_id",
            "position",
            name=op.f("uq_engagement_milestones_engagement_id_position"),
        ),
    )
    op.create_table(
        "subsidy_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("pool_id", sa.Uuid(), nullable=False),
        sa.Column("application_reference", sa.String(length=100), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("approved_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("applied_by", sa.Uuid(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('applied', 'approved', 'paid', 'rejected')",
            name=op.f("ck_subsidy_records_status"),
        ),
        sa.CheckConstraint("amount_fen >= 0", name=op.f("ck_subsidy_records_amount")),
        sa.ForeignKeyConstraint(
            ["applied_by"], ["users.id"], name=op.f("fk_subsidy_records_applied_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_subsidy_records_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_subsidy_records_engagement_id_engagements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_subsidy_records_pool_id_pools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_records")),
        sa.UniqueConstraint("engagement_id", name=op.f("uq_subsidy_records_engagement_id")),
    )
    with op.batch_alter_table("subsidy_records", schema=None) as batch_op:
        batch_op.create_index("ix_subsidy_records_pool_status", ["pool_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("subsidy_records", schema=None) as batch_op:
        batch_op.drop_index("ix_subsidy_records_pool_status")
    op.drop_table("subsidy_records")
    op.drop_table("engagement_milestones")
    with op.batch_alter_table("engagement_change_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_engagement_change_requests_one_open",
            sqlite_where=sa.text("status = 'proposed'"),
            postgresql_where=sa.text("status = 'proposed'"),
        )
        batch_op.drop_index(batch_op.f("ix_engagement_change_requests_engagement_id"))
    op.drop_table("engagement_change_requests")
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_index("ix_engagements_sme_created")
        batch_op.drop_index("ix_engagements_provider_status")
        batch_op.drop_index(batch_op.f("ix_engagements_pool_id"))
        batch_op.drop_index("ix_engagements_category_status")
    op.drop_table("engagements")
    with op.batch_alter_table("rfq_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_rfq_messages_invitation_created")
    op.drop_table("rfq_messages")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index("ix_quotes_rfq_status")
        batch_op.drop_index(batch_op.f("ix_quotes_provider_id"))
        batch_op.drop_index("ix_quotes_flagged")
    op.drop_table("quotes")
    with op.batch_alter_table("rfq_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rfq_invitations_provider_id"))
    op.drop_table("rfq_invitations")
    with op.batch_alter_table("rfqs", schema=None) as batch_op:
        batch_op.drop_index("ix_rfqs_status_deadline")
        batch_op.drop_index("ix_rfqs_sme_created")
        batch_op.drop_index(batch_op.f("ix_rfqs_pool_id"))
        batch_op.drop_index(batch_op.f("ix_rfqs_need_id"))
    op.drop_table("rfqs")
    op.drop_table("market_pool_settings")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))
    op.drop_table("idempotency_keys")
