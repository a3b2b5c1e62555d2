"""The Meilisearch search backend, over the official synchronous ``meilisearch`` client.

Used when ``MARKET_MEILI_URL`` is set (:func:`make_meili_backend`). Every payload comes from
the pure builders in :mod:`search.meili_payloads`; this module sends them, waits for the
asynchronous tasks Meilisearch answers writes with, and turns failures into
:class:`SearchBackendError`.

Blocking: the client is synchronous (``requests``). That is fine because our endpoints are
plain ``def`` functions, which FastAPI runs in its thread pool, and the outbox worker is a
plain loop; never call this backend from an ``async def`` without ``run_in_threadpool``, or a
slow Meilisearch would stall the event loop.

Threads: the client keeps one mutable header dict per HTTP helper and rewrites its
Content-Type on every call, so a GET in one thread can strip it from a POST in another that
shares the helper. Each index operation therefore goes through a fresh ``client.index(uid)``
(which brings its own helper), the client-level calls that write (delete and swap indexes)
or share a helper with writes (health, version) hold a lock, and task polling, which only
ever GETs, runs unlocked so a long bulk wait does not hold up a health check.

Index layout: two indexes, ``<prefix>_solutions`` and ``<prefix>_providers``, primary key
``id`` (see :func:`search.meili_payloads.to_meili_id`), both with the same settings.

Semantics shared with the SQL backend: an empty query (nothing but spaces or punctuation)
browses, returning every document that passes the filters; Meilisearch's placeholder search
does exactly that, and with no words to rank by, the custom rules order it best-rated first.

"Did you mean": when a search finds nothing, each plain Latin query word is replaced by its
closest vocabulary word (:func:`search.text.suggest`, the SQL backend's typo budget), and,
as the SQL backend does, the corrected query is run and its hits returned together with the
suggestion. This catches what Meilisearch's own typo tolerance does not (a typo in the first
letter counts as two there, and one unknown word fails a whole multi-word query). The
vocabulary is the Latin words of indexed titles, provider names and tags, plus the Latin
forms of the synonym table. It is read from the index itself, lazily on the first empty
result and again after ``vocabulary_ttl_s``, because the API processes that search are not
the worker process that writes documents; writes made by this process are added at once.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import meilisearch
from meilisearch.errors import MeilisearchApiError, MeilisearchError, MeilisearchTimeoutError

from search.backend import (
    DocKind,
    IndexState,
    SearchDocument,
    SearchRequest,
    SearchResult,
)
from search.meili_payloads import (
    DEFAULT_MAX_TOTAL_HITS,
    DEFAULT_MAX_VALUES_PER_FACET,
    build_filter,
    document_payload,
    facet_counts,
    from_meili_id,
    hit_from_payload,
    index_settings,
    meili_query,
    search_params,
    suggest_params,
    suggestions,
    to_meili_id,
    vocabulary_words,
)
from search.synonyms import EXTRA_GROUPS, SynonymTable
from search.text import split_words, suggest, tokens

if TYPE_CHECKING:
    from meilisearch.index import Index
    from meilisearch.models.task import Task, TaskInfo

    from core.settings import Settings

__all__ = ["DEFAULT_INDEX_PREFIX", "MeiliBackend", "SearchBackendError", "make_meili_backend"]

logger = logging.getLogger(__name__)

DEFAULT_INDEX_PREFIX: Final = "iimarket"
_KINDS: Final[tuple[DocKind, ...]] = ("solution", "provider")
_INDEX_UID = re.compile(r"[A-Za-z0-9_-]+")
# Long enough to page quickly, small enough that one response stays well under a megabyte.
_FETCH_PAGE: Final = 1000
# Ids per delete-by-filter task; keeps the filter string a few tens of kilobytes at most.
_DELETE_CHUNK: Final = 1000


class SearchBackendError(RuntimeError):
    """Meilisearch refused, failed or did not finish something; the message says what.

    ``code`` is Meilisearch's error code when it gave one (``invalid_search_filter``,
    ``index_not_found``, ...), ``task_uid`` the task that failed or timed out.
    """

    def __init__(self, message: str, *, code: str | None = None, task_uid: int | None = None):
        super().__init__(message)
        self.code = code
        self.task_uid = task_uid


@contextmanager
def _translated(action: str) -> Iterator[None]:
    """Client exceptions → SearchBackendError, with the action that was attempted."""
    try:
        yield
    except SearchBackendError:
        raise
    except MeilisearchApiError as exc:
        raise SearchBackendError(f"{action}: {exc.code}: {exc.message}", code=exc.code) from exc
    except MeilisearchError as exc:
        raise SearchBackendError(f"{action}: {exc.message}") from exc


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class MeiliBackend:
    """:class:`search.backend.SearchBackend` on Meilisearch (≥ 1.15 for ``disableOnNumbers``).

    ``client`` is a ``meilisearch.Client`` (tests inject a stand-in); ``synonyms`` is built by
    the caller from the taxonomy. Task waits allow ``task_timeout_ms`` plus
    ``task_timeout_per_document_ms`` for every document the task carries; settings changes,
    which can re-index a whole index, get ``settings_timeout_ms``.
    """

    name = "meilisearch"

    def __init__(
        self,
        client: meilisearch.Client,
        synonyms: SynonymTable | None = None,
        *,
        index_prefix: str = DEFAULT_INDEX_PREFIX,
        batch_size: int = 5000,
        task_timeout_ms: int = 5000,
        task_timeout_per_document_ms: float = 10.0,
        settings_timeout_ms: int = 300_000,
        task_poll_interval_ms: int = 50,
        max_values_per_facet: int = DEFAULT_MAX_VALUES_PER_FACET,
        max_total_hits: int = DEFAULT_MAX_TOTAL_HITS,
        vocabulary_ttl_s: float = 600.0,
        vocabulary_max_documents: int = 50_000,
    ) -> None:
        if not _INDEX_UID.fullmatch(index_prefix):
            raise ValueError(
                f"index prefix may only use letters, digits, - and _: {index_prefix!r}"
            )
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._client = client
        self._synonyms = synonyms if synonyms is not None else SynonymTable()
        self.index_prefix = index_prefix
        self.index_uids: dict[DocKind, str] = {
            "solution": f"{index_prefix}_solutions",
            "provider": f"{index_prefix}_providers",
        }
        self.batch_size = batch_size
        self.task_timeout_ms = task_timeout_ms
        self.task_timeout_per_document_ms = task_timeout_per_document_ms
        self.settings_timeout_ms = settings_timeout_ms
        self.task_poll_interval_ms = task_poll_interval_ms
        # Built once: the taxonomy is fixed for the life of the process.
        self.settings: dict[str, Any] = index_settings(
            self._synonyms,
            max_values_per_facet=max_values_per_facet,
            max_total_hits=max_total_hits,
        )
        self.vocabulary_ttl_s = vocabulary_ttl_s
        self.vocabulary_max_documents = vocabulary_max_documents
        self._client_lock = threading.Lock()
        self._ready_lock = threading.Lock()
        self._ready = False
        self._vocabulary_lock = threading.Lock()
        self._vocabulary: set[str] | None = None
        self._vocabulary_loaded_at = 0.0

    # --- plumbing ------------------------------------------------------------------------------

    def _index(self, uid: str) -> Index:
        # A fresh Index per operation: see the module docstring on threads.
        return self._client.index(uid)

    def _timeout_for(self, documents: int) -> int:
        return int(self.task_timeout_ms + self.task_timeout_per_document_ms * documents)

    def _wait(
        self,
        info: TaskInfo,
        action: str,
        *,
        documents: int = 0,
        timeout_ms: int | None = None,
        accept: Callable[[str | None], bool] | None = None,
    ) -> Task:
        """Wait for a task; raise SearchBackendError unless it succeeded.

        ``accept`` may excuse a failure by its error code (an index that already exists).
        """
        uid = info.task_uid
        timeout = timeout_ms if timeout_ms is not None else self._timeout_for(documents)
        try:
            # The task helper only ever sends GETs here, so sharing it needs no lock.
            task = self._client.wait_for_task(
                uid, timeout_in_ms=timeout, interval_in_ms=self.task_poll_interval_ms
            )
        except MeilisearchTimeoutError as exc:
            # The task is still queued or running on the server; it may yet complete.
            raise SearchBackendError(
                f"{action}: task {uid} did not finish within {timeout} ms", task_uid=uid
            ) from exc
        except MeilisearchApiError as exc:
            raise SearchBackendError(
                f"{action}: could not follow task {uid}: {exc.code}: {exc.message}",
                code=exc.code,
                task_uid=uid,
            ) from exc
        except MeilisearchError as exc:
            raise SearchBackendError(
                f"{action}: could not follow task {uid}: {exc.message}", task_uid=uid
            ) from exc
        if task.status == "succeeded":
            return task
        error = task.error or {}
        code = error.get("code")
        if accept is not None and accept(code):
            return task
        message = error.get("message") or "no error message"
        raise SearchBackendError(
            f"{action}: task {uid} {task.status}: {code or 'no code'}: {message}",
            code=code,
            task_uid=uid,
        )

    def _create_index(self, uid: str, *, exist_ok: bool) -> None:
        # create_index builds its own HTTP helper, so it needs no lock.
        with _translated(f"create index {uid}"):
            info = self._client.create_index(uid, {"primaryKey": "id"})
        self._wait(
            info,
            f"create index {uid}",
            accept=(lambda code: code == "index_already_exists") if exist_ok else None,
        )

    def _apply_settings(self, uid: str) -> None:
        with _translated(f"update settings of {uid}"):
            info = self._index(uid).update_settings(dict(self.settings))
        self._wait(info, f"update settings of {uid}", timeout_ms=self.settings_timeout_ms)

    def _delete_index(self, uid: str) -> None:
        with _translated(f"delete index {uid}"), self._client_lock:
            info = self._client.delete_index(uid)
        self._wait(info, f"delete index {uid}")

    def _add(self, uid: str, payloads: Sequence[dict[str, Any]]) -> None:
        for batch in _chunks(payloads, self.batch_size):
            action = f"add {len(batch)} documents to {uid}"
            with _translated(action):
                # add_documents replaces whole documents, so a field removed from the source
                # (a price withdrawn) does not linger as update_documents would leave it.
                info = self._index(uid).add_documents(list(batch), primary_key="id")
            self._wait(info, action, documents=len(batch))

    def ensure_indexes(self) -> None:
        """Create both indexes if missing and apply the settings (once per backend object).

        Settings are sent even to an existing index so a changed taxonomy (synonyms) reaches
        it; Meilisearch only re-indexes when something actually changed.
        """
        with self._ready_lock:
            if self._ready:
                return
            for uid in self.index_uids.values():
                self._create_index(uid, exist_ok=True)
                self._apply_settings(uid)
            self._ready = True

    def drop_indexes(self) -> None:
        """Delete both indexes (tests and teardown); missing ones are not an error."""
        for uid in self.index_uids.values():
            with _translated(f"delete index {uid}"), self._client_lock:
                info = self._client.delete_index(uid)
            self._wait(info, f"delete index {uid}", accept=lambda code: code == "index_not_found")
        with self._ready_lock:
            self._ready = False

    # --- writes --------------------------------------------------------------------------------

    def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        grouped: dict[DocKind, list[dict[str, Any]]] = {kind: [] for kind in _KINDS}
        for document in documents:
            grouped[document.kind].append(document_payload(document))
        self.ensure_indexes()
        for kind, payloads in grouped.items():
            if payloads:
                self._add(self.index_uids[kind], payloads)
        self._learn(payload for payloads in grouped.values() for payload in payloads)

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        grouped: dict[DocKind, list[str]] = {kind: [] for kind in _KINDS}
        for document_id in dict.fromkeys(ids):
            kind = document_id.split(":", 1)[0]
            for target in _KINDS:
                # Ids follow "<kind>:<uuid>"; one without a known kind is removed from both.
                if kind == target or kind not in _KINDS:
                    grouped[target].append(to_meili_id(document_id))
        self.ensure_indexes()
        for kind, meili_ids in grouped.items():
            uid = self.index_uids[kind]
            for chunk in _chunks(meili_ids, _DELETE_CHUNK):
                action = f"delete {len(chunk)} documents from {uid}"
                expression = build_filter({"id": list(chunk)})
                with _translated(action):
                    info = self._index(uid).delete_documents(filter=expression)
                self._wait(info, action, documents=len(chunk))

    def reindex(self, documents: Iterable[SearchDocument]) -> int:
        """Rebuild both indexes from ``documents`` and swap them in atomically.

        Each kind is built in a temporary index ``<uid>_tmp_<random>`` with the settings
        applied before any document (so indexing happens once), filled in batches, and then
        both are swapped with the live indexes in one task, so searches see either the old
        or the new catalogue, never a mix. The old indexes (now under the temporary names)
        are deleted afterwards. On any failure before the swap the temporary indexes are
        deleted and the error re-raised; the live indexes are untouched.
        """
        suffix = secrets.token_hex(4)
        temporary: dict[DocKind, str] = {
            kind: f"{uid}_tmp_{suffix}" for kind, uid in self.index_uids.items()
        }
        # Swapping needs both sides to exist; a first reindex has no live index yet.
        for uid in self.index_uids.values():
            self._create_index(uid, exist_ok=True)
        created: list[str] = []
        count = 0
        words: set[str] = set()
        try:
            for uid in temporary.values():
                self._create_index(uid, exist_ok=False)
                created.append(uid)
                self._apply_settings(uid)
            buffers: dict[DocKind, list[dict[str, Any]]] = {kind: [] for kind in _KINDS}
            for document in documents:
                payload = document_payload(document)
                words |= vocabulary_words(payload)
                buffer = buffers[document.kind]
                buffer.append(payload)
                count += 1
                if len(buffer) >= self.batch_size:
                    self._add(temporary[document.kind], buffer)
                    buffer.clear()
            for kind, buffer in buffers.items():
                if buffer:
                    self._add(temporary[kind], buffer)
            swaps: list[Mapping[str, list[str] | bool]] = [
                {"indexes": [self.index_uids[kind], temporary[kind]]} for kind in _KINDS
            ]
            with _translated("swap indexes"), self._client_lock:
                info = self._client.swap_indexes(swaps)
            self._wait(info, "swap indexes")
        except BaseException:
            for uid in created:
                try:
                    self._delete_index(uid)
                except SearchBackendError:
                    logger.warning("could not delete temporary index %s", uid, exc_info=True)
            raise
        with self._ready_lock:
            # The live indexes now carry exactly these settings.
            self._ready = True
        for uid in temporary.values():
            try:
                self._delete_index(uid)
            except SearchBackendError:
                # The new catalogue is live; a leftover old index only wastes disk.
                logger.warning("could not delete replaced index %s", uid, exc_info=True)
        with self._vocabulary_lock:
            self._vocabulary = words | self._synonym_words()
            self._vocabulary_loaded_at = time.monotonic()
        return count

    # --- reads ---------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        q, params = search_params(request)
        requested = list(params.get("facets", ()))
        if not q and request.q.strip():
            # Only punctuation: nothing to look for, and listing everything would surprise.
            return SearchResult(hits=[], total=0, facets=facet_counts({}, requested))
        result = self._run(request.kind, q, params)
        if result.total == 0 and q:
            suggestion = self._did_you_mean(request.q)
            if suggestion is not None:
                # Like the SQL backend: show what the corrected query finds, and say so.
                found = self._run(request.kind, meili_query(suggestion), params)
                result = replace(found, suggestion=suggestion)
        return result

    def _run(self, kind: DocKind, q: str, params: dict[str, Any]) -> SearchResult:
        uid = self.index_uids[kind]
        requested = list(params.get("facets", ()))
        try:
            response = self._index(uid).search(q, params)
        except MeilisearchApiError as exc:
            if exc.code == "index_not_found":
                # Nothing has been indexed yet: an empty catalogue, not an outage.
                return SearchResult(hits=[], total=0, facets=facet_counts({}, requested))
            raise SearchBackendError(
                f"search {uid}: {exc.code}: {exc.message}", code=exc.code
            ) from exc
        except MeilisearchError as exc:
            raise SearchBackendError(f"search {uid}: {exc.message}") from exc
        hits = [hit_from_payload(hit) for hit in response.get("hits", ())]
        total = int(response.get("totalHits", response.get("estimatedTotalHits", len(hits))))
        return SearchResult(
            hits=hits,
            total=total,
            facets=facet_counts(response, requested),
            took_ms=float(response.get("processingTimeMs", 0.0)),
        )

    def suggest(self, prefix: str, *, limit: int = 8) -> list[str]:
        q, _ = search_params(SearchRequest(q=prefix))
        if not q or limit < 1:
            return []
        responses: list[dict[str, Any]] = []
        for uid in self.index_uids.values():
            try:
                responses.append(self._index(uid).search(q, suggest_params(limit)))
            except MeilisearchApiError as exc:
                if exc.code != "index_not_found":
                    raise SearchBackendError(
                        f"suggest in {uid}: {exc.code}: {exc.message}", code=exc.code
                    ) from exc
            except MeilisearchError as exc:
                raise SearchBackendError(f"suggest in {uid}: {exc.message}") from exc
        return suggestions(responses, limit)

    def _fetch(self, uid: str, fields: list[str], *, limit: int | None = None) -> Iterator[Any]:
        """Every stored document of ``uid`` (only ``fields``), page by page; none if missing."""
        offset = 0
        while limit is None or offset < limit:
            parameters = {"fields": fields, "limit": _FETCH_PAGE, "offset": offset}
            try:
                page = self._index(uid).get_documents(parameters)
            except MeilisearchApiError as exc:
                if exc.code == "index_not_found":
                    return
                raise SearchBackendError(
                    f"read documents of {uid}: {exc.code}: {exc.message}", code=exc.code
                ) from exc
            except MeilisearchError as exc:
                raise SearchBackendError(f"read documents of {uid}: {exc.message}") from exc
            for document in page.results:
                yield dict(document)
            offset += len(page.results)
            if not page.results or offset >= page.total:
                return

    def state(self) -> IndexState:
        fingerprints: dict[str, str] = {}
        for uid in self.index_uids.values():
            for document in self._fetch(uid, ["id", "fingerprint"]):
                fingerprints[from_meili_id(str(document["id"]))] = str(
                    document.get("fingerprint", "")
                )
        return IndexState(fingerprints=fingerprints)

    def health(self) -> dict[str, Any]:
        report: dict[str, Any] = {
            "backend": self.name,
            "status": "error",
            "version": None,
            "message": "",
            "indexes": list(self.index_uids.values()),
        }
        # Whatever goes wrong is reported, never raised: health pages must always render.
        try:
            with self._client_lock:
                status = self._client.health()
                version = self._client.get_version()
        except MeilisearchError as exc:
            report["message"] = exc.message
            return report
        except Exception as exc:
            report["message"] = f"{type(exc).__name__}: {exc}"
            return report
        report["version"] = version.get("pkgVersion")
        if status.get("status") == "available":
            report["status"] = "ok"
        else:
            report["message"] = f"Meilisearch reports status {status.get('status')!r}"
        return report

    # --- "did you mean" ------------------------------------------------------------------------

    def _synonym_words(self) -> set[str]:
        return {
            token
            for concept in self._synonyms
            for form in self._synonyms.forms(concept)
            for token in tokens(form)
            if token.isascii() and token.isalpha()
        }

    def _learn(self, payloads: Iterable[dict[str, Any]]) -> None:
        with self._vocabulary_lock:
            if self._vocabulary is not None:
                for payload in payloads:
                    self._vocabulary |= vocabulary_words(payload)

    def _current_vocabulary(self) -> set[str]:
        with self._vocabulary_lock:
            stale = time.monotonic() - self._vocabulary_loaded_at > self.vocabulary_ttl_s
            if self._vocabulary is None or stale:
                words = self._synonym_words()
                try:
                    for uid in self.index_uids.values():
                        fields = ["title", "provider_name", "tags"]
                        for document in self._fetch(
                            uid, fields, limit=self.vocabulary_max_documents
                        ):
                            words |= vocabulary_words(document)
                except SearchBackendError:
                    # A suggestion is a nicety; keep what we had and try again next time.
                    logger.warning("could not load the suggestion vocabulary", exc_info=True)
                    return set(self._vocabulary or words)
                self._vocabulary = words
                self._vocabulary_loaded_at = time.monotonic()
            return set(self._vocabulary)

    def _did_you_mean(self, text: str) -> str | None:
        words = split_words(text)
        if not any(word.isascii() and word.isalpha() for word in words):
            return None
        vocabulary = self._current_vocabulary()
        corrected = [suggest(word, vocabulary) or word for word in words]
        return " ".join(corrected) if corrected != words else None


def make_meili_backend(
    settings: Settings,
    synonyms: SynonymTable | None = None,
    *,
    index_prefix: str | None = None,
    http_timeout_s: int = 30,
) -> MeiliBackend:
    """The backend for ``settings.meili_url`` / ``settings.meili_key``.

    ``synonyms`` should be the taxonomy table (``search.synonyms.table_from_terms``); without
    it the built-in general groups are used. The index prefix comes from ``index_prefix``, a
    ``meili_index_prefix`` setting if the settings object has one, or ``iimarket``.
    ``http_timeout_s`` bounds every HTTP call, so a hung server cannot pin a worker thread.
    """
    if not settings.meili_url:
        raise ValueError("MARKET_MEILI_URL is not set")
    client = meilisearch.Client(
        settings.meili_url, settings.meili_key or None, timeout=http_timeout_s
    )
    prefix = index_prefix or getattr(settings, "meili_index_prefix", None) or DEFAULT_INDEX_PREFIX
    table = synonyms if synonyms is not None else SynonymTable(EXTRA_GROUPS)
    return MeiliBackend(client, table, index_prefix=prefix)
