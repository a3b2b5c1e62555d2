"""The text pipeline every search backend shares: normalisation, tokens, queries, highlights.

Both the index side and the query side go through these functions, so a backend never has to
know anything about Chinese: it stores the token lists this module produces and evaluates the
:class:`Query` it builds. Everything here is a pure function without I/O, because it runs on
every indexed document and every keystroke of a search box.

Rules (see DOMAIN.md §6 for the reasons):

* **Normalise**: NFKC (full-width ``ＭＥＳ`` → ``mes``, ``５Ｇ`` → ``5g``, the ideographic space
  → a space), drop invisible format characters that copy-paste from web pages and Word leaves
  behind (soft hyphen, zero-width space/joiners, BOM), lower-case, collapse whitespace.
* **Han runs** (CJK Unified Ideographs, Extension A and later extensions, compatibility
  ideographs, and 〇) become overlapping bigrams plus the run's last character:
  ``数字化转型`` → ``数字 字化 化转 转型 型``. A query of two or more characters is the phrase
  of its bigrams, so recall equals ``LIKE '%query%'`` without any dictionary.
* **Latin compounds**: letters and digits joined by ``-``, ``_``, ``/`` or ``.`` (``S7-1200``,
  ``OPC-UA``, ``GB/T``, ``4.0``) are split into their parts, which keep their positions in the
  token stream (``s7 1200``), and the parts glued together (``s71200``) are *appended after all
  positional tokens*. Appending, rather than placing the glued token next to its parts, keeps
  every phrase that runs through a compound contiguous (``西门子S7-1200`` still contains the
  phrase ``西门 门子 子 s7``). A query compound asks for the parts as a phrase *or* the glued
  form, so ``S7-1200``, ``s7 1200``, ``s71200`` and ``西门子S7`` all find a document mentioning
  ``S7-1200``; ``s71200`` does not find a document that wrote ``S7 1200`` with a space.
* **Pinyin** is added for names only (:func:`name_terms`), because homophones make it noisy in
  descriptions; the rule is documented there.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from search.synonyms import SynonymTable

__all__ = [
    "Phrase",
    "Query",
    "document_terms",
    "edit_distance_at_most",
    "highlight",
    "matches",
    "name_terms",
    "normalise",
    "parse_query",
    "query_terms",
    "split_words",
    "suggest",
    "tokens",
    "typo_candidates",
]

# 〇 is the ideographic zero; it lives outside the unified block yet reads as a Han character
# (二〇二四年), so it must not split a run. Characters beyond the BMP (Extension B+) appear in
# personal and place names, so they count as Han as well.
_HAN_CHARS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# A "word character" is anything alphanumeric that is not Han: Latin letters, digits, and the
# occasional Greek or kana word, which all stay whole.
_WORD_CHARS = rf"[^\W_{_HAN_CHARS}]"
# U+2010 is the typographic hyphen (NFKC folds the non-breaking one into it) that word
# processors put into model numbers; treating it like "-" keeps S7‐1200 one compound.
_JOINER_CHARS = "[-_/.\u2010]"
_RUN = re.compile(rf"([{_HAN_CHARS}]+)|({_WORD_CHARS}+(?:{_JOINER_CHARS}{_WORD_CHARS}+)*)")
_HAN_RUN = re.compile(rf"[{_HAN_CHARS}]+")
_PART = re.compile(rf"{_WORD_CHARS}+")
_JOINER = re.compile(_JOINER_CHARS)

# Invisible characters NFKC keeps; inside a company name they would silently split a word.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))

# Marks a highlight fragment cut short; one character, so it barely eats into the layout.
_ELLIPSIS = "…"


def normalise(text: str) -> str:
    """NFKC, invisible characters dropped, lower-cased, whitespace collapsed and trimmed."""
    # ASCII is already NFKC-stable; skipping the C call matters for large English descriptions.
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return " ".join(text.lower().split())


def _bigrams(run: str) -> list[str]:
    return [run[index : index + 2] for index in range(len(run) - 1)]


def _tokens_of_normalised(norm: str) -> list[str]:
    positional: list[str] = []
    glued: list[str] = []
    for han, word in _RUN.findall(norm):
        if han:
            positional.extend(_bigrams(han))
            # The trailing unigram is what a single-character query prefix-matches at the end
            # of a run (云 in 企业上云); every other character already starts a bigram.
            positional.append(han[-1])
        else:
            parts = _JOINER.split(word)
            positional.extend(parts)
            if len(parts) > 1:
                glued.append("".join(parts))
    positional.extend(glued)
    return positional


def tokens(text: str) -> list[str]:
    """Index tokens of ``text``; see the module docstring for the Han and Latin rules.

    ``tokens("数字化转型")`` is ``["数字", "字化", "化转", "转型", "型"]``;
    ``tokens("西门子S7-1200")`` is ``["西门", "门子", "子", "s7", "1200", "s71200"]``.
    Punctuation and whitespace produce no tokens.
    """
    return _tokens_of_normalised(normalise(text))


def document_terms(text: str) -> list[str]:
    """Tokens to index for a description, title or any other free text."""
    return tokens(text)


def split_words(text: str) -> list[str]:
    """Query words after normalisation: Han runs and Latin compounds, in order.

    Script changes are word boundaries, so ``西门子S7`` is ``["西门子", "s7"]``; joiners stay
    inside a compound (``["s7-1200"]``) and other punctuation separates words.
    """
    return [match.group(0) for match in _RUN.finditer(normalise(text))]


def _is_han_run(word: str) -> bool:
    # Runs are script-homogeneous, so the first character decides.
    return _HAN_RUN.match(word) is not None


# --- pinyin -----------------------------------------------------------------------------------

_NO_READING = "\0"


def _syllables(run: str) -> list[str]:
    """Phrase-aware pinyin of a Han run, one syllable per character ("" when unknown)."""
    # Imported here because loading pypinyin's dictionaries takes a few hundred milliseconds,
    # which query parsing and document indexing should not pay for; the data ships with the
    # package, so nothing is downloaded.
    from pypinyin import Style, lazy_pinyin

    # Converting the whole run (not character by character) is what lets pypinyin's phrase
    # dictionary pick the right reading of polyphones: 重庆 → chong qing, 银行 → yin hang.
    raw = lazy_pinyin(run, style=Style.NORMAL, errors=lambda chars: _NO_READING * len(chars))
    syllables: list[str] = []
    for item in raw:
        if item and set(item) == {_NO_READING}:
            syllables.extend([""] * len(item))
        else:
            syllables.append(item.lower())
    if len(syllables) != len(run):
        # Alignment is what the joins below rely on; if a pypinyin version ever groups
        # characters differently, fall back to per-character readings (losing only context).
        syllables = [_single_syllable(char) for char in run]
    return syllables


def _single_syllable(char: str) -> str:
    from pypinyin import Style, lazy_pinyin

    reading = lazy_pinyin(char, style=Style.NORMAL, errors=lambda chars: "")
    return reading[0].lower() if reading else ""


def _pinyin_terms(run: str) -> list[str]:
    syllables = _syllables(run)
    terms: list[str] = []
    # A character without a reading (a rare Extension B name character) breaks the chain, just
    # as punctuation would; pinyin joined across it would be unreachable by typing anyway.
    segment: list[str] = []
    for syllable in [*syllables, ""]:
        if syllable:
            segment.append(syllable)
            continue
        terms.extend(_segment_pinyin_terms(segment))
        segment = []
    return terms


def _segment_pinyin_terms(syllables: Sequence[str]) -> list[str]:
    if not syllables:
        return []
    if len(syllables) == 1:
        return [syllables[0]]
    count = len(syllables)
    # Every suffix of two or more syllables, full pinyin and initials: prefix matching on these
    # finds any stretch typed from a syllable boundary (changzhou…, jinggongkeji…, czsl…,
    # jgkj…). Single-syllable suffixes are left out: a lone syllable matches every homophone.
    suffixes = ["".join(syllables[start:]) for start in range(count - 1)]
    initials = [
        "".join(syllable[0] for syllable in syllables[start:]) for start in range(count - 1)
    ]
    # Pinyin bigrams mirror the Han bigrams: most Chinese words are two characters, and a query
    # word that is not being typed (not the last one) needs an exact token such as jinggong.
    pairs = [syllables[index] + syllables[index + 1] for index in range(count - 1)]
    return [*suffixes, *initials, *pairs]


def name_terms(name: str) -> list[str]:
    """Index tokens for an organisation or solution name: :func:`tokens` plus pinyin.

    For every Han run, from pypinyin's phrase-aware readings (polyphones resolved in context):

    * the full pinyin of every syllable-aligned suffix of two or more characters
      (``changzhoushilijinggongkejiyouxiangongsi``, ``zhoushili…``, …, ``gongsi``);
    * the initials of the same suffixes (``czsljgkjyxgs``, ``zsljgkjyxgs``, …, ``gs``);
    * the joined pinyin of every character pair (``changzhou``, ``zhoushi``, ``shili``, …).

    pypinyin does not segment words, so character pairs stand in for words (as the Han
    bigrams do): ``changzhou`` and ``jinggong`` match exactly, and any longer stretch typed
    from a syllable boundary (``youxiangongsi``, ``jinggongke``, initials ``czsl``) is a prefix
    of a suffix token. A one-character run contributes its single syllable.
    """
    norm = normalise(name)
    pinyin: dict[str, None] = {}
    for run in _HAN_RUN.findall(norm):
        pinyin.update(dict.fromkeys(_pinyin_terms(run)))
    return [*_tokens_of_normalised(norm), *pinyin]


# --- queries ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phrase:
    """One alternative of a query group: tokens that must appear consecutively.

    ``prefix`` lets the last token match any indexed token it starts (a single Han character,
    or the Latin word still being typed).
    """

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: every group in ``must`` has to match (AND), through any one of its
    alternatives (OR); an alternative is a :class:`Phrase`.

    Tuples rather than lists keep a query hashable, so backends can cache results by query.
    ``words`` are the normalised query words, for "did you mean" suggestions.
    """

    must: tuple[tuple[Phrase, ...], ...]
    prefix_last: bool
    raw: str
    words: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.must

    def terms(self) -> list[str]:
        """Every token of every alternative, once each, in order (for BM25 weighting)."""
        seen: dict[str, None] = {}
        for group in self.must:
            for phrase in group:
                seen.update(dict.fromkeys(phrase.tokens))
        return list(seen)


