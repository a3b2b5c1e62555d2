"""Keeping the search index true to the database.

Every change that can alter what the public finds is announced on the outbox: solutions,
provider profiles, case studies (they feed the provider's text and trust) and pool membership.
Each handler rebuilds the affected providers' documents from the database as they are now, and
deletes the ones that should no longer be found, so the handlers need not know what exactly
changed and replaying an event is harmless. On the embedded backend the rebuild happens in the
relay's own transaction, so a provider that stops being listed disappears as soon as that
commits.

``reindex`` rebuilds everything; ``check`` compares what the index holds with what the database
says it should hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.cases.models import Case
from catalog.discovery.backends import search_backend
from catalog.discovery.documents import (
    iter_documents,
    provider_doc_id,
    solution_doc_id,
)
from catalog.solutions.models import Solution
from core.outbox import BatchHandler, Handler, OutboxEvent
from core.settings import get_settings
from search.backend import SearchBackend, SearchDocument

# How often (in documents) a reindex reports progress.
PROGRESS_EVERY = 250
# Ids per IN list when looking up the providers of changed rows (below SQLite's bound limit).
LOOKUP_CHUNK = 500


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
    refresh_providers(session, backend, [provider_id], also_delete=also_delete)


def refresh_providers(
    session: Session,
    backend: SearchBackend,
    provider_ids: Iterable[uuid.UUID],
    *,
    also_delete: Iterable[str] = (),
) -> None:
    """:func:`refresh_provider` for many providers at once: the documents are read a chunk of
    providers per round of queries and handed to the backend in one upsert and one delete."""
    ids = list(dict.fromkeys(provider_ids))
    documents = list(iter_documents(session, provider_ids=ids)) if ids else []
    keep = {document.id for document in documents}
    candidates = [*candidate_ids_of_providers(session, ids), *also_delete]
    gone = [doc_id for doc_id in dict.fromkeys(candidates) if doc_id not in keep]
    if documents:
        backend.upsert(documents)
    if gone:
        backend.delete(gone)


def candidate_ids_of_providers(session: Session, provider_ids: Sequence[uuid.UUID]) -> list[str]:
    """Every document id these providers could have in an index, public or not, so that a
    refresh can delete whichever of them should no longer be found."""
    found: list[str] = []
    for start in range(0, len(provider_ids), LOOKUP_CHUNK):
        part = list(provider_ids[start : start + LOOKUP_CHUNK])
        found.extend(provider_doc_id(provider_id) for provider_id in part)
        solutions = session.scalars(select(Solution.id).where(Solution.provider_id.in_(part)))
        found.extend(solution_doc_id(solution_id) for solution_id in solutions)
    return found


def _backend(session: Session) -> SearchBackend:
    # Handlers run in the relay, outside any request; the settings are the process's own.
    return search_backend(session, get_settings())


def _ids(events: Sequence[OutboxEvent], key: str) -> list[uuid.UUID]:
    return list(dict.fromkeys(uuid.UUID(str(event.payload[key])) for event in events))


def _owners(session: Session, column: Any, owner: Any, ids: list[uuid.UUID]) -> dict[Any, Any]:
    """``id → provider id`` of the rows that still exist, a chunk of ids per query."""
    found: dict[Any, Any] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        part = ids[start : start + LOOKUP_CHUNK]
        found.update(
            (row[0], row[1])
            for row in session.execute(select(column, owner).where(column.in_(part)))
        )
    return found


def on_solutions_changed(session: Session, events: Sequence[OutboxEvent]) -> None:
    solution_ids = _ids(events, "solution_id")
    owners = _owners(session, Solution.id, Solution.provider_id, solution_ids)
    # Deleted solutions (only drafts can be, but a replayed event may find anything gone) are
    # dropped by id; the provider's own document changes too, as its facets are the union of
    # its solutions'.
    refresh_providers(
        session,
        _backend(session),
        owners.values(),
        also_delete=[solution_doc_id(solution_id) for solution_id in solution_ids],
    )


def on_providers_changed(session: Session, events: Sequence[OutboxEvent]) -> None:
    refresh_providers(session, _backend(session), _ids(events, "provider_id"))


def on_cases_changed(session: Session, events: Sequence[OutboxEvent]) -> None:
    # Published cases add to the provider's text and verified ones to its trust, which every
    # document of the provider carries as a tie-breaker.
    owners = _owners(session, Case.id, Case.provider_id, _ids(events, "case_id"))
    if owners:
        refresh_providers(session, _backend(session), owners.values())


# Each handler takes a run of events at once (see core.outbox.BatchHandler): an imported pool
# list of thousands of listings is refreshed a few hundred providers per query round.
on_solution_changed = BatchHandler(on_solutions_changed)
on_provider_changed = BatchHandler(on_providers_changed)
on_case_changed = BatchHandler(on_cases_changed)
on_membership_changed = BatchHandler(on_providers_changed)

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
