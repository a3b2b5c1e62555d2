"""The one place for the matching engine's weights and thresholds.

Every number the engine uses to include, score, re-rank or explain lives in :class:`Weights`,
with the DOMAIN.md §4/§5 value as its default, so a curator's override for their pool, an
experiment or a learned model (LambdaMART once judged data exists) changes exactly one object.
The feature weights below sum to 1.00: about 0.82 measures fit and 0.18 trust and operations,
which is what keeps well-reviewed incumbents from taking every lead.

Scores are comparable only within one weight set; :meth:`Weights.fingerprint` is stored with
every recommendation list so an audit can tell which set produced it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace

__all__ = ["DEFAULT_WEIGHTS", "FEATURES", "Weights"]

# Soft features in the order of the DOMAIN §5 table; explanations and the per-feature
# breakdown follow this order when contributions tie.
FEATURES: tuple[str, ...] = (
    "cap",
    "text",
    "ind",
    "proto",
    "trust",
    "region",
    "budget",
    "scale",
    "pricing",
    "evidence",
    "resp",
)


@dataclass(frozen=True, slots=True)
class Weights:
    """Feature weights, hard-filter thresholds and re-rank parameters (DOMAIN §4–§5)."""

    # --- soft features: S = Σ w·f − load_penalty·φ(load) -----------------------------------
    cap: float = 0.25
    text: float = 0.13
    ind: float = 0.12
    proto: float = 0.10
    trust: float = 0.10
    region: float = 0.07
    budget: float = 0.06
    scale: float = 0.05
    pricing: float = 0.04
    evidence: float = 0.04
    resp: float = 0.04
    load_penalty: float = 0.10

    # --- hard constraints and their relaxation steps ---------------------------------------
    # load = active engagements ÷ declared capacity; at or above this the provider cannot take
    # another lead, and no relaxation ever lifts it.
    load_exclude: float = 0.95
    # Minimum engagement price may exceed the budget by this factor (step 2 widens it).
    budget_tolerance: float = 1.2
    budget_tolerance_relaxed: float = 1.5

    # --- feature shapes --------------------------------------------------------------------
    # φ = max(0, (load − knee) / span)²: nothing below 70 % load, the full penalty at 95 %.
    load_knee: float = 0.70
    load_span: float = 0.25
    # The budget feature falls linearly from 1 at the budget to 0 at this multiple of it.
    budget_zero_at: float = 1.5
    # Locality ladder: same city, same province, declared on-site coverage, remote, and remote
    # for pure SaaS / cloud-migration needs, where distance hardly matters.
    region_same_city: float = 1.0
    region_same_province: float = 0.7
    region_onsite_declared: float = 0.5
    region_remote: float = 0.3
    region_remote_saas: float = 0.8
    # Scale fit: proven by a verified engagement vs only declared.
    scale_proven: float = 1.0
    scale_declared: float = 0.6
    # Pricing: the preferred model is offered, or not.
    pricing_match: float = 1.0
    pricing_miss: float = 0.3
    # Industry ladder by shared GB/T 4754 prefix, and the verified-case bonus in the division.
    industry_class: float = 1.0
    industry_group: float = 0.7
    industry_division: float = 0.4
    industry_section: float = 0.1
    industry_case_bonus_cap: float = 0.2
    industry_case_bonus_step: float = 0.1
    # Responsiveness: (answered + 2) / (invited + 4) × speed; speed is 1 up to the fast
    # threshold, falls linearly to the floor at the slow threshold; unknown speed is neutral.
    resp_fast_hours: float = 24.0
    resp_slow_hours: float = 72.0
    resp_slow_factor: float = 0.5
    resp_unknown_factor: float = 0.75
    # Text: reciprocal-rank-fusion constant and the depth of each ranked list fused; beyond the
    # depth a list contributes nothing (its term would be below 0.06 of the maximum anyway).
    rrf_k: float = 60.0
    text_rank_depth: int = 1000

    # --- trust (DOMAIN §4) -----------------------------------------------------------------
    prior_mean: float = 4.2
    prior_strength: float = 5.0
    half_life_days: float = 365.0
    wilson_z: float = 1.645
    positive_rating: float = 4.0
    few_reviews_n_eff: float = 3.0

    # --- re-rank ---------------------------------------------------------------------------
    rerank_pool: int = 50
    lambda_div: float = 0.15
    lambda_exp: float = 0.05
    # The load penalty is already inside S; a curator may add more at re-rank time, but the
    # default of 0 avoids counting it twice.
    lambda_cap: float = 0.0
    exploration_rank: int = 4
    exploration_min_ratio: float = 0.9
    # A new provider graduates from exploration at this many effective reviews or days listed.
    exploration_graduate_n_eff: float = 5.0
    exploration_graduate_days: int = 90
    # Under-exposed: at most this much position-weighted exposure in the last 30 days (about
    # two first-place impressions), whatever the provider's age.
    underexposed_exposure: float = 2.0

    def feature_weights(self) -> dict[str, float]:
        """The soft-feature weights by name, in table order."""
        return {name: float(getattr(self, name)) for name in FEATURES}

    def with_overrides(self, overrides: Mapping[str, float | int]) -> Weights:
        """A copy with some values replaced, e.g. a curator's settings for their pool.

        Unknown names and negative values are refused rather than ignored: a typo in a
        curator's form must not silently leave the default in force.
        """
        known = {item.name for item in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown weight names: {', '.join(unknown)}")
        for name, value in overrides.items():
            if value < 0:
                raise ValueError(f"weight {name} must not be negative, got {value}")
        changed = replace(self, **dict(overrides))  # type: ignore[arg-type]
        changed.validate()
        return changed

    def validate(self) -> None:
        """Refuse combinations the engine cannot honour (a relaxed budget below the strict one)."""
        if self.budget_tolerance_relaxed < self.budget_tolerance:
            raise ValueError("budget_tolerance_relaxed must be at least budget_tolerance")
        if not 0 < self.load_exclude <= 1:
            raise ValueError("load_exclude must be in (0, 1]")
        if self.load_span <= 0 or self.budget_zero_at <= 1:
            raise ValueError("load_span must be positive and budget_zero_at above 1")
        if self.rerank_pool < 1 or self.exploration_rank < 1 or self.text_rank_depth < 1:
            raise ValueError("rerank_pool, exploration_rank and text_rank_depth must be >= 1")

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def fingerprint(self) -> str:
        """A short stable hash of every value, stored with each recommendation list."""
        payload = json.dumps(self.as_dict(), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()[:12]


DEFAULT_WEIGHTS = Weights()