def _word_alternatives(word: str, prefix: bool) -> list[Phrase]:
    if _is_han_run(word):
        if len(word) == 1:
            # One character is always a prefix: it has to reach the bigrams it starts as well
            # as a trailing unigram.
            return [Phrase((word,), prefix=True)]
        return [Phrase(tuple(_bigrams(word)), prefix=False)]
    parts = tuple(_JOINER.split(word))
    alternatives = [Phrase(parts, prefix)]
    if len(parts) > 1:
        alternatives.append(Phrase(("".join(parts),), prefix))
    return alternatives


@lru_cache(maxsize=4096)
def _form_alternatives(form: str) -> tuple[Phrase, ...]:
    """Alternatives for a synonym form or a multi-word literal span, as a document has it."""
    runs = split_words(form)
    if not runs:
        return ()
    if len(runs) == 1:
        return tuple(_word_alternatives(runs[0], prefix=False))
    # Across several runs the phrase has to reproduce the document's token stream, including
    # the trailing unigram that closes every Han run but the last (the last may continue in the
    # document, as in a query word).
    phrase_tokens: list[str] = []
    last = len(runs) - 1
    for index, run in enumerate(runs):
        if _is_han_run(run):
            phrase_tokens.extend(_bigrams(run))
            if index < last or len(run) == 1:
                phrase_tokens.append(run[-1])
        else:
            phrase_tokens.extend(_JOINER.split(run))
    ends_with_char = _is_han_run(runs[-1]) and len(runs[-1]) == 1
    return (Phrase(tuple(phrase_tokens), prefix=ends_with_char),)


