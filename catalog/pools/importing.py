"""Bulk import of an existing pool list (入库名单) from an XLSX or CSV file.

Agencies keep their current pools in spreadsheets. The import reads one, maps its columns by
their headers (Chinese or English, with common variants), validates every row against the
taxonomy and the database, and either reports (dry run, or any row failed) or writes the whole
list in one transaction: a provider organisation and profile for each firm not yet on the
platform, and a listed membership in the pool for every row. It is all or nothing, so a list
is never half imported, and a failed run leaves the database exactly as it was.

Rows are written with SQLAlchemy Core ``insert()`` executemany: at 10,000 rows the ORM's
per-object bookkeeping would cost more than the database work.

The work is split by step: ``importing_parse`` reads the file, ``importing_validate`` checks
the rows, ``importing_apply`` writes them; this module runs them and keeps their public names.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from sqlalchemy.orm import Session

from catalog.pools import service as pools
from catalog.pools.errors import ImportRejected
from catalog.pools.importing_apply import (
    write_list,
)
from catalog.pools.importing_parse import (
    HEADERS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    REQUIRED,
    ImportFileError,
    Progress,
    find_header,
    map_header,
    read_table,
)
from catalog.pools.importing_validate import (
    ImportReport,
    Issue,
    Row,
    validate,
)
from catalog.pools.schemas import ImportReportOut
from core import audit
from core.deps import Principal

__all__ = [
    "HEADERS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "REQUIRED",
    "ImportFileError",
    "Progress",
    "read_table",
    "map_header",
    "find_header",
    "Issue",
    "Row",
    "ImportReport",
    "validate",
    "import_for_curator",
    "import_pool_list",
    "iter_issues",
]


def import_pool_list(
    session: Session,
    *,
    actor: Principal | None,
    pool_id: uuid.UUID,
    filename: str,
    data: bytes,
    dry_run: bool,
    category_id: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate the list and, unless it is a dry run or any row failed, import it whole.

    ``actor`` is the curator for the upload endpoint and None for the command line (an
    operator on the server); the audit records say which.
    """
    started = time.perf_counter()
    pool = pools.get_pool(session, pool_id, for_update=not dry_run)
    if actor is not None:
        pools.ensure_pool_curator(actor, pool)
    report = validate(
        session,
        pool=pool,
        filename=filename,
        data=data,
        category_id=category_id,
        progress=progress,
    )
    report.dry_run = dry_run
    if not dry_run and not report.errors:
        write_list(
            session, actor=actor, pool=pool, filename=filename, report=report, progress=progress
        )
        report.imported = True
        audit.record(
            session,
            actor=actor,
            action="pool.imported",
            target_type="pool",
            target_id=pool.id,
            scope_id=pool.id,
            reason=f"导入 {filename}",
            after={
                "rows": report.rows,
                "listed": len(report.valid),
                "new_providers": report.new_providers,
                "existing_providers": report.existing_providers,
            },
        )
    report.seconds = time.perf_counter() - started
    return report


def import_for_curator(
    session: Session,
    *,
    principal: Principal,
    pool_id: uuid.UUID,
    filename: str,
    data: bytes,
    dry_run: bool,
    category_id: str | None,
) -> ImportReportOut:
    """The upload endpoint's use case: a failed real import is an error carrying the report."""
    report = import_pool_list(
        session,
        actor=principal,
        pool_id=pool_id,
        filename=filename,
        data=data,
        dry_run=dry_run,
        category_id=category_id,
    )
    out = report.out()
    if report.errors and not dry_run:
        raise ImportRejected(
            f"{out.rows_failed} of {out.rows} rows (or the file itself) failed validation; "
            "nothing was imported. Fix the rows listed and import again",
            details=out.model_dump(mode="json"),
        )
    return out


def iter_issues(report: ImportReport) -> Iterable[tuple[str, Issue]]:
    """Errors then warnings, each in row order, for printing."""
    yield from (("error", issue) for issue in report.errors)
    yield from (("warning", issue) for issue in report.warnings)
