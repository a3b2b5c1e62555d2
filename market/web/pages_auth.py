"""Logging in and out, registering an SME or provider, and switching the page language."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from catalog.taxonomy import CreditCodeError, normalise_credit_code
from core.deps import DbSession
from core.errors import AppError
from market.accounts import service as accounts
from market.accounts.api import client_address
from market.accounts.resolver import SESSION_COOKIE
from market.accounts.schemas import LoginIn, RegisterIn
from market.web import forms, i18n
from market.web.forms import FormErrors
from market.web.security import CheckedForm, Web, WebContext, safe_next, start_session

router = APIRouter(include_in_schema=False)

# The language cookie outlives sessions: it is a preference of the browser, not of a login.
LANG_COOKIE_SECONDS = 365 * 24 * 3600

CREDIT_CODE_MESSAGES = {
    "length": i18n.N_("A unified social credit code has 18 characters."),
    "characters": i18n.N_(
        "The code contains characters that are never used (I, O, S, V, Z). "
        "O is usually the digit 0."
    ),
    "shape": i18n.N_("Characters 3 to 8 are the area code and must be digits."),
    "check_character": i18n.N_(
        "The last character does not match the others: one character is probably mistyped. "
        "Compare with the business licence."
    ),
}


def _home_for(role: str) -> str:
    return "/provider" if role == "provider" else "/"


@router.get("/lang/{code}")
def switch_language(code: str, ctx: Web, next: str | None = None) -> RedirectResponse:
    locale = i18n.normalise_locale(code) or i18n.DEFAULT_LOCALE
    ctx.set_cookie(i18n.LANG_COOKIE, locale, max_age=LANG_COOKIE_SECONDS)
    return ctx.redirect(safe_next(next))


@router.get("/login", response_class=HTMLResponse)
def login_form(ctx: Web, next: str | None = None) -> HTMLResponse:
    return ctx.render("login.html", next=safe_next(next, ""), email="", errors=FormErrors())


@router.post("/login", response_model=None)
def login(ctx: Web, form: CheckedForm, session: DbSession) -> Response:
    email = forms.text(form, "email")
    next_url = safe_next(forms.text(form, "next"), "")
    try:
        data = LoginIn.model_validate({"email": email, "password": form.get("password") or ""})
    except ValidationError as exc:
        errors = forms.from_validation(ctx, exc)
        return ctx.render("login.html", status_code=422, next=next_url, email=email, errors=errors)
    errors = FormErrors()
    try:
        user = accounts.authenticate(
            session,
            email=data.email,
            password=data.password,
            address=client_address(ctx.request),
            settings=ctx.settings,
        )
    except AppError as exc:
        # Returning normally commits: a failed attempt must be counted for throttling.
        errors.add(forms.GENERAL, forms.app_error_message(ctx, exc))
        return ctx.render(
            "login.html", status_code=exc.status_code, next=next_url, email=email, errors=errors
        )
    start_session(ctx, session, user=user)
    ctx.flash("success", ctx.gettext("Welcome back, %(name)s.", name=user.name))
    return ctx.redirect(next_url or _home_for(user.role))


@router.post("/logout", response_model=None)
def logout(ctx: Web, _form: CheckedForm, session: DbSession) -> Response:
    if ctx.principal is not None:
        accounts.revoke_token(session, token_id=ctx.principal.token_id)
    ctx.set_cookie(SESSION_COOKIE, "", max_age=0)
    ctx.flash("info", ctx.gettext("You have logged out."))
    return ctx.redirect("/")


def _register_values(form: Any) -> dict[str, str]:
    names = (
        "kind",
        "org_name",
        "credit_code",
        "region_code",
        "provider_type",
        "email",
        "name",
    )
    return {name: forms.text(form, name) for name in names}


def _register_key(parts: list[str], error: Any) -> str:
    """``organisation.name`` is the form's ``org_name``; the other names are the schema's."""
    if not parts:
        return forms.GENERAL
    if len(parts) == 1:
        # The one cross-field rule (a provider needs its type) belongs beside that select.
        if parts[0] == "organisation" and "provider_type" in str(error.get("msg", "")):
            return "provider_type"
        return forms.GENERAL
    section, name = parts[0], parts[1]
    if section == "organisation":
        return "org_name" if name == "name" else name
    return name


def _render_register(
    ctx: WebContext, values: dict[str, str], errors: FormErrors, status: int = 200
) -> HTMLResponse:
    return ctx.render("register.html", status_code=status, values=values, errors=errors)


@router.get("/register", response_class=HTMLResponse)
def register_form(ctx: Web, kind: str = "sme") -> HTMLResponse:
    values = {"kind": "provider" if kind == "provider" else "sme", "region_code": "320400"}
    return _render_register(ctx, values, FormErrors())


@router.post("/register", response_model=None)
def register(ctx: Web, form: CheckedForm, session: DbSession) -> Response:
    values = _register_values(form)
    password = str(form.get("password") or "")
    errors = FormErrors()
    if password != str(form.get("password_confirm") or ""):
        errors.add("password_confirm", ctx.gettext("The two passwords differ."))
    organisation: dict[str, Any] = {
        "kind": values["kind"],
        "name": values["org_name"],
        "credit_code": values["credit_code"],
        "region_code": values["region_code"],
    }
    if values["kind"] == "provider":
        organisation["provider_type"] = values["provider_type"] or None
    payload = {
        "organisation": organisation,
        "user": {"email": values["email"], "name": values["name"], "password": password},
    }
    try:
        data = RegisterIn.model_validate(payload)
    except ValidationError as exc:
        for key, messages in forms.from_validation(ctx, exc, _register_key).fields.items():
            for message in messages:
                errors.add(key, message)
    if "credit_code" in errors:
        # The schema says that the code is wrong; the taxonomy can say why, in the page's words.
        try:
            normalise_credit_code(values["credit_code"])
        except CreditCodeError as problem:
            if problem.reason in CREDIT_CODE_MESSAGES:
                errors.fields["credit_code"] = [ctx.gettext(CREDIT_CODE_MESSAGES[problem.reason])]
    if errors:
        return _render_register(ctx, values, errors, status=422)
    try:
        _org, user, _provider = accounts.register(session, data=data)
    except AppError as exc:
        session.rollback()
        field = {"email_taken": "email", "credit_code_taken": "credit_code"}.get(exc.code)
        if field is not None:
            errors.add(field, forms.app_error_message(ctx, exc))
        else:
            errors = forms.from_app_error(ctx, exc, _register_key)
        return _render_register(ctx, values, errors, status=exc.status_code)
    start_session(ctx, session, user=user)
    ctx.flash("success", ctx.gettext("Your account is ready. Welcome, %(name)s.", name=user.name))
    if user.role == "provider":
        ctx.flash(
            "info",
            ctx.gettext("Next: complete your company profile, then add your first solution."),
        )
    return ctx.redirect(_home_for(user.role))
