"""Routes of a user's own e-mail notification choices."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from core.deps import CurrentPrincipal, DbSession
from core.schemas import InputModel, OutputModel
from market.mail import service

router = APIRouter(prefix="/api/v1/me", tags=["mail"])

Choice = Literal["rfq_invitations", "quotes", "engagements", "disputes"]


class MailChoicesIn(InputModel):
    choices: list[Choice]


class MailChoicesOut(OutputModel):
    choices: list[str]
    available: list[str]


@router.get("/mail-preferences", response_model=MailChoicesOut)
def get_preferences(principal: CurrentPrincipal, session: DbSession) -> MailChoicesOut:
    """Which notifications you receive by e-mail (none until you choose)."""
    mine = service.get_choices(session, principal=principal)
    return MailChoicesOut(choices=mine, available=sorted(service.CHOICES))


@router.put("/mail-preferences", response_model=MailChoicesOut)
def set_preferences(
    data: MailChoicesIn, principal: CurrentPrincipal, session: DbSession
) -> MailChoicesOut:
    mine = service.set_choices(session, principal=principal, choices=list(data.choices))
    return MailChoicesOut(choices=mine, available=sorted(service.CHOICES))
