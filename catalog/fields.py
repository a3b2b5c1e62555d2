"""Pydantic field types for taxonomy-coded values, each checked against the shipped vocabulary.

A wrong code fails as a 422 that names the field and where to look the valid codes up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator

from catalog.taxonomy import (
    SIZE_SECTORS,
    CreditCodeError,
    is_known_industry,
    is_known_region,
    normalise_credit_code,
    normalise_industry_code,
    vocabulary,
)


def _in_vocabulary(name: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in vocabulary(name):
            raise ValueError(f"unknown code {value!r}; see GET /api/v1/taxonomy/{name}")
        return value

    return check


def _industry(value: str) -> str:
    try:
        code = normalise_industry_code(value)
    except ValueError as exc:
        raise ValueError(str(exc)) from exc
    if not is_known_industry(code):
        raise ValueError(
            f"{value!r} is not a manufacturing division (13–43) or a code within one; "
            "see GET /api/v1/taxonomy/industries"
        )
    return code


def _region(value: str) -> str:
    if not is_known_region(value):
        raise ValueError(f"unknown region code {value!r}; see GET /api/v1/taxonomy/regions")
    return value


def _credit_code(value: str) -> str:
    try:
        return normalise_credit_code(value)
    except CreditCodeError as exc:
        raise ValueError(str(exc)) from exc


def _size_sector(value: str) -> str:
    if value not in SIZE_SECTORS:
        raise ValueError(f"unknown size sector {value!r}; use one of {', '.join(SIZE_SECTORS)}")
    return value


CapabilityId = Annotated[str, AfterValidator(_in_vocabulary("capabilities"))]
ProtocolId = Annotated[str, AfterValidator(_in_vocabulary("protocols"))]
SceneId = Annotated[str, AfterValidator(_in_vocabulary("scenes"))]
PricingModelId = Annotated[str, AfterValidator(_in_vocabulary("pricing_models"))]
DeploymentId = Annotated[str, AfterValidator(_in_vocabulary("deployments"))]
SmeSizeId = Annotated[str, AfterValidator(_in_vocabulary("sme_sizes"))]
ProviderTypeId = Annotated[str, AfterValidator(_in_vocabulary("provider_types"))]
PolicyTagId = Annotated[str, AfterValidator(_in_vocabulary("policy_tags"))]
IndustryCode = Annotated[str, AfterValidator(_industry)]
RegionCode = Annotated[str, AfterValidator(_region)]
CreditCode = Annotated[str, AfterValidator(_credit_code)]
SizeSector = Annotated[str, AfterValidator(_size_sector)]
