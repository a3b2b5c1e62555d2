"""Synonym groups for query-side expansion.

Bigrams give exact substring recall but no help with vocabulary: a buyer types ``MES`` and a
provider wrote 制造执行系统. The table maps every surface form to its concept so that
:func:`search.text.parse_query` can offer all forms of a concept as alternatives. Expansion
happens only at query time, so editing the taxonomy never forces a reindex.

This module is a leaf like the rest of ``search``: groups arrive as plain data. The taxonomy
adapter lives elsewhere and only needs :func:`table_from_terms`.

Forms are compared by :func:`form_key`: normalised, then stripped of whitespace and every
punctuation mark, so ``OPC UA``, ``OPC-UA``, ``opc/ua`` and ``OPCUA`` are one form, and
``西门子 S7`` equals ``西门子S7``.

A form can belong to several concepts (``SaaS`` is a capability and a deployment model, and a
taxonomy form may reappear in :data:`EXTRA_GROUPS`). All owners are kept: :meth:`lookup`
returns the first one registered, deterministically, and :meth:`SynonymTable.expand` returns
the union of all owners' forms, because a user typing an ambiguous word may mean any of them.
Groups that share a concept id are merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from search.text import normalise, split_words

__all__ = [
    "EXTRA_GROUPS",
    "SynonymGroup",
    "SynonymTable",
    "form_key",
    "groups_from_terms",
    "table_from_terms",
]

SynonymGroup = tuple[str, Sequence[str]]
"""A concept id and its surface forms."""

_NOT_KEY = re.compile(r"[\W_]+")

# A trailing parenthetical in a taxonomy name ("Modbus RTU（串口）", "Manufacturing execution
# system (MES)") is a gloss; the name without it is what people actually type.
_TRAILING_GLOSS = re.compile(r"^(.*?\S)\s*[(（][^()（）]*[)）]\s*$")

# General groups from DOMAIN.md §6 and everyday usage, for a table built without the taxonomy
# and for pairs the taxonomy files do not spell out. Where a group repeats a taxonomy concept
# the two expand together (see the module docstring), so duplicates cost nothing.
EXTRA_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("extra.cloud", ("上云", "企业上云")),
    ("extra.mlps", ("等保", "等级保护", "网络安全等级保护")),
    ("extra.data_acquisition", ("数采", "数据采集", "设备联网")),
    ("extra.mes", ("MES", "制造执行系统")),
    ("extra.erp", ("ERP", "企业资源计划")),
    ("extra.wms", ("WMS", "仓储管理", "仓储管理系统")),
    ("extra.aps", ("APS", "高级计划排程")),
    ("extra.plm", ("PLM", "产品生命周期管理")),
    ("extra.scada", ("SCADA", "组态")),
    ("extra.opcua", ("OPC UA", "OPCUA", "OPC-UA")),
    ("extra.subscription", ("订阅", "按月付费", "包月")),
    ("extra.digital_transformation", ("数字化转型", "数转")),
)


def form_key(text: str) -> str:
    """The comparison key of a surface form: normalised, no whitespace or punctuation."""
    return _NOT_KEY.sub("", normalise(text))


class SynonymTable:
    """Surface forms → concept ids, and concept ids → normalised surface forms."""

    __slots__ = ("_forms", "_owners", "_max_words")

    def __init__(self, groups: Iterable[SynonymGroup] = ()) -> None:
        self._forms: dict[str, list[str]] = {}
        self._owners: dict[str, list[str]] = {}
        # Bounds the look-ahead of longest_match to the longest form, in query words.
        self._max_words = 0
        for concept, surface_forms in groups:
            # A bare string is a Sequence[str] too, and would register every character as a
            # form of its own; fail loudly instead.
            if isinstance(surface_forms, str):
                raise TypeError(f"forms of {concept!r} must be a sequence of strings, not a str")
            self._add(concept, surface_forms)

    def _add(self, concept: str, surface_forms: Iterable[str]) -> None:
        forms = self._forms.setdefault(concept, [])
        for surface in surface_forms:
            norm = normalise(surface)
            key = _NOT_KEY.sub("", norm)
            if not key:
                continue
            if norm not in forms:
                forms.append(norm)
            owners = self._owners.setdefault(key, [])
            if concept not in owners:
                owners.append(concept)
            self._max_words = max(self._max_words, len(split_words(norm)))

    def __len__(self) -> int:
        return len(self._forms)

    def __iter__(self) -> Iterator[str]:
        """Concept ids in registration order."""
        return iter(self._forms)

    def concepts(self, form: str) -> tuple[str, ...]:
        """Every concept ``form`` belongs to, in registration order."""
        return tuple(self._owners.get(form_key(form), ()))

    def lookup(self, normalised_form: str) -> str | None:
        """The concept of a surface form (the first registered one if several), or None."""
        owners = self._owners.get(form_key(normalised_form))
        return owners[0] if owners else None

    def forms(self, concept_id: str) -> list[str]:
        """Normalised surface forms of a concept in registration order ([] if unknown)."""
        return list(self._forms.get(concept_id, ()))

    def expand(self, word: str) -> list[str]:
        """``word`` (normalised) followed by every other form of its concept(s).

        Unknown words come back alone, normalised like every other returned form.
        """
        norm = normalise(word)
        expanded: dict[str, None] = {norm: None}
        for concept in self._owners.get(_NOT_KEY.sub("", norm), ()):
            expanded.update(dict.fromkeys(self._forms[concept]))
        return list(expanded)

    def longest_match(self, words: Sequence[str], start: int) -> tuple[str, int] | None:
        """The longest run of ``words`` from ``start`` that is a surface form.

        ``words`` are query words as :func:`search.text.split_words` returns them, so a form
        written with spaces (``opc ua``) or across scripts (``西门子S7``) matches several
        words. Returns ``(concept_id, end)`` with ``end`` the index after the last word used
        (the first registered concept if the form has several), or None.
        """
        if not 0 <= start < len(words):
            return None
        stop = min(len(words), start + self._max_words)
        for end in range(stop, start, -1):
            owners = self._owners.get(form_key("".join(words[start:end])))
            if owners:
                return owners[0], end
        return None


def _text_attribute(item: object, name: str) -> str | None:
    value = getattr(item, name, None)
    return value if isinstance(value, str) and value.strip() else None


def _plain_name(name: str) -> str:
    # Nobody types the gloss along with the name, and keeping the glossed spelling would turn
    # it into a long phrase that only bloats every expanded query.
    gloss = _TRAILING_GLOSS.match(name)
    return gloss.group(1) if gloss else name


def groups_from_terms(terms: Iterable[object]) -> list[tuple[str, tuple[str, ...]]]:
    """One group per term-like object with ``id``, ``zh``, ``en`` and ``synonyms``.

    Attributes are read with ``getattr`` so any object of that shape works and ``search``
    stays free of catalogue imports. Missing or blank attributes are skipped, and a name with
    a trailing gloss in brackets contributes the name without it (``Modbus RTU（串口）`` →
    ``Modbus RTU``; the gloss is usually a synonym already). Objects without a string ``id``
    are ignored.
    """
    groups: list[tuple[str, tuple[str, ...]]] = []
    for term in terms:
        concept = _text_attribute(term, "id")
        if concept is None:
            continue
        forms: list[str] = []
        for attribute in ("zh", "en"):
            name = _text_attribute(term, attribute)
            if name is not None:
                forms.append(_plain_name(name))
        synonyms = getattr(term, "synonyms", None) or ()
        if isinstance(synonyms, str):
            synonyms = (synonyms,)
        forms.extend(form for form in synonyms if isinstance(form, str) and form.strip())
        groups.append((concept, tuple(dict.fromkeys(forms))))
    return groups


def table_from_terms(
    terms: Iterable[object], *, extra: Iterable[SynonymGroup] = EXTRA_GROUPS
) -> SynonymTable:
    """A table from taxonomy terms (taken first, so they win :meth:`SynonymTable.lookup`)
    plus ``extra`` groups (the built-in :data:`EXTRA_GROUPS` unless told otherwise).

    Chain several vocabularies into ``terms`` to get one table for all of them.
    """
    return SynonymTable([*groups_from_terms(terms), *extra])
