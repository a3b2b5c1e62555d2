"""Request and response bodies for pool market settings, RFQs, invitations, quotes and Q&A.

Amounts are integer fen (分); quantities and metered estimates are decimals with at most two
places, sent and returned as JSON numbers or strings.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints, model_validator

from catalog.fields import PricingModelId
from core.schemas import InputModel, OutputModel, ShortText, no_repeats
from market.engagements.schemas import Fen, OrgRef, ProviderRef, Reason, SplitOut

Quantity = Annotated[Decimal, Field(gt=0, le=10_000_000, decimal_places=2)]
ProviderIds = Annotated[
    list[uuid.UUID],
    Field(min_length=1, max_length=20, description="provider ids (not organisation ids)"),
    AfterValidator(no_repeats),
]


# --- pool market settings ----------------------------------------------------------------------


class PoolMarketSettingsIn(InputModel):
    invitation_cap: Annotated[
        int, Field(ge=1, le=20, description="most providers one RFQ may invite (default 5)")
    ] = 5
    subsidy_programme: Annotated[
        str, Field(max_length=200, description="e.g. 常州市智改数转专项资金; empty: none")
    ] = ""
    subsidy_rate_bp: Annotated[
        int,
        Field(ge=0, le=10_000, description="share of (list − concession) paid, basis points"),
    ] = 0
    subsidy_cap_fen: Annotated[Fen | None, Field(description="ceiling per engagement")] = None


class PoolMarketSettingsOut(OutputModel):
    pool_id: uuid.UUID
    invitation_cap: int
    subsidy_programme: str
    subsidy_rate_bp: int
    subsidy_cap_fen: int | None
    runs_subsidy: bool
    # 0 while the pool uses the defaults (the ETag a first PUT may send).
    version: int
    updated_at: datetime | None


# --- RFQs and invitations ----------------------------------------------------------------------


class RfqIn(InputModel):
    need_id: uuid.UUID
    provider_ids: ProviderIds
    deadline: Annotated[AwareDatetime, Field(description="quotes are due by then")]
    message: Annotated[str, Field(max_length=5000)] = ""
    pool_id: Annotated[
        uuid.UUID | None,
        Field(description="run under this pool's programme: its cap, subsidy and oversight"),
    ] = None


class InviteIn(InputModel):
    provider_ids: ProviderIds


class ReasonIn(InputModel):
    reason: Reason


class DeadlineIn(InputModel):
    deadline: AwareDatetime


class QuoteSummaryOut(OutputModel):
    id: uuid.UUID
    revision: int
    status: str
    pricing_model: str
    amount_fen: int
    amount_unit: str
    contract_value_fen: int
    tco_3y_fen: int
    valid_until: date
    abnormally_low: bool
    created_at: datetime


class InvitationOut(OutputModel):
    id: uuid.UUID
    rfq_id: uuid.UUID
    provider: ProviderRef
    status: str
    decline_reason: str
    invited_at: datetime
    responded_at: datetime | None
    ended_at: datetime | None
    latest_quote: QuoteSummaryOut | None
    next_actions: list[str]


class RfqOut(OutputModel):
    id: uuid.UUID
    need_id: uuid.UUID | None
    pool_id: uuid.UUID | None
    sme: OrgRef
    title: str
    category: str | None
    need: dict[str, Any] = Field(description="the need as it was when the RFQ was sent")
    message: str
    deadline: datetime
    status: str
    status_reason: str
    ended_at: datetime | None
    created_at: datetime
    invitation_cap: int
    # The SME sees every invitation; an invited provider only its own.
    invitations: list[InvitationOut]
    engagement_id: uuid.UUID | None
    next_actions: list[str]


class RfqSummaryOut(OutputModel):
    id: uuid.UUID
    title: str
    category: str | None
    pool_id: uuid.UUID | None
    sme: OrgRef
    status: str
    deadline: datetime
    created_at: datetime
    # For the SME: how many invited / quoted. For a provider: its own invitation's status.
    invitation_count: int | None
    quote_count: int | None
    my_invitation_status: str | None


# --- quotes ------------------------------------------------------------------------------------


class LineItemIn(InputModel):
    description: ShortText
    quantity: Quantity
    unit: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    unit_price_fen: Fen


class PricingTermsIn(InputModel):
    """Model-specific terms; see market.rfqs.tco for how each enters the TCO."""

    buyout_fen: Annotated[Fen, Field(description="lease_to_own: paid at the end of the term")] = 0
    units_per_month: Annotated[
        Decimal, Field(ge=0, le=10**9, decimal_places=2, description="metered: estimate")
    ] = Decimal(0)
    unit_price_fen: Annotated[Fen, Field(description="metered: price per unit")] = 0
    share_bp: Annotated[
        int, Field(ge=0, le=10_000, description="outcome: share of the gain, basis points")
    ] = 0
    gain_per_month_fen: Annotated[Fen, Field(description="outcome: estimated monthly gain")] = 0
    cap_fen: Annotated[Fen | None, Field(description="outcome: most paid over the term")] = None


class QuoteMilestoneIn(InputModel):
    title: ShortText
    deliverable: Annotated[str, Field(max_length=2000)] = ""
    amount_fen: Fen
    due_in_days: Annotated[
        int | None, Field(ge=1, le=3650, description="days after the engagement starts")
    ] = None
    due_date: date | None = None

    @model_validator(mode="after")
    def _one_due(self) -> QuoteMilestoneIn:
        if (self.due_in_days is None) == (self.due_date is None):
            raise ValueError("give exactly one of due_in_days or due_date")
        return self


class QuoteIn(InputModel):
    scope: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
    line_items: Annotated[list[LineItemIn], Field(max_length=100)] = []
    pricing_model: PricingModelId
    amount_fen: Annotated[Fen, Field(description="the headline price, per amount_unit")]
    amount_unit: Annotated[
        str, StringConstraints(min_length=1, max_length=40), Field(description="e.g. 元/台/月")
    ]
    one_off_fen: Fen = 0
    recurring_fen: Annotated[Fen, Field(description="fixed charge per month")] = 0
    recurring_months: Annotated[
        int | None, Field(ge=1, le=120, description="term of the recurring charge; null: open")
    ] = None
    terms: PricingTermsIn = PricingTermsIn()
    concession_fen: Annotated[Fen, Field(description="provider concession (让利)")] = 0
    milestones: Annotated[list[QuoteMilestoneIn], Field(min_length=1, max_length=30)]
    valid_until: date
    attachments: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=500)]],
        Field(max_length=20, description="references to documents (names or links)"),
    ] = []
    note: Annotated[str, Field(max_length=2000, description="what this revision changes")] = ""


class CostItemIn(InputModel):
    item: ShortText
    cost_fen: Fen


class CostBreakdownIn(InputModel):
    items: Annotated[list[CostItemIn], Field(min_length=1, max_length=50)]
    note: Annotated[str, Field(max_length=2000)] = ""


class AcceptIn(InputModel):
    contract_reference: Annotated[str, Field(max_length=100)] = ""
    start_date: Annotated[
        date | None, Field(description="work starts; milestone offsets count from it (today)")
    ] = None


class LineItemOut(OutputModel):
    description: str
    quantity: Decimal
    unit: str
    unit_price_fen: int
    amount_fen: int


class MilestonePlanOut(OutputModel):
    title: str
    deliverable: str
    amount_fen: int
    due_in_days: int | None
    due_date: date | None


class TcoOut(OutputModel):
    horizon_months: int
    one_off_fen: int
    recurring_fen: int
    other_fen: int
    total_fen: int
    by_year: list[int]
    formula: dict[str, str]


class QuoteOut(OutputModel):
    id: uuid.UUID
    invitation_id: uuid.UUID
    rfq_id: uuid.UUID
    provider: ProviderRef
    revision: int
    is_latest: bool
    status: str
    scope: str
    line_items: list[LineItemOut]
    pricing_model: str
    amount_fen: int
    amount_unit: str
    one_off_fen: int
    recurring_fen: int
    recurring_months: int | None
    terms: dict[str, Any]
    concession_fen: int
    milestones: list[MilestonePlanOut]
    valid_until: date
    attachments: list[str]
    note: str
    contract_value_fen: int
    tco: TcoOut
    split: SplitOut
    abnormally_low: bool
    reference_p10_fen: int | None
    reference_count: int
    # True while a flagged quote still owes its cost breakdown.
    cost_breakdown_requested: bool
    cost_breakdown: dict[str, Any] | None
    cost_breakdown_at: datetime | None
    created_at: datetime
    next_actions: list[str]


class ComparisonRowOut(OutputModel):
    invitation_id: uuid.UUID
    provider: ProviderRef
    invitation_status: str
    decline_reason: str
    quote: QuoteOut | None
    # Whether the quote can be accepted now (latest revision, submitted, still valid).
    acceptable: bool
    # 1 = lowest SME net cost over three years among acceptable quotes.
    rank: int | None


class ComparisonOut(OutputModel):
    rfq_id: uuid.UUID
    title: str
    category: str | None
    status: str
    horizon_months: int
    subsidy: PoolMarketSettingsOut | None
    formulas: dict[str, dict[str, str]]
    rows: list[ComparisonRowOut]


class FlaggedQuoteOut(OutputModel):
    quote: QuoteOut
    rfq_title: str
    rfq_status: str
    pool_id: uuid.UUID | None
    sme: OrgRef
    category: str | None


# --- Q&A ---------------------------------------------------------------------------------------


class MessageIn(InputModel):
    body: Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class MessageOut(OutputModel):
    id: uuid.UUID
    invitation_id: uuid.UUID
    side: str
    author_user_id: uuid.UUID
    body: str
    created_at: datetime
