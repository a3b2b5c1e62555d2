"""The embedded search backend: full-text search inside the application database.

No server to run: on SQLite the text lives in an FTS5 table, on PostgreSQL in a ``tsvector``
column with a GIN index, and both hold the same tokens, produced by :mod:`search.text`. The
engines never tokenise anything themselves:

* FTS5 uses the ``ascii`` tokenizer, which splits on ASCII spaces and punctuation only and
  treats every non-ASCII character as part of a word. Our tokens contain no ASCII punctuation,
  so each space-separated token survives exactly (Han bigrams, rare Extension B characters,
  accented Latin), and nothing is case-folded or stripped of diacritics behind our back.
* On PostgreSQL the ``tsvector`` is written as a literal with explicit positions and weights
  rather than through ``to_tsvector``: the text-search parser would re-split tokens by its own
  (locale-dependent) rules, and concatenating per-field vectors would place the last token of
  one field next to the first of the next, letting a phrase run across fields.

A query (:class:`search.text.Query`) is AND over groups, OR over a group's phrases; each phrase
becomes an FTS5 phrase (``"西门 门子"``, ``"云"*``) or a tsquery phrase (``'西门' <-> '门子'``,
``'云':*``). Fields are weighted title > provider name and tags > summary > body, by bm25()
column weights on SQLite and by ts_rank_cd() weight classes on PostgreSQL.

The text match is evaluated first, as a materialised CTE, so a selective filter cannot turn the
plan around into scanning documents and re-checking their text; the query-plan tests hold both
engines to that. The document's kind and facet values are tokens of the text index too (FTS5's
``meta`` column; ``#``-prefixed lexemes in the tsvector), so kind and filters are AND-ed into
the match and the index intersects them before any document is ranked; browsing by filters
without text uses the same path. Facet counts are a GROUP BY over the ``search_facets`` rows of
the result set, each document's rows read by primary key.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from itertools import chain, islice
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Engine,
    Float,
    Select,
    String,
    Table,
    Text,
    bindparam,
    case,
    cast,
    column,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import CTE, ColumnClause

from core.database import Base
from search.backend import (
    FACETS,
    Hit,
    IndexState,
    SearchDocument,
    SearchRequest,
    SearchResult,
    Suggestion,
)
from search.sql_schema import (
    FTS_COLUMNS,
    FTS_TABLE,
    FTS_TEXT_COLUMNS,
    PG_TEXT_INDEX,
    PG_TEXT_TABLE,
    SearchContentRow,
    SearchDocumentRow,
    SearchFacetRow,
    SearchTermRow,
)
from search.synonyms import SynonymTable, form_key
from search.text import (
    Phrase,
    Query,
    document_terms,
    highlight,
    name_terms,
    parse_query,
    typo_candidates,
)

__all__ = [
    "FTS_CREATE_SQL",
    "MAX_PAGE_SIZE",
    "SqlBackend",
    "fts5_expression",
    "maintain",
    "tsquery_text",
]


def _table(model: type[Base]) -> Table:
    found = model.__table__
    assert isinstance(found, Table)
    return found


DOCS = _table(SearchDocumentRow)
CONTENTS = _table(SearchContentRow)
FACET_ROWS = _table(SearchFacetRow)
TERMS = _table(SearchTermRow)
_FACET_LOOKUP = next(
    index for index in FACET_ROWS.indexes if index.name == "ix_search_facets_lookup"
)

# Kept identical to the migration's statement: a full reindex on SQLite drops and recreates the
# FTS table (deleting every row of a regular FTS5 table one by one takes far longer), and a test
# compares the two. A prefix index of one character serves the broadest prefix queries, single
# Han characters (云); a two-character one would triple the indexing work for little gain.
FTS_CREATE_SQL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
    + ", ".join(FTS_COLUMNS)
    + ", tokenize = 'ascii', prefix = '1')"
)
# Also the migration's statement; a full reindex rebuilds the GIN index from scratch, which is
# many times faster than growing it one row at a time.
PG_INDEX_CREATE_SQL = f"CREATE INDEX {PG_TEXT_INDEX} ON {PG_TEXT_TABLE} USING gin (tsv)"
# bm25() weights, one per FTS column (title, provider, tags, summary, body, meta): a filter
# matching the meta column must not change the ranking.
BM25_WEIGHTS: tuple[float, ...] = (10.0, 4.0, 4.0, 2.0, 1.0, 0.0)
# The same fields as PostgreSQL weight classes, and ts_rank_cd's weights for {D, C, B, A}.
PG_FIELD_CLASSES: tuple[str, ...] = ("A", "B", "B", "C", "D")
PG_RANK_WEIGHTS = "'{0.1, 0.2, 0.4, 1.0}'::float4[]"
# tsvector positions stop at 16383; later tokens share the last position (only phrases that far
# into a long body can be affected, on PostgreSQL).
PG_MAX_POSITION = 16383
# Marks the filter lexemes in a tsvector (see tsvector_text).
PG_META_MARK = "#"
# Tokens longer than this (a pasted URL glued into one word) are dropped on both engines alike:
# nobody types them, and PostgreSQL refuses lexemes beyond 2 KB.
MAX_TOKEN_CHARS = 64
MAX_PAGE_SIZE = 100
# Plain Latin words kept for typo correction: a 5-letter query word may be one edit from a
# 4-letter one, and nothing longer than this is a word anyone mistypes.
_VOCABULARY_LENGTHS = range(4, 41)
_BATCH = 500
# SQLite reads the index through a memory map rather than read() calls into a small page cache:
# a broad query visits tens of thousands of pages. Address space only; the OS shares the pages.
SQLITE_MMAP_BYTES = 1 << 31
# FTS5 settings: leaf page size (default 1000) and the incremental merge level restored after
# a bulk load (FTS5's default).
FTS_PAGE_BYTES = 4050
FTS_AUTOMERGE = 4
# Page cache for the connection doing a full reindex (KiB), instead of SQLite's 2 MB default.
BULK_CACHE_KIB = 256 * 1024


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


# --- query texts ------------------------------------------------------------------------------


def _fts5_phrase(phrase: Phrase) -> str:
    body = " ".join(token.replace('"', '""') for token in phrase.tokens)
    return f'"{body}"' + ("*" if phrase.prefix else "")


def fts5_expression(query: Query, *, columns: Sequence[str] = FTS_TEXT_COLUMNS) -> str:
    """The FTS5 MATCH expression of ``query``, restricted to ``columns`` (the text columns:
    typed words must never match the meta column's filter tokens)."""
    groups = ["(" + " OR ".join(_fts5_phrase(p) for p in group) + ")" for group in query.must]
    return "{" + " ".join(columns) + "} : (" + " AND ".join(groups) + ")"


def kind_token(kind: str) -> str:
    return f"k{kind}"


def facet_token(facet: str, value: str) -> str:
    """The meta-column token of a facet value: letters and digits only (the ascii tokenizer
    splits on ASCII punctuation), fixed length, and 64 bits, so two values never share one."""
    digest = hashlib.blake2b(f"{facet}\x1f{value}".encode(), digest_size=8).hexdigest()
    return f"f{digest}"


def fts5_filter_expression(kind: str, filters: Mapping[str, Sequence[str]]) -> str:
    """Kind AND every filter (OR within a filter), as meta-column FTS5 conditions."""
    parts = [f'meta : ("{kind_token(kind)}")']
    for name, values in filters.items():
        wanted = list(dict.fromkeys(values))
        if wanted:
            tokens = " OR ".join(f'"{facet_token(name, value)}"' for value in wanted)
            parts.append(f"meta : ({tokens})")
    return " AND ".join(parts)


def _pg_quote(token: str) -> str:
    return token.replace("\\", "\\\\").replace("'", "''")


def _pg_phrase(phrase: Phrase, weight: str) -> str:
    last = len(phrase.tokens) - 1
    lexemes = []
    for index, token in enumerate(phrase.tokens):
        marks = ("*" if phrase.prefix and index == last else "") + weight
        lexemes.append(f"'{_pg_quote(token)}'" + (f":{marks}" if marks else ""))
    return " <-> ".join(lexemes)


def tsquery_text(query: Query, *, weight: str = "") -> str:
    """The tsquery (as text, to be cast) of ``query``; ``weight`` restricts it to a class."""
    groups = ["(" + " | ".join(_pg_phrase(p, weight) for p in group) + ")" for group in query.must]
    return " & ".join(groups)


# --- document texts ---------------------------------------------------------------------------


def _bounded(tokens: Sequence[str]) -> tuple[str, ...]:
    # The common case (no overlong token) is checked at C speed before filtering in Python.
    if max(map(len, tokens), default=0) <= MAX_TOKEN_CHARS:
        return tuple(tokens)
    return tuple(token for token in tokens if len(token) <= MAX_TOKEN_CHARS)


# Pinyin conversion is the dearest step of indexing (a few hundred microseconds a name), and
# a provider's name recurs in every one of its solutions, as taxonomy names recur in tags.
# Bounded caches: enough for the names of a reindex chunk, not for a whole catalogue.
@lru_cache(maxsize=8192)
def _name_tokens(name: str) -> tuple[str, ...]:
    return _bounded(name_terms(name))


@lru_cache(maxsize=8192)
def _tag_tokens(tag: str) -> tuple[str, ...]:
    # Taxonomy names in tags, and provider names, which recur across a provider's solutions.
    return _bounded(document_terms(tag))


def field_tokens(document: SearchDocument) -> tuple[tuple[str, ...], ...]:
    """Token lists per text column: title, provider, tags, summary, body.

    Titles get pinyin (:func:`search.text.name_terms`): a solution's title, or a provider's
    name on its own document, which is where pinyin and initials find a provider. The
    provider's name on each of its solutions is plain text: its pinyin there would nearly
    double the index for a way of finding solutions nobody needs. A provider's own document
    leaves that field empty rather than counting its name twice. Tags are tokenised one by
    one, so no phrase runs from one tag into the next.
    """
    provider = _tag_tokens(document.provider_name) if document.kind == "solution" else ()
    return (
        _name_tokens(document.title),
        provider,
        tuple(token for tag in document.tags for token in _tag_tokens(tag)),
        _bounded(document_terms(document.summary)),
        _bounded(document_terms(document.body)),
    )


def meta_tokens(document: SearchDocument, facets: Mapping[str, Sequence[str]]) -> list[str]:
    """The document's kind and facet values as filter tokens."""
    tokens = [kind_token(document.kind)]
    tokens.extend(facet_token(name, value) for name, values in facets.items() for value in values)
    return tokens


# A plain Latin word of vocabulary length, as a whole space-separated token.
_LATIN_WORD = re.compile(
    rf"(?<!\S)[a-z]{{{_VOCABULARY_LENGTHS.start},{_VOCABULARY_LENGTHS.stop - 1}}}(?!\S)"
)


def latin_words(document: SearchDocument, fields: Sequence[Sequence[str]]) -> list[str]:
    """The document's distinct plain Latin words: the typo-correction vocabulary it adds.

    ``fields`` are its :func:`field_tokens`. Pinyin is left out on purpose ("did you mean
    changzhoushi" helps nobody), so the title is tokenised again without it. Tokens are
    normalised (lower-case), so one regular expression over the joined text finds them.
    """
    joined = " ".join(chain(document_terms(document.title), *fields[2:]))
    return sorted(set(_LATIN_WORD.findall(joined)))


def tsvector_text(fields: Sequence[Sequence[str]], meta: Sequence[str] = ()) -> str:
    """A tsvector literal with every token at its position and its field's weight class.

    One unused position separates fields, so ``<->`` never joins the end of one field to the
    start of the next, as FTS5's separate columns never do. ``meta`` tokens (kind and facet
    values) follow as ``#``-prefixed lexemes: no query token can contain ``#``, so typed
    words never match them, as FTS5's column filter keeps them from the meta column.
    """
    positions: dict[str, list[str]] = {}
    position = 0
    for tokens, weight in zip(fields, PG_FIELD_CLASSES, strict=True):
        for token in tokens:
            position += 1
            positions.setdefault(token, []).append(f"{min(position, PG_MAX_POSITION)}{weight}")
        position += 1
    for token in meta:
        position += 1
        positions.setdefault(PG_META_MARK + token, []).append(f"{min(position, PG_MAX_POSITION)}D")
    return " ".join(f"'{_pg_quote(token)}':{','.join(at)}" for token, at in positions.items())


def pg_filter_tsquery(kind: str, filters: Mapping[str, Sequence[str]]) -> str:
    """Kind AND every filter (OR within a filter), as tsquery text over the meta lexemes."""
    parts = [f"'{PG_META_MARK}{kind_token(kind)}'"]
    for name, values in filters.items():
        wanted = list(dict.fromkeys(values))
        if wanted:
            tokens = " | ".join(f"'{PG_META_MARK}{facet_token(name, v)}'" for v in wanted)
            parts.append(f"({tokens})")
    return " & ".join(parts)


# --- the backend ------------------------------------------------------------------------------


class SqlBackend:
    """:class:`search.backend.SearchBackend` on the session's own database.

    It works inside the caller's transaction: an outbox handler's updates commit (or roll
    back) with the event, and a search sees the session's own uncommitted writes.
    """

    name = "sql"

    def __init__(self, session: Session, *, synonyms: SynonymTable | None = None) -> None:
        self.session = session
        self.synonyms = synonyms
        self.dialect = session.get_bind().dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise RuntimeError(f"the SQL search backend needs SQLite or PostgreSQL: {self.dialect}")

    def _tune(self) -> None:
        """Once per SQLite connection: read through a memory map (see SQLITE_MMAP_BYTES)."""
        if self.dialect != "sqlite":
            return
        connection = self.session.connection()
        if not connection.info.get("search_mmap"):
            connection.exec_driver_sql(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            connection.info["search_mmap"] = True

    # -- writing -------------------------------------------------------------------------------

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        latest = {document.id: document for document in documents}
        if not latest:
            return
        removed = self._remove(list(latest))
        added: Counter[str] = Counter()
        for batch in _batched(latest.values(), _BATCH):
            added.update(self._insert(batch))
        self._count_terms({term: added[term] - removed[term] for term in added | removed})

    def delete(self, ids: Sequence[str]) -> None:
        removed = self._remove(list(dict.fromkeys(ids)))
        self._count_terms({term: -count for term, count in removed.items()})

    def reindex(self, documents: Iterable[SearchDocument]) -> int:
        """Replace the whole index in the caller's transaction: readers see the old index
        until it commits (SQLite WAL snapshots, PostgreSQL MVCC), then all of the new one."""
        self._clear()
        restore = self._prepare_bulk_load()
        seen: set[str] = set()
        words: Counter[str] = Counter()
        count = 0
        for batch in _batched(documents, _BATCH):
            # A document listed twice keeps its first version, as a unique index would.
            fresh = []
            for document in batch:
                if document.id not in seen:
                    seen.add(document.id)
                    fresh.append(document)
            words.update(self._insert(fresh))
            count += len(fresh)
        self._count_terms(dict(words))
        self._finish_bulk_load(restore)
        return count

    def _clear(self) -> None:
        session = self.session
        if self.dialect == "sqlite":
            session.execute(text(f"DROP TABLE IF EXISTS {FTS_TABLE}"))
            session.execute(text(FTS_CREATE_SQL))
            # Leaf pages of 4 KB instead of 1 KB: fewer, fuller pages for doclists that span
            # tens of thousands of documents (a stored setting of the new table).
            self._fts_setting("pgsz", FTS_PAGE_BYTES)
        else:
            session.execute(text(f"DELETE FROM {PG_TEXT_TABLE}"))
        for table_ in (FACET_ROWS, CONTENTS, DOCS, TERMS):
            session.execute(delete(table_))

    def _prepare_bulk_load(self) -> int | None:
        """Drop the indexes that a bulk load would update row by row at random places, to
        build them once at the end (a sort instead of millions of scattered page writes)."""
        connection = self.session.connection()
        _FACET_LOOKUP.drop(connection)
        if self.dialect == "postgresql":
            connection.exec_driver_sql(f"DROP INDEX {PG_TEXT_INDEX}")
            connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            return None
        # SQLite's default page cache (2 MB) would thrash on the remaining indexes (the
        # document ids, the facet primary key); give this connection room while it loads.
        previous = int(connection.exec_driver_sql("PRAGMA cache_size").scalar() or 0)
        connection.exec_driver_sql(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
        # No merging of FTS5 segments while loading: 'optimize' merges them all once at the end.
        self._fts_setting("automerge", 0)
        return previous

    def _fts_setting(self, name: str, value: int) -> None:
        self.session.execute(
            text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES (:name, :value)"),
            {"name": name, "value": value},
        )

    def _finish_bulk_load(self, restore: int | None) -> None:
        connection = self.session.connection()
        _FACET_LOOKUP.create(connection)
        if self.dialect == "sqlite":
            # Merges the FTS5 segments a bulk load leaves behind into one b-tree per index.
            connection.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
            self._fts_setting("automerge", FTS_AUTOMERGE)
            # Statistics from a sample are as good for the planner as from every row.
            connection.exec_driver_sql("PRAGMA analysis_limit = 1000")
            connection.exec_driver_sql("ANALYZE search_documents")
            connection.exec_driver_sql("ANALYZE search_facets")
            connection.exec_driver_sql(f"PRAGMA cache_size = {restore}")
        else:
            connection.exec_driver_sql(PG_INDEX_CREATE_SQL)
            connection.exec_driver_sql(f"ANALYZE {PG_TEXT_TABLE}")
            connection.exec_driver_sql("ANALYZE search_documents")
            connection.exec_driver_sql("ANALYZE search_facets")

    def _insert(self, documents: Sequence[SearchDocument]) -> Counter[str]:
        if not documents:
            return Counter()
        words: Counter[str] = Counter()
        rows: list[dict[str, Any]] = []
        contents: list[dict[str, Any]] = []
        facet_rows: list[tuple[int, str, str]] = []
        text_rows: list[tuple[Any, ...]] = []
        for key, document in zip(self._new_keys(len(documents)), documents, strict=True):
            fields = field_tokens(document)
            latin = latin_words(document, fields)
            words.update(latin)
            facets = {
                name: list(dict.fromkeys(values))
                for name, values in document.facets.items()
                if name in FACETS and values
            }
            rows.append(
                {
                    "key": key,
                    "id": document.id,
                    "kind": document.kind,
                    "rating": float(document.rating),
                    "trust": float(document.trust),
                    "published_at": document.published_at,
                    "price_min_fen": document.price_min_fen,
                    "title_key": form_key(document.title),
                    "ref_id": document.ref_id,
                    "provider_id": document.provider_id,
                    "fingerprint": document.fingerprint,
                }
            )
            contents.append(
                {
                    "key": key,
                    "title": document.title,
                    "provider_name": document.provider_name,
                    "summary": document.summary,
                    "body": document.body,
                    "facets": facets,
                    "latin_terms": " ".join(latin),
                }
            )
            facet_rows.extend(
                (key, name, value) for name, values in facets.items() for value in values
            )
            if self.dialect == "sqlite":
                texts = (" ".join(tokens) for tokens in fields)
                text_rows.append((key, *texts, " ".join(meta_tokens(document, facets))))
            else:
                text_rows.append((key, tsvector_text(fields, meta_tokens(document, facets))))
        self.session.execute(insert(DOCS), rows)
        self.session.execute(insert(CONTENTS), contents)
        self._bulk("search_facets", ("doc_key", "facet", "value"), facet_rows)
        if self.dialect == "sqlite":
            self._bulk(FTS_TABLE, ("rowid", *FTS_COLUMNS), text_rows)
        else:
            self._bulk(PG_TEXT_TABLE, ("doc_key", "tsv"), text_rows)
        return words

    def _new_keys(self, count: int) -> list[int]:
        """Keys for new documents, reserved without a round trip per row."""
        if self.dialect == "sqlite":
            # SQLite has one writer at a time, and this transaction has already written (the
            # delete of replaced documents), so no one else can take these keys meanwhile.
            highest = int(self.session.scalar(select(func.coalesce(func.max(DOCS.c.key), 0))) or 0)
            return list(range(highest + 1, highest + 1 + count))
        reserved = self.session.scalars(
            text(
                "SELECT nextval(pg_get_serial_sequence('search_documents', 'key')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": count},
        )
        return list(reserved)

    def _bulk(self, table_name: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """Insert plain rows below SQLAlchemy: a reindex writes millions of facet rows, and
        per-row parameter processing would cost more than the database's own work."""
        if not rows:
            return
        connection = self.session.connection()
        if self.dialect == "sqlite":
            placeholders = ", ".join("?" for _ in columns)
            connection.exec_driver_sql(
                f"INSERT INTO {table_name} ({', '.join(columns)}) VALUES ({placeholders})", rows
            )
            return
        # COPY is PostgreSQL's bulk path, several times faster than batched INSERTs; the
        # tsvector literals are parsed by the column's own input function.
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table_name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _remove(self, ids: Sequence[str]) -> Counter[str]:
        """Delete documents by id; returns the Latin words they had contributed."""
        words: Counter[str] = Counter()
        for batch in _batched(ids, _BATCH):
            found = self.session.execute(
                select(DOCS.c.key, CONTENTS.c.latin_terms)
                .join(CONTENTS, CONTENTS.c.key == DOCS.c.key)
                .where(DOCS.c.id.in_(batch))
            ).all()
            if not found:
                continue
            keys = [key for key, _ in found]
            for _, latin in found:
                words.update(latin.split())
            if self.dialect == "sqlite":
                # One rowid at a time: FTS5 serves "rowid = ?" directly, an IN list not always.
                self.session.connection().exec_driver_sql(
                    f"DELETE FROM {FTS_TABLE} WHERE rowid = ?", [(k,) for k in keys]
                )
            else:
                self.session.execute(
                    text(f"DELETE FROM {PG_TEXT_TABLE} WHERE doc_key = ANY(:keys)"), {"keys": keys}
                )
            for table_, key_column in (
                (FACET_ROWS, FACET_ROWS.c.doc_key),
                (CONTENTS, CONTENTS.c.key),
                (DOCS, DOCS.c.key),
            ):
                self.session.execute(delete(table_).where(key_column.in_(keys)))
        return words

    def _count_terms(self, deltas: Mapping[str, int]) -> None:
        changes = [{"term": term, "docs": n} for term, n in sorted(deltas.items()) if n]
        if not changes:
            return
        # Sorted, so two writers always lock term rows in the same order and cannot deadlock.
        for batch in _batched(changes, _BATCH):
            self.session.execute(
                text(
                    "INSERT INTO search_terms (term, docs) VALUES (:term, :docs) "
                    "ON CONFLICT (term) DO UPDATE SET docs = search_terms.docs + excluded.docs"
                ),
                batch,
            )
        self.session.execute(delete(TERMS).where(TERMS.c.docs <= 0))

    # -- reading -------------------------------------------------------------------------------

    def state(self) -> IndexState:
        rows = self.session.execute(select(DOCS.c.id, DOCS.c.fingerprint)).all()
        return IndexState(fingerprints=dict(rows))

    def health(self) -> dict[str, Any]:
        info: dict[str, Any] = {"backend": "embedded", "engine": self.dialect}
        probe = FTS_TABLE if self.dialect == "sqlite" else PG_TEXT_TABLE
        try:
            # A savepoint, so a failed probe cannot poison the caller's PostgreSQL transaction.
            with self.session.begin_nested():
                self.session.execute(text(f"SELECT 1 FROM {probe} LIMIT 1")).all()
                documents = self.session.scalar(select(func.count()).select_from(DOCS))
        except SQLAlchemyError as exc:
            return {**info, "status": "error", "message": f"{type(exc).__name__}: index missing?"}
        return {**info, "status": "ok", "documents": int(documents or 0)}

    def search(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        _check_request(request)
        self._tune()
        if not request.q.strip():
            result = self._run(None, request)
        else:
            query = parse_query(request.q, self.synonyms)
            if query.is_empty:
                # Only punctuation: nothing to look for, and listing everything would surprise.
                result = SearchResult(hits=(), total=0, facets={f: {} for f in request.facets})
            else:
                result = self._run(query, request)
                if result.total == 0:
                    result = self._typo_tolerant(query, request) or result
        took = round((time.perf_counter() - started) * 1000, 2)
        return SearchResult(result.hits, result.total, result.facets, result.suggestion, took)

    def _typo_tolerant(self, query: Query, request: SearchRequest) -> SearchResult | None:
        """Re-run with mistyped Latin words replaced by their closest indexed word."""
        words = list(query.words)
        vocabulary: list[str] | None = None
        changed = False
        for index, word in enumerate(words):
            if not (word.isascii() and word.isalpha() and len(word) >= 5):
                continue
            if vocabulary is None:
                vocabulary = list(
                    self.session.scalars(select(TERMS.c.term).where(TERMS.c.docs > 0))
                )
            candidates = typo_candidates(word, vocabulary)
            if candidates:
                words[index], changed = candidates[0], True
        if not changed:
            return None
        suggestion = " ".join(words)
        corrected = parse_query(suggestion, self.synonyms)
        found = self._run(corrected, request)
        return SearchResult(found.hits, found.total, found.facets, suggestion)

    def suggest(self, prefix: str, *, limit: int = 8) -> list[str]:
        return [item.text for item in self.suggest_items(prefix, limit=limit)]

    def suggest_items(self, prefix: str, *, limit: int = 8) -> list[Suggestion]:
        """Titles and provider names matching what has been typed so far, in the title field
        only: from any position in Chinese, by word prefix in Latin and by pinyin (full or
        initials). Titles that start with the text come first. No synonyms: a completion
        should complete what was typed, not replace it."""
        query = parse_query(prefix)
        if query.is_empty or limit < 1:
            return []
        self._tune()
        matched = self._match_cte(query, None, title_only=True)
        key = form_key(prefix)
        starts = case((func.substr(DOCS.c.title_key, 1, len(key)) == key, 1), else_=0)
        rows = self.session.execute(
            select(CONTENTS.c.title, DOCS.c.kind, DOCS.c.ref_id)
            .select_from(matched)
            .join(DOCS, DOCS.c.key == self._not_driving(matched.c.k, "m"))
            .join(CONTENTS, CONTENTS.c.key == DOCS.c.key)
            .order_by(starts.desc(), matched.c.score.desc(), DOCS.c.rating.desc(), DOCS.c.key)
            .limit(limit * 3)
        ).all()
        found: dict[str, Suggestion] = {}
        for title, kind, ref_id in rows:
            found.setdefault(title, Suggestion(text=title, kind=kind, ref_id=ref_id))
        return list(found.values())[:limit]

    def explain(self, request: SearchRequest) -> str:
        """The engine's plan for ``request``'s statement, for query-plan tests."""
        _check_request(request)
        query = parse_query(request.q, self.synonyms) if request.q.strip() else None
        statement = self._statement(query, request)
        bind = self.session.get_bind()
        sql = str(statement.compile(bind, compile_kwargs={"literal_binds": True}))
        prefix = "EXPLAIN QUERY PLAN " if self.dialect == "sqlite" else "EXPLAIN "
        rows = self.session.connection().exec_driver_sql(prefix + sql).all()
        return "\n".join(str(row[-1]) for row in rows)

    # -- statements ----------------------------------------------------------------------------

    def _not_driving(self, column_: ColumnElement[Any], table_name: str) -> ColumnElement[Any]:
        """``column_``, but on SQLite unusable as an index key (a unary plus, as SQLite's
        query-planner documentation advises). Applied to the side that must stay the outer
        loop (the text matches), it leaves the planner one plan: walk the matches and reach
        everything else by primary key. PostgreSQL's cost-based planner needs no such help."""
        if self.dialect != "sqlite":
            return column_
        return literal_column(f"+{table_name}.{column_.key}", column_.type)

    def _match_cte(
        self, query: Query | None, request: SearchRequest | None, *, title_only: bool = False
    ) -> CTE:
        """Keys and scores (higher is better) of the documents matching ``query``, computed
        once before anything else looks at them. On SQLite the request's kind and filters are
        part of the match (``query`` may then be None: browsing by filters)."""
        parts: list[str] = []
        score: ColumnElement[Any] = literal(0.0, Float)
        if self.dialect == "sqlite":
            fts = table(FTS_TABLE, column("rowid", BigInteger))
            fts_name: ColumnClause[Any] = literal_column(FTS_TABLE)
            if query is not None:
                columns = ("title",) if title_only else FTS_TEXT_COLUMNS
                parts.append(fts5_expression(query, columns=columns))
                score = -func.bm25(fts_name, *BM25_WEIGHTS)
            if request is not None:
                parts.append(fts5_filter_expression(request.kind, request.filters))
            matched = select(fts.c.rowid.label("k"), score.label("score")).where(
                fts_name.op("MATCH")(bindparam("match", " AND ".join(parts), type_=String))
            )
        else:
            pg = table(PG_TEXT_TABLE, column("doc_key", BigInteger), column("tsv", TSVECTOR))
            if query is not None:
                parts.append(tsquery_text(query, weight="A" if title_only else ""))
                # Ranked by the typed text alone: the filter lexemes must not move anything.
                ranked = cast(bindparam("rank", tsquery_text(query), Text), TSQUERY)
                weights: ColumnClause[Any] = literal_column(PG_RANK_WEIGHTS)
                score = func.ts_rank_cd(weights, pg.c.tsv, ranked, type_=Float)
            if request is not None:
                parts.append(pg_filter_tsquery(request.kind, request.filters))
            matching = cast(bindparam("match", " & ".join(parts), Text), TSQUERY)
            matched = select(pg.c.doc_key.label("k"), score.label("score")).where(
                pg.c.tsv.op("@@")(matching)
            )
        return matched.cte("m").prefix_with("MATERIALIZED")

    def _statement(self, query: Query | None, request: SearchRequest) -> CompoundSelect:
        """One round trip for a whole result page: page keys, the total and facet counts,
        all over one materialised result set, tagged by ``part`` (0, 1, 2)."""
        documents = DOCS
        ranking = (
            documents.c.rating,
            documents.c.trust,
            documents.c.published_at,
            documents.c.price_min_fen,
        )
        exact_key = form_key(request.q)
        exact = case((documents.c.title_key == exact_key, 1), else_=0) if exact_key else literal(0)
        # Kind and filters are part of the text-index match, with or without text.
        matched = self._match_cte(query, request)
        results: Select[Any] = select(
            documents.c.key.label("k"), matched.c.score, exact.label("exact"), *ranking
        ).select_from(
            matched.join(documents, documents.c.key == self._not_driving(matched.c.k, "m"))
        )
        found = results.cte("r").prefix_with("MATERIALIZED")
        order = _ordering(found, request.sort)
        page = (
            select(found.c.k, func.row_number().over(order_by=order).label("n"))
            .order_by(*order)
            .limit(request.size)
            .offset((request.page - 1) * request.size)
            .subquery("page")
        )
        no_key = cast(null(), BigInteger)
        no_text = cast(null(), String)
        # Typed loosely: the three parts' row types differ in name but line up in shape.
        parts: list[Any] = [
            select(
                literal(0).label("part"),
                page.c.k,
                no_text.label("facet"),
                no_text.label("value"),
                page.c.n,
            ),
            select(literal(1), no_key, no_text, no_text, func.count()).select_from(found),
        ]
        if request.facets:
            facet_rows = FACET_ROWS.alias("facet_rows")
            names = list(dict.fromkeys(request.facets))
            # "doc_key IN (SELECT k FROM r)" walks the result set and reads each document's
            # rows by primary key. (A join here led SQLite, inside this compound statement, to
            # build a Bloom filter over the whole facet table first: a million-row scan per
            # page.) The facet column is kept from driving, so no facet's index is scanned
            # across the catalogue instead.
            parts.append(
                select(literal(2), no_key, facet_rows.c.facet, facet_rows.c.value, func.count())
                .where(
                    facet_rows.c.doc_key.in_(select(found.c.k)),
                    self._not_driving(facet_rows.c.facet, "facet_rows").in_(names),
                )
                .group_by(facet_rows.c.facet, facet_rows.c.value)
            )
        return union_all(*parts)

    def _run(self, query: Query | None, request: SearchRequest) -> SearchResult:
        page: list[tuple[int, int]] = []
        total = 0
        counts: dict[str, dict[str, int]] = {name: {} for name in request.facets}
        for part, key, facet, value, n in self.session.execute(self._statement(query, request)):
            if part == 0:
                page.append((int(n), int(key)))
            elif part == 1:
                total = int(n)
            else:
                counts[facet][value] = int(n)
        facets = {
            name: dict(sorted(values.items(), key=lambda item: (-item[1], item[0])))
            for name, values in counts.items()
        }
        keys = [key for _, key in sorted(page)]
        return SearchResult(hits=self._hits(keys, query), total=total, facets=facets)

    def _hits(self, keys: list[int], query: Query | None) -> list[Hit]:
        if not keys:
            return []
        rows = {
            row.key: row
            for row in self.session.execute(
                select(
                    DOCS.c.key,
                    DOCS.c.id,
                    DOCS.c.kind,
                    DOCS.c.ref_id,
                    DOCS.c.provider_id,
                    DOCS.c.rating,
                    CONTENTS.c.title,
                    CONTENTS.c.provider_name,
                    CONTENTS.c.summary,
                    CONTENTS.c.body,
                    CONTENTS.c.facets,
                )
                .join(CONTENTS, CONTENTS.c.key == DOCS.c.key)
                .where(DOCS.c.key.in_(keys))
            )
        }
        marks = query if query is not None else Query(must=(), prefix_last=False, raw="")
        hits = []
        for position, key in enumerate(keys):
            row = rows[key]
            highlights = {
                "title": highlight(row.title, marks),
                "summary": highlight(row.summary, marks),
            }
            # The provider's name or the body only when the title and summary do not show why
            # the document matched: highlighting a long body is the dearest step of a page.
            if query is not None and not any("<mark>" in f for f in highlights.values()):
                for name in ("provider_name", "body"):
                    fragment = highlight(getattr(row, name), marks)
                    if "<mark>" in fragment:
                        highlights[name] = fragment
                        break
            hits.append(
                Hit(
                    id=row.id,
                    kind=row.kind,
                    ref_id=row.ref_id,
                    provider_id=row.provider_id,
                    title=row.title,
                    provider_name=row.provider_name,
                    summary=row.summary,
                    # The page order is the ranking; the raw engine scores are not comparable
                    # across engines, so hits carry their rank-derived score instead.
                    score=float(len(keys) - position),
                    highlights=highlights,
                    rating=float(row.rating),
                    facets={name: tuple(values) for name, values in (row.facets or {}).items()},
                )
            )
        return hits


def maintain(engine: Engine) -> None:
    """Housekeeping after a full reindex has committed (it cannot run inside a transaction).

    PostgreSQL: VACUUM ANALYZE, so the visibility map lets facet counts read the facet key
    alone instead of visiting the heap for every row (a tenfold difference on large result
    sets). SQLite: checkpoint and truncate the write-ahead log the bulk load grew.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if engine.dialect.name == "postgresql":
            tables = f"search_documents, search_contents, search_facets, {PG_TEXT_TABLE}"
            connection.exec_driver_sql(f"VACUUM (ANALYZE) {tables}")
        else:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _check_request(request: SearchRequest) -> None:
    unknown = sorted({*request.filters, *request.facets} - set(FACETS))
    if unknown:
        raise ValueError(f"unknown facets {', '.join(unknown)}; known: {', '.join(FACETS)}")
    if request.kind not in ("solution", "provider"):
        raise ValueError(f"unknown document kind {request.kind!r}")
    if request.page < 1 or not 1 <= request.size <= MAX_PAGE_SIZE:
        raise ValueError(f"page must be ≥ 1 and size between 1 and {MAX_PAGE_SIZE}")


def _ordering(found: CTE, sort: str) -> list[ColumnElement[Any]]:
    c = found.c
    relevance = [c.exact.desc(), c.score.desc()]
    trust = [c.rating.desc(), c.trust.desc()]
    if sort == "rating":
        order = [*trust, *relevance]
    elif sort == "newest":
        order = [c.published_at.desc().nulls_last(), *relevance]
    elif sort == "price":
        order = [c.price_min_fen.asc().nulls_last(), *relevance]
    else:
        order = [*relevance, *trust]
    # The internal key last, so equal documents keep one order from page to page.
    return [*order, c.k.asc()]
