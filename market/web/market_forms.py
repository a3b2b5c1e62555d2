"""Form helpers for the provider's market pages (quotes, pools): amounts in 元, the error codes
of the RFQ and pool services said in the page's language, and schema paths mapped to fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from core.errors import AppError
from market.web import forms
from market.web.forms import GENERAL, FieldProblem, FormErrors, KeyMapper
from market.web.i18n import N_
from market.web.security import WebContext

Model = TypeVar("Model", bound=BaseModel)

# Service errors of quotes and pools by their stable code; others fall back to forms'.
MESSAGES: dict[str, str] = {
    "rfq_deadline_passed": N_(
        "The deadline for quotes has passed; quotes and revisions are closed."
    ),
    "quote_revision_conflict": N_(
        "A colleague submitted a revision at the same moment. Open the request again."
    ),
    "invalid_transition": N_("This is not possible any more: the request or quote has moved on."),
    "applications_closed": N_("This pool is not taking applications at the moment."),
    "application_exists": N_("You have an application in this pool already."),
    "unsupported_media_type": N_("Upload a PDF, JPEG or PNG file whose content matches its type."),
    "payload_too_large": N_("The file is too large."),
    "appeal_exists": N_("This decision has been appealed already; an appeal is decided once."),
}

# Messages of the services' own field checks, so they can be translated.
FIELD_MESSAGES = (
    N_("a quote must be valid at least today"),
    N_("a milestone cannot be due in the past"),
    N_("give exactly one of due_in_days or due_date"),
    N_("the file is empty"),
    N_("must be true: an application needs the signed 承诺书 (commitment letter)"),
    N_("name sanction_id for a sanction appeal, and only then"),
)


def message_for(ctx: WebContext, exc: AppError) -> str:
    template = MESSAGES.get(exc.code)
    return ctx.gettext(template) if template else forms.app_error_message(ctx, exc)


def service_errors(
    ctx: WebContext, exc: AppError, key_of: KeyMapper = forms.plain_key
) -> FormErrors:
    """Field details beside their fields, the error itself above the form."""
    errors = forms.from_app_error(ctx, exc, key_of)
    errors.fields[GENERAL] = [message_for(ctx, exc)]
    return errors


def fen_key(parts: list[str], _error: Mapping[str, Any]) -> str:
    """Schema paths to form names: amounts are typed in 元 under the name without ``_fen``."""
    if not parts:
        return GENERAL
    last = parts[-1].removesuffix("_fen").removesuffix("_bp")
    return ".".join([*parts[:-1], last])


def money(ctx: WebContext, raw: str, key: str, problems: FormErrors) -> int | None:
    """元 as typed → fen; a problem is noted beside ``key`` and None returned."""
    try:
        return forms.yuan_to_fen(raw, ctx, key)
    except FieldProblem as problem:
        problems.add(problem.key, problem.message)
        return None


def whole(ctx: WebContext, raw: str, key: str, problems: FormErrors) -> int | None:
    cleaned = raw.replace(",", "").strip()
    if not cleaned:
        return None
    if cleaned.isdigit():
        return int(cleaned)
    problems.add(key, ctx.gettext("Enter a whole number."))
    return None


def attempt(
    ctx: WebContext,
    session: Session,
    data: Model | None,
    act: Callable[[Model], Any],
    errors: FormErrors,
    key_of: KeyMapper = forms.plain_key,
) -> int | None:
    """Hand checked form data to a service step: None when it was done, otherwise the status
    to answer with, and ``errors`` says why (``data`` None: the form's own problems, 422)."""
    if data is None:
        return 422
    try:
        act(data)
    except AppError as exc:
        session.rollback()
        errors.merge(service_errors(ctx, exc, key_of))
        return exc.status_code
    return None
