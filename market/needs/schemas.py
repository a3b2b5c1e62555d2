"""Request and response bodies for SME profiles, needs and free-text understanding."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo, field_validator

from catalog.fields import (
    CapabilityId,
    IndustryCode,
    PricingModelId,
    ProtocolId,
    RegionCode,
    SceneId,
)
from core.schemas import InputModel, OutputModel, ShortText, no_repeats
from market.needs.models import EXISTING_SYSTEMS

# How many providers one need may be shared with: enough for a shortlist, few enough that a
# need cannot be broadcast to the whole catalogue (DOMAIN.md §4: comparable marketplaces cap
# invitations at a handful).
MAX_SHARES = 20

Level = Annotated[int, Field(ge=1, le=4, description="MIIT digital-maturity level 1–4")]
Text60 = Annotated[str, StringConstraints(min_length=1, max_length=60)]
OptionalText60 = Annotated[str, StringConstraints(max_length=60)] | None


def _existing_system(value: str) -> str:
    if value not in EXISTING_SYSTEMS:
        raise ValueError(f"unknown system {value!r}; use one of {', '.join(EXISTING_SYSTEMS)}")
    return value


def _none_alone(values: list[str]) -> list[str]:
    if "none" in values and len(values) > 1:
        raise ValueError('"none" means no systems at all; it cannot be combined with others')
    return values


# --- SME profile ------------------------------------------------------------------------------


class EquipmentIn(InputModel):
    """One line of the equipment inventory: a group of alike machines."""

    machine_type: Annotated[Text60, Field(description="e.g. 注塑机, 数控车床, 空压机")]
    brand: Annotated[OptionalText60, Field(description="e.g. 海天, FANUC, 西门子")] = None
    controller: Annotated[OptionalText60, Field(description="e.g. S7-1200, 0i-MF")] = None
    count: Annotated[int, Field(ge=1, le=100_000)] = 1
    protocol: Annotated[
        ProtocolId | None, Field(description="the protocol it speaks, if known")
    ] = None
    interface: Annotated[OptionalText60, Field(description="e.g. RS485, 以太网")] = None
    networked: bool = False


ExistingSystems = Annotated[
    list[Annotated[str, AfterValidator(_existing_system)]],
    Field(max_length=len(EXISTING_SYSTEMS)),
    AfterValidator(no_repeats),
    AfterValidator(_none_alone),
]


class SmeProfileIn(InputModel):
    """The whole profile (PUT replaces it). Size is derived from employees and revenue."""

    industry_code: Annotated[
        IndustryCode | None, Field(description="GB/T 4754 code at any depth, e.g. 29 or C2929")
    ] = None
    employees: Annotated[int | None, Field(ge=0, le=10_000_000)] = None
    revenue_wan: Annotated[
        int | None, Field(ge=0, le=1_000_000_000, description="operating revenue, 万元")
    ] = None
    region_code: Annotated[
        RegionCode | None,
        Field(description="GB/T 2260 code; omitted = the organisation's registered region"),
    ] = None
    equipment: Annotated[list[EquipmentIn], Field(max_length=500)] = []
    existing_systems: ExistingSystems = []
    maturity: Annotated[
        dict[SceneId, Level], Field(description="self-assessed level per scene, optional")
    ] = {}


class EquipmentOut(OutputModel):
    machine_type: str
    brand: str | None
    controller: str | None
    count: int
    protocol: str | None
    # When the owner left the protocol empty: what brand + controller suggest (a hint only).
    protocol_guess: str | None
    interface: str | None
    networked: bool


class SmeProfileOut(OutputModel):
    org_id: uuid.UUID
    industry_code: str | None
    employees: int | None
    revenue_wan: int | None
    size: str | None
    region_code: str | None
    equipment: list[EquipmentOut]
    existing_systems: list[str]
    maturity: dict[str, int]
    # Declared protocols of the inventory, then guessed ones, once each: what a new need's
    # protocols are pre-filled with.
    inventory_protocols: list[str]
    # 0 until the profile is first saved (the ETag a first PUT may send).
    version: int
    created_at: datetime | None
    updated_at: datetime | None


# --- needs ------------------------------------------------------------------------------------


class SceneTargetIn(InputModel):
    scene: SceneId
    current_level: Level
    target_level: Level

    @field_validator("target_level")
    @classmethod
    def _above_current(cls, value: int, info: ValidationInfo) -> int:
        current = info.data.get("current_level")
        if current is not None and value <= current:
            raise ValueError(f"must be above the current level ({current})")
        return value


def _distinct_scenes(values: list[SceneTargetIn]) -> list[SceneTargetIn]:
    no_repeats([value.scene for value in values])
    return values


class TimelineIn(InputModel):
    target_start: Annotated[date | None, Field(description="when the work should start")] = None
    duration_weeks: Annotated[int | None, Field(ge=1, le=520)] = None


Capabilities = Annotated[list[CapabilityId], Field(max_length=30), AfterValidator(no_repeats)]
Protocols = Annotated[list[ProtocolId], Field(max_length=30), AfterValidator(no_repeats)]
PricingModels = Annotated[list[PricingModelId], Field(max_length=6), AfterValidator(no_repeats)]
SceneTargets = Annotated[
    list[SceneTargetIn], Field(max_length=16), AfterValidator(_distinct_scenes)
]
ProviderIds = Annotated[list[uuid.UUID], Field(max_length=MAX_SHARES), AfterValidator(no_repeats)]
Fen = Annotated[int, Field(ge=0, le=10**13, description="amount in fen (分)")]
Description = Annotated[str, Field(max_length=20_000)]
Visibility = Literal["draft", "shared"]


class NeedIn(InputModel):
    """A new need. With capabilities omitted the description's understood capabilities become
    nice-to-haves; with protocols omitted the equipment inventory's protocols are used."""

    title: ShortText
    description: Description = ""
    must_capabilities: Capabilities = []
    nice_capabilities: Capabilities = []
    scenes: SceneTargets = []
    protocols: Annotated[
        Protocols | None, Field(description="omit to pre-fill from your equipment inventory")
    ] = None
    budget_min_fen: Fen | None = None
    budget_max_fen: Fen | None = None
    preferred_pricing: PricingModels = []
    timeline: TimelineIn | None = None
    onsite_required: bool = False
    visibility: Visibility = "draft"
    shared_with: ProviderIds = []


