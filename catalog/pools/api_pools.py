"""Routes for pools (资源池): creation and settings, notices, members, audit, badges, and the
import and export of pool lists."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from catalog.fields import RegionCode
from catalog.pools import (
    exporting,
    importing,
    lifecycle,
    service,
)
from catalog.pools.api_shared import Pages, application_response, pool_response
from catalog.pools.errors import EvidenceTooLarge
from catalog.pools.models import (
    ApplicationState,
)
from catalog.pools.schemas import (
    ApplicationIn,
    ApplicationOut,
    AuditPage,
    BadgeOut,
    ImportReportOut,
    MembersOut,
    NoticeOut,
    PoolIn,
    PoolOut,
    PoolPatch,
    PoolSummaryOut,
)
from core.concurrency import IfMatch
from core.deps import (
    CuratorPrincipal,
    DbSession,
    ProviderPrincipal,
)
from core.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["pools"])


# --- pools -------------------------------------------------------------------------------------


@router.post("/pools", status_code=status.HTTP_201_CREATED, response_model=PoolOut)
def create_pool(
    data: PoolIn, principal: CuratorPrincipal, session: DbSession, response: Response
) -> PoolOut:
    """Create a pool run by your agency (admins name the agency). Scorecard points add up to
    100; the pool starts closed unless ``applications_open`` is true."""
    pool = service.create_pool(session, principal=principal, data=data)
    response.headers["Location"] = f"/api/v1/pools/{pool.id}"
    return pool_response(session, response, pool)


@router.get("/pools", response_model=Page[PoolSummaryOut])
def list_pools(
    session: DbSession,
    params: Pages,
    jurisdiction: Annotated[
        RegionCode | None, Query(description="city code, or province code for all its pools")
    ] = None,
    applications_open: Annotated[bool | None, Query()] = None,
) -> Page[PoolSummaryOut]:
    """Public list of pools with their categories and listed providers per category; sort by
    name, created_at or updated_at."""
    filters = service.PoolFilters(jurisdiction=jurisdiction, applications_open=applications_open)
    items, total = service.list_pools(session, filters=filters, params=params)
    return Page(items=items, total=total, page=params.page, size=params.size)


@router.get("/pools/{pool_id}", response_model=PoolOut)
def get_pool(pool_id: uuid.UUID, session: DbSession, response: Response) -> PoolOut:
    return pool_response(session, response, service.get_pool(session, pool_id))


@router.patch("/pools/{pool_id}", response_model=PoolOut)
def update_pool(
    pool_id: uuid.UUID,
    data: PoolPatch,
    principal: CuratorPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> PoolOut:
    """Edit the pool; ``If-Match`` with the ETag you read is required. Applications already
    under review keep the scorecard they were accepted with."""
    pool = service.update_pool(
        session, principal=principal, pool_id=pool_id, data=data, if_match=if_match
    )
    return pool_response(session, response, pool)


def _window_route(open_: bool, doc: str) -> None:
    """POST /pools/{id}/open and /close: the same move of the application window."""

    def route(
        pool_id: uuid.UUID,
        principal: CuratorPrincipal,
        session: DbSession,
        response: Response,
        if_match: IfMatch = None,
    ) -> PoolOut:
        pool = service.set_open(
            session, principal=principal, pool_id=pool_id, open_=open_, if_match=if_match
        )
        return pool_response(session, response, pool)

    action = "open" if open_ else "close"
    route.__doc__ = doc
    router.post(f"/pools/{{pool_id}}/{action}", response_model=PoolOut, name=f"{action}_pool")(
        route
    )


_window_route(True, "Open the application window.")
_window_route(False, "Close the application window; applications already made carry on.")


@router.get("/pools/{pool_id}/applications", response_model=Page[ApplicationOut])
def list_pool_applications(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    params: Pages,
    state: Annotated[ApplicationState | None, Query()] = None,
) -> Page[ApplicationOut]:
    """The pool's applications, oldest submission first (curators of the pool)."""
    items, total = service.list_for_pool(
        session, principal=principal, pool_id=pool_id, state=state, params=params
    )
    return Page(items=items, total=total, page=params.page, size=params.size)