def _with_prefix(phrases: Iterable[Phrase], prefix: bool) -> list[Phrase]:
    return [Phrase(phrase.tokens, phrase.prefix or prefix) for phrase in phrases]


def _dedupe(phrases: Iterable[Phrase]) -> tuple[Phrase, ...]:
    # Same tokens twice (OPC UA and OPC-UA both give "opc ua"): keep one, and keep it a prefix
    # if either was, since a prefix match includes the exact one.
    merged: dict[tuple[str, ...], bool] = {}
    for phrase in phrases:
        merged[phrase.tokens] = merged.get(phrase.tokens, False) or phrase.prefix
    unique = [Phrase(tokens, prefix) for tokens, prefix in merged.items() if tokens]
    # Drop alternatives that cannot match anything a shorter one misses (西门子s7 next to s7):
    # an expanded concept easily yields twenty phrases, and every one costs the backend a scan.
    return tuple(
        phrase
        for phrase in unique
        if not any(other is not phrase and _subsumes(other, phrase) for other in unique)
    )


def _subsumes(general: Phrase, specific: Phrase) -> bool:
    """Whether every document matching ``specific`` also matches ``general``."""
    width, tokens = len(general.tokens), specific.tokens
    if width >= len(tokens):
        # Equal tokens were merged already; a longer phrase never subsumes a shorter one.
        return False
    for start in range(len(tokens) - width + 1):
        window = tokens[start : start + width]
        if window[:-1] != general.tokens[:-1]:
            continue
        at_end = start + width == len(tokens)
        if window[-1] == general.tokens[-1]:
            # Aligned with specific's last token, which may itself be only a prefix in the
            # document; general then has to accept a prefix too.
            if not (at_end and specific.prefix) or general.prefix:
                return True
        elif general.prefix and window[-1].startswith(general.tokens[-1]):
            # Whatever the document has there starts with window[-1], hence with general's.
            return True
    return False


