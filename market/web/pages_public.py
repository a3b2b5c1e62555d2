"""Pages anyone may open: home, browsing solutions and providers, a solution, a provider."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.cases import service as cases
from catalog.pools import service as pools
from catalog.providers import service as providers
from catalog.providers.models import Provider
from catalog.providers.schemas import CertificationOut
from catalog.solutions import service as solutions
from catalog.taxonomy import is_known_region, vocabulary
from core.deps import DbSession
from core.pagination import PageParams
from market.reviews import service as reviews
from market.web.security import Web, WebContext

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 12
# The home page's capability counts cost one count per capability; a few minutes' staleness
# is invisible to visitors and keeps the busiest page cheap.
HOME_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Paged:
    items: list[Any]
    total: int
    page: int
    pages: int


def _params(page: int, size: int = PAGE_SIZE) -> PageParams:
    return PageParams(page=max(page, 1), size=size)


def _paged(items: list[Any], total: int, params: PageParams) -> Paged:
    return Paged(items, total, params.page, max(1, math.ceil(total / params.size)))


def provider_names(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names for the provider column of a solution list, in one query."""
    if not ids:
        return {}
    rows = session.execute(select(Provider.id, Provider.legal_name).where(Provider.id.in_(ids)))
    return {row[0]: row[1] for row in rows}


def _vocab_value(vocab: str, value: str | None) -> str | None:
    """A facet value from the address bar, ignored unless it is a real code."""
    return value if value and value in vocabulary(vocab) else None


def _capability_counts(session: Session) -> list[tuple[str, int]]:
    counts = []
    for term in vocabulary("capabilities"):
        _, total = solutions.list_solutions(
            session,
            principal=None,
            filters=solutions.SolutionFilters(capability=term.id),
            params=_params(1, 1),
        )
        counts.append((term.id, total))
    return sorted(counts, key=lambda item: -item[1])


def _home_numbers(ctx: WebContext, session: Session) -> dict[str, Any]:
    state = ctx.request.app.state
    cached = getattr(state, "web_home_numbers", None)
    if cached is not None and cached[0] > time.monotonic():
        return dict(cached[1])
    _, provider_total = providers.list_providers(
        session, filters=providers.ProviderFilters(), params=_params(1, 1)
    )
    _, solution_total = solutions.list_solutions(
        session, principal=None, filters=solutions.SolutionFilters(), params=_params(1, 1)
    )
    numbers = {
        "capabilities": [c for c in _capability_counts(session) if c[1] > 0][:12],
        "provider_total": provider_total,
        "solution_total": solution_total,
    }
    state.web_home_numbers = (time.monotonic() + HOME_CACHE_SECONDS, numbers)
    return numbers


@router.get("/", response_class=HTMLResponse)
def home(ctx: Web, session: DbSession) -> HTMLResponse:
    numbers = _home_numbers(ctx, session)
    pool_items, pool_total = pools.list_pools(
        session, filters=pools.PoolFilters(), params=_params(1, 6)
    )
    return ctx.render("home.html", pools=pool_items, pool_total=pool_total, **numbers)


def _match_capabilities(query: str) -> list[str]:
    """Capabilities whose name or a common synonym contains what was typed.

    The home page's box asks "what do you need?"; until full-text search has a page, the
    answer is the capability the words name, which is how the catalogue is organised anyway.
    """
    needle = query.strip().casefold()
    if not needle:
        return []
    found = []
    for term in vocabulary("capabilities"):
        names = [term.zh, term.en, *term.synonyms]
        if any(needle in name.casefold() or name.casefold() in needle for name in names):
            found.append(term.id)
    return found


