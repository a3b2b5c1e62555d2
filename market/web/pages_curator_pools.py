"""Running a pool as a whole: its application window, the import of an existing list (入库名单)
with a dry run first, the export of its listings, and its dashboard of charts."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile

from catalog.pools import exporting, importing
from catalog.pools import service as pools
from catalog.pools.models import Pool
from catalog.pools.schemas import ImportReportOut
from core.deps import DbSession
from core.errors import AppError, NotFound
from market.web import charts, curating, forms
from market.web.i18n import N_
from market.web.pool_stats import PoolStats, pool_stats
from market.web.security import CheckedForm, CuratorWeb, WebContext
from market.web.templating import Labels

router = APIRouter(include_in_schema=False)

# A checked file travels back with the confirm form, so the curator need not choose it again;
# base64 of this much stays under the 1 MB a form field may carry. Larger files are chosen
# again for the real import.
CARRY_LIMIT = 700 * 1024
EXPORT_FORMATS = ("csv", "xlsx")
INVITATION_LABELS = {
    "invited": N_("Invited, no answer yet"),
    "quoted": N_("Answered with a quote"),
    "declined": N_("Declined to quote"),
    "awarded": N_("Won the award"),
    "expired": N_("Expired without an answer"),
    "closed": N_("Closed when the RFQ ended"),
}
ENGAGEMENT_LABELS = {
    "active": N_("In delivery"),
    "delivered": N_("Delivered, awaiting acceptance"),
    "accepted": N_("Delivery accepted"),
    "completed": N_("Engagement completed"),
    "cancelled": N_("Engagement cancelled"),
}


# --- the application window ----------------------------------------------------------------


@router.post("/curator/pools/{pool_id}/window")
def set_window(
    pool_id: uuid.UUID, ctx: CuratorWeb, session: DbSession, form: CheckedForm
) -> Response:
    assert ctx.principal is not None
    pool = curating.managed_pool(session, ctx, pool_id)
    open_ = forms.text(form, "open") == "yes"
    pools.set_open(session, principal=ctx.principal, pool_id=pool.id, open_=open_, if_match=None)
    ctx.flash(
        "success",
        ctx.gettext("Applications are open.") if open_ else ctx.gettext("Applications are closed."),
    )
    return ctx.redirect(f"/curator/pools/{pool.id}/dashboard")


# --- import --------------------------------------------------------------------------------


def _import_page(
    ctx: WebContext,
    pool: Pool,
    *,
    report: ImportReportOut | None = None,
    carried: str = "",
    filename: str = "",
    category: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return ctx.render(
        "curator/import.html",
        status_code=status_code,
        pool=pool,
        report=report,
        carried=carried,
        filename=filename,
        category=category,
        section="pool",
    )


@router.get("/curator/pools/{pool_id}/import", response_class=HTMLResponse)
def import_form(pool_id: uuid.UUID, ctx: CuratorWeb, session: DbSession) -> HTMLResponse:
    return _import_page(ctx, curating.managed_pool(session, ctx, pool_id))


def _upload(form: FormData) -> tuple[str, bytes] | None:
    """The chosen file, or the one carried back from the dry run."""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        return upload.filename, upload.file.read(importing.MAX_FILE_BYTES + 1)
    carried = forms.text(form, "carried")
    if carried:
        try:
            return forms.text(form, "filename") or "upload", base64.b64decode(
                carried, validate=True
            )
        except (binascii.Error, ValueError):
            return None
    return None


@router.post("/curator/pools/{pool_id}/import", response_class=HTMLResponse)
def import_list(
    pool_id: uuid.UUID, ctx: CuratorWeb, session: DbSession, form: CheckedForm
) -> Response:
    assert ctx.principal is not None
    pool = curating.managed_pool(session, ctx, pool_id)
    category = forms.text(form, "category")
    upload = _upload(form)
    if upload is None:
        ctx.flash("error", ctx.gettext("Choose the XLSX or CSV file to import."))
        return _import_page(ctx, pool, category=category, status_code=422)
    filename, data = upload
    if len(data) > importing.MAX_FILE_BYTES:
        ctx.flash("error", ctx.gettext("The file is too large to import in one go."))
        return _import_page(ctx, pool, category=category, status_code=413)
    confirm = forms.text(form, "confirm") == "yes"
    try:
        report = importing.import_for_curator(
            session,
            principal=ctx.principal,
            pool_id=pool.id,
            filename=filename,
            data=data,
            dry_run=not confirm,
            category_id=category or None,
        )
    except AppError as exc:
        session.rollback()
        if exc.code != "import_rejected":
            ctx.flash("error", curating.error_message(ctx, exc))
            return _import_page(ctx, pool, category=category, status_code=exc.status_code)
        ctx.flash("error", curating.error_message(ctx, exc))
        rejected = ImportReportOut.model_validate(exc.details)
        return _import_page(ctx, pool, report=rejected, category=category, status_code=422)
    if not confirm:
        # Nothing of a dry run is kept, whatever the importer left in the session.
        session.rollback()
        carried = base64.b64encode(data).decode() if len(data) <= CARRY_LIMIT else ""
        return _import_page(
            ctx, pool, report=report, carried=carried, filename=filename, category=category
        )
    ctx.flash(
        "success",
        ctx.gettext(
            "Imported %(rows)s rows: %(listed)s listings, %(new)s new providers.",
            rows=report.rows_ok,
            listed=report.listed,
            new=report.new_providers,
        ),
    )
    return ctx.redirect(f"/curator/pools/{pool.id}/dashboard")


# --- export --------------------------------------------------------------------------------


@router.get("/curator/pools/{pool_id}/export.{fmt}")
def export(pool_id: uuid.UUID, fmt: str, ctx: CuratorWeb, session: DbSession) -> Response:
    assert ctx.principal is not None
    if fmt not in EXPORT_FORMATS:
        raise NotFound("No such export format", code="not_found")
    exported = exporting.export_for_curator(
        session,
        principal=ctx.principal,
        pool_id=pool_id,
        fmt="csv" if fmt == "csv" else "xlsx",
    )
    return Response(
        content=exported.content,
        media_type=exported.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{exported.filename}"',
            "Cache-Control": "private, no-store",
        },
    )


# --- dashboard -----------------------------------------------------------------------------


def _figures(ctx: WebContext, stats: PoolStats) -> list[dict[str, Any]]:
    """Each chart with its title, the SVG and the rows of its table."""
    names = Labels(ctx.locale)
    figures: list[tuple[str, str, list[tuple[str, float]]]] = [
        ("category", ctx.gettext("Listed providers by category"), list(stats.by_category)),
        (
            "capability",
            ctx.gettext("Listed providers by capability"),
            [(names.term("capabilities", c), n) for c, n in stats.by_capability[:12]],
        ),
        (
            "region",
            ctx.gettext("Listed providers by registered region"),
            [(names.region(code), n) for code, n in stats.by_region[:12]],
        ),
        (
            "local",
            ctx.gettext("Local and external providers"),
            [
                (ctx.gettext("Registered in the pool's jurisdiction"), stats.local),
                (ctx.gettext("Registered elsewhere"), stats.external),
            ],
        ),
        (
            "responses",
            ctx.gettext("RFQ invitations by answer"),
            [
                (curating.label(ctx, INVITATION_LABELS, s), n)
                for s, n in stats.invitations_by_status
            ],
        ),
        (
            "engagements",
            ctx.gettext("Engagements by outcome"),
            [
                (curating.label(ctx, ENGAGEMENT_LABELS, s), n)
                for s, n in stats.engagements_by_status
            ],
        ),
        (
            "ratings",
            ctx.gettext("Star ratings of listed providers"),
            [(ctx.gettext("%(n)s stars", n=star), n) for star, n in stats.ratings],
        ),
    ]
    drawn = []
    for key, title, rows in figures:
        if key in ("local", "responses", "engagements"):
            svg = charts.pie(title, rows) if any(n for _, n in rows) else ""
        elif key in ("capability", "region"):
            svg = charts.horizontal_bar(title, rows) if rows else ""
        else:
            svg = charts.bar(title, rows) if rows else ""
        drawn.append({"key": key, "title": title, "svg": svg, "rows": rows})
    return drawn


@router.get("/curator/pools/{pool_id}/dashboard", response_class=HTMLResponse)
def dashboard(pool_id: uuid.UUID, ctx: CuratorWeb, session: DbSession) -> HTMLResponse:
    pool = curating.managed_pool(session, ctx, pool_id)
    stats = pool_stats(session, pool)
    return ctx.render(
        "curator/dashboard.html",
        pool=pool,
        stats=stats,
        figures=_figures(ctx, stats),
        section="dashboard",
    )