def parse_query(text: str, synonyms: SynonymTable | None = None) -> Query:
    """Turn what a user typed into a :class:`Query`.

    Words are :func:`split_words` (script changes split words). A Han word of two or more
    characters is the phrase of its bigrams; a single Han character is a one-token prefix; a
    Latin word stays whole, and a compound (``s7-1200``) offers its parts as a phrase or the
    glued form. ``prefix_last`` is set when the last word is Latin and the text does not end
    in a space or punctuation (the user is still typing it): that word's literal alternatives
    then match by prefix.

    With ``synonyms``, the longest run of words matching a surface form (``opc ua`` is two
    words) becomes one group whose alternatives are the typed words plus every form of the
    concept(s), each turned into its own phrase. Expansion happens on the query side only, so
    the index never has to be rebuilt when the taxonomy changes.
    """
    norm = normalise(text)
    runs = list(_RUN.finditer(norm))
    words = [run.group(0) for run in runs]
    # Still typing means the last word reaches the end of the text: "modb" yes, "modb " or
    # "modb," no (normalise trims the space, hence the look at the raw text). Han words need no
    # flag: their bigram phrases already match inside longer runs.
    prefix_last = (
        bool(runs)
        and not runs[-1].group(1)
        and runs[-1].end() == len(norm)
        and not text[-1:].isspace()
    )
    groups: list[tuple[Phrase, ...]] = []
    index = 0
    while index < len(words):
        found = synonyms.longest_match(words, index) if synonyms is not None else None
        end = found[1] if found is not None else index + 1
        is_last = end == len(words)
        span = words[index:end]
        if len(span) == 1:
            literal = _word_alternatives(span[0], prefix_last and is_last)
        else:
            literal = _with_prefix(_form_alternatives(" ".join(span)), prefix_last and is_last)
        alternatives: list[Phrase] = list(literal)
        if found is not None and synonyms is not None:
            for form in synonyms.expand(" ".join(span)):
                alternatives.extend(_form_alternatives(form))
        group = _dedupe(alternatives)
        if group:
            groups.append(group)
        index = end
    return Query(must=tuple(groups), prefix_last=prefix_last, raw=text, words=tuple(words))


