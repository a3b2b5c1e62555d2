"""Keeping the search index true to the database.

Every change that can alter what the public finds is announced on the outbox: solutions,
provider profiles, case studies (they feed the provider's text and trust) and pool membership.
Each handler rebuilds the affected provider's documents from the database as they are now, and
deletes the ones that should no longer be found, so the handlers need not know what exactly
changed and replaying an event is harmless. On the embedded backend the rebuild happens in the
relay's own transaction, so a provider that stops being listed disappears as soon as that
commits.

``reindex`` rebuilds everything; ``check`` compares what the index holds with what the database
says it should hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.cases.models import Case
from catalog.discovery.backends import search_backend
from catalog.discovery.documents import (
    candidate_ids_of_provider,
    documents_of_provider,
    iter_documents,
    solution_doc_id,
)
from catalog.solutions.models import Solution
from core.outbox import Handler, OutboxEvent
from core.settings import get_settings
from search.backend import SearchBackend, SearchDocument

# How often (in documents) a reindex reports progress.
PROGRESS_EVERY = 250


def refresh_provider(
    session: Session,
    backend: SearchBackend,
    provider_id: uuid.UUID,
    *,
    also_delete: Iterable[str] = (),
) -> None:
    """Make the index hold exactly the provider's current public documents.

    ``also_delete`` names documents that may be indexed although their rows are gone.
    """
    documents = documents_of_provider(session, provider_id)
    keep = {document.id for document in documents}
    gone = [
        doc_id
        for doc_id in dict.fromkeys(
            [*candidate_ids_of_provider(session, provider_id), *also_delete]
        )
        if doc_id not in keep
    ]
    if documents:
        backend.upsert(documents)
    if gone:
        backend.delete(gone)


def _backend(session: Session) -> SearchBackend:
    # Handlers run in the relay, outside any request; the settings are the process's own.
    return search_backend(session, get_settings())


def _uuid(event: OutboxEvent, key: str) -> uuid.UUID:
    return uuid.UUID(str(event.payload[key]))


def on_solution_changed(session: Session, event: OutboxEvent) -> None:
    solution_id = _uuid(event, "solution_id")
    doc_id = solution_doc_id(solution_id)
    provider_id = session.scalar(select(Solution.provider_id).where(Solution.id == solution_id))
    if provider_id is None:
        # Deleted (only drafts can be, but a replayed event may find anything gone).
        _backend(session).delete([doc_id])
        return
    # The provider's own document changes too: its facets are the union of its solutions'.
    refresh_provider(session, _backend(session), provider_id, also_delete=[doc_id])


def on_provider_changed(session: Session, event: OutboxEvent) -> None:
    refresh_provider(session, _backend(session), _uuid(event, "provider_id"))


def on_case_changed(session: Session, event: OutboxEvent) -> None:
    # Published cases add to the provider's text and verified ones to its trust, which every
    # document of the provider carries as a tie-breaker.
    provider_id = session.scalar(select(Case.provider_id).where(Case.id == _uuid(event, "case_id")))
    if provider_id is not None:
        refresh_provider(session, _backend(session), provider_id)


def on_membership_changed(session: Session, event: OutboxEvent) -> None:
    refresh_provider(session, _backend(session), _uuid(event, "provider_id"))


# (topic, handler) pairs for market.app.OUTBOX_SUBSCRIBERS.
SUBSCRIPTIONS: list[tuple[str, Handler]] = [
    ("catalog.solution.changed", on_solution_changed),
    ("catalog.provider.changed", on_provider_changed),
    ("catalog.case.changed", on_case_changed),
    ("pool.membership.changed", on_membership_changed),
]


def reindex(
    session: Session,
    backend: SearchBackend,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild the whole index from the database; returns how many documents it holds.

    ``on_progress`` is called with the number of documents handed over since the last call.
    """

    def documents() -> Iterator[SearchDocument]:
        pending = 0
        for document in iter_documents(session):
            yield document
            pending += 1
            if on_progress is not None and pending == PROGRESS_EVERY:
                on_progress(pending)
                pending = 0
        if on_progress is not None and pending:
            on_progress(pending)

    return backend.reindex(documents())


@dataclass(frozen=True)
class Drift:
    """How the index differs from the database. Id lists are sorted."""

    expected: int
    indexed: int
    missing: list[str]  # should be found, is not indexed
    stale: list[str]  # indexed, but from an older version of the data
    extra: list[str]  # indexed, but should not be found (unlisted, archived, deleted)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def check(session: Session, backend: SearchBackend) -> Drift:
    """Compare the documents the database implies (id → fingerprint) with the index."""
    expected = {document.id: document.fingerprint for document in iter_documents(session)}
    indexed = dict(backend.state().fingerprints)
    return Drift(
        expected=len(expected),
        indexed=len(indexed),
        missing=sorted(expected.keys() - indexed.keys()),
        stale=sorted(
            doc_id
            for doc_id, fingerprint in expected.items()
            if doc_id in indexed and indexed[doc_id] != fingerprint
        ),
        extra=sorted(indexed.keys() - expected.keys()),
    )