@router.get("/solutions", response_class=HTMLResponse)
def browse_solutions(
    ctx: Web,
    session: DbSession,
    q: Annotated[str, Query(max_length=100)] = "",
    capability: str | None = None,
    scene: str | None = None,
    deployment: str | None = None,
    target_size: str | None = None,
    pricing_model: str | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    matched = _match_capabilities(q) if q else []
    chosen = _vocab_value("capabilities", capability) or (matched[0] if matched else None)
    filters = solutions.SolutionFilters(
        capability=chosen,
        scene=_vocab_value("scenes", scene),
        deployment=_vocab_value("deployments", deployment),
        size=_vocab_value("sme_sizes", target_size),
        pricing_model=_vocab_value("pricing_models", pricing_model),
    )
    params = _params(page)
    rows, total = solutions.list_solutions(session, principal=None, filters=filters, params=params)
    query = {
        "q": q,
        "capability": filters.capability,
        "scene": filters.scene,
        "deployment": filters.deployment,
        "target_size": filters.size,
        "pricing_model": filters.pricing_model,
    }
    return ctx.render(
        "solutions.html",
        results=_paged(rows, total, params),
        names=provider_names(session, {r.provider_id for r in rows}),
        query=query,
        q=q,
        matched=matched,
        unmatched=bool(q) and not matched and not capability,
    )


def _certifications(provider: Provider) -> list[CertificationOut]:
    return [CertificationOut.model_validate(c) for c in provider.certifications]


@router.get("/solutions/{solution_id}", response_class=HTMLResponse)
def solution_page(solution_id: uuid.UUID, ctx: Web, session: DbSession) -> HTMLResponse:
    solution = solutions.get_visible(session, principal=ctx.principal, solution_id=solution_id)
    provider = providers.get_provider(session, solution.provider_id)
    case_rows, case_total = cases.list_cases(
        session,
        principal=None,
        filters=cases.CaseFilters(solution_id=solution.id),
        params=_params(1, 20),
    )
    own = ctx.principal is not None and ctx.principal.org_id == provider.org_id
    return ctx.render(
        "solution.html",
        solution=solutions.to_out(solution),
        provider=provider,
        certifications=_certifications(provider),
        badges=pools.badges(session, provider_id=provider.id),
        cases=[cases.to_out(c) for c in case_rows],
        case_total=case_total,
        own=own,
    )


@router.get("/providers", response_class=HTMLResponse)
def browse_providers(
    ctx: Web,
    session: DbSession,
    provider_type: str | None = None,
    region: str | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    filters = providers.ProviderFilters(
        provider_type=_vocab_value("provider_types", provider_type),
        region=region if region and is_known_region(region) else None,
    )
    params = _params(page)
    rows, total = providers.list_providers(session, filters=filters, params=params)
    query = {"provider_type": filters.provider_type, "region": filters.region}
    return ctx.render("providers.html", results=_paged(rows, total, params), query=query)


@router.get("/providers/{provider_id}", response_class=HTMLResponse)
def provider_page(
    provider_id: uuid.UUID,
    ctx: Web,
    session: DbSession,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    cpage: Annotated[int, Query(ge=1, le=10_000)] = 1,
    rpage: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    # Unvetted providers are "not found" for the public, as in the API (catalog.visibility).
    provider = providers.get_visible_provider(
        session, principal=ctx.principal, provider_id=provider_id
    )
    params = _params(page)
    rows, total = solutions.list_solutions(
        session,
        principal=None,
        filters=solutions.SolutionFilters(provider_id=provider.id),
        params=params,
    )
    case_params = _params(cpage, 6)
    case_rows, case_total = cases.list_cases(
        session,
        principal=None,
        filters=cases.CaseFilters(provider_id=provider.id),
        params=case_params,
    )
    return ctx.render(
        "provider.html",
        provider=provider,
        certifications=_certifications(provider),
        badges=pools.badges(session, provider_id=provider.id),
        solutions=_paged([solutions.to_out(r) for r in rows], total, params),
        cases=_paged([cases.to_out(c) for c in case_rows], case_total, case_params),
        query={"page": params.page, "cpage": case_params.page, "rpage": rpage},
        # The same service as GET /api/v1/providers/{id}/reviews: trust and published reviews.
        reviews=_reviews(session, provider.id, _params(rpage, 5)),
    )


def _reviews(session: Session, provider_id: uuid.UUID, params: PageParams) -> dict[str, Any]:
    found = reviews.provider_reviews(session, provider_id=provider_id, params=params)
    return {"trust": found.trust, "page": _paged(found.items, found.total, params)}
