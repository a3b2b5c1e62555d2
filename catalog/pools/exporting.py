"""Export of a pool's listed providers with their badges and solutions, as CSV or XLSX.

The columns carry the headers the importer reads, so an exported list imports into another
pool as it is. Only listings on show are exported (the rule in catalog.visibility): a suspended
or expired provider is not part of the published list.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import visibility
from catalog.pools import service as pools
from catalog.pools.models import Pool, PoolApplication
from catalog.providers.models import Provider
from catalog.solutions.models import Solution, SolutionFacet
from catalog.taxonomy import region, vocabulary
from core.deps import Principal

Format = Literal["csv", "xlsx"]
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
HEADERS = (
    "序号",
    "企业名称",
    "统一社会信用代码",
    "服务商类型",
    "所在地区",
    "入库类别",
    "星级",
    "入库时间",
    "有效期至",
    "服务能力",
    "已发布方案",
    "联系人",
    "联系电话",
    "电子邮箱",
    "网址",
)
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A cell starting with one of these is a formula to Excel and LibreOffice: a provider's name
# such as "=HYPERLINK(...)" must arrive as text, not run on a curator's machine.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    content: bytes


def _day(moment: datetime | None) -> str:
    return moment.astimezone(CHINA).date().isoformat() if moment else ""


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def rows(session: Session, pool: Pool) -> list[list[Any]]:
    listings = session.execute(
        select(PoolApplication, Provider)
        .join(Provider, Provider.id == PoolApplication.provider_id)
        .where(PoolApplication.pool_id == pool.id, visibility.is_shown_listing())
        .order_by(PoolApplication.category_id, Provider.legal_name, Provider.id)
    ).all()
    provider_ids = [provider.id for _, provider in listings]
    titles: dict[uuid.UUID, list[str]] = defaultdict(list)
    capabilities: dict[uuid.UUID, list[str]] = defaultdict(list)
    names = {term.id: term.zh for term in vocabulary("capabilities")}
    types = {term.id: term.zh for term in vocabulary("provider_types")}
    # Published solutions are what the public sees of a listed provider.
    for start in range(0, len(provider_ids), 1000):
        part = provider_ids[start : start + 1000]
        for provider_id, title in session.execute(
            select(Solution.provider_id, Solution.title)
            .where(Solution.provider_id.in_(part), Solution.status == "published")
            .order_by(Solution.provider_id, Solution.title)
        ):
            titles[provider_id].append(title)
        # Capabilities also come from drafts: an imported list's capabilities wait in a draft
        # until the provider completes it, and the curators' list must not lose them.
        for provider_id, code in session.execute(
            select(Solution.provider_id, SolutionFacet.code)
            .join(SolutionFacet, SolutionFacet.solution_id == Solution.id)
            .where(
                Solution.provider_id.in_(part),
                Solution.status.in_(("published", "draft")),
                SolutionFacet.facet == "capability",
            )
            .distinct()
            .order_by(Solution.provider_id, SolutionFacet.code)
        ):
            capabilities[provider_id].append(names.get(code, code))
    out: list[list[Any]] = []
    for number, (app, provider) in enumerate(listings, start=1):
        area = region(provider.registered_region)
        out.append(
            [
                number,
                provider.legal_name,
                provider.credit_code,
                types.get(provider.provider_type, provider.provider_type),
                area.zh if area else provider.registered_region,
                pool.category_name(app.category_id),
                app.star_rating or "",
                _day(app.listed_since),
                _day(app.valid_until),
                "、".join(capabilities.get(provider.id, [])),
                "；".join(titles.get(provider.id, [])),
                provider.contact_name or "",
                provider.contact_phone or "",
                provider.contact_email or "",
                provider.website or "",
            ]
        )
    return out


def to_csv(table_rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows([_safe(v) for v in row] for row in table_rows)
    # With the BOM, Excel on Chinese Windows opens UTF-8 instead of guessing GBK.
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(title: str, table_rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook  # imported here: only imports and exports need it

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31] or "pool")
    sheet.append(list(HEADERS))
    for row in table_rows:
        sheet.append([_safe(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_pool(session: Session, *, pool_id: uuid.UUID, fmt: Format) -> Export:
    pool = pools.get_pool(session, pool_id)
    table_rows = rows(session, pool)
    stamp = datetime.now(CHINA).strftime("%Y%m%d")
    filename = f"pool-{pool.id.hex[:8]}-{stamp}.{fmt}"
    content = to_csv(table_rows) if fmt == "csv" else to_xlsx("入库名单", table_rows)
    return Export(filename=filename, media_type=MEDIA_TYPES[fmt], content=content)


def export_for_curator(
    session: Session, *, principal: Principal, pool_id: uuid.UUID, fmt: Format
) -> Export:
    """Curators of the pool export it: the list carries contact details, which are on the
    public profiles but should not be harvested in bulk by anyone."""
    pool = pools.get_pool(session, pool_id)
    pools.ensure_pool_curator(principal, pool)
    return export_pool(session, pool_id=pool.id, fmt=fmt)
