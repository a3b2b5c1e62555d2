"""One catalog index per process, built on first use and kept current from the outbox.

Building the index reads the whole public catalogue (and, with the sentence encoder, embeds
every solution), so it happens once: on the first recommendation a process serves. From then on
catalogue changes arrive as outbox events (``catalog.solution.changed``,
``catalog.provider.changed``, ``catalog.case.changed``, ``pool.membership.changed``, and for a
provider's load and trust ``market.engagement.changed`` and ``market.review.changed``) and each
one becomes a :meth:`matching.CatalogIndex.with_updates` call that re-reads only the rows the
event names. ``builds`` and ``updates`` count both, so tests can assert that an event updated
the index rather than rebuilding it.

Thread safety: requests read ``self._index`` without a lock; an update builds a *new* index
under the writer lock and then swaps the reference, which Python does atomically, so a request
sees either the old catalogue or the new one, never half of each.

Two ways events reach a cache:

* **Subscribers** (``SUBSCRIPTIONS``, run by the outbox relay). Handlers get only a session, so
  caches register themselves under their database bind (the engine, or a test's connection) and
  the handler updates the caches of the bind its session uses.
* **Catch-up**: with several API processes (``market serve --workers N``) or a separate
  ``market worker``, the relay that handles an event may run in another process. Before each
  request the cache therefore reads catalogue events newer than its watermark from the outbox
  table (a primary-key range scan) and applies those no handler in this process applied. The
  watermark only moves past events older than :data:`SETTLE_SECONDS`, because ids are assigned
  at insert and a transaction that took an id earlier may commit later; newer events are
  remembered by id until they settle, so none is applied twice or skipped.

Every update re-reads the current rows, so applying an event twice, or late, is harmless.

**The sentence encoder** embeds a solution in tens of milliseconds to more than a hundred on a
small CPU: a minute or more for the demo catalogue. So the first request builds a BM25-only
index at once (about a second) and, when an encoder is installed, a background thread builds
the full index with its own session and swaps it in when done; the events that arrived
meanwhile are then re-applied from the outbox from the background build's watermark on.
Lists answered before the swap say ``text_mode = "bm25"``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.cases.models import Case
from core.database import Database, utcnow
from core.outbox import Handler, OutboxEvent
from core.settings import Settings
from market.needs.models import Need as NeedRow
from market.recommendations import adapter, exposure
from matching import CatalogIndex, Embedder, default_embedder
from matching.text_relevance import EmbedderUnavailable, embed_query

log = logging.getLogger(__name__)

CATALOG_TOPICS: tuple[str, ...] = (
    "catalog.solution.changed",
    "catalog.provider.changed",
    "catalog.case.changed",
    "pool.membership.changed",
    # Provider load (engagements occupying capacity) and trust (published reviews).
    "market.engagement.changed",
    "market.review.changed",
)
NEED_TOPIC = "market.need.changed"
# Events younger than this may still be overtaken by an earlier id committing late.
SETTLE_SECONDS = 30.0
# Events read per catch-up; a process that fell further behind catches up over a few requests.
CATCH_UP_BATCH = 500
# How long a rolling-exposure snapshot is reused before the stored lists are summed again.
EXPOSURE_TTL_SECONDS = 60.0


class IndexCache:
    """The process's catalog index and rolling-exposure snapshot (see the module docstring)."""

    def __init__(
        self,
        *,
        embedder: Embedder | None,
        db: Database | None = None,
        exposure_ttl_seconds: float = EXPOSURE_TTL_SECONDS,
    ) -> None:
        self._embedder = embedder
        # Where the background build reads from; without it the first build embeds inline.
        self._db = db
        self._upgrade: threading.Thread | None = None
        self._index: CatalogIndex | None = None
        self._lock = threading.RLock()
        self._watermark = 0
        self._applied: set[int] = set()
        self._exposure: dict[str, float] | None = None
        self._exposure_at = 0.0
        self._exposure_ttl = exposure_ttl_seconds
        self.builds = 0
        self.updates = 0

    @property
    def built(self) -> bool:
        return self._index is not None

    # --- reading ----------------------------------------------------------------------------

    def index(self, session: Session) -> CatalogIndex:
        """The current index: built on first use, then brought up to date with the outbox."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._build(session)
        else:
            self._catch_up(session)
        current = self._index
        assert current is not None
        return current

    def _build(self, session: Session) -> None:
        background = self._embedder is not None and self._db is not None
        index, watermark = _full_build(session, None if background else self._embedder)
        self._index, self._watermark = index, watermark
        self._applied.clear()
        self.builds += 1
        if background:
            self._upgrade = threading.Thread(
                target=self._build_with_embeddings, name="recommendation-index", daemon=True
            )
            self._upgrade.start()

    def _build_with_embeddings(self) -> None:
        assert self._db is not None
        try:
            with self._db.transaction() as session:
                index, watermark = _full_build(session, self._embedder)
        except Exception:  # the BM25 index keeps serving; the failure must not go unnoticed
            log.exception("building the recommendation index with embeddings failed")
            return
        with self._lock:
            self._index, self._watermark = index, watermark
            # Everything after the background build's watermark is applied again by the next
            # catch-up, including what the handlers applied to the BM25 index meanwhile.
            self._applied.clear()
            self.builds += 1

    def wait_until_complete(self, timeout: float | None = None) -> None:
        """Wait for a background build with embeddings (for the CLI and tests)."""
        upgrade = self._upgrade
        if upgrade is not None:
            upgrade.join(timeout)

    # --- updating ---------------------------------------------------------------------------

    def apply(
        self,
        session: Session,
        topic: str,
        payload: Mapping[str, Any],
        *,
        event_id: int | None = None,
    ) -> None:
        """Bring the index in line with the rows one event names (a no-op before the build)."""
        if self._index is None:
            # Nothing to update: the first request builds from the rows as they are by then.
            return
        with self._lock:
            if self._index is None or (event_id is not None and event_id in self._applied):
                return
            updated = self._updated(session, self._index, topic, payload)
            if updated is not None:
                self._index = updated
                self.updates += 1
            if event_id is not None and event_id > self._watermark:
                self._applied.add(event_id)

    def _catch_up(self, session: Session) -> None:
        rows = session.execute(
            select(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.payload, OutboxEvent.created_at)
            .where(OutboxEvent.id > self._watermark, OutboxEvent.topic.in_(CATALOG_TOPICS))
            .order_by(OutboxEvent.id)
            .limit(CATCH_UP_BATCH)
        ).all()
        if not rows:
            return
        settled_before = utcnow() - timedelta(seconds=SETTLE_SECONDS)
        with self._lock:
            for event_id, topic, payload, _created in rows:
                self.apply(session, topic, payload, event_id=event_id)
            watermark = self._watermark
            for event_id, _topic, _payload, created in rows:
                if created > settled_before:
                    break
                watermark = event_id
            self._watermark = watermark
            self._applied = {event_id for event_id in self._applied if event_id > watermark}

    def _updated(
        self, session: Session, index: CatalogIndex, topic: str, payload: Mapping[str, Any]
    ) -> CatalogIndex | None:
        if topic == "catalog.solution.changed":
            return _solution_changed(session, index, uuid.UUID(str(payload["solution_id"])))
        provider_id: uuid.UUID | None
        if topic == "catalog.case.changed":
            # Verified cases feed the provider's industry evidence and proven sizes.
            provider_id = session.scalar(
                select(Case.provider_id).where(Case.id == uuid.UUID(str(payload["case_id"])))
            )
        else:
            raw = payload.get("provider_id")
            provider_id = uuid.UUID(str(raw)) if raw else None
        if provider_id is None:
            return None
        return _provider_changed(session, index, provider_id)

    # --- the need's query vector --------------------------------------------------------------

    def prime_need(self, session: Session, need_id: uuid.UUID) -> None:
        """Embed a saved need's text now, so its recommendation finds the vector cached.

        The sentence encoder takes tens of milliseconds per text, more than the rest of a
        recommendation; paying it when the need is saved keeps the recommendation fast.
        """
        index = self._index
        if index is None or index.embedder is None:
            return
        row = session.execute(
            select(NeedRow.title, NeedRow.description).where(NeedRow.id == need_id)
        ).one_or_none()
        if row is None:
            return
        text = adapter.need_text(row[0], row[1] or "")
        if text:
            try:
                embed_query(index.embedder, text)
            except EmbedderUnavailable:
                # The request will run BM25-only and say so; nothing to prepare.
                return

    # --- exposure -----------------------------------------------------------------------------

    def exposure(self, session: Session) -> dict[str, float]:
        """Rolling 30-day exposure per provider id, re-summed at most every TTL seconds."""
        now = time.monotonic()
        snapshot = self._exposure
        if snapshot is None or now - self._exposure_at > self._exposure_ttl:
            snapshot = exposure.rolling_exposure(session)
            self._exposure, self._exposure_at = snapshot, now
        return snapshot

    def add_exposure(self, impressions: Iterable[tuple[str, float]]) -> None:
        """Count a list this process just stored, without waiting for the next re-sum."""
        with self._lock:
            if self._exposure is None:
                return
            updated = dict(self._exposure)
            for provider_id, weight in impressions:
                updated[provider_id] = updated.get(provider_id, 0.0) + weight
            self._exposure = updated


def _full_build(session: Session, embedder: Embedder | None) -> tuple[CatalogIndex, int]:
    # The watermark is read before the rows: an event committed in between is applied again by
    # the catch-up, which is harmless, whereas reading it after could skip one.
    watermark = int(session.scalar(select(func.max(OutboxEvent.id))) or 0)
    solutions, providers = adapter.load_catalog(session)
    names = adapter.vocabularies()
    index = CatalogIndex.build(
        solutions,
        providers,
        capability_ids=names.capabilities,
        protocol_ids=names.protocols,
        pricing_ids=names.pricing_models,
        embedder=embedder,
    )
    return index, watermark


def _solution_changed(
    session: Session, index: CatalogIndex, solution_id: uuid.UUID
) -> CatalogIndex | None:
    records = adapter.load_solutions(session, solution_ids=[solution_id])
    if not records:
        # Unpublished, archived or deleted: out of the index if it was in.
        if index.find_solution(str(solution_id)) is None:
            return None
        return index.with_updates(removed_ids=[str(solution_id)])
    record = records[0]
    providers = []
    if index.find_provider(record.provider_id) is None:
        # The provider's first published solution brings the provider in with it.
        providers = adapter.load_providers(session, [uuid.UUID(record.provider_id)])
    return index.with_updates(records, providers)


def _provider_changed(
    session: Session, index: CatalogIndex, provider_id: uuid.UUID
) -> CatalogIndex | None:
    records = adapter.load_providers(session, [provider_id])
    known = index.find_provider(str(provider_id)) is not None
    if not records:
        return index.with_updates(removed_ids=[str(provider_id)]) if known else None
    if known:
        # Status, cases, region or capacity changed; its solutions keep their rows.
        return index.with_updates(changed_providers=records)
    solutions = adapter.load_solutions(session, provider_ids=[provider_id])
    if not solutions:
        return None
    return index.with_updates(solutions, records)


# --- per-process registry for the outbox handlers ----------------------------------------------

# Bind (engine or connection) → the caches of the apps using it. Weak on both sides: an app that
# is gone (a finished test) takes its cache with it.
_registry: weakref.WeakKeyDictionary[Any, weakref.WeakSet[IndexCache]] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def _bind_of(db: Database) -> Any:
    return db.sessions.kw.get("bind") or db.engine


def register(db: Database, cache: IndexCache) -> None:
    with _registry_lock:
        _registry.setdefault(_bind_of(db), weakref.WeakSet()).add(cache)


def caches_for(session: Session) -> list[IndexCache]:
    with _registry_lock:
        return list(_registry.get(session.get_bind(), ()))


def choose_embedder(settings: Settings) -> Embedder | None:
    """The packaged sentence encoder, except under tests, which run BM25-only for speed."""
    return None if settings.env == "test" else default_embedder()


def cache_of(request: Request) -> IndexCache:
    """The app's cache, created (and registered for the outbox handlers) on first use."""
    state = request.app.state
    cache: IndexCache | None = getattr(state, "recommendation_index", None)
    if cache is None:
        with _registry_lock:
            cache = getattr(state, "recommendation_index", None)
            if cache is None:
                cache = IndexCache(embedder=choose_embedder(state.settings), db=state.db)
                state.recommendation_index = cache
        register(state.db, cache)
    return cache


# --- outbox subscribers ----------------------------------------------------------------------


def on_catalog_changed(session: Session, event: OutboxEvent) -> None:
    for cache in caches_for(session):
        cache.apply(session, event.topic, event.payload, event_id=event.id)


def on_need_changed(session: Session, event: OutboxEvent) -> None:
    if event.payload.get("change") == "deleted":
        return
    for cache in caches_for(session):
        cache.prime_need(session, uuid.UUID(str(event.payload["need_id"])))


# (topic, handler) pairs for market.app.OUTBOX_SUBSCRIBERS.
SUBSCRIPTIONS: list[tuple[str, Handler]] = [
    *((topic, on_catalog_changed) for topic in CATALOG_TOPICS),
    (NEED_TOPIC, on_need_changed),
]
