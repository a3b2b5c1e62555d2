"""What the SME and engagement pages share: refusals in people's words, paging, dates.

The market services answer with stable error codes and English messages meant for API
clients. A factory owner needs the refusal in their own language and a hint what to do, so
each code met on these pages has its sentence here; anything else falls back to the shared
messages of ``market.web.forms``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from core.errors import AppError
from market.needs import service as needs
from market.needs.schemas import SmeProfileOut
from market.web import forms
from market.web.forms import GENERAL, FormErrors, KeyMapper, plain_key
from market.web.i18n import N_
from market.web.security import WebContext
from market.web.templating import DISPLAY_ZONE, today_local

PAGE_SIZE = 10

_BY_CODE: dict[str, str] = {
    "invitation_cap_exceeded": N_(
        "You chose more providers than this request for quotation may invite. Choose fewer."
    ),
    "provider_not_listed": N_(
        "A chosen provider is no longer listed in any resource pool. Leave it out and send again."
    ),
    "provider_not_in_pool": N_(
        "A chosen provider is not listed in the pool this request runs under. Leave it out."
    ),
    "provider_at_capacity": N_(
        "A chosen provider is fully booked at the moment. Choose another provider."
    ),
    "provider_already_invited": N_("A chosen provider is invited already."),
    "provider_not_found": N_("A chosen provider does not exist."),
    "rfq_deadline_passed": N_("The deadline for quotes has passed."),
    "quote_superseded": N_(
        "The provider has revised this quote since you opened the page. Compare the latest one."
    ),
    "quote_expired": N_("This quote is no longer valid. Ask the provider for a new one."),
    "quote_revision_conflict": N_("Another revision was sent at the same time. Try again."),
    "need_closed": N_("This need is closed. Open it again before asking for quotes."),
    "milestones_open": N_("Every milestone must be accepted first."),
    "kpis_missing": N_("Enter a measured value for every planned KPI."),
    "change_request_pending": N_("A price change is waiting for a decision. Decide it first."),
    "no_subsidy_programme": N_("The pool of this engagement runs no subsidy programme."),
    "subsidy_already_applied": N_("A subsidy application is recorded already."),
    "results_not_accepted": N_("The results must be accepted first."),
    "wrong_party": N_("The other party takes this step, not you."),
    "role_required": N_("Your kind of account cannot take this step."),
}

# Detail types of the services' field errors that carry no schema type of their own.
_BY_KIND: dict[str, str] = {
    "past": N_("Choose a time in the future."),
    "too_late": N_("Choose an earlier date."),
    "overlap": N_("A capability cannot be both a must and a nice-to-have."),
    "range": N_("The maximum must not be below the minimum."),
}


def error_message(ctx: WebContext, exc: AppError) -> str:
    template = _BY_CODE.get(exc.code)
    return ctx.gettext(template) if template else forms.app_error_message(ctx, exc)


def errors_from(ctx: WebContext, exc: AppError, key_of: KeyMapper = plain_key) -> FormErrors:
    """Like ``forms.from_app_error``, with the SME pages' own sentences where they have one."""
    errors = FormErrors()
    handled: set[str] = set()
    details = exc.details if isinstance(exc.details, list) else []
    for detail in details:
        if not isinstance(detail, Mapping) or "field" not in detail:
            continue
        parts = str(detail["field"]).split(".")
        if parts and parts[0] in ("body", "query"):
            parts = parts[1:]
        template = _BY_KIND.get(str(detail.get("type", ""))) or _BY_CODE.get(
            str(detail.get("type", ""))
        )
        if template:
            key = key_of(parts, detail)
            errors.add(key, ctx.gettext(template))
            handled.add(key)
    for key, messages in forms.from_app_error(ctx, exc, key_of).fields.items():
        if key != GENERAL and key not in handled:
            for message in messages:
                errors.add(key, message)
    errors.add(GENERAL, error_message(ctx, exc))
    return errors


def sme_profile(ctx: WebContext, session: Session) -> SmeProfileOut:
    """The logged-in SME's profile (empty, version 0, before the first save)."""
    assert ctx.principal is not None
    return needs.read_profile(session, principal=ctx.principal)


def page_count(total: int, size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(total / size))


def default_deadline() -> str:
    """A week from today at 18:00 China time, as a ``datetime-local`` value."""
    day = today_local() + timedelta(days=7)
    return datetime.combine(day, time(18, 0)).strftime("%Y-%m-%dT%H:%M")


def parse_local_datetime(raw: str, ctx: WebContext, key: str) -> datetime:
    """A ``datetime-local`` (or a bare date, meaning end of day) read as China time."""
    value = raw.strip()
    try:
        if len(value) == 10:
            parsed = datetime.combine(datetime.fromisoformat(value).date(), time(23, 59))
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        raise forms.FieldProblem(key, ctx.gettext("Enter a date and time.")) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=DISPLAY_ZONE)
    return parsed


def local_input(value: datetime) -> str:
    return value.astimezone(DISPLAY_ZONE).strftime("%Y-%m-%dT%H:%M")