def query_terms(text: str, synonyms: SynonymTable | None = None) -> list[str]:
    """Flat query tokens (all alternatives, once each), for BM25-style scoring."""
    return parse_query(text, synonyms).terms()


def _token_matches(indexed: str, wanted: str, prefix: bool) -> bool:
    return indexed == wanted or (prefix and indexed.startswith(wanted))


def _phrase_found(phrase: Phrase, terms: Sequence[str], where: dict[str, list[int]]) -> bool:
    wanted = phrase.tokens
    width = len(wanted)
    if width == 1 and phrase.prefix:
        return any(term.startswith(wanted[0]) for term in terms)
    for start in where.get(wanted[0], ()):
        if start + width > len(terms):
            return False
        if all(terms[start + offset] == wanted[offset] for offset in range(1, width - 1)) and (
            width == 1 or _token_matches(terms[start + width - 1], wanted[-1], phrase.prefix)
        ):
            return True
    return False


def matches(query: Query, terms: Sequence[str]) -> bool:
    """Reference semantics of a :class:`Query` over one document's token list.

    Every group must have an alternative whose tokens occur consecutively in ``terms`` (the
    last by prefix when the phrase allows it). Backends implement the same rule in SQL or
    Meilisearch; this version serves tests and the in-memory paths. An empty query matches
    nothing, so an empty search box does not list the whole catalogue by accident.
    """
    if query.is_empty:
        return False
    # Positions of every token, so each phrase only inspects where its first token occurs.
    where: dict[str, list[int]] = {}
    for index, term in enumerate(terms):
        where.setdefault(term, []).append(index)
    return all(any(_phrase_found(phrase, terms, where) for phrase in group) for group in query.must)


# --- highlighting -----------------------------------------------------------------------------


class _Span(NamedTuple):
    token: str
    start: int
    end: int
    glued: bool


def _normalise_with_offsets(text: str) -> tuple[str, list[int]]:
    """Per-character normalisation plus, for each output character, its source index.

    NFKC can change lengths (``㈱`` → ``(株)``), so offsets found in normalised text are mapped
    back through this table. Whitespace is not collapsed: tokens never contain it anyway.
    """
    pieces: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if char.isascii():
            normalised = char.lower()
        else:
            normalised = unicodedata.normalize("NFKC", char).translate(_INVISIBLE).lower()
        pieces.append(normalised)
        origin.extend([index] * len(normalised))
    return "".join(pieces), origin


def _spans(norm: str) -> tuple[list[_Span], list[_Span]]:
    """Positional token spans and glued-compound spans, mirroring :func:`tokens`."""
    positional: list[_Span] = []
    glued: list[_Span] = []
    for match in _RUN.finditer(norm):
        start = match.start()
        run = match.group(0)
        if match.group(1):
            for offset in range(len(run) - 1):
                positional.append(
                    _Span(run[offset : offset + 2], start + offset, start + offset + 2, False)
                )
            positional.append(_Span(run[-1], match.end() - 1, match.end(), False))
            continue
        parts = list(_PART.finditer(run))
        for part in parts:
            positional.append(_Span(part.group(0), start + part.start(), start + part.end(), False))
        if len(parts) > 1:
            joined = "".join(part.group(0) for part in parts)
            glued.append(_Span(joined, start, match.end(), True))
    return positional, glued


