"""Public, cached read API over the shipped reference data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from catalog.taxonomy import (
    SIZE_SECTORS,
    VOCABULARY_NAMES,
    CreditCodeError,
    derive_size,
    normalise_credit_code,
    organisation_code_warning,
    sections,
    taxonomy_version,
    vocabulary,
)
from core.errors import NotFound, field_error

router = APIRouter(prefix="/api/v1/taxonomy", tags=["taxonomy"])

CACHE_CONTROL = "public, max-age=3600"


def _none_match(header: str | None, etag: str) -> bool:
    """If-None-Match uses weak comparison and may list several tags, or be ``*`` (RFC 9110)."""
    if header is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def _cached(request: Request, response: Response, body: Any) -> Any:
    """Reference data changes only with a release: let clients and proxies keep it."""
    etag = f'"{taxonomy_version()}"'
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = CACHE_CONTROL
    if _none_match(request.headers.get("If-None-Match"), etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})
    return body


@router.get("")
def index(request: Request, response: Response) -> Any:
    """The vocabularies on offer and the data version (it changes when any file changes)."""
    body = {
        "version": taxonomy_version(),
        "vocabularies": [
            {
                "name": name,
                "version": vocabulary(name).version,
                "source": vocabulary(name).source,
                "count": len(vocabulary(name).terms),
                "href": f"/api/v1/taxonomy/{name}",
            }
            for name in VOCABULARY_NAMES
        ],
        "industry_sections": sections(),
        "size_sectors": list(SIZE_SECTORS),
    }
    return _cached(request, response, body)


@router.get("/sme-size")
def sme_size(
    sector: Annotated[str, Query(description="one of size_sectors, e.g. industry")],
    employees: Annotated[int, Query(ge=0)],
    revenue_wan: Annotated[int | None, Query(ge=0, description="operating revenue, 万元")] = None,
    assets_wan: Annotated[int | None, Query(ge=0, description="total assets, 万元")] = None,
) -> dict[str, Any]:
    """Derive the SME size class (工信部联企业〔2011〕300号) from the numbers."""
    if sector not in SIZE_SECTORS:
        raise field_error("query.sector", f"use one of {', '.join(SIZE_SECTORS)}")
    size = derive_size(
        sector=sector, employees=employees, revenue_wan=revenue_wan, assets_wan=assets_wan
    )
    if size is None:
        raise field_error(
            "query.revenue_wan",
            "this sector needs its second measure (revenue or assets)",
            kind="missing",
        )
    return {"sector": sector, "size": size}


@router.get("/credit-code/{code}")
def check_credit_code(code: str) -> dict[str, Any]:
    """Check a 统一社会信用代码 (GB 32100-2015), including its check character."""
    try:
        normalised = normalise_credit_code(code)
    except CreditCodeError as exc:
        return {"valid": False, "reason": exc.reason, "message": str(exc)}
    return {"valid": True, "code": normalised, "warning": organisation_code_warning(normalised)}


@router.get("/{name}")
def read_vocabulary(name: str, request: Request, response: Response) -> Any:
    if name not in VOCABULARY_NAMES:
        raise NotFound(
            f"No vocabulary {name!r}; use one of {', '.join(VOCABULARY_NAMES)}",
            code="vocabulary_not_found",
        )
    vocab = vocabulary(name)
    body = {
        "name": name,
        "version": vocab.version,
        "source": vocab.source,
        "items": vocab.as_dicts(),
    }
    return _cached(request, response, body)
