"""search index: documents, facets, vocabulary, and the engine's full-text structure

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Spelled out here rather than imported: a revision must keep creating what it created on the
# day it was written, whatever search.sql_backend later becomes. A test checks that the
# backend's own copy (used to rebuild the table on reindex) still matches.
FTS_CREATE_SQL = (
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, provider, tags, summary, body, meta, "
    "tokenize = 'ascii', prefix = '1')"
)


def upgrade() -> None:
    op.create_table('search_documents',
    sa.Column('key', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('rating', sa.Float(), nullable=False),
    sa.Column('trust', sa.Float(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('price_min_fen', sa.BigInteger(), nullable=True),
    sa.Column('title_key', sa.Text(), nullable=False),
    sa.Column('ref_id', sa.String(length=64), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_search_documents')),
    sa.UniqueConstraint('id', name=op.f('uq_search_documents_id'))
    )
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.create_index('ix_search_documents_kind_rating', ['kind', 'rating'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_documents_provider_id'), ['provider_id'], unique=False)

    op.create_table('search_contents',
    sa.Column('key', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('provider_name', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('facets', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('latin_terms', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['key'], ['search_documents.key'], name=op.f('fk_search_contents_key_search_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_search_contents'))
    )

    op.create_table('search_facets',
    sa.Column('doc_key', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('facet', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['doc_key'], ['search_documents.key'], name=op.f('fk_search_facets_doc_key_search_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('doc_key', 'facet', 'value', name=op.f('pk_search_facets')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('search_facets', schema=None) as batch_op:
        batch_op.create_index('ix_search_facets_lookup', ['facet', 'value', 'doc_key'], unique=False)

    op.create_table('search_terms',
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('docs', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('term', name=op.f('pk_search_terms'))
    )

    # The full-text structure, which SQLAlchemy metadata cannot describe (and migrations/
    # metadata.py therefore leaves out of drift checks).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(FTS_CREATE_SQL)
    else:
        op.create_table('search_text',
        sa.Column('doc_key', sa.BigInteger(), nullable=False),
        sa.Column('tsv', postgresql.TSVECTOR(), nullable=False),
        sa.ForeignKeyConstraint(['doc_key'], ['search_documents.key'], name=op.f('fk_search_text_doc_key_search_documents'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('doc_key', name=op.f('pk_search_text'))
        )
        op.create_index('ix_search_text_tsv', 'search_text', ['tsv'], unique=False, postgresql_using='gin')


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE search_fts")
    else:
        op.drop_index('ix_search_text_tsv', table_name='search_text', postgresql_using='gin')
        op.drop_table('search_text')

    op.drop_table('search_terms')
    op.drop_table('search_contents')
    with op.batch_alter_table('search_facets', schema=None) as batch_op:
        batch_op.drop_index('ix_search_facets_lookup')

    op.drop_table('search_facets')
    with op.batch_alter_table('search_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_documents_provider_id'))
        batch_op.drop_index('ix_search_documents_kind_rating')

    op.drop_table('search_documents')
