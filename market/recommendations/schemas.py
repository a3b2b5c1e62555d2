"""Request and response bodies for recommendations, why-not, exposure and pool weights."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from catalog.fields import IndustryCode, RegionCode
from core.schemas import InputModel, OutputModel
from market.needs.schemas import Capabilities, Fen, PricingModels, Protocols

# Enough for a shortlist and a second page of alternatives; the re-rank pool is 50 (DOMAIN §5).
MAX_K = 50
K = Annotated[int, Field(ge=1, le=MAX_K, description="how many results to return")]
PreferLocal = Annotated[
    bool,
    Field(
        description="the visible 'prefer local providers' switch: it weights locality in the "
        "score and never filters anyone out"
    ),
]
SmeSize = Literal["micro", "small", "medium", "large"]


class RecommendIn(InputModel):
    """Options for recommending providers for a saved need. Weights are not among them: they
    belong to the curators of the pool covering the SME's region."""

    k: K = 10
    prefer_local: PreferLocal = True


class MatchIn(InputModel):
    """An ad-hoc need, with the fields of a saved need plus the SME situation a profile holds.

    Give ``size`` directly, or ``employees`` and ``revenue_wan`` to have it derived with the
    MIIT rules for manufacturers (as an SME profile does).
    """

    text: Annotated[str, StringConstraints(max_length=5_000)] = ""
    must_capabilities: Capabilities = []
    nice_capabilities: Capabilities = []
    protocols: Protocols = []
    industry_code: IndustryCode | None = None
    size: SmeSize | None = None
    employees: Annotated[int | None, Field(ge=0, le=10_000_000)] = None
    revenue_wan: Annotated[int | None, Field(ge=0, le=1_000_000_000)] = None
    region_code: RegionCode | None = None
    budget_min_fen: Fen | None = None
    budget_max_fen: Fen | None = None
    preferred_pricing: PricingModels = []
    onsite_required: bool = False
    k: K = 10
    prefer_local: PreferLocal = True


class BadgeBrief(OutputModel):
    pool_id: uuid.UUID
    pool_name: str
    jurisdiction: str
    star_rating: int | None


class ProviderBrief(OutputModel):
    id: uuid.UUID
    name: str
    region_code: str
    badges: list[BadgeBrief]


class SolutionBrief(OutputModel):
    id: uuid.UUID
    title: str


class CaveatOut(OutputModel):
    zh: str
    en: str


class ResultOut(OutputModel):
    rank: int
    provider: ProviderBrief
    solution: SolutionBrief
    score: float
    explanation_zh: str
    explanation_en: str
    caveats: list[CaveatOut]
    # Per-feature contributions w_i·f_i (and the negative load penalty) that add up to score.
    features: dict[str, float]
    # The one place kept for a qualified new or less-exposed provider.
    exploration: bool


class RelaxationOut(OutputModel):
    step: int
    constraint: str
    zh: str
    en: str
    remaining_before: int
    remaining_after: int


class RecommendationOut(OutputModel):
    list_id: uuid.UUID
    need_id: uuid.UUID | None
    created_at: datetime
    k: int
    prefer_local: bool
    results: list[ResultOut]
    relaxations: list[RelaxationOut]
    # Excluded solutions per first failing hard rule.
    excluded: dict[str, int]
    candidates: int
    engine_version: str
    weights_fingerprint: str
    # The pool whose curators' weights were used (the SME's region lies in its jurisdiction).
    weights_pool_id: uuid.UUID | None
    text_mode: str


class WhyNotOut(OutputModel):
    provider_id: uuid.UUID
    # shown, excluded, ranked_below, reranked, group_cap, over_lead_budget or not_found
    status: str
    zh: str
    en: str
    constraint: str | None
    solution_id: uuid.UUID | None
    rank: int | None
    score: float | None
    gap: float | None
    facts: dict[str, Any]
    list_id: uuid.UUID | None = None
    # What the answer was computed against: the stored list itself ("stored_list") or the
    # current catalogue with the list's request ("current_catalogue").
    basis: Literal["stored_list", "current_catalogue"] = "current_catalogue"


class PoolWeightsIn(InputModel):
    """Replace the pool's overrides; ``{}`` returns the pool to the platform defaults."""

    overrides: Annotated[
        dict[str, float],
        Field(
            max_length=80,
            description="weight or threshold name → value, e.g. {'region': 0.12, 'text': 0.08}",
        ),
    ]
    reason: Annotated[str, StringConstraints(max_length=1_000)] = ""

    @field_validator("overrides")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        for name, number in value.items():
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError(f"{name} must be a finite number")
        return value


class PoolWeightsOut(OutputModel):
    pool_id: uuid.UUID
    jurisdiction: str
    overrides: dict[str, float]
    # Every weight and threshold in force for needs from this pool's jurisdiction.
    effective: dict[str, float]
    fingerprint: str
    updated_at: datetime | None
    updated_by: uuid.UUID | None


class ProviderExposureOut(OutputModel):
    provider_id: uuid.UUID
    name: str
    registered_region: str
    local: bool
    qualified: bool
    impressions: int
    exposure: float
    exposure_share: float
    merit_share: float
    ratio: float | None


class CapabilityLocalityOut(OutputModel):
    capability: str
    zh: str
    en: str
    lists: int
    impressions: int
    local_exposure: float
    external_exposure: float
    local_share: float
    external_share: float


class PoolExposureOut(OutputModel):
    pool_id: uuid.UUID
    jurisdiction: str
    days: int
    since: datetime
    lists_in_jurisdiction: int
    providers: list[ProviderExposureOut]
    capabilities: list[CapabilityLocalityOut]
    gini: float
    zero_exposure_qualified: list[ProviderExposureOut]
