"""Pure builders for the Meilisearch backend: index settings, documents, filters, queries.

Nothing here talks to a server, so every payload the backend sends can be checked in a unit
test; :mod:`search.meili_backend` only moves these dictionaries over the wire and waits.

Choices that differ from the embedded SQL backend, and why (DOMAIN.md §6):

* Meilisearch segments Chinese with jieba and matches **word prefixes** only, so substrings
  inside a segmented word (工具箱 in 测试工具箱, 简单 in 安装简单) are not found. We do not try
  to fake bigrams on top of it; the live tests record these misses as strict expected
  failures so an upgrade that fixes one is noticed.
* Query words after the 10th are ignored by the engine. :func:`meili_query` cuts the query to
  the first :data:`MAX_QUERY_WORDS` of our own words, so what is dropped is decided here,
  visibly, rather than by the server. jieba may split one Han run into several engine words,
  so a long Chinese query can still lose its tail on the server.
* Pinyin is no longer produced by the engine (v1.8 dropped it), so names carry a
  ``name_pinyin`` attribute with the same pinyin tokens the SQL backend indexes
  (:func:`search.text.name_terms`); typos are disabled on it because every short pinyin
  string is one edit away from a homophone's.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, cast

from search.backend import FACETS, DocKind, Hit, SearchDocument, SearchRequest, SortOrder
from search.synonyms import SynonymTable
from search.text import edit_distance_at_most, name_terms, split_words, tokens

__all__ = [
    "FILTERABLE_ATTRIBUTES",
    "HIGHLIGHT_POST",
    "HIGHLIGHT_PRE",
    "MAX_QUERY_WORDS",
    "RANKING_RULES",
    "SEARCHABLE_ATTRIBUTES",
    "SORTABLE_ATTRIBUTES",
    "build_filter",
    "document_from_payload",
    "document_payload",
    "facet_counts",
    "from_meili_id",
    "hit_from_payload",
    "index_settings",
    "meili_query",
    "quote_filter_value",
    "search_params",
    "sort_payload",
    "suggest_params",
    "suggestions",
    "synonyms_payload",
    "to_meili_id",
    "typo_exact_words",
    "vocabulary_words",
]

# --- ids ---------------------------------------------------------------------------------------

# Meilisearch document ids may only hold these characters and at most 511 bytes.
_ID_SAFE: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_ID_MAX_BYTES: Final = 511
_ESCAPE: Final = "_"


def to_meili_id(document_id: str) -> str:
    """A Meilisearch-safe id for ``document_id``, reversible with :func:`from_meili_id`.

    Letters, digits and ``-`` stay as they are (a UUID passes through unchanged); every other
    character becomes ``_`` plus two lower-case hex digits per UTF-8 byte, and ``_`` itself is
    escaped too, so the mapping is injective: ``solution:0f…`` → ``solution_3a0f…``.
    """
    if not document_id:
        raise ValueError("a document id must not be empty")
    pieces: list[str] = []
    for char in document_id:
        if char in _ID_SAFE:
            pieces.append(char)
        else:
            pieces.extend(f"{_ESCAPE}{byte:02x}" for byte in char.encode("utf-8"))
    safe = "".join(pieces)
    if len(safe) > _ID_MAX_BYTES:
        raise ValueError(f"document id too long for Meilisearch once escaped: {document_id!r}")
    return safe


def from_meili_id(meili_id: str) -> str:
    """The original document id of a Meilisearch id made by :func:`to_meili_id`."""
    raw = bytearray()
    index = 0
    while index < len(meili_id):
        char = meili_id[index]
        if char == _ESCAPE:
            digits = meili_id[index + 1 : index + 3]
            if len(digits) != 2 or any(d not in "0123456789abcdef" for d in digits):
                raise ValueError(f"malformed escape in Meilisearch id {meili_id!r}")
            raw.append(int(digits, 16))
            index += 3
            continue
        if char not in _ID_SAFE:
            raise ValueError(f"character {char!r} cannot occur in a Meilisearch id")
        raw.append(ord(char))
        index += 1
    return raw.decode("utf-8")


# --- settings ----------------------------------------------------------------------------------

# Text attributes, in the order the "attribute" ranking rule weighs them.
TEXT_ATTRIBUTES: Final = ("title", "provider_name", "tags", "summary", "body")
PINYIN_ATTRIBUTE: Final = "name_pinyin"
# Pinyin comes last: a pinyin hit says less about relevance than any written word.
SEARCHABLE_ATTRIBUTES: Final = (*TEXT_ATTRIBUTES, PINYIN_ATTRIBUTE)
# "id" is filterable only so that deletes can go through the filter route: the client marks
# deleting by a list of ids as deprecated.
FILTERABLE_ATTRIBUTES: Final = (*FACETS, "kind", "provider_id", "id")
SORTABLE_ATTRIBUTES: Final = ("rating", "trust", "published_at", "price_min_fen")

# "sort" sits right after "words": with matchingStrategy "all" every hit matches every word,
# so an explicit sort (newest, price) orders the whole result instead of only breaking ties
# between equally relevant hits; with no sort requested the rule is a no-op and relevance
# decides. The star rating and trust are custom rules (``attribute:desc``) after every
# relevance rule, so they only break ties, as in the SQL backend.
RANKING_RULES: Final = (
    "words",
    "sort",
    "typo",
    "proximity",
    "attribute",
    "exactness",
    "rating:desc",
    "trust:desc",
)

# Meilisearch's own thresholds, spelled out so the SQL backend's rule (search.text) and this
# one are visibly the same: one typo from 5 letters, two from 9.
MIN_WORD_SIZE_ONE_TYPO: Final = 5
MIN_WORD_SIZE_TWO_TYPOS: Final = 9

DEFAULT_MAX_VALUES_PER_FACET: Final = 200  # cities outnumber Meilisearch's default of 100
DEFAULT_MAX_TOTAL_HITS: Final = 100_000  # totals stay exact up to the benchmark catalogue

_LOCALES: Final = ["cmn"]


def synonyms_payload(table: SynonymTable) -> dict[str, list[str]]:
    """Meilisearch's synonyms map: every normalised form → the other forms of its concepts.

    Meilisearch synonyms are one-way, so each form gets its own entry. A form shared by
    several concepts (SaaS) maps to the union of their forms, as :meth:`SynonymTable.expand`
    does on the SQL side. Keys and values are sorted so the payload, and hence the settings
    task, is the same on every run.
    """
    mapping: dict[str, set[str]] = {}
    for concept in table:
        forms = table.forms(concept)
        for form in forms:
            others = mapping.setdefault(form, set())
            others.update(other for other in forms if other != form)
    return {form: sorted(others) for form, others in sorted(mapping.items()) if others}


def _is_latin_word(word: str) -> bool:
    return word.isascii() and word.isalpha()


def _typo_budget(word: str) -> int:
    if len(word) >= MIN_WORD_SIZE_TWO_TYPOS:
        return 2
    return 1 if len(word) >= MIN_WORD_SIZE_ONE_TYPO else 0


def typo_exact_words(table: SynonymTable) -> list[str]:
    """Latin vocabulary words that must match exactly because a typo reaches another concept.

    Typo tolerance is for misspellings (modbos → modbus), not for turning one known term into
    a different one; a word listed in ``disableOnWords`` is matched without typos when the
    user typed it in full.
    """
    owners: dict[str, set[str]] = {}
    for concept in table:
        for form in table.forms(concept):
            if _is_latin_word(form) and len(form) >= MIN_WORD_SIZE_ONE_TYPO:
                owners.setdefault(form, set()).add(concept)
    words = sorted(owners)
    exact: set[str] = set()
    for position, word in enumerate(words):
        for other in words[position + 1 :]:
            if owners[word] & owners[other]:
                continue
            if edit_distance_at_most(word, other, _typo_budget(word)) or edit_distance_at_most(
                other, word, _typo_budget(other)
            ):
                exact.update((word, other))
    return sorted(exact)


def index_settings(
    synonyms: SynonymTable,
    *,
    max_values_per_facet: int = DEFAULT_MAX_VALUES_PER_FACET,
    max_total_hits: int = DEFAULT_MAX_TOTAL_HITS,
) -> dict[str, Any]:
    """The full settings object for both indexes (solutions and providers share it)."""
    return {
        "searchableAttributes": list(SEARCHABLE_ATTRIBUTES),
        "filterableAttributes": list(FILTERABLE_ATTRIBUTES),
        "sortableAttributes": list(SORTABLE_ATTRIBUTES),
        "rankingRules": list(RANKING_RULES),
        "synonyms": synonyms_payload(synonyms),
        # Short Chinese strings are easily taken for Japanese (both use Han characters), which
        # switches segmenters; pinning cmn keeps jieba on every text field.
        "localizedAttributes": [
            {"attributePatterns": list(TEXT_ATTRIBUTES), "locales": list(_LOCALES)}
        ],
        "typoTolerance": {
            "enabled": True,
            # Numbers and codes (2024 vs 2025, S7-1200 vs S7-1500) are different things one
            # character apart; needs Meilisearch ≥ 1.15.
            "disableOnNumbers": True,
            "disableOnAttributes": [PINYIN_ATTRIBUTE],
            "disableOnWords": typo_exact_words(synonyms),
            "minWordSizeForTypos": {
                "oneTypo": MIN_WORD_SIZE_ONE_TYPO,
                "twoTypos": MIN_WORD_SIZE_TWO_TYPOS,
            },
        },
        "faceting": {
            "maxValuesPerFacet": max_values_per_facet,
            # Pages list the biggest groups first, like the SQL backend's GROUP BY ... ORDER BY.
            "sortFacetValuesBy": {"*": "count"},
        },
        "pagination": {"maxTotalHits": max_total_hits},
    }


# --- documents ---------------------------------------------------------------------------------

# Private-use characters mark highlights on the wire (see _fragment); they are removed from
# indexed text so a document can never forge a highlight.
HIGHLIGHT_PRE: Final = "\ue000"
HIGHLIGHT_POST: Final = "\ue001"
_SENTINELS: Final = dict.fromkeys(map(ord, HIGHLIGHT_PRE + HIGHLIGHT_POST))

_RESERVED_ATTRIBUTES: Final = frozenset(
    {
        "id",
        "kind",
        "ref_id",
        "provider_id",
        *TEXT_ATTRIBUTES,
        PINYIN_ATTRIBUTE,
        "rating",
        "trust",
        "published_at",
        "price_min_fen",
        "fingerprint",
    }
)
# Facets become top-level attributes; a facet named like a document field would overwrite it.
assert _RESERVED_ATTRIBUTES.isdisjoint(FACETS), "a facet name collides with a document field"

_KINDS: Final = ("solution", "provider")


def _clean(text: str) -> str:
    return text.translate(_SENTINELS)


def _pinyin(*names: str) -> str:
    terms: dict[str, None] = {}
    for name in names:
        # name_terms is tokens() followed by the pinyin terms, so the tail is the pinyin.
        terms.update(dict.fromkeys(name_terms(name)[len(tokens(name)) :]))
    return " ".join(terms)


def _timestamp(moment: datetime) -> int:
    # Naive datetimes are taken as UTC, the convention of the database layer.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def document_payload(document: SearchDocument) -> dict[str, Any]:
    """The Meilisearch document for ``document``.

    Facets become top-level string arrays (filterable and countable), ``published_at`` a unix
    timestamp in seconds (sortable as a number), and optional numbers are left out rather
    than set to null, so documents without a price sort last in either direction.
    """
    unknown = sorted(set(document.facets) - set(FACETS))
    if unknown:
        raise ValueError(f"unknown facet(s) {', '.join(unknown)} in document {document.id}")
    if document.kind not in _KINDS:
        raise ValueError(f"unknown document kind {document.kind!r} in document {document.id}")
    payload: dict[str, Any] = {
        "id": to_meili_id(document.id),
        "kind": document.kind,
        "ref_id": document.ref_id,
        "provider_id": document.provider_id,
        "title": _clean(document.title),
        "provider_name": _clean(document.provider_name),
        "tags": [_clean(tag) for tag in document.tags],
        "summary": _clean(document.summary),
        "body": _clean(document.body),
        PINYIN_ATTRIBUTE: _pinyin(document.title, document.provider_name),
        # Custom ranking rules need the attribute on every document, hence always a number.
        "rating": float(document.rating),
        "trust": float(document.trust),
        "fingerprint": document.fingerprint,
    }
    if document.published_at is not None:
        payload["published_at"] = _timestamp(document.published_at)
    if document.price_min_fen is not None:
        payload["price_min_fen"] = int(document.price_min_fen)
    for facet in FACETS:
        if facet in document.facets:
            payload[facet] = [str(value) for value in document.facets[facet]]
    return payload


def _kind(value: object) -> DocKind:
    if value not in _KINDS:
        raise ValueError(f"unknown document kind {value!r} in a Meilisearch document")
    return cast(DocKind, value)


def _facets_of(payload: Mapping[str, Any]) -> dict[str, list[str]]:
    return {facet: list(payload[facet]) for facet in FACETS if facet in payload}


def document_from_payload(payload: Mapping[str, Any]) -> SearchDocument:
    """The inverse of :func:`document_payload` (pinyin is derived data and dropped)."""
    published = payload.get("published_at")
    price = payload.get("price_min_fen")
    return SearchDocument(
        id=from_meili_id(str(payload["id"])),
        kind=_kind(payload["kind"]),
        ref_id=str(payload["ref_id"]),
        provider_id=str(payload["provider_id"]),
        title=str(payload["title"]),
        provider_name=str(payload["provider_name"]),
        summary=str(payload.get("summary", "")),
        body=str(payload.get("body", "")),
        tags=tuple(payload.get("tags", ())),
        facets=_facets_of(payload),
        rating=float(payload.get("rating", 0.0)),
        trust=float(payload.get("trust", 0.0)),
        published_at=None if published is None else datetime.fromtimestamp(published, UTC),
        price_min_fen=None if price is None else int(price),
        fingerprint=str(payload.get("fingerprint", "")),
    )


# Fields a search hit needs; body, tags and pinyin stay on the server.
RETRIEVED_ATTRIBUTES: Final = (
    "id",
    "kind",
    "ref_id",
    "provider_id",
    "title",
    "provider_name",
    "summary",
    "rating",
    *FACETS,
)
HIGHLIGHTED_ATTRIBUTES: Final = ("title", "provider_name", "summary", "body")
CROPPED_ATTRIBUTES: Final = ("summary", "body")
# Shown only when they contain a match, as in the SQL backend: the provider name is on every
# card anyway, and the start of a long description explains nothing.
_SHOWN_IF_MATCHED: Final = frozenset({"provider_name", "body"})


def _fragment(formatted: str) -> str:
    """HTML for a ``_formatted`` value: text escaped, sentinel marks turned into <mark>.

    Meilisearch inserts highlight tags verbatim into unescaped document text, so asking it
    for ``<mark>`` directly would pass any markup in a title straight to the page.
    """
    return (
        html.escape(formatted).replace(HIGHLIGHT_PRE, "<mark>").replace(HIGHLIGHT_POST, "</mark>")
    )


def hit_from_payload(payload: Mapping[str, Any]) -> Hit:
    """A :class:`Hit` from one entry of a search response's ``hits``."""
    formatted = payload.get("_formatted") or {}
    highlights: dict[str, str] = {}
    for field in HIGHLIGHTED_ATTRIBUTES:
        value = formatted.get(field)
        if not isinstance(value, str) or not value:
            continue
        if field in _SHOWN_IF_MATCHED and HIGHLIGHT_PRE not in value:
            continue
        highlights[field] = _fragment(value)
    return Hit(
        id=from_meili_id(str(payload["id"])),
        kind=_kind(payload["kind"]),
        ref_id=str(payload["ref_id"]),
        provider_id=str(payload["provider_id"]),
        title=str(payload.get("title", "")),
        provider_name=str(payload.get("provider_name", "")),
        summary=str(payload.get("summary", "")),
        score=float(payload.get("_rankingScore", 0.0)),
        highlights=highlights,
        rating=float(payload.get("rating", 0.0)),
        facets=_facets_of(payload),
    )


