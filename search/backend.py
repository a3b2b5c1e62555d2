"""The one interface every search backend implements, and the plain data that crosses it.

Backends know nothing of the catalog's ORM: the catalog turns its rows into
:class:`SearchDocument` values and asks for :class:`SearchRequest` results. Two kinds of document
share one shape: published solutions and the providers offering them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

DocKind = Literal["solution", "provider"]
SortOrder = Literal["relevance", "rating", "newest", "price"]

# Facets every backend supports, in the order pages show them.
FACETS: tuple[str, ...] = (
    "capability",
    "industry",  # GB/T 4754 division (2 digits)
    "size",  # target SME size (solutions) or own size class (providers)
    "protocol",
    "province",
    "city",
    "locality",  # "local" / "external" relative to the pools the provider is listed in
    "pricing_model",
    "deployment",
    "provider_type",
    "pool",
    "star_rating",
    "certification",
)


@dataclass(frozen=True)
class SearchDocument:
    """One searchable item. Text fields are original text; backends run the text pipeline."""

    id: str  # "<kind>:<uuid>", unique across kinds
    kind: DocKind
    ref_id: str  # the solution or provider id
    provider_id: str
    title: str  # solution title, or the provider's legal name
    provider_name: str
    summary: str = ""
    body: str = ""
    tags: Sequence[str] = ()  # capability/protocol/scene names in zh and en
    facets: Mapping[str, Sequence[str]] = field(default_factory=dict)
    rating: float = 0.0  # best pool star rating (0 when none)
    trust: float = 0.0  # 0..1, ranking tie-breaker after the star rating
    published_at: datetime | None = None
    price_min_fen: int | None = None
    fingerprint: str = ""  # content hash, lets `check` find stale documents


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    kind: DocKind = "solution"
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)  # OR within, AND across
    facets: Sequence[str] = ()
    sort: SortOrder = "relevance"
    page: int = 1
    size: int = 20


@dataclass(frozen=True)
class Hit:
    id: str
    kind: DocKind
    ref_id: str
    provider_id: str
    title: str
    provider_name: str
    summary: str
    score: float
    highlights: Mapping[str, str]  # field -> HTML fragment with <mark> around matches
    rating: float
    facets: Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class SearchResult:
    hits: Sequence[Hit]
    total: int
    facets: Mapping[str, Mapping[str, int]]
    suggestion: str | None = None  # "did you mean", when nothing was found
    took_ms: float = 0.0


@dataclass(frozen=True)
class IndexState:
    """What the index holds, for drift checks: document id -> fingerprint."""

    fingerprints: Mapping[str, str]


class SearchBackend(Protocol):
    name: str

    def upsert(self, documents: Sequence[SearchDocument]) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def search(self, request: SearchRequest) -> SearchResult: ...

    def suggest(self, prefix: str, *, limit: int = 8) -> list[str]: ...

    def health(self) -> dict[str, Any]: ...

    def reindex(self, documents: Iterable[SearchDocument]) -> int:
        """Replace the whole index atomically with ``documents``; returns how many."""
        ...

    def state(self) -> IndexState: ...


@dataclass(frozen=True)
class Suggestion:
    """One search-as-you-type completion: a solution title or a provider name."""

    text: str
    kind: DocKind
    ref_id: str


@runtime_checkable
class SuggestsItems(Protocol):
    """Optional: backends that can say which item each completion belongs to.

    :meth:`SearchBackend.suggest` returns bare texts; a search box wants to jump straight to
    the item, so the API prefers this method when a backend offers it.
    """

    def suggest_items(self, prefix: str, *, limit: int = 8) -> list[Suggestion]: ...
