"""Request and response bodies for provider profiles and certifications."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, HttpUrl, computed_field, field_validator

from catalog.fields import PolicyTagId, ProviderTypeId, RegionCode, SizeSector
from core.database import today_in_china
from core.schemas import Email, InputModel, OutputModel, ShortText, no_repeats

Regions = Annotated[list[RegionCode], Field(max_length=50), AfterValidator(no_repeats)]
PolicyTags = Annotated[list[PolicyTagId], Field(max_length=20), AfterValidator(no_repeats)]


class ProviderUpdate(InputModel):
    """Fields a provider maintains itself; omitted fields stay as they are."""

    legal_name: ShortText | None = None
    provider_type: ProviderTypeId | None = None
    registered_region: RegionCode | None = None
    service_regions: Regions | None = None
    on_site_regions: Regions | None = None
    size_sector: SizeSector | None = None
    employees: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    revenue_wan: Annotated[int, Field(ge=0, description="operating revenue, 万元")] | None = None
    assets_wan: Annotated[int, Field(ge=0, description="total assets, 万元")] | None = None
    founded_year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    policy_tags: PolicyTags | None = None
    patents_count: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    capacity: (
        Annotated[int, Field(ge=1, le=10_000, description="concurrent engagements it can take")]
        | None
    ) = None
    contact_name: Annotated[str, Field(max_length=100)] | None = None
    contact_phone: Annotated[str, Field(max_length=40, pattern=r"^[0-9+\-() ]{5,40}$")] | None = (
        None
    )
    contact_email: Email | None = None
    website: HttpUrl | None = None
    description_zh: Annotated[str, Field(max_length=20_000)] | None = None
    description_en: Annotated[str, Field(max_length=20_000)] | None = None

    @field_validator(
        "legal_name",
        "provider_type",
        "registered_region",
        "service_regions",
        "on_site_regions",
        "size_sector",
        "policy_tags",
        "patents_count",
        "capacity",
        "description_zh",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields actually sent: null would clear a value the profile must have.
        if value is None:
            raise ValueError("cannot be null; omit the field to leave it unchanged")
        return value


class CertificationIn(InputModel):
    name: ShortText
    issuer: ShortText
    number: Annotated[str, Field(max_length=100)] | None = None
    valid_until: date | None = None


class CertificationOut(OutputModel):
    id: uuid.UUID
    name: str
    issuer: str
    number: str | None
    valid_until: date | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def expired(self) -> bool:
        return self.valid_until is not None and self.valid_until < today_in_china()


class ProviderOut(OutputModel):
    id: uuid.UUID
    org_id: uuid.UUID
    legal_name: str
    credit_code: str
    provider_type: str
    registered_region: str
    service_regions: list[str]
    on_site_regions: list[str]
    size_sector: str
    employees: int | None
    revenue_wan: int | None
    assets_wan: int | None
    size: str | None
    founded_year: int | None
    policy_tags: list[str]
    patents_count: int
    capacity: int
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    website: str | None
    description_zh: str
    description_en: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    certifications: list[CertificationOut]


class ProviderSummaryOut(OutputModel):
    id: uuid.UUID
    legal_name: str
    provider_type: str
    registered_region: str
    size: str | None
    policy_tags: list[str]
    capacity: int
    updated_at: datetime
