"""Request and response bodies for case studies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from catalog.fields import IndustryCode, RegionCode, SmeSizeId
from core.database import today_in_china
from core.schemas import InputModel, OutputModel, ShortText


class OutcomeIn(InputModel):
    """One measured KPI, e.g. 设备联网率 from 20 to 85 %."""

    kpi: Annotated[str, Field(min_length=1, max_length=60)]
    before: float
    after: float
    unit: Annotated[str, Field(max_length=20)] = ""


def _not_future(value: date | None) -> date | None:
    if value is not None and value > today_in_china():
        raise ValueError("a case date cannot lie in the future")
    return value


CaseDate = Annotated[date, AfterValidator(_not_future)]
Text = Annotated[str, Field(max_length=20_000)]
Outcomes = Annotated[list[OutcomeIn], Field(max_length=20)]
SolutionIds = Annotated[list[uuid.UUID], Field(max_length=20)]
ClientName = Annotated[str, Field(max_length=200, description="omit to stay anonymous")]


class CaseIn(InputModel):
    title: ShortText
    client_name: ClientName | None = None
    client_industry: IndustryCode
    client_size: SmeSizeId | None = None
    region_code: RegionCode | None = None
    problem: Text = ""
    solution_text: Text = ""
    outcomes: Outcomes = []
    case_date: CaseDate | None = None
    solution_ids: SolutionIds = Field(default=[], description="your solutions this case used")


class CasePatch(InputModel):
    title: ShortText | None = None
    client_name: ClientName | None = None
    client_industry: IndustryCode | None = None
    client_size: SmeSizeId | None = None
    region_code: RegionCode | None = None
    problem: Text | None = None
    solution_text: Text | None = None
    outcomes: Outcomes | None = None
    case_date: CaseDate | None = None
    solution_ids: SolutionIds | None = None

    @model_validator(mode="after")
    def _no_nulls_for_required(self) -> CasePatch:
        nullable = {"client_name", "client_size", "region_code", "case_date"}
        for name in self.model_fields_set - nullable:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; omit it to leave it unchanged")
        return self


class OutcomeOut(OutputModel):
    kpi: str
    before: float
    after: float
    unit: str


class CaseOut(OutputModel):
    id: uuid.UUID
    provider_id: uuid.UUID
    title: str
    client_name: str | None
    client_industry: str
    client_size: str | None
    region_code: str | None
    problem: str
    solution_text: str
    outcomes: list[OutcomeOut]
    case_date: date | None
    solution_ids: list[uuid.UUID]
    verified: bool
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
