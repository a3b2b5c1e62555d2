"""Versioned reference vocabularies shipped as JSON inside the package.

The data lives in ``catalog/taxonomy/data/*.json`` rather than in code so that curators can
review a change to a standard's table as a data diff, and so that every consumer (API, search
synonyms, matching bitsets) reads the same copy. Each file is an object with ``version``,
``source`` and ``items``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

VOCABULARY_NAMES: tuple[str, ...] = (
    "industries",
    "regions",
    "capabilities",
    "protocols",
    "scenes",
    "provider_types",
    "pricing_models",
    "deployments",
    "policy_tags",
    "sme_sizes",
)

# Keys lifted out of a JSON item into Term fields; everything else lands in Term.extra.
# Protocol files say "aliases" (what users type for a wire protocol) where the other files say
# "synonyms"; both feed the same field so search expansion treats them alike.
_TERM_KEYS = frozenset({"id", "zh", "en", "synonyms", "aliases", "parent"})

_DATA_PACKAGE = "catalog.taxonomy"
_DATA_DIR = "data"


def _freeze(value: Any) -> Any:
    """Deep read-only copy of parsed JSON.

    Vocabularies are cached for the life of the process and shared by every request; a caller
    that appended to a term's list would silently change the taxonomy for everyone else.
    """
    if isinstance(value, Mapping):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(item) for item in value)
    return value


def _thaw(value: Any) -> Any:
    """Inverse of :func:`_freeze`: plain dicts and lists, ready for ``json.dumps``."""
    if isinstance(value, Mapping):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_thaw(item) for item in value]
    return value


@dataclass(frozen=True)
class Term:
    """One entry of a vocabulary.

    ``extra`` keeps the item's remaining fields (scenes, group, levels, unit, …). It is left
    out of equality and hashing because identity is the id and names; a term stays usable as a
    set member or dict key even though its extra data is a mapping.
    """

    id: str
    zh: str
    en: str
    synonyms: tuple[str, ...] = ()
    parent: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "zh": self.zh,
            "en": self.en,
            "synonyms": list(self.synonyms),
            "parent": self.parent,
        }
        out.update(_thaw(self.extra))
        return out


@dataclass(frozen=True)
class Vocabulary:
    name: str
    version: str
    source: str
    terms: tuple[Term, ...]
    # Built once in __post_init__ so get() is O(1); excluded from comparison because it is
    # derived entirely from ``terms``.
    _index: Mapping[str, Term] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        index: dict[str, Term] = {}
        for term in self.terms:
            if term.id in index:
                raise ValueError(f"vocabulary {self.name!r} lists id {term.id!r} twice")
            index[term.id] = term
        # Frozen dataclass: assignment has to go through object.__setattr__.
        object.__setattr__(self, "_index", MappingProxyType(index))

    def get(self, term_id: str) -> Term | None:
        return self._index.get(term_id)

    def __contains__(self, term_id: object) -> bool:
        return isinstance(term_id, str) and term_id in self._index

    def __iter__(self) -> Iterator[Term]:
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)

    def ids(self) -> frozenset[str]:
        return frozenset(self._index)

    def as_dicts(self) -> list[dict[str, Any]]:
        """Fresh JSON-ready dicts, one per term, in file order (the order curators chose)."""
        return [term.as_dict() for term in self.terms]


def _data_dir() -> Any:
    return resources.files(_DATA_PACKAGE).joinpath(_DATA_DIR)


def load_data_file(stem: str) -> dict[str, Any]:
    """Parse ``data/<stem>.json`` afresh.

    Not cached: the modules that need the raw file (industry sections, size rules) derive
    their own small tables once and cache those instead.
    """
    resource = _data_dir().joinpath(f"{stem}.json")
    if not resource.is_file():
        raise KeyError(f"no taxonomy data file named {stem!r}")
    data = json.loads(resource.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"taxonomy file {stem}.json must hold a JSON object")
    for key in ("version", "source", "items"):
        if key not in data:
            raise ValueError(f"taxonomy file {stem}.json lacks {key!r}")
    return data


def _term_from_item(item: Mapping[str, Any]) -> Term:
    synonyms = [*item.get("synonyms", ()), *item.get("aliases", ())]
    extra = {key: value for key, value in item.items() if key not in _TERM_KEYS}
    parent = item.get("parent")
    return Term(
        id=str(item["id"]),
        zh=str(item["zh"]),
        en=str(item["en"]),
        synonyms=tuple(str(s) for s in synonyms),
        parent=None if parent is None else str(parent),
        extra=_freeze(extra),
    )


@functools.cache
def vocabulary(name: str) -> Vocabulary:
    """The named vocabulary, loaded once per process.

    Raises ``KeyError`` for a name outside :data:`VOCABULARY_NAMES`; ``size_rules`` is data
    but not a vocabulary (it has thresholds, not terms), so it is refused here too.
    """
    if name not in VOCABULARY_NAMES:
        expected = ", ".join(VOCABULARY_NAMES)
        raise KeyError(f"unknown vocabulary {name!r}; expected one of {expected}")
    data = load_data_file(name)
    return Vocabulary(
        name=name,
        version=str(data["version"]),
        source=str(data["source"]),
        terms=tuple(_term_from_item(item) for item in data["items"]),
    )


@functools.cache
def taxonomy_version() -> str:
    """Short digest of every shipped data file, for HTTP ETags on taxonomy endpoints.

    File names are hashed together with contents so that renaming or adding a file also
    changes the tag; files are visited in sorted order so the digest does not depend on the
    directory listing order of the platform or of a zipped install.
    """
    digest = hashlib.sha256()
    entries = sorted(
        (entry for entry in _data_dir().iterdir() if entry.name.endswith(".json")),
        key=lambda entry: entry.name,
    )
    for entry in entries:
        digest.update(entry.name.encode("utf-8"))
        digest.update(b"\0")
        digest.update(entry.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def validate_codes(name: str, codes: Iterable[str]) -> list[str]:
    """Codes that ``name`` does not know, in input order (an empty list means all are valid).

    Industries are special: GB/T 4754 has about 1,400 classes and we ship only the
    manufacturing divisions, so a 3- or 4-digit code is accepted whenever its division is one
    we know. Every other vocabulary accepts exact ids only.
    """
    if name == "industries":
        # Imported here because industry.py itself imports this module.
        from catalog.taxonomy.industry import is_known_industry

        return [code for code in codes if not is_known_industry(code)]
    vocab = vocabulary(name)
    return [code for code in codes if code not in vocab]