class NeedPatch(InputModel):
    """Only the fields sent change; a list or object sent replaces the whole value."""

    title: ShortText | None = None
    description: Description | None = None
    must_capabilities: Capabilities | None = None
    nice_capabilities: Capabilities | None = None
    scenes: SceneTargets | None = None
    protocols: Protocols | None = None
    budget_min_fen: Fen | None = None
    budget_max_fen: Fen | None = None
    preferred_pricing: PricingModels | None = None
    timeline: TimelineIn | None = None
    onsite_required: bool | None = None
    visibility: Visibility | None = None
    shared_with: ProviderIds | None = None
    status: Literal["open", "closed"] | None = None

    @field_validator(
        "title",
        "description",
        "must_capabilities",
        "nice_capabilities",
        "scenes",
        "protocols",
        "preferred_pricing",
        "onsite_required",
        "visibility",
        "shared_with",
        "status",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields actually sent; budgets and the timeline may be cleared with null.
        if value is None:
            raise ValueError("cannot be null; omit the field to leave it unchanged")
        return value


class ShareIn(InputModel):
    provider_ids: Annotated[ProviderIds, Field(min_length=1)]


class UnderstandIn(InputModel):
    text: Annotated[str, StringConstraints(min_length=1, max_length=5_000)]


class TermMatchOut(OutputModel):
    id: str
    zh: str
    en: str
    matched: str = Field(description="the words of the text that produced this id")
    source: Literal["term", "pain_point"]


class IndustryHintOut(OutputModel):
    code: str
    zh: str
    en: str
    matched: str


class PainPointOut(OutputModel):
    id: str
    zh: str
    en: str
    matched: str
    capabilities: list[str]
    scenes: list[str]


class UnderstandingOut(OutputModel):
    capabilities: list[TermMatchOut]
    protocols: list[TermMatchOut]
    scenes: list[TermMatchOut]
    pricing_models: list[TermMatchOut]
    industries: list[IndustryHintOut]
    industry_hint: IndustryHintOut | None
    pain_points: list[PainPointOut]
    not_understood: list[str]


class SceneTargetOut(OutputModel):
    scene: str
    current_level: int
    target_level: int


class TimelineOut(OutputModel):
    target_start: date | None
    duration_weeks: int | None


class NeedOut(OutputModel):
    id: uuid.UUID
    org_id: uuid.UUID
    created_by: uuid.UUID
    title: str
    description: str
    must_capabilities: list[str]
    nice_capabilities: list[str]
    scenes: list[SceneTargetOut]
    protocols: list[str]
    budget_min_fen: int | None
    budget_max_fen: int | None
    preferred_pricing: list[str]
    timeline: TimelineOut
    onsite_required: bool
    visibility: str
    # For the SME: every provider it chose. For a provider: only itself, never its rivals.
    shared_with: list[uuid.UUID]
    status: str
    # Fields the platform filled in, and from what ("text", "inventory"); see the create rules.
    prefilled: dict[str, list[str]]
    # What the title and description were understood to say, for the SME to check.
    understood: UnderstandingOut
    version: int
    created_at: datetime
    updated_at: datetime


class NeedSummaryOut(OutputModel):
    id: uuid.UUID
    org_id: uuid.UUID
    title: str
    must_capabilities: list[str]
    nice_capabilities: list[str]
    budget_min_fen: int | None
    budget_max_fen: int | None
    onsite_required: bool
    visibility: str
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