def vocabulary_words(payload: Mapping[str, Any]) -> set[str]:
    """Plain Latin words of a document's title, provider name and tags, for "did you mean".

    :func:`search.text.suggest` only corrects plain Latin words, so nothing else is kept.
    """
    texts: list[str] = [str(payload.get("title", "")), str(payload.get("provider_name", ""))]
    texts.extend(str(tag) for tag in payload.get("tags", ()))
    return {token for text in texts for token in tokens(text) if _is_latin_word(token)}


# --- filters -----------------------------------------------------------------------------------


def quote_filter_value(value: str) -> str:
    """``value`` as a double-quoted filter string literal.

    Inside quotes only ``\\`` and ``"`` are special (backslashes must be doubled since
    Meilisearch 1.4); everything else, including spaces, dots, CJK and the words ``AND`` /
    ``OR``, is literal there.
    """
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_filter(filters: Mapping[str, Sequence[str] | str]) -> str | None:
    """A Meilisearch filter expression: OR within a facet, AND across facets.

    Facets are taken in :data:`FILTERABLE_ATTRIBUTES` order so the string is stable; values
    keep their given order with duplicates removed. An empty value list adds no condition
    (nothing was ticked). A bare string counts as one value rather than as its characters.
    Unknown names raise :class:`ValueError` naming the field, for the API's 422.
    """
    unknown = sorted(set(filters) - set(FILTERABLE_ATTRIBUTES))
    if unknown:
        raise ValueError(f"unknown filter field(s): {', '.join(unknown)}")
    clauses: list[str] = []
    for name in FILTERABLE_ATTRIBUTES:
        if name not in filters:
            continue
        given = filters[name]
        values = [given] if isinstance(given, str) else list(dict.fromkeys(given))
        if not values:
            continue
        if len(values) == 1:
            clauses.append(f"{name} = {quote_filter_value(str(values[0]))}")
        else:
            literals = ", ".join(quote_filter_value(str(value)) for value in values)
            clauses.append(f"{name} IN [{literals}]")
    return " AND ".join(clauses) if clauses else None


