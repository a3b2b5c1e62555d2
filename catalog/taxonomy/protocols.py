"""Industrial protocol ids (``proto.*``): resolving what users type, and family coverage.

SMEs describe their shop floor in whatever words the equipment vendor used ("西门子200smart",
"OPC-UA", "485"), while providers declare ids. Both sides meet here.
"""

from __future__ import annotations

import functools
import unicodedata

from catalog.taxonomy.registry import Term, vocabulary

# Separators users insert freely between the parts of a protocol name.
_DROP = str.maketrans("", "", "-_/")


def normalise_protocol_text(text: str) -> str:
    """NFKC, lower-case, no whitespace and no ``- _ /``: "OPC-UA", "opc ua" → "opcua"."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(folded.split()).translate(_DROP)


def _spellings(term: Term) -> list[str]:
    name = term.extra.get("name")
    spellings = [term.id, term.id.removeprefix("proto."), term.zh, term.en, *term.synonyms]
    if isinstance(name, str):
        spellings.append(name)
    return spellings


@functools.cache
def _lookup() -> dict[str, str]:
    """Normalised spelling → id, refusing data where one spelling would name two protocols."""
    table: dict[str, str] = {}
    for term in vocabulary("protocols"):
        for spelling in _spellings(term):
            key = normalise_protocol_text(spelling)
            if not key:
                continue
            owner = table.setdefault(key, term.id)
            if owner != term.id:
                raise ValueError(
                    f"protocols.json: {spelling!r} would resolve to both {owner} and {term.id}"
                )
    return table


def resolve_protocol(text: str) -> str | None:
    """The ``proto.*`` id for an id, name or alias as typed, or ``None`` if unrecognised."""
    stripped = text.strip()
    if stripped in vocabulary("protocols"):
        return stripped
    return _lookup().get(normalise_protocol_text(stripped))


def protocol_covers(supported: str, requested: str) -> bool:
    """Whether declaring ``supported`` satisfies a request for ``requested``.

    A family covers all its descendants ("proto.s7" covers "proto.s7.isotcp"); an id covers
    itself; a child never covers its parent or its siblings, because supporting S7-1200 says
    nothing about an S7-300 on MPI.
    """
    if supported == requested:
        return True
    protocols = vocabulary("protocols")
    seen: set[str] = set()
    current = protocols.get(requested)
    while current is not None and current.parent is not None and current.id not in seen:
        seen.add(current.id)
        if current.parent == supported:
            return True
        current = protocols.get(current.parent)
    return False