@router.post(
    "/pools/{pool_id}/applications",
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationOut,
)
def submit_application(
    pool_id: uuid.UUID,
    data: ApplicationIn,
    principal: ProviderPrincipal,
    session: DbSession,
    response: Response,
) -> ApplicationOut:
    """Apply (申报) to an open pool with your solutions and the signed 承诺书."""
    loaded = lifecycle.submit(session, principal=principal, pool_id=pool_id, data=data)
    response.headers["Location"] = f"/api/v1/applications/{loaded.app.id}"
    return application_response(response, loaded, "provider")


@router.get("/pools/{pool_id}/notices", response_model=list[NoticeOut])
def pool_notices(pool_id: uuid.UUID, session: DbSession) -> list[NoticeOut]:
    """The public notice (公示): providers approved and awaiting listing, with the date the
    objection window closes."""
    return service.notices(session, pool_id=pool_id)


@router.post("/pools/{pool_id}/notices/close-due", response_model=list[ApplicationOut])
def close_due_notices(
    pool_id: uuid.UUID, principal: CuratorPrincipal, session: DbSession
) -> list[ApplicationOut]:
    """List every application whose notice is over and has no open objection (the scheduler
    does the same for all pools)."""
    return lifecycle.close_due_for_pool(session, principal=principal, pool_id=pool_id)


@router.get("/pools/{pool_id}/members", response_model=MembersOut)
def pool_members(pool_id: uuid.UUID, session: DbSession) -> MembersOut:
    """Listed providers (入库) per category, with their badge data."""
    return service.members(session, pool_id=pool_id)


@router.get("/pools/{pool_id}/audit", response_model=AuditPage)
def pool_audit(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    params: Pages,
    action: Annotated[
        str | None, Query(max_length=80, description="prefix, e.g. pool.application")
    ] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> AuditPage:
    """Every decision in the pool, newest first (curators of the pool)."""
    return service.pool_audit(
        session,
        principal=principal,
        pool_id=pool_id,
        action=action,
        since=since,
        until=until,
        params=params,
    )


@router.get("/providers/{provider_id}/badges", response_model=list[BadgeOut])
def provider_badges(provider_id: uuid.UUID, session: DbSession) -> list[BadgeOut]:
    """The pools a provider is listed in; each listing stands on its own."""
    return service.badges(session, provider_id=provider_id)


# --- import and export of pool lists -----------------------------------------------------------


@router.post("/pools/{pool_id}/import", response_model=ImportReportOut)
def import_pool_list(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    file: Annotated[
        UploadFile, File(description="XLSX, or CSV in UTF-8 (with or without BOM) or GBK")
    ],
    dry_run: Annotated[bool, Query(description="check and report only")] = True,
    category: Annotated[
        str | None, Query(max_length=40, description="category for rows that name none")
    ] = None,
) -> ImportReportOut:
    """Import an existing pool list (入库名单). A dry run (the default) reports row by row; a
    real run imports all rows or, if any fails, none (422 ``import_rejected`` with the
    report)."""
    data = file.file.read(importing.MAX_FILE_BYTES + 1)
    if len(data) > importing.MAX_FILE_BYTES:
        raise EvidenceTooLarge(
            f"The list is larger than {importing.MAX_FILE_BYTES // (1024 * 1024)} MB",
            details={"max_bytes": importing.MAX_FILE_BYTES},
        )
    return importing.import_for_curator(
        session,
        principal=principal,
        pool_id=pool_id,
        filename=file.filename or "upload",
        data=data,
        dry_run=dry_run,
        category_id=category,
    )


@router.get("/pools/{pool_id}/export")
def export_pool(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    fmt: Annotated[exporting.Format, Query(alias="format")] = "xlsx",
) -> Response:
    """The pool's listed providers with badges and solutions, as CSV or XLSX (curators)."""
    export = exporting.export_for_curator(session, principal=principal, pool_id=pool_id, fmt=fmt)
    return Response(
        content=export.content,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
