"""Request and response bodies for solutions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from catalog.fields import (
    CapabilityId,
    DeploymentId,
    IndustryCode,
    PricingModelId,
    ProtocolId,
    SceneId,
    SmeSizeId,
)
from core.schemas import InputModel, OutputModel, ShortText, no_repeats


class SceneLevel(InputModel):
    scene: SceneId
    level: Annotated[int, Field(ge=1, le=4, description="MIIT level 1–4 the solution helps reach")]


class PriceIn(InputModel):
    model: PricingModelId
    min_fen: Annotated[int, Field(ge=0, description="lowest price in fen (分)")]
    max_fen: Annotated[
        int | None, Field(ge=0, description="highest price in fen; omit if open")
    ] = None
    unit: Annotated[str, Field(min_length=1, max_length=40, description="e.g. 元/月, 元/设备/月")]

    @model_validator(mode="after")
    def _range(self) -> PriceIn:
        if self.max_fen is not None and self.max_fen < self.min_fen:
            raise ValueError("max_fen must not be below min_fen")
        return self


def _distinct_scenes(values: list[SceneLevel]) -> list[SceneLevel]:
    no_repeats([v.scene for v in values])
    return values


Capabilities = Annotated[list[CapabilityId], Field(max_length=60), AfterValidator(no_repeats)]
Industries = Annotated[list[IndustryCode], Field(max_length=60), AfterValidator(no_repeats)]
Sizes = Annotated[list[SmeSizeId], Field(max_length=4), AfterValidator(no_repeats)]
Protocols = Annotated[list[ProtocolId], Field(max_length=60), AfterValidator(no_repeats)]
Deployments = Annotated[list[DeploymentId], Field(max_length=4), AfterValidator(no_repeats)]
Scenes = Annotated[list[SceneLevel], Field(max_length=16), AfterValidator(_distinct_scenes)]
Prices = Annotated[list[PriceIn], Field(max_length=10)]
Summary = Annotated[str, Field(max_length=500)]
Description = Annotated[str, Field(max_length=20_000)]
DeliveryDays = Annotated[int, Field(ge=1, le=3650)]


class SolutionIn(InputModel):
    title: ShortText
    summary: Summary = ""
    description: Description = ""
    capabilities: Capabilities = []
    scenes: Scenes = []
    industries: Industries = Field(default=[], description="GB/T 4754 codes; empty = any")
    target_sizes: Sizes = []
    protocols: Protocols = []
    deployments: Deployments = []
    pricing: Prices = []
    typical_delivery_days: DeliveryDays | None = None


class SolutionPatch(InputModel):
    """Only the fields sent are changed; a list sent replaces the whole list."""

    title: ShortText | None = None
    summary: Summary | None = None
    description: Description | None = None
    capabilities: Capabilities | None = None
    scenes: Scenes | None = None
    industries: Industries | None = None
    target_sizes: Sizes | None = None
    protocols: Protocols | None = None
    deployments: Deployments | None = None
    pricing: Prices | None = None
    typical_delivery_days: DeliveryDays | None = None

    @model_validator(mode="after")
    def _no_nulls_for_required(self) -> SolutionPatch:
        for name in self.model_fields_set - {"typical_delivery_days"}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; omit it to leave it unchanged")
        return self


class PriceOut(OutputModel):
    model: str
    min_fen: int
    max_fen: int | None
    unit: str


class SceneOut(OutputModel):
    scene: str
    level: int


class SolutionOut(OutputModel):
    id: uuid.UUID
    provider_id: uuid.UUID
    title: str
    summary: str
    description: str
    capabilities: list[str]
    scenes: list[SceneOut]
    industries: list[str]
    target_sizes: list[str]
    protocols: list[str]
    deployments: list[str]
    pricing: list[PriceOut]
    typical_delivery_days: int | None
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
