"""Tables of the embedded SQL search backend.

Three ordinary tables are portable and live in the shared metadata, so Alembic checks them like
any other model:

* ``search_documents``: one narrow row per searchable item: kind, ranking columns, ids and the
  fingerprint (for drift checks); ``search_contents`` holds its texts (for hits and highlights).
* ``search_facets``: one row per (document, facet, value). Filters and facet counts are index
  lookups on it; the primary key (doc_key, facet, value) serves "this document's values" and the
  second index (facet, value, doc_key) serves "documents with this value".
* ``search_terms``: how many documents use each plain Latin word, the vocabulary that typo
  tolerance ("modbos" → "modbus") draws its candidates from.

The full-text structure differs per engine and cannot be said in SQLAlchemy metadata, so the
migration creates it by hand and :func:`is_engine_specific` keeps it out of drift checks:

* SQLite: ``search_fts``, an FTS5 table over pre-tokenised text (FTS5 adds shadow tables named
  ``search_fts_*``).
* PostgreSQL: ``search_text(doc_key, tsv)`` with a GIN index on ``tsv``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base

# FTS5 column order matters: bm25() takes one weight per column, in this order. ``meta`` holds
# tokens for the document's kind and facet values, so filters are evaluated inside FTS5.
FTS_TABLE = "search_fts"
FTS_TEXT_COLUMNS: tuple[str, ...] = ("title", "provider", "tags", "summary", "body")
FTS_COLUMNS: tuple[str, ...] = (*FTS_TEXT_COLUMNS, "meta")
PG_TEXT_TABLE = "search_text"
PG_TEXT_INDEX = "ix_search_text_tsv"

# SQLite keys must be INTEGER to alias the rowid, which is what FTS5 rows are joined on; on
# PostgreSQL a BIGINT identity leaves room for any number of reindexes.
_KEY = BigInteger().with_variant(Integer(), "sqlite")


def is_engine_specific(table_name: str) -> bool:
    """Whether a table belongs to the per-engine full-text index, which metadata cannot
    describe; schema comparisons skip exactly these and check everything else."""
    return (
        table_name == FTS_TABLE
        or table_name.startswith(FTS_TABLE + "_")
        or table_name == PG_TEXT_TABLE
    )


class SearchDocumentRow(Base):
    """What ranking and filtering read for every match: kept narrow on purpose.

    A broad query (one Chinese character) matches tens of thousands of documents, each
    looked up here by key; with the texts in this table those lookups would walk ten times
    as many pages. The texts live in ``search_contents``, read for the hits of a page only.
    """

    __tablename__ = "search_documents"
    __table_args__ = (
        # Browsing without text (filters only) reads documents of one kind best-rated first.
        Index("ix_search_documents_kind_rating", "kind", "rating"),
    )

    # Internal surrogate: the FTS5 rowid and the PostgreSQL join key. It changes whenever a
    # document is rewritten, so nothing outside the backend may keep it.
    key: Mapped[int] = mapped_column(_KEY, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    rating: Mapped[float] = mapped_column(Float, default=0.0)
    trust: Mapped[float] = mapped_column(Float, default=0.0)
    published_at: Mapped[datetime | None]
    price_min_fen: Mapped[int | None] = mapped_column(BigInteger)
    # form_key(title): a query equal to the whole title ranks that document first.
    title_key: Mapped[str] = mapped_column(Text, default="")
    ref_id: Mapped[str] = mapped_column(String(64))
    provider_id: Mapped[str] = mapped_column(String(64), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")


class SearchContentRow(Base):
    """A document's texts, for hits and highlights."""

    __tablename__ = "search_contents"

    key: Mapped[int] = mapped_column(
        _KEY, ForeignKey("search_documents.key", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str] = mapped_column(Text)
    provider_name: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    facets: Mapped[dict[str, Any]]
    # The document's distinct plain Latin words, so an update or delete can take exactly its
    # own contribution back out of search_terms.
    latin_terms: Mapped[str] = mapped_column(Text, default="")


class SearchFacetRow(Base):
    __tablename__ = "search_facets"
    __table_args__ = (
        Index("ix_search_facets_lookup", "facet", "value", "doc_key"),
        # On SQLite the primary key becomes the table itself: every read here is by key, and
        # a separate rowid b-tree would only double the size of the biggest search table.
        {"sqlite_with_rowid": False},
    )

    doc_key: Mapped[int] = mapped_column(
        _KEY, ForeignKey("search_documents.key", ondelete="CASCADE"), primary_key=True
    )
    facet: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)


class SearchTermRow(Base):
    __tablename__ = "search_terms"

    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    docs: Mapped[int] = mapped_column(default=0)