# --- queries -----------------------------------------------------------------------------------

_SORTS: Final[Mapping[str, tuple[str, ...]]] = {
    "relevance": (),
    "rating": ("rating:desc",),
    "newest": ("published_at:desc",),
    "price": ("price_min_fen:asc",),
}

MAX_QUERY_WORDS: Final = 10

# A unified social credit code (18 characters, digits and capital letters without I O Z S V)
# after lower-casing. One character off is another company, so it is sent as a phrase: phrase
# words are matched exactly, without typos or prefixes.
_CREDIT_CODE = re.compile(r"(?=[0-9a-z]*[0-9])[0-9a-hj-np-rtuwxy]{18}")


def sort_payload(order: SortOrder | str) -> list[str] | None:
    """The ``sort`` search parameter for a sort order; None for relevance."""
    if order not in _SORTS:
        raise ValueError(f"unknown sort order: {order}")
    return list(_SORTS[order]) or None


def meili_query(text: str) -> str:
    """What is sent as ``q``: our normalised words, at most :data:`MAX_QUERY_WORDS` of them.

    Normalising first (NFKC, lower case) makes full-width input behave like the SQL backend.
    Words are re-joined with spaces, which also drops user-typed quote marks: phrase syntax is
    not part of our search box. Credit-code-like words are quoted so they match exactly.
    """
    words = split_words(text)[:MAX_QUERY_WORDS]
    return " ".join(f'"{word}"' if _CREDIT_CODE.fullmatch(word) else word for word in words)


