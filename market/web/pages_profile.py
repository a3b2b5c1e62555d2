"""The SME's factory profile: industry, size figures, region, systems, equipment inventory and
the maturity self-assessment. What is saved here pre-fills needs and informs recommendations.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from core.concurrency import etag_for
from core.deps import DbSession
from core.errors import AppError
from market.needs import service as needs
from market.needs.models import EXISTING_SYSTEMS
from market.needs.schemas import SmeProfileIn, SmeProfileOut
from market.web import forms
from market.web.forms import FieldProblem, FormErrors
from market.web.security import CheckedForm, SmeWeb, WebContext
from market.web.sme_support import errors_from, sme_profile

router = APIRouter(include_in_schema=False)

EQUIPMENT_FIELDS = ("machine_type", "brand", "controller", "count", "protocol", "interface")
SPARE_EQUIPMENT_ROWS = 3
MAX_EQUIPMENT_ROWS = 500


def _profile_values(profile: SmeProfileOut) -> dict[str, Any]:
    return {
        "industry_code": profile.industry_code or "",
        "employees": "" if profile.employees is None else str(profile.employees),
        "revenue_wan": "" if profile.revenue_wan is None else str(profile.revenue_wan),
        "region_code": profile.region_code or "",
        "existing_systems": list(profile.existing_systems),
        "maturity": {scene: str(level) for scene, level in profile.maturity.items()},
        "equipment": [
            {
                **{name: str(getattr(item, name) or "") for name in EQUIPMENT_FIELDS},
                "networked": item.networked,
                "guess": item.protocol_guess or "",
            }
            for item in profile.equipment
        ],
        "version": str(profile.version),
    }


def _equipment_rows(form: FormData) -> list[dict[str, Any]]:
    rows = []
    for i in range(MAX_EQUIPMENT_ROWS):
        row: dict[str, Any] = {
            name: forms.text(form, f"equipment.{i}.{name}") for name in EQUIPMENT_FIELDS
        }
        row["networked"] = forms.text(form, f"equipment.{i}.networked") == "1"
        if f"equipment.{i}.machine_type" not in form:
            break
        if any(row[name] for name in EQUIPMENT_FIELDS):
            rows.append(row)
    return rows


def _render_profile(
    ctx: WebContext,
    profile: SmeProfileOut,
    values: dict[str, Any],
    errors: FormErrors,
    status_code: int = 200,
) -> HTMLResponse:
    rows = list(values["equipment"])
    rows += [
        {**dict.fromkeys(EQUIPMENT_FIELDS, ""), "networked": False, "guess": ""}
        for _ in range(SPARE_EQUIPMENT_ROWS)
    ]
    return ctx.render(
        "sme/profile.html",
        status_code=status_code,
        profile=profile,
        values=values,
        rows=rows,
        errors=errors,
        systems=list(EXISTING_SYSTEMS),
    )


@router.get("/sme/profile", response_class=HTMLResponse)
def profile_page(ctx: SmeWeb, session: DbSession) -> HTMLResponse:
    profile = sme_profile(ctx, session)
    return _render_profile(ctx, profile, _profile_values(profile), FormErrors())


def _equipment_key(parts: list[str], _error: Any) -> str:
    if parts and parts[0] == "equipment" and len(parts) >= 3:
        return f"equipment.{parts[1]}.{parts[2]}"
    return ".".join(parts[:1]) if parts else forms.GENERAL


@router.post("/sme/profile", response_class=HTMLResponse)
def save_profile(ctx: SmeWeb, session: DbSession, form: CheckedForm) -> Response:
    assert ctx.principal is not None
    profile = sme_profile(ctx, session)
    rows = _equipment_rows(form)
    values: dict[str, Any] = {
        "industry_code": forms.text(form, "industry_code"),
        "employees": forms.text(form, "employees"),
        "revenue_wan": forms.text(form, "revenue_wan"),
        "region_code": forms.text(form, "region_code"),
        "existing_systems": forms.choices(form, "existing_systems"),
        "maturity": {
            scene: forms.text(form, f"maturity.{scene}")
            for scene in (key.removeprefix("maturity.") for key in form.keys())
            if forms.text(form, f"maturity.{scene}")
        },
        "equipment": [{**row, "guess": ""} for row in rows],
        "version": forms.text(form, "version"),
    }
    errors = FormErrors()
    payload: dict[str, Any] = {
        "industry_code": values["industry_code"] or None,
        "existing_systems": values["existing_systems"],
        "maturity": {k: int(v) for k, v in values["maturity"].items() if v.isdigit()},
        "equipment": [],
    }
    if values["region_code"]:
        payload["region_code"] = values["region_code"]
    for name in ("employees", "revenue_wan"):
        try:
            payload[name] = forms.optional_int(form, name, ctx)
        except FieldProblem as problem:
            errors.add(problem.key, problem.message)
    for i, row in enumerate(rows):
        item: dict[str, Any] = {
            name: row[name] or None
            for name in ("machine_type", "brand", "controller", "protocol", "interface")
        }
        item["networked"] = row["networked"]
        if row["count"]:
            if row["count"].isdigit():
                item["count"] = int(row["count"])
            else:
                errors.add(f"equipment.{i}.count", ctx.gettext("Enter a whole number."))
        if item["machine_type"] is None:
            item["machine_type"] = ""
        payload["equipment"].append(item)
    try:
        data = SmeProfileIn.model_validate(payload)
    except ValidationError as exc:
        errors.merge(forms.from_validation(ctx, exc, _equipment_key))
    if errors:
        return _render_profile(ctx, profile, values, errors, 422)
    version = values["version"]
    if_match = etag_for(int(version)) if version.isdigit() and version != "0" else None
    try:
        needs.put_profile(session, principal=ctx.principal, data=data, if_match=if_match)
    except AppError as exc:
        session.rollback()
        return _render_profile(
            ctx,
            sme_profile(ctx, session),
            values,
            errors_from(ctx, exc, _equipment_key),
            exc.status_code,
        )
    ctx.flash("success", ctx.gettext("Your company profile was saved."))
    return ctx.redirect("/sme/profile")
