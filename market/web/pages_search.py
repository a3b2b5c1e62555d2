"""The search page: one query box, facets as checkboxes of a GET form, highlights, sort.

It asks the same search backend as ``GET /api/v1/search`` with the same filter checks. A
filter value that fails its check (an edited address, a pool that was closed) is dropped
rather than answered with an error page: the visitor still gets results.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.discovery.api import FILTERS, MAX_PAGE, MAX_QUERY_CHARS
from catalog.discovery.backends import search_backend
from catalog.pools.models import Pool
from core.deps import DbSession
from market.web.i18n import N_
from market.web.security import Web, WebContext
from market.web.sme_support import page_count
from market.web.templating import Labels, Option
from search.backend import SearchRequest

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 10
SORTS: dict[str, str] = {
    "relevance": N_("Best match"),
    "rating": N_("Pool star rating"),
    "newest": N_("Newest"),
    "price": N_("Lowest price"),
}
KINDS = ("solution", "provider")
# Facets in the order the sidebar shows them, with their heading. The query parameter is the
# API's (company_size for the SME-size facet; "size" means page size there).
FACET_TITLES: dict[str, str] = {
    "capability": N_("Capability"),
    "industry": N_("Industry"),
    "company_size": N_("Company size"),
    "protocol": N_("Protocol"),
    "province": N_("Region"),
    "locality": N_("Local or external"),
    "pricing_model": N_("Pricing model"),
    "deployment": N_("Deployment"),
    "provider_type": N_("Provider type"),
    "pool": N_("Resource pool"),
    "star_rating": N_("Pool star rating"),
    "certification": N_("Certification"),
}
LOCALITY = {"local": N_("Local provider"), "external": N_("From elsewhere")}
VOCABULARIES = {
    "capability": "capabilities",
    "company_size": "sme_sizes",
    "protocol": "protocols",
    "pricing_model": "pricing_models",
    "deployment": "deployments",
    "provider_type": "provider_types",
}
FACET_VALUES_SHOWN = 12


@dataclass(frozen=True)
class Facet:
    parameter: str
    title: str
    options: list[tuple[Option, int, bool]]  # (value and label, count, checked)


def _checked_filters(request: Request) -> dict[str, list[str]]:
    """Filter values from the address, each passed through the API's own check."""
    chosen: dict[str, list[str]] = {}
    for parameter, (_facet, check) in FILTERS.items():
        values: list[str] = []
        for raw in request.query_params.getlist(parameter):
            try:
                values.append(check(raw))
            except ValueError:
                continue
        if values:
            chosen[parameter] = list(dict.fromkeys(values))
    return chosen


def _pool_names(session: Session, ids: set[str]) -> dict[str, str]:
    valid = []
    for value in ids:
        try:
            valid.append(uuid.UUID(value))
        except ValueError:
            continue
    if not valid:
        return {}
    rows = session.execute(select(Pool.id, Pool.name).where(Pool.id.in_(valid)))
    return {str(row[0]): row[1] for row in rows}


def _label(
    ctx: WebContext, labels: Labels, parameter: str, value: str, pools: dict[str, str]
) -> str:
    if parameter in VOCABULARIES:
        return labels.term(VOCABULARIES[parameter], value)
    if parameter == "industry":
        return labels.industry(value)
    if parameter == "province":
        return labels.region(value)
    if parameter == "locality":
        return ctx.gettext(LOCALITY[value]) if value in LOCALITY else value
    if parameter == "pool":
        return pools.get(value, value)
    if parameter == "star_rating":
        return "★" * int(value) if value.isdigit() else value
    return value


def _facets(
    ctx: WebContext,
    counts: dict[str, dict[str, int]],
    chosen: dict[str, list[str]],
    pools: dict[str, str],
) -> list[Facet]:
    labels = Labels(ctx.locale)
    out = []
    for parameter, title in FACET_TITLES.items():
        facet_name = FILTERS[parameter][0]
        found = counts.get(facet_name, {})
        checked = chosen.get(parameter, [])
        ranked = sorted(found.items(), key=lambda item: (-item[1], item[0]))[:FACET_VALUES_SHOWN]
        values = [value for value, _ in ranked]
        # A checked value stays visible even when the other filters leave it no hits.
        values += [value for value in checked if value not in values]
        options = [
            (
                Option(value, _label(ctx, labels, parameter, value, pools)),
                found.get(value, 0),
                value in checked,
            )
            for value in values
        ]
        if options:
            out.append(Facet(parameter, ctx.gettext(title), options))
    return out


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    ctx: Web,
    session: DbSession,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
    kind: str = "solution",
    sort: str = "relevance",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    chosen_kind = kind if kind in KINDS else "solution"
    chosen_sort = sort if sort in SORTS else "relevance"
    chosen = _checked_filters(request)
    backend = search_backend(session, request.app.state.settings)
    result = backend.search(
        SearchRequest(
            q=q.strip(),
            kind=chosen_kind,  # type: ignore[arg-type]
            filters={FILTERS[p][0]: values for p, values in chosen.items()},
            facets=tuple(FILTERS[p][0] for p in FACET_TITLES),
            sort=chosen_sort,  # type: ignore[arg-type]
            page=page,
            size=PAGE_SIZE,
        )
    )
    counts = {name: dict(values) for name, values in result.facets.items()}
    pool_ids = set(counts.get("pool", {})) | set(chosen.get("pool", []))
    for hit in result.hits:
        pool_ids.update(hit.facets.get("pool", ()))
    pools = _pool_names(session, pool_ids)
    query: dict[str, Any] = {"q": q.strip(), "kind": chosen_kind, "sort": chosen_sort, **chosen}
    return ctx.render(
        "search.html",
        q=q.strip(),
        kind=chosen_kind,
        sort=chosen_sort,
        sorts=[(value, ctx.gettext(label)) for value, label in SORTS.items()],
        hits=list(result.hits),
        total=result.total,
        page=page,
        pages=min(page_count(result.total, PAGE_SIZE), MAX_PAGE),
        facets=_facets(ctx, counts, chosen, pools),
        pools=pools,
        chosen=chosen,
        suggestion=result.suggestion,
        query=query,
        clear_query={"q": q.strip(), "kind": chosen_kind},
    )