def _checked_facets(facets: Iterable[str]) -> list[str]:
    requested = list(dict.fromkeys(facets))
    unknown = sorted(set(requested) - set(FACETS))
    if unknown:
        raise ValueError(f"unknown facet(s): {', '.join(unknown)}")
    return requested


def search_params(request: SearchRequest, *, crop_length: int = 40) -> tuple[str, dict[str, Any]]:
    """``q`` and the search parameters for ``request`` (raises ValueError on bad input)."""
    if request.page < 1 or request.size < 1:
        raise ValueError("page and size must be at least 1")
    params: dict[str, Any] = {
        # page/hitsPerPage (not offset/limit) makes Meilisearch count totalHits exhaustively.
        "page": request.page,
        "hitsPerPage": request.size,
        # Every word must match, as in the SQL backend; see RANKING_RULES for the sort effect.
        "matchingStrategy": "all",
        "attributesToRetrieve": list(RETRIEVED_ATTRIBUTES),
        "attributesToHighlight": list(HIGHLIGHTED_ATTRIBUTES),
        "attributesToCrop": list(CROPPED_ATTRIBUTES),
        "cropLength": crop_length,
        "cropMarker": "…",
        "highlightPreTag": HIGHLIGHT_PRE,
        "highlightPostTag": HIGHLIGHT_POST,
        "showRankingScore": True,
        "locales": list(_LOCALES),
    }
    expression = build_filter(request.filters)
    if expression is not None:
        params["filter"] = expression
    facets = _checked_facets(request.facets)
    if facets:
        params["facets"] = facets
    sort = sort_payload(request.sort)
    if sort is not None:
        params["sort"] = sort
    return meili_query(request.q), params