def _match_spans(
    query: Query, positional: list[_Span], glued: list[_Span]
) -> list[tuple[int, int]]:
    # An expanded query can carry dozens of phrases; looking up where each phrase's first token
    # occurs keeps highlighting a long description proportional to the matches, not to
    # phrases x tokens.
    where: dict[str, list[int]] = {}
    for index, span in enumerate(positional):
        where.setdefault(span.token, []).append(index)
    found: list[tuple[int, int]] = []
    for group in query.must:
        for phrase in group:
            found.extend(_phrase_spans(phrase, positional, glued, where))
    return found


def _phrase_spans(
    phrase: Phrase, positional: list[_Span], glued: list[_Span], where: dict[str, list[int]]
) -> list[tuple[int, int]]:
    wanted = phrase.tokens
    width = len(wanted)
    if width == 1:
        # A single token may also be a glued compound (s71200 inside S7-1200), and a prefix
        # has no exact token to look up, so these few phrases scan every span.
        return [
            _source_span(span, span, wanted[0])
            for span in (*positional, *glued)
            if _token_matches(span.token, wanted[0], phrase.prefix)
        ]
    spans: list[tuple[int, int]] = []
    for start in where.get(wanted[0], ()):
        window = positional[start : start + width]
        if len(window) < width:
            break
        if any(window[offset].token != wanted[offset] for offset in range(1, width - 1)):
            continue
        if _token_matches(window[-1].token, wanted[-1], phrase.prefix):
            spans.append(_source_span(window[0], window[-1], wanted[-1]))
    return spans


