"""Search routes: the catalogue search page and search-as-you-type suggestions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from catalog.discovery.backends import search_backend
from catalog.taxonomy import normalise_industry_code, province_of, region, vocabulary
from core.deps import AppSettings, DbSession
from core.errors import field_error
from search.backend import FACETS, DocKind, SearchRequest, SortOrder, SuggestsItems
from search.sql_backend import MAX_PAGE_SIZE

router = APIRouter(prefix="/api/v1/search", tags=["search"])

# Deep pages of a relevance ranking are never read by people, only by scrapers.
MAX_PAGE = 500
MAX_QUERY_CHARS = 200


class HitOut(BaseModel):
    id: str
    kind: DocKind
    ref_id: str
    provider_id: str
    title: str
    provider_name: str
    summary: str
    highlights: dict[str, str]
    rating: float
    facets: dict[str, list[str]]


class SearchOut(BaseModel):
    hits: list[HitOut]
    total: int
    page: int
    size: int
    facets: dict[str, dict[str, int]]
    applied_filters: dict[str, list[str]]
    suggestion: str | None


class SuggestionOut(BaseModel):
    text: str
    kind: DocKind | None
    ref_id: str | None


# --- filter values ----------------------------------------------------------------------------


def _vocabulary_code(name: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in vocabulary(name):
            raise ValueError(f"unknown code {value!r}; see GET /api/v1/taxonomy/{name}")
        return value

    return check


def _division(value: str) -> str:
    code = normalise_industry_code(value)
    if len(code) != 2:
        raise ValueError(f"{value!r}: filter by GB/T 4754 division (2 digits), e.g. {code[:2]}")
    if vocabulary("industries").get(code) is None:
        raise ValueError(f"{value!r} is not a manufacturing division (13–43)")
    return code


def _province(value: str) -> str:
    known = region(value)
    if known is None or known.level != "province":
        raise ValueError(f"{value!r} is not a province code; see GET /api/v1/taxonomy/regions")
    return known.code


def _city(value: str) -> str:
    code = value.strip()
    # Cities we do not ship are still valid codes: GB/T 2260 puts the province first.
    province = province_of(code)
    if code == province or not code.endswith("00"):
        raise ValueError(f"{value!r} is not a prefecture-level city code (e.g. 320400)")
    return code


def _one_of(*choices: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"use one of {', '.join(choices)}")
        return value

    return check


def _pool(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a pool id (a UUID)") from None


def _certification(value: str) -> str:
    text = value.strip()
    if not 1 <= len(text) <= 200:
        raise ValueError("a certification name of 1–200 characters")
    return text


# Query parameter -> (facet, value check). "size" is the page size here, as in every list
# endpoint, so the SME-size facet is filtered as company_size.
FILTERS: dict[str, tuple[str, Callable[[str], str]]] = {
    "capability": ("capability", _vocabulary_code("capabilities")),
    "industry": ("industry", _division),
    "company_size": ("size", _vocabulary_code("sme_sizes")),
    "protocol": ("protocol", _vocabulary_code("protocols")),
    "province": ("province", _province),
    "city": ("city", _city),
    "locality": ("locality", _one_of("local", "external")),
    "pricing_model": ("pricing_model", _vocabulary_code("pricing_models")),
    "deployment": ("deployment", _vocabulary_code("deployments")),
    "provider_type": ("provider_type", _vocabulary_code("provider_types")),
    "pool": ("pool", _pool),
    "star_rating": ("star_rating", _one_of("1", "2", "3", "4", "5")),
    "certification": ("certification", _certification),
}


def _checked(parameter: str, values: list[str] | None) -> list[str]:
    _, check = FILTERS[parameter]
    checked: list[str] = []
    for value in values or ():
        try:
            checked.append(check(value))
        except ValueError as exc:
            raise field_error(f"query.{parameter}", str(exc)) from exc
    return list(dict.fromkeys(checked))


def _facet_names(raw: list[str] | None) -> list[str]:
    names = [name.strip() for item in raw or () for name in item.split(",") if name.strip()]
    unknown = [name for name in names if name not in FACETS]
    if unknown:
        raise field_error(
            "query.facets", f"unknown facet {unknown[0]!r}; use any of {', '.join(FACETS)}"
        )
    return list(dict.fromkeys(names))


Values = Annotated[list[str] | None, Query()]


@router.get("", response_model=SearchOut)
def search(
    session: DbSession,
    settings: AppSettings,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS, description="what the user typed")] = "",
    kind: Annotated[DocKind, Query(description="solutions or providers")] = "solution",
    capability: Values = None,
    industry: Annotated[list[str] | None, Query(description="GB/T 4754 division")] = None,
    company_size: Annotated[list[str] | None, Query(description="SME size (facet size)")] = None,
    protocol: Values = None,
    province: Values = None,
    city: Values = None,
    locality: Annotated[list[str] | None, Query(description="local or external")] = None,
    pricing_model: Values = None,
    deployment: Values = None,
    provider_type: Values = None,
    pool: Annotated[list[str] | None, Query(description="pool id")] = None,
    star_rating: Values = None,
    certification: Values = None,
    facets: Annotated[
        list[str] | None, Query(description="facet names to count, comma-separated")
    ] = None,
    sort: Annotated[SortOrder, Query()] = "relevance",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="hits per page")] = 20,
) -> SearchOut:
    """Search published solutions of listed providers (or the providers themselves).

    Filters repeat for OR (``capability=cap.mes&capability=cap.erp``) and combine with AND
    across parameters; facet counts are over the filtered result. Without ``q`` the
    filtered catalogue is listed by rating.
    """
    given = {
        "capability": capability,
        "industry": industry,
        "company_size": company_size,
        "protocol": protocol,
        "province": province,
        "city": city,
        "locality": locality,
        "pricing_model": pricing_model,
        "deployment": deployment,
        "provider_type": provider_type,
        "pool": pool,
        "star_rating": star_rating,
        "certification": certification,
    }
    filters: dict[str, list[str]] = {}
    for parameter, values in given.items():
        checked = _checked(parameter, values)
        if checked:
            filters[FILTERS[parameter][0]] = checked
    request = SearchRequest(
        q=q,
        kind=kind,
        filters=filters,
        facets=tuple(_facet_names(facets)),
        sort=sort,
        page=page,
        size=size,
    )
    result = search_backend(session, settings).search(request)
    return SearchOut(
        hits=[
            HitOut(
                id=hit.id,
                kind=hit.kind,
                ref_id=hit.ref_id,
                provider_id=hit.provider_id,
                title=hit.title,
                provider_name=hit.provider_name,
                summary=hit.summary,
                highlights=dict(hit.highlights),
                rating=hit.rating,
                facets={name: list(values) for name, values in hit.facets.items()},
            )
            for hit in result.hits
        ],
        total=result.total,
        page=page,
        size=size,
        facets={name: dict(counts) for name, counts in result.facets.items()},
        applied_filters=filters,
        suggestion=result.suggestion,
    )


@router.get("/suggest", response_model=list[SuggestionOut])
def suggest(
    session: DbSession,
    settings: AppSettings,
    q: Annotated[str, Query(min_length=1, max_length=100, description="text typed so far")],
    limit: Annotated[int, Query(ge=1, le=20)] = 8,
) -> list[SuggestionOut]:
    """Solution titles and provider names for a search box: by any part of a Chinese name,
    by word prefix, and by pinyin or pinyin initials (czsl → 常州示例…)."""
    backend = search_backend(session, settings)
    if isinstance(backend, SuggestsItems):
        return [
            SuggestionOut(text=item.text, kind=item.kind, ref_id=item.ref_id)
            for item in backend.suggest_items(q, limit=limit)
        ]
    # A backend that only knows texts: still useful for completion, without the jump target.
    texts = backend.suggest(q, limit=limit)
    return [SuggestionOut(text=text, kind=None, ref_id=None) for text in texts]