def facet_counts(response: Mapping[str, Any], facets: Sequence[str]) -> dict[str, dict[str, int]]:
    """``facetDistribution`` as :attr:`SearchResult.facets`, every requested facet present."""
    distribution = response.get("facetDistribution") or {}
    return {
        facet: {str(value): int(count) for value, count in (distribution.get(facet) or {}).items()}
        for facet in facets
    }


def suggest_params(limit: int) -> dict[str, Any]:
    """Search parameters for search-as-you-type over names (titles, provider names, pinyin)."""
    return {
        "limit": limit,
        "attributesToSearchOn": ["title", "provider_name", PINYIN_ATTRIBUTE],
        "attributesToRetrieve": ["title", "provider_name"],
        # Tells which name matched, so a solution found by its provider offers that name.
        "showMatchesPosition": True,
        "showRankingScore": True,
        "matchingStrategy": "all",
        "locales": list(_LOCALES),
    }


def suggestions(responses: Iterable[Mapping[str, Any]], limit: int) -> list[str]:
    """Distinct names from several suggest responses, best ranking score first."""
    scored: list[tuple[float, int, str]] = []
    for response in responses:
        for hit in response.get("hits", ()):
            matched = hit.get("_matchesPosition") or {}
            use_provider = "provider_name" in matched and "title" not in matched
            name = str(hit.get("provider_name" if use_provider else "title", ""))
            if name:
                # The running position keeps equal scores in the engine's order.
                scored.append((-float(hit.get("_rankingScore", 0.0)), len(scored), name))
    names = dict.fromkeys(name for _, _, name in sorted(scored))
    return list(names)[:limit]