def _source_span(first: _Span, last: _Span, typed: str) -> tuple[int, int]:
    # A prefix marks only what was typed (云 inside 云平), except on a glued token, whose
    # characters do not line up with the source (s71200 vs s7-1200).
    exact_end = last.token == typed or last.glued
    return first.start, last.end if exact_end else last.start + len(typed)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _window(text: str, first: tuple[int, int] | None, max_len: int) -> tuple[int, int]:
    length = len(text)
    if length <= max_len:
        return 0, length
    anchor = first[0] if first is not None else 0
    # Show some context before the match, but not so much that the match drifts out of view.
    begin = max(0, min(anchor - max_len // 4, length - max_len))
    end = begin + max_len
    while begin < anchor and text[begin].isspace():
        begin += 1
    while end > begin and text[end - 1].isspace():
        end -= 1
    return begin, end


def highlight(
    text: str,
    query: Query,
    *,
    before: str = "<mark>",
    after: str = "</mark>",
    max_len: int = 160,
) -> str:
    """An HTML-safe fragment of ``text`` around the first match, matches wrapped in marks.

    Matching runs on normalised text with the same rules as :func:`matches`, and offsets are
    mapped back, so the fragment shows the original characters (full-width stays full-width).
    At most ``max_len`` source characters are shown; ``…`` marks a cut at either end. All text,
    marked or not, is HTML-escaped; ``before``/``after`` are inserted verbatim. Without a
    match the fragment is the start of the text.
    """
    norm, origin = _normalise_with_offsets(text)
    positional, glued = _spans(norm)
    source_spans = _merge(
        (origin[start], origin[end - 1] + 1)
        for start, end in _match_spans(query, positional, glued)
        if end > start
    )
    begin, end = _window(text, source_spans[0] if source_spans else None, max(1, max_len))
    pieces: list[str] = [_ELLIPSIS] if begin > 0 else []
    cursor = begin
    for start, stop in source_spans:
        start, stop = max(start, begin), min(stop, end)
        if start >= stop:
            continue
        pieces.append(html.escape(text[cursor:start]))
        pieces.append(before + html.escape(text[start:stop]) + after)
        cursor = stop
    pieces.append(html.escape(text[cursor:end]))
    if end < len(text):
        pieces.append(_ELLIPSIS)
    return "".join(pieces)


# --- typo tolerance ---------------------------------------------------------------------------


def _typo_budget(word: str) -> int:
    # Typos are only forgiven in plain Latin words: a digit means a credit code or a model
    # number (S7-1200 vs S7-1500), where one character is a different thing, and Chinese words
    # of two to four characters have too few letters for a typo to be told from another word.
    if not (word.isascii() and word.isalpha()):
        return 0
    if len(word) >= 9:
        return 2
    if len(word) >= 5:
        return 1
    return 0


def _distance_within(first: str, second: str, limit: int) -> int | None:
    """Optimal-string-alignment distance if it is at most ``limit``, else None.

    Restricted Damerau–Levenshtein: an adjacent transposition (modbsu) costs one edit, as a
    slip of the fingers should. Only a diagonal band of width ``limit`` is filled, and the scan
    stops as soon as two consecutive rows exceed the limit (no later cell can come back under).
    """
    if first == second:
        return 0
    if limit <= 0 or abs(len(first) - len(second)) > limit:
        return None
    too_far = limit + 1
    width = len(second)
    before_previous: list[int] = []
    previous = list(range(width + 1))
    previous_min = 0
    for row in range(1, len(first) + 1):
        current = [too_far] * (width + 1)
        current[0] = row
        low, high = max(1, row - limit), min(width, row + limit)
        char = first[row - 1]
        for column in range(low, high + 1):
            cost = 0 if char == second[column - 1] else 1
            value = min(previous[column] + 1, current[column - 1] + 1, previous[column - 1] + cost)
            if (
                row > 1
                and column > 1
                and char == second[column - 2]
                and first[row - 2] == second[column - 1]
            ):
                value = min(value, before_previous[column - 2] + 1)
            current[column] = value
        current_min = min(current[low - 1 : high + 1])
        if current_min > limit and previous_min > limit:
            return None
        before_previous, previous, previous_min = previous, current, current_min
    distance = previous[width]
    return distance if distance <= limit else None


def edit_distance_at_most(a: str, b: str, k: int) -> bool:
    """Whether ``a`` and ``b`` are within ``k`` edits (transpositions count as one)."""
    return _distance_within(a, b, k) is not None


def _ranked_candidates(word: str, vocabulary: Iterable[str]) -> tuple[bool, list[str]]:
    norm = normalise(word)
    limit = _typo_budget(norm)
    if limit == 0:
        return False, []
    known = False
    scored: dict[str, tuple[int, int]] = {}
    letters = set(norm)
    for candidate in vocabulary:
        if candidate == norm:
            known = True
            continue
        if abs(len(candidate) - len(norm)) > limit:
            continue
        if not (candidate.isascii() and candidate.isalpha()):
            continue
        # Each edit changes at most two members of the letter-set difference; this C-speed
        # check discards most of a large vocabulary before the dynamic programme runs.
        if len(letters.symmetric_difference(candidate)) > 2 * limit:
            continue
        distance = _distance_within(norm, candidate, limit)
        if distance is not None:
            scored[candidate] = (distance, abs(len(candidate) - len(norm)))
    ranked = sorted(scored, key=lambda candidate: (*scored[candidate], candidate))
    return known, ranked


def typo_candidates(word: str, vocabulary: Iterable[str]) -> list[str]:
    """Vocabulary words within the typo budget of ``word``, closest first.

    Budget: plain Latin words of 5–8 letters allow one edit, of 9 or more two; shorter words,
    words with digits and non-Latin words allow none. ``vocabulary`` holds normalised tokens;
    the word itself is not returned. Ties are ordered by length difference, then alphabetically,
    so the result does not depend on the vocabulary's iteration order.
    """
    return _ranked_candidates(word, vocabulary)[1]


def suggest(word: str, vocabulary: Iterable[str]) -> str | None:
    """The "did you mean" word for ``word``: None if it is known or nothing is close enough."""
    known, ranked = _ranked_candidates(word, vocabulary)
    if known or not ranked:
        return None
    return ranked[0]
