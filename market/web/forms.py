"""Turning validation and service errors into messages beside the form fields they concern.

The services and schemas speak the API's language: English messages and ``field`` paths such
as ``body.capabilities.0``. A person filling a form needs the message in their language, next
to the control they can fix. This module does that translation once for every form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from core.errors import AppError
from market.web.i18n import N_
from market.web.security import WebContext

# A key names a form control (or a group of them) in the page; a mapper turns an error
# location (without the "body." prefix) into that key.
KeyMapper = Callable[[list[str], Mapping[str, Any]], str]

GENERAL = "__all__"

REQUIRED = N_("This field is required.")
_BY_TYPE: dict[str, str] = {
    "missing": REQUIRED,
    "string_too_long": N_("Use at most %(n)s characters."),
    "too_long": N_("Choose at most %(n)s."),
    "greater_than_equal": N_("Enter %(n)s or more."),
    "less_than_equal": N_("Enter %(n)s or less."),
    "greater_than": N_("Enter more than %(n)s."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "float_parsing": N_("Enter a number."),
    "float_type": N_("Enter a number."),
    "date_parsing": N_("Enter a date."),
    "date_from_datetime_parsing": N_("Enter a date."),
    "date_type": N_("Enter a date."),
    "url_parsing": N_("Enter a full web address, starting with https://"),
    "url_scheme": N_("Enter a full web address, starting with https://"),
    "url_type": N_("Enter a full web address, starting with https://"),
    "string_pattern_mismatch": N_("The format is not valid."),
    "literal_error": N_("Choose one of the offered options."),
    "enum": N_("Choose one of the offered options."),
}
_CTX_NUMBER = ("max_length", "min_length", "ge", "le", "gt", "lt")

# Messages of the schemas' own validators, so they can be translated like any other string.
VALIDATOR_MESSAGES = (
    N_("enter an e-mail address such as name@example.com"),
    N_("use at least 10 characters"),
    N_("mix letters with digits or symbols"),
    N_("max_fen must not be below min_fen"),
    N_("provider_type is required when kind is provider"),
    N_("provider_type applies to providers only"),
    N_("a case date cannot lie in the future"),
    N_("required to publish"),
    N_("cannot be null; omit the field to leave it unchanged"),
)

# Service errors people meet in forms, by their stable code.
_BY_CODE: dict[str, str] = {
    "not_owner": N_("Only the provider that owns this item can change it."),
    "invalid_transition": N_("This action is not possible in the item's current state."),
    "solution_not_draft": N_(
        "Only drafts can be deleted. Archive a solution that has been public."
    ),
    "case_not_draft": N_("Only drafts can be deleted. Archive a case that has been public."),
    "version_conflict": N_(
        "Someone changed this item after you opened it. Your changes were not saved: "
        "open the latest version and apply your edit again."
    ),
    "precondition_required": N_("This form is out of date. Open the item again."),
    "email_taken": N_("An account with this e-mail exists already. Log in, or use another e-mail."),
    "credit_code_taken": N_(
        "An organisation with this credit code is registered already. "
        "Ask its administrator to invite you."
    ),
    "invalid_credentials": N_("E-mail or password is wrong, or the account is deactivated."),
    "login_throttled": N_("Too many failed logins. Wait %(seconds)s seconds and try again."),
    "incomplete": N_("Fill in the marked fields before publishing."),
    "validation_error": N_("Check the marked fields."),
    "provider_not_found": N_("Your organisation has no provider profile."),
}


@dataclass
class FormErrors:
    """Messages by form key; ``GENERAL`` holds those that belong to the form as a whole."""

    fields: dict[str, list[str]] = field(default_factory=dict)

    def add(self, key: str, message: str) -> None:
        messages = self.fields.setdefault(key, [])
        if message not in messages:
            messages.append(message)

    def get(self, key: str) -> list[str]:
        return self.fields.get(key, [])

    @property
    def general(self) -> list[str]:
        return self.get(GENERAL)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def __contains__(self, key: object) -> bool:
        return key in self.fields

    def merge(self, other: FormErrors) -> None:
        for key, messages in other.fields.items():
            for message in messages:
                self.add(key, message)


def plain_key(parts: list[str], _error: Mapping[str, Any]) -> str:
    return ".".join(parts) if parts else GENERAL


def _message(ctx: WebContext, error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    details = error.get("ctx") or {}
    number = next((details[k] for k in _CTX_NUMBER if k in details), None)
    if kind == "string_too_short":
        if number in (None, 1):
            return ctx.gettext(REQUIRED)
        return ctx.gettext("Use at least %(n)s characters.", n=number)
    if kind in _BY_TYPE:
        template = _BY_TYPE[kind]
        return ctx.gettext(template, n=number) if "%(n)s" in template else ctx.gettext(template)
    text = str(error.get("msg") or error.get("message") or "")
    return ctx.gettext(text.removeprefix("Value error, "))


def from_validation(
    ctx: WebContext, exc: ValidationError, key_of: KeyMapper = plain_key
) -> FormErrors:
    errors = FormErrors()
    for error in exc.errors():
        parts = [str(p) for p in error.get("loc", ())]
        errors.add(key_of(parts, error), _message(ctx, error))
    return errors


def from_app_error(ctx: WebContext, exc: AppError, key_of: KeyMapper = plain_key) -> FormErrors:
    """Field details go beside their fields; the error itself is said above the form."""
    errors = FormErrors()
    details = exc.details if isinstance(exc.details, list) else []
    for detail in details:
        if isinstance(detail, Mapping) and "field" in detail:
            parts = str(detail["field"]).split(".")
            if parts and parts[0] in ("body", "query"):
                parts = parts[1:]
            errors.add(key_of(parts, detail), _message(ctx, detail))
    errors.add(GENERAL, app_error_message(ctx, exc))
    return errors


def app_error_message(ctx: WebContext, exc: AppError) -> str:
    template = _BY_CODE.get(exc.code)
    if template is None:
        # Not expected in a form: better the service's English words than nothing.
        return exc.message
    if exc.code == "login_throttled":
        seconds = (exc.details or {}).get("retry_after_seconds", 60)
        return ctx.gettext(template, seconds=seconds)
    return ctx.gettext(template)


# --- reading submitted values ----------------------------------------------------------------


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional_text(form: FormData, name: str) -> str | None:
    return text(form, name) or None


def choices(form: FormData, name: str) -> list[str]:
    """Checked boxes of a group, in the order the page lists them."""
    return [v for v in form.getlist(name) if isinstance(v, str) and v]


class FieldProblem(ValueError):
    """A value that cannot even be turned into what the schema expects (e.g. "abc" as 元)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def optional_int(form: FormData, name: str, ctx: WebContext, key: str | None = None) -> int | None:
    raw = text(form, name).replace(",", "")
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise FieldProblem(key or name, ctx.gettext("Enter a whole number.")) from None


def optional_float(
    form: FormData, name: str, ctx: WebContext, key: str | None = None
) -> float | None:
    raw = text(form, name).replace(",", "")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise FieldProblem(key or name, ctx.gettext("Enter a number.")) from None


def yuan_to_fen(raw: str, ctx: WebContext, key: str) -> int | None:
    """元 as typed ("1,200", "99.5", "１２００") to integer fen; never through float."""
    cleaned = raw.strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    if not cleaned:
        return None
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise FieldProblem(
            key, ctx.gettext("Enter an amount in yuan, e.g. 1200 or 99.50.")
        ) from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise FieldProblem(key, ctx.gettext("Enter an amount in yuan, e.g. 1200 or 99.50."))
    return int(amount * 100)
