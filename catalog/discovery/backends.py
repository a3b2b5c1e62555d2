"""Which search backend serves this deployment, and the synonym table both backends share.

The embedded SQL backend is the default and needs nothing but the database: it is built per
session, so it reads and writes inside the caller's transaction. With ``MARKET_MEILI_URL`` set,
Meilisearch serves instead; its client is created once per process and shared.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from functools import cache
from itertools import chain
from typing import Any, cast

from sqlalchemy.orm import Session

from catalog.taxonomy import vocabulary
from core.database import Database
from core.settings import Settings
from search.backend import SearchBackend
from search.sql_backend import SqlBackend
from search.synonyms import SynonymTable, table_from_terms

MEILI_MODULE = "search.meili_backend"
MEILI_FACTORY = "make_meili_backend"


class SearchUnavailable(RuntimeError):
    """The configured backend cannot be built (say, Meilisearch chosen but not installed)."""


@cache
def synonym_table() -> SynonymTable:
    """Query-side synonyms from the taxonomy's capabilities and protocols, built once.

    The taxonomy ships with the code, so it cannot change while the process runs.
    """
    return table_from_terms(chain(vocabulary("capabilities"), vocabulary("protocols")))


_meili_lock = threading.Lock()
_meili_backends: dict[tuple[str, str | None], SearchBackend] = {}


def _meili_factory() -> Callable[..., Any]:
    # Imported on first use: a deployment on the embedded backend never loads the
    # Meilisearch client, and the module may not exist in every build.
    try:
        module = importlib.import_module(MEILI_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != MEILI_MODULE:
            raise
        raise SearchUnavailable(
            "MARKET_MEILI_URL is set, but this build has no Meilisearch backend "
            f"({MEILI_MODULE}); unset MARKET_MEILI_URL to use the embedded search"
        ) from exc
    factory = getattr(module, MEILI_FACTORY, None)
    if not callable(factory):
        raise SearchUnavailable(f"{MEILI_MODULE} does not define {MEILI_FACTORY}(settings)")
    return cast(Callable[..., Any], factory)


def meili_backend(settings: Settings) -> SearchBackend:
    """The process-wide Meilisearch backend for ``settings`` (one client per URL and key)."""
    assert settings.meili_url, "meili_backend needs MARKET_MEILI_URL"
    key = (settings.meili_url, settings.meili_key)
    with _meili_lock:
        backend = _meili_backends.get(key)
        if backend is None:
            backend = cast(SearchBackend, _meili_factory()(settings, synonyms=synonym_table()))
            _meili_backends[key] = backend
    return backend


def search_backend(session: Session, settings: Settings) -> SearchBackend:
    """The backend to search or update, working with ``session`` where it lives in the
    database (the embedded backend) and ignoring it otherwise."""
    if settings.meili_url:
        return meili_backend(settings)
    return SqlBackend(session, synonyms=synonym_table())


def search_health(db: Database, settings: Settings) -> dict[str, Any]:
    """The backend's own health report, or an error report; never raises (readiness probe)."""
    try:
        with db.sessions() as session:
            return search_backend(session, settings).health()
    except Exception as exc:  # the probe exists to say "not healthy", not to fail
        backend = "meilisearch" if settings.meili_url else "embedded"
        # The type only: /readyz is public, and messages can carry URLs or keys.
        return {"backend": backend, "status": "error", "message": type(exc).__name__}
