"""Soft features f_i ∈ [0, 1] for the candidates that passed the hard rules (DOMAIN §5).

    S = Σ w_i·f_i − w_load·φ(load),   φ = max(0, (load − 0.7) / 0.25)²

Every feature is computed for all candidates at once from the index's columns; nothing here
loops over solutions in Python. A feature that does not apply to the need (no protocols named,
no budget, no industry, locality switched off) is 0 for every candidate: it then cannot change
the order, and the explanation never claims a fit that was not asked about.

| feature | f | notes |
|---|---|---|
| cap | Σ_{R∩C} v ÷ Σ_R v, v = 2 for a must | unknown ids count in the denominator |
| text | RRF of BM25 and embedding ranks | :mod:`matching.text_relevance` |
| ind | prefix ladder 1.0/0.7/0.4/0.1, max of profile and best verified case, + case bonus | |
| proto | share of the SME's protocols supported; gateway-only 0.5 | a family covers children |
| trust | (R̃ − 1)/4 | precomputed per provider |
| region | city 1, province 0.7, on-site 0.5, remote 0.3 (SaaS 0.8) | only with prefer_local |
| budget | 1 up to the budget, linear to 0 at 1.5 × budget | typical, else min price; unknown 0.5 |
| scale | proven 1, declared 0.6 | |
| pricing | preferred model offered 1, else 0.3 | |
| evidence | min(1, log₂(1 + relevant verified cases)/3) | relevant = shows a requested capability |
| resp | (r + 2)/(n + 4) × speed | precomputed per provider |
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching.catalog_index import (
    KEY_CLASS,
    KEY_DIVISION,
    KEY_GROUP,
    CatalogIndex,
    KeyIndex,
    PreparedNeed,
)
from matching.constraints import any_overlap, onsite_covering
from matching.text_relevance import EmbeddingStore, popcount, ranks_desc, rrf_feature
from matching.weights import DEFAULT_WEIGHTS, FEATURES, Weights

__all__ = ["FeatureMatrix", "compute_features", "load_penalty", "text_feature"]

FloatArray = npt.NDArray[np.float32]
Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class FeatureMatrix:
    """Raw feature values per candidate row, the load penalty and the combined score."""

    rows: Int64Array
    values: dict[str, FloatArray]
    phi: FloatArray
    score: npt.NDArray[np.float64]
    text_mode: str

    def contributions(self, position: int, weights: Weights) -> dict[str, float]:
        """{feature: w·f} for one candidate, plus the (negative) load term."""
        result = {
            name: float(getattr(weights, name)) * float(self.values[name][position])
            for name in FEATURES
        }
        result["load"] = -weights.load_penalty * float(self.phi[position])
        return result


def load_penalty(load: npt.NDArray[np.float32], weights: Weights = DEFAULT_WEIGHTS) -> FloatArray:
    """φ = max(0, (load − knee)/span)²: zero below 70 % load, 1 at 95 %."""
    excess = np.maximum(0.0, (load - weights.load_knee) / weights.load_span)
    result: FloatArray = (excess * excess).astype(np.float32)
    return result


def _prefix_level(
    sections: npt.NDArray[np.uint32],
    divisions: npt.NDArray[np.uint64],
    keys: KeyIndex,
    size: int,
    rows: Int64Array,
    parts: tuple[int, int, int, int],
    weights: Weights,
) -> FloatArray:
    """Best GB/T prefix level for ``rows`` (solution or provider rows of ``size``).

    Section and division come from per-row bitmasks; group and class from the key index,
    whose posting lists are short. Coarse levels are written first so finer ones win.
    """
    section, division, group, klass = parts
    level = np.zeros(rows.shape[0], dtype=np.float32)
    if section >= 0:
        level[(sections[rows] >> np.uint32(section)) & np.uint32(1) != 0] = weights.industry_section
    if division >= 0:
        word = divisions[rows, division // 64]
        level[(word >> np.uint64(division % 64)) & np.uint64(1) != 0] = weights.industry_division
    if group >= 0:
        fine = np.zeros(size, dtype=np.float32)
        fine[keys.lookup(KEY_GROUP + group)] = weights.industry_group
        if klass >= 0:
            fine[keys.lookup(KEY_CLASS + klass)] = weights.industry_class
        level = np.maximum(level, fine[rows])
    return level


def _industry(
    index: CatalogIndex,
    prepared: PreparedNeed,
    rows: Int64Array,
    providers: Int64Array,
    weights: Weights,
) -> FloatArray:
    if prepared.industry[1] < 0:
        return np.zeros(rows.shape[0], dtype=np.float32)
    profile = _prefix_level(
        index.industry_sections,
        index.industry_divisions,
        index.industry_keys,
        index.size,
        rows,
        prepared.industry,
        weights,
    )
    provider_count = index.provider_count
    cases = _prefix_level(
        index.case_sections,
        index.case_divisions,
        index.case_keys,
        provider_count,
        providers,
        prepared.industry,
        weights,
    )
    in_division = np.bincount(
        index.case_keys.lookup(KEY_DIVISION + prepared.industry[1]), minlength=provider_count
    )[providers]
    bonus = np.minimum(
        weights.industry_case_bonus_cap,
        weights.industry_case_bonus_step * np.log2(1.0 + in_division),
    )
    result: FloatArray = np.minimum(1.0, np.maximum(profile, cases) + bonus).astype(np.float32)
    return result


def relevant_case_counts(index: CatalogIndex, prepared: PreparedNeed) -> npt.NDArray[np.int64]:
    """Verified cases per provider showing at least one requested capability (or, for a need
    without capabilities, in its industry division)."""
    provider_count = index.provider_count
    if prepared.requested_count:
        relevant = any_overlap(index.providers.cases.values["caps"], prepared.requested_bits)
        return np.bincount(index.case_owner[relevant], minlength=provider_count)
    if prepared.industry[1] >= 0:
        owners = index.case_keys.lookup(KEY_DIVISION + prepared.industry[1])
        return np.bincount(owners, minlength=provider_count)
    return np.zeros(provider_count, dtype=np.int64)


def _capability(index: CatalogIndex, prepared: PreparedNeed, rows: Int64Array) -> FloatArray:
    denominator = 2 * len(prepared.must_ids) + len(prepared.nice_ids)
    if denominator == 0:
        return np.zeros(rows.shape[0], dtype=np.float32)
    caps = index.solutions.caps[rows]
    musts = popcount(caps & prepared.must_bits).sum(axis=1, dtype=np.int64)
    nices = popcount(caps & prepared.nice_bits).sum(axis=1, dtype=np.int64)
    result: FloatArray = ((2 * musts + nices) / denominator).astype(np.float32)
    return result


def _protocol(index: CatalogIndex, prepared: PreparedNeed, rows: Int64Array) -> FloatArray:
    if not prepared.protocol_masks:
        return np.zeros(rows.shape[0], dtype=np.float32)
    native = index.solutions.native[rows]
    gateway = index.solutions.gateway[rows]
    total = np.zeros(rows.shape[0], dtype=np.float32)
    for _protocol_id, mask in prepared.protocol_masks:
        direct = any_overlap(native, mask)
        total += direct + 0.5 * (any_overlap(gateway, mask) & ~direct)
    result: FloatArray = (total / len(prepared.protocol_masks)).astype(np.float32)
    return result


def _region(
    index: CatalogIndex, prepared: PreparedNeed, providers: Int64Array, weights: Weights
) -> FloatArray:
    need = prepared.need
    _code, province, city = prepared.region
    if not need.prefer_local or province == 0:
        return np.zeros(providers.shape[0], dtype=np.float32)
    table = index.providers
    same_city = (table.city[providers] == city) & (city > 0)
    same_province = table.province[providers] == province
    declared = onsite_covering(index, prepared)[providers]
    remote = weights.region_remote_saas if need.pure_saas else weights.region_remote
    ladder = np.where(
        same_city,
        weights.region_same_city,
        np.where(
            same_province,
            weights.region_same_province,
            np.where(declared, weights.region_onsite_declared, weights.region_remote),
        ),
    )
    # For pure SaaS distance hardly matters: nobody scores below the SaaS remote level.
    result: FloatArray = np.maximum(ladder, remote).astype(np.float32)
    return result


def _budget(
    index: CatalogIndex, prepared: PreparedNeed, rows: Int64Array, weights: Weights
) -> FloatArray:
    budget = prepared.need.budget_fen
    if budget is None or budget <= 0:
        return np.zeros(rows.shape[0], dtype=np.float32)
    typical = index.solutions.typical_price[rows]
    price = np.where(typical >= 0, typical, index.solutions.min_price[rows]).astype(np.float64)
    zero_at = weights.budget_zero_at * budget
    fit = np.clip((zero_at - price) / (zero_at - budget), 0.0, 1.0)
    result: FloatArray = np.where(price < 0, 0.5, fit).astype(np.float32)
    return result


def _scale(
    index: CatalogIndex,
    prepared: PreparedNeed,
    rows: Int64Array,
    providers: Int64Array,
    weights: Weights,
) -> FloatArray:
    bit = prepared.size_bit
    if not bit:
        return np.zeros(rows.shape[0], dtype=np.float32)
    sizes = index.solutions.sizes[rows]
    declared = (sizes == 0) | ((sizes & bit) != 0)
    proven = (index.providers.proven_sizes[providers] & bit) != 0
    result: FloatArray = np.where(
        proven, weights.scale_proven, np.where(declared, weights.scale_declared, 0.0)
    ).astype(np.float32)
    return result


def _pricing(
    index: CatalogIndex, prepared: PreparedNeed, rows: Int64Array, weights: Weights
) -> FloatArray:
    if not prepared.need.preferred_pricing:
        return np.zeros(rows.shape[0], dtype=np.float32)
    offered = (index.solutions.pricing[rows] & np.uint64(prepared.pricing_bits)) != 0
    result: FloatArray = np.where(offered, weights.pricing_match, weights.pricing_miss).astype(
        np.float32
    )
    return result


def text_feature(
    index: CatalogIndex,
    rows: Int64Array,
    query_tokens: Sequence[str],
    query_vector: FloatArray | None,
    weights: Weights = DEFAULT_WEIGHTS,
) -> tuple[FloatArray, str]:
    """RRF of the BM25 rank and (when available) the embedding rank among the candidates."""
    store: EmbeddingStore | None = index.embeddings
    use_embedding = store is not None and query_vector is not None
    mode = "bm25+embedding" if use_embedding else "bm25"
    if not query_tokens and query_vector is None:
        return np.zeros(rows.shape[0], dtype=np.float32), mode
    depth = weights.text_rank_depth
    bm25 = index.bm25.scores(query_tokens)[rows]
    rank_lists = [ranks_desc(bm25, bm25 > 0, depth)]
    if use_embedding and store is not None and query_vector is not None:
        sims, scored = store.similarities(query_vector, rows, depth)
        rank_lists.append(ranks_desc(sims, scored, depth))
    return rrf_feature(rank_lists, weights.rrf_k), mode


def compute_features(
    index: CatalogIndex,
    prepared: PreparedNeed,
    rows: Int64Array,
    *,
    query_tokens: Sequence[str] = (),
    query_vector: FloatArray | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
) -> FeatureMatrix:
    """All soft features and S for the candidate ``rows``."""
    providers = index.provider_row[rows].astype(np.int64)
    table = index.providers
    text, mode = text_feature(index, rows, query_tokens, query_vector, weights)
    evidence_counts = relevant_case_counts(index, prepared)[providers]
    values: dict[str, FloatArray] = {
        "cap": _capability(index, prepared, rows),
        "text": text,
        "ind": _industry(index, prepared, rows, providers, weights),
        "proto": _protocol(index, prepared, rows),
        "trust": table.trust_feature[providers],
        "region": _region(index, prepared, providers, weights),
        "budget": _budget(index, prepared, rows, weights),
        "scale": _scale(index, prepared, rows, providers, weights),
        "pricing": _pricing(index, prepared, rows, weights),
        "evidence": np.minimum(1.0, np.log2(1.0 + evidence_counts) / 3.0).astype(np.float32),
        "resp": table.resp[providers],
    }
    phi = load_penalty(table.load[providers], weights)
    score = np.zeros(rows.shape[0], dtype=np.float64)
    for name in FEATURES:
        weight = float(getattr(weights, name))
        if weight:
            score += weight * values[name]
    score -= weights.load_penalty * phi
    return FeatureMatrix(rows=rows, values=values, phi=phi, score=score, text_mode=mode)
