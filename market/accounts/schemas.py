"""Request and response bodies for accounts and organisations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from catalog.fields import CreditCode, ProviderTypeId, RegionCode
from core.schemas import Email, InputModel, Name, NewPassword, OutputModel, ShortText


class OrganisationIn(InputModel):
    kind: Literal["sme", "provider"]
    name: ShortText
    credit_code: CreditCode
    region_code: RegionCode
    provider_type: ProviderTypeId | None = Field(
        default=None, description="required for providers: one of the provider_types"
    )

    @model_validator(mode="after")
    def _provider_needs_type(self) -> OrganisationIn:
        if self.kind == "provider" and self.provider_type is None:
            raise ValueError("provider_type is required when kind is provider")
        if self.kind == "sme" and self.provider_type is not None:
            raise ValueError("provider_type applies to providers only")
        return self


class NewUserIn(InputModel):
    email: Email
    name: Name
    password: NewPassword


class RegisterIn(InputModel):
    organisation: OrganisationIn
    user: NewUserIn


class LoginIn(InputModel):
    email: Email
    password: Annotated[str, Field(min_length=1, max_length=128)]
    label: Annotated[str | None, Field(max_length=100)] = None


class PasswordChangeIn(InputModel):
    current_password: Annotated[str, Field(min_length=1, max_length=128)]
    new_password: NewPassword


class InviteIn(InputModel):
    email: Email


class AcceptInvitationIn(InputModel):
    token: Annotated[str, Field(min_length=10, max_length=200)]
    name: Name
    password: NewPassword


class AgencyIn(InputModel):
    name: ShortText
    jurisdiction: RegionCode


class CuratorIn(InputModel):
    agency_id: uuid.UUID
    email: Email
    name: Name
    password: NewPassword
    jurisdiction: RegionCode | None = Field(
        default=None, description="defaults to the agency's jurisdiction; must lie within it"
    )


class OrganisationOut(OutputModel):
    id: uuid.UUID
    kind: str
    name: str
    credit_code: str | None
    region_code: str | None
    jurisdiction: str | None
    is_active: bool
    created_at: datetime


class UserOut(OutputModel):
    id: uuid.UUID
    org_id: uuid.UUID
    email: str
    name: str
    role: str
    is_org_admin: bool
    is_active: bool
    jurisdiction: str | None
    created_at: datetime


class MeOut(OutputModel):
    user: UserOut
    organisation: OrganisationOut
    provider_id: uuid.UUID | None = None


class TokenOut(OutputModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    user: UserOut


class SessionOut(OutputModel):
    csrf_token: str
    expires_at: datetime
    user: UserOut


class InvitationOut(OutputModel):
    id: uuid.UUID
    email: str
    role: str
    expires_at: datetime
    token: str = Field(description="shown once: send it to the colleague")


class RegisteredOut(OutputModel):
    user: UserOut
    organisation: OrganisationOut
    provider_id: uuid.UUID | None = None
