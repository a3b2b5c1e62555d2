"""Request and response bodies for engagements, milestones, change requests and subsidies.

Also the small references (organisation, provider, funding split) the RFQ schemas reuse.
"""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from core.schemas import InputModel, OutputModel

Fen = Annotated[int, Field(ge=0, le=10**13, description="amount in fen (分)")]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Note = Annotated[str, Field(max_length=2000)]
Level = Annotated[int, Field(ge=1, le=4, description="MIIT digital-maturity level 1–4")]

# Outcome KPIs the pilots measure at 验收 (DOMAIN §3.3, §4), offered as presets to forms: name,
# unit and the direction that counts as better. Other KPIs may be named freely.
KNOWN_KPIS: tuple[tuple[str, str, str], ...] = (
    ("设备联网率", "%", "increase"),
    ("关键工序数控化率", "%", "increase"),
    ("设备数字化率", "%", "increase"),
    ("合格率", "%", "increase"),
    ("单位产值能耗", "吨标煤/万元", "decrease"),
    ("百元营收成本", "元", "decrease"),
    ("人均营收", "万元/人", "increase"),
)


class OrgRef(OutputModel):
    id: uuid.UUID
    name: str


class ProviderRef(OutputModel):
    id: uuid.UUID
    org_id: uuid.UUID
    name: str


class SplitOut(OutputModel):
    """企业出一点、服务商让一点、政府补一点: list price, concession, subsidy, SME net (fen)."""

    list_fen: int
    concession_fen: int
    subsidy_fen: int
    sme_net_fen: int


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("give a finite number")
    return value


Measure = Annotated[float, Field(ge=-1e12, le=1e12), AfterValidator(_finite)]


class KpiPlanIn(InputModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    unit: Annotated[str, StringConstraints(max_length=20)] = ""
    direction: Annotated[
        Literal["increase", "decrease"], Field(description="which way counts as better")
    ] = "increase"
    baseline: Measure
    target: Measure

    @model_validator(mode="after")
    def _improves(self) -> KpiPlanIn:
        better = (
            self.target > self.baseline
            if self.direction == "increase"
            else (self.target < self.baseline)
        )
        if not better:
            raise ValueError(
                f"the target must improve on the baseline ({self.direction} is better)"
            )
        return self


def _distinct_names(values: list[KpiPlanIn]) -> list[KpiPlanIn]:
    names = [kpi.name for kpi in values]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"{', '.join(twice)} listed twice")
    return values


class EngagementPatch(InputModel):
    """The plan, set by the SME while the engagement is active: send only what changes."""

    contract_reference: Annotated[str | None, Field(max_length=100)] = None
    kpis: Annotated[
        list[KpiPlanIn] | None,
        Field(max_length=20, description="baseline and target KPIs; replaces the list"),
        AfterValidator(lambda v: v if v is None else _distinct_names(v)),
    ] = None
    maturity_level_before: Level | None = None


class NoteIn(InputModel):
    note: Note = ""


class ReasonIn(InputModel):
    reason: Reason


class OptionalReasonIn(InputModel):
    reason: Note = ""


class MeasuredIn(InputModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    value: Measure


class AcceptanceIn(InputModel):
    """验收: the measured KPIs (every planned one) and the maturity level reached."""

    measured: Annotated[list[MeasuredIn], Field(min_length=1, max_length=20)]
    maturity_level_after: Level
    note: Note = ""


class ChangeRequestIn(InputModel):
    reason: Reason
    contract_value_fen: Annotated[Fen, Field(description="the proposed contract value")]
    milestone_amounts: Annotated[
        dict[uuid.UUID, Fen], Field(max_length=30, description="milestone id → new amount")
    ] = {}


class SubsidyIn(InputModel):
    application_reference: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    amount_fen: Annotated[Fen, Field(description="at most the engagement's subsidy ceiling")]


class SubsidyDecisionIn(InputModel):
    decision: Literal["approve", "reject", "pay"]
    reason: Note = ""
    approved_amount_fen: Annotated[
        Fen | None, Field(description="approve: the amount granted (default: as claimed)")
    ] = None


class MilestoneOut(OutputModel):
    id: uuid.UUID
    position: int
    title: str
    deliverable: str
    amount_fen: int
    due_date: date
    status: str
    submission_note: str
    rejection_reason: str
    submitted_at: datetime | None
    decided_at: datetime | None
    next_actions: list[str]


class KpiOut(OutputModel):
    name: str
    unit: str
    direction: str
    baseline: float
    target: float
    measured: float | None
    # measured − baseline, and whether the target was reached, once measured at 验收.
    delta: float | None
    target_met: bool | None


class ChangeRequestOut(OutputModel):
    id: uuid.UUID
    engagement_id: uuid.UUID
    reason: str
    contract_value_before_fen: int
    contract_value_fen: int
    milestone_amounts: dict[str, int]
    status: str
    decision_reason: str
    created_at: datetime
    decided_at: datetime | None
    next_actions: list[str]


class SubsidyOut(OutputModel):
    id: uuid.UUID
    engagement_id: uuid.UUID
    pool_id: uuid.UUID
    application_reference: str
    amount_fen: int
    approved_amount_fen: int | None
    status: str
    decision_reason: str
    applied_at: datetime
    decided_at: datetime | None
    paid_at: datetime | None
    next_actions: list[str]


class EngagementOut(OutputModel):
    id: uuid.UUID
    rfq_id: uuid.UUID
    quote_id: uuid.UUID
    need_id: uuid.UUID | None
    pool_id: uuid.UUID | None
    sme: OrgRef
    provider: ProviderRef
    title: str
    category: str | None
    pricing_model: str
    contract_reference: str
    contract_value_fen: int
    split: SplitOut
    start_date: date
    status: str
    status_reason: str
    kpis: list[KpiOut]
    maturity_level_before: int | None
    maturity_level_after: int | None
    delivery_note: str
    acceptance_note: str
    delivered_at: datetime | None
    accepted_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    milestones: list[MilestoneOut]
    pending_change_request: ChangeRequestOut | None
    subsidy: SubsidyOut | None
    version: int
    created_at: datetime
    updated_at: datetime
    next_actions: list[str]


class EngagementSummaryOut(OutputModel):
    id: uuid.UUID
    title: str
    status: str
    sme: OrgRef
    provider: ProviderRef
    contract_value_fen: int
    start_date: date
    created_at: datetime


def kpi_out(kpi: dict[str, Any]) -> KpiOut:
    measured = kpi.get("measured")
    delta = met = None
    if measured is not None:
        delta = measured - kpi["baseline"]
        met = (
            measured >= kpi["target"]
            if kpi["direction"] == "increase"
            else (measured <= kpi["target"])
        )
    return KpiOut(
        name=kpi["name"],
        unit=kpi.get("unit", ""),
        direction=kpi["direction"],
        baseline=kpi["baseline"],
        target=kpi["target"],
        measured=measured,
        delta=delta,
        target_met=met,
    )
