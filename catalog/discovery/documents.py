"""Search documents built from the catalogue: public solutions and the public providers.

Backends never see ORM rows. This module reads what the public may find (``catalog.visibility``)
and turns it into :class:`search.backend.SearchDocument` values, one per published solution of a
public provider and one per public provider.

Rows are read as plain column tuples, a chunk of providers at a time, because a full reindex
covers some hundred thousand solutions and building ORM objects for them (and their facet rows)
would cost more than everything else together.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from catalog import visibility
from catalog.cases.models import Case
from catalog.pools.models import Pool, PoolApplication
from catalog.pools.service import within
from catalog.providers.models import Certification, Provider
from catalog.solutions.models import Solution, SolutionFacet, SolutionPrice, SolutionScene
from catalog.taxonomy import describe_industry, division_of, province_of, vocabulary
from core.database import utcnow
from search.backend import SearchDocument

SOLUTION_PREFIX = "solution:"
PROVIDER_PREFIX = "provider:"
# Providers read per round trip: large enough to amortise the eight queries of a chunk, small
# enough that the IN lists stay far below SQLite's bound-parameter limit.
CHUNK = 400
# A type without result processing: values come back exactly as the driver produced them.
_DRIVER_VALUE = NullType()


def solution_doc_id(solution_id: uuid.UUID | str) -> str:
    return f"{SOLUTION_PREFIX}{solution_id}"


def provider_doc_id(provider_id: uuid.UUID | str) -> str:
    return f"{PROVIDER_PREFIX}{provider_id}"


# --- plain rows read per chunk ----------------------------------------------------------------


@dataclass
class _Listing:
    pool_id: str
    jurisdiction: str
    stars: int | None
    since: datetime | None


@dataclass
class _SolutionRow:
    id: uuid.UUID
    title: str
    summary: str
    description: str
    published_at: datetime | None
    codes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    scenes: list[str] = field(default_factory=list)
    prices: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class _ProviderBundle:
    id: uuid.UUID
    legal_name: str
    provider_type: str
    registered_region: str
    size: str | None
    description_zh: str
    description_en: str
    policy_tags: list[str]
    listings: list[_Listing] = field(default_factory=list)
    certifications: list[str] = field(default_factory=list)
    case_titles: list[str] = field(default_factory=list)
    verified_cases: int = 0
    solutions: list[_SolutionRow] = field(default_factory=list)


def _raw(column: Any) -> Any:
    """The column as the database driver returns it, without SQLAlchemy's conversion."""
    return type_coerce(column, _DRIVER_VALUE).label(f"raw_{column.key}")


def _load_chunk(session: Session, provider_ids: Sequence[uuid.UUID]) -> list[_ProviderBundle]:
    """Everything the documents of these (public) providers need, in eight queries."""
    ids = list(provider_ids)
    bundles: dict[uuid.UUID, _ProviderBundle] = {}
    for row in session.execute(
        select(
            Provider.id,
            Provider.legal_name,
            Provider.provider_type,
            Provider.registered_region,
            Provider.size,
            Provider.description_zh,
            Provider.description_en,
            Provider.policy_tags,
        )
        .where(Provider.id.in_(ids))
        .order_by(Provider.id)
    ):
        bundles[row[0]] = _ProviderBundle(
            id=row[0],
            legal_name=row[1],
            provider_type=row[2],
            registered_region=row[3],
            size=row[4],
            description_zh=row[5] or "",
            description_en=row[6] or "",
            policy_tags=list(row[7] or ()),
        )

    listings = (
        select(
            PoolApplication.provider_id,
            PoolApplication.pool_id,
            PoolApplication.star_rating,
            PoolApplication.listed_since,
            Pool.jurisdiction,
        )
        .join(Pool, Pool.id == PoolApplication.pool_id)
        .where(visibility.is_shown_listing(), PoolApplication.provider_id.in_(ids))
        .order_by(PoolApplication.provider_id, PoolApplication.pool_id)
    )
    for provider_id, pool_id, stars, since, jurisdiction in session.execute(listings):
        bundles[provider_id].listings.append(_Listing(str(pool_id), jurisdiction, stars, since))

    # A certificate that has lapsed is not a certification the provider holds. Lapsing is a
    # matter of time, not of an event, so `market search check` reports such documents as
    # stale until the next reindex refreshes them.
    today = utcnow().date()
    for provider_id, name, valid_until in session.execute(
        select(Certification.provider_id, Certification.name, Certification.valid_until)
        .where(Certification.provider_id.in_(ids))
        .order_by(Certification.provider_id, Certification.name)
    ):
        if _valid_on(valid_until, today) and name not in bundles[provider_id].certifications:
            bundles[provider_id].certifications.append(name)

    for provider_id, title, verified in session.execute(
        select(Case.provider_id, Case.title, Case.verified)
        .where(Case.provider_id.in_(ids), Case.status == "published")
        .order_by(Case.provider_id, Case.published_at, Case.id)
    ):
        bundles[provider_id].case_titles.append(title)
        bundles[provider_id].verified_cases += int(bool(verified))

    public = (Solution.provider_id.in_(ids), visibility.is_public_solution())
    # Child rows are matched to their solution by the id as the driver returns it: turning
    # every facet row's id into a uuid.UUID first costs more than the rest of the chunk.
    solutions: dict[Any, _SolutionRow] = {}
    for (
        solution_id,
        raw_id,
        provider_id,
        title,
        summary,
        description,
        published_at,
    ) in session.execute(
        select(
            Solution.id,
            _raw(Solution.id),
            Solution.provider_id,
            Solution.title,
            Solution.summary,
            Solution.description,
            Solution.published_at,
        )
        .where(*public)
        .order_by(Solution.provider_id, Solution.id)
    ):
        solution = _SolutionRow(solution_id, title, summary or "", description or "", published_at)
        solutions[raw_id] = solution
        bundles[provider_id].solutions.append(solution)

    for raw_id, facet, code in session.execute(
        select(_raw(SolutionFacet.solution_id), SolutionFacet.facet, SolutionFacet.code)
        .join(Solution, Solution.id == SolutionFacet.solution_id)
        .where(*public)
        .order_by(SolutionFacet.solution_id, SolutionFacet.facet, SolutionFacet.position)
    ):
        solutions[raw_id].codes[facet].append(code)
    for raw_id, scene in session.execute(
        select(_raw(SolutionScene.solution_id), SolutionScene.scene)
        .join(Solution, Solution.id == SolutionScene.solution_id)
        .where(*public)
        .order_by(SolutionScene.solution_id, SolutionScene.scene)
    ):
        solutions[raw_id].scenes.append(scene)
    for raw_id, model, min_fen in session.execute(
        select(_raw(SolutionPrice.solution_id), SolutionPrice.model, SolutionPrice.min_fen)
        .join(Solution, Solution.id == SolutionPrice.solution_id)
        .where(*public)
        .order_by(SolutionPrice.solution_id, SolutionPrice.position)
    ):
        solutions[raw_id].prices.append((model, min_fen))
    return list(bundles.values())


def _valid_on(valid_until: date | None, today: date) -> bool:
    return valid_until is None or valid_until >= today


# --- from rows to documents -------------------------------------------------------------------


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


def _names(vocabulary_name: str, ids: Iterable[str]) -> list[str]:
    """zh and en names of taxonomy ids, for the tags field (unknown ids are skipped)."""
    terms = vocabulary(vocabulary_name)
    names: list[str] = []
    for term_id in ids:
        term = terms.get(term_id)
        if term is not None:
            names.extend((term.zh, term.en))
    return names


@cache
def _division(code: str) -> str:
    return division_of(code)


@cache
def _industry_names_of(code: str) -> tuple[str, ...]:
    names: list[str] = []
    for known in dict.fromkeys((code, _division(code))):
        described = describe_industry(known)
        if described is not None:
            names.extend((described["zh"], described["en"]))
    return tuple(names)


def _industry_names(codes: Iterable[str]) -> list[str]:
    return [name for code in codes for name in _industry_names_of(code)]


def _with_ancestors(protocols: Iterable[str]) -> list[str]:
    # A filter on a family (proto.s7) finds solutions declaring any member (proto.s7.isotcp).
    terms = vocabulary("protocols")
    found: list[str] = []
    for code in protocols:
        current: str | None = code
        while current is not None:
            found.append(current)
            term = terms.get(current)
            current = term.parent if term is not None else None
    return _unique(found)


def _trust(verified_cases: int) -> float:
    """Evidence of delivered work (DOMAIN.md §5 ``evidence``), the tie-breaker after stars.

    No review system exists yet, so verified published cases are the only trust signal; the
    log keeps the tenth case from counting as much as the first.
    """
    return round(min(1.0, math.log2(1 + verified_cases) / 3), 4)


def _region_facets(region_code: str) -> dict[str, list[str]]:
    try:
        province = province_of(region_code)
    except ValueError:
        return {}
    city = region_code[:4] + "00"
    return {"province": [province], "city": [city] if city != province else []}


def _provider_facets(bundle: _ProviderBundle) -> dict[str, list[str]]:
    locality = [
        "local" if within(bundle.registered_region, listing.jurisdiction) else "external"
        for listing in bundle.listings
    ]
    return {
        **_region_facets(bundle.registered_region),
        "locality": sorted(set(locality)),
        "provider_type": [bundle.provider_type],
        "pool": sorted({listing.pool_id for listing in bundle.listings}),
        "star_rating": sorted({str(x.stars) for x in bundle.listings if x.stars is not None}),
        "certification": sorted(set(bundle.certifications)),
    }


def _solution_facets(solution: _SolutionRow) -> dict[str, list[str]]:
    codes = solution.codes
    return {
        "capability": _unique(codes.get("capability", ())),
        "industry": _unique(_division(code) for code in codes.get("industry", ())),
        "size": _unique(codes.get("size", ())),
        "protocol": _with_ancestors(codes.get("protocol", ())),
        "deployment": _unique(codes.get("deployment", ())),
        "pricing_model": _unique(model for model, _ in solution.prices),
    }


def _clean(facets: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: values for name, values in sorted(facets.items()) if values}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Iterable):
        return list(value)
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def fingerprint(document: SearchDocument) -> str:
    """A hash of every field a backend stores, so a drift check can tell stale documents.

    Fields are read by name from the dataclass definition, so a field added later is covered
    without anyone remembering to. (dataclasses.asdict would deep-copy every value, which cost
    more than the rest of document building together.)
    """
    payload = {
        item.name: getattr(document, item.name)
        for item in fields(SearchDocument)
        if item.name != "fingerprint"
    }
    text = json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _finish(document: SearchDocument) -> SearchDocument:
    return replace(document, fingerprint=fingerprint(document))


def _documents_of(bundle: _ProviderBundle) -> list[SearchDocument]:
    shared = _provider_facets(bundle)
    rating = float(max((x.stars or 0 for x in bundle.listings), default=0))
    trust = _trust(bundle.verified_cases)
    provider_id = str(bundle.id)
    documents: list[SearchDocument] = []
    union: dict[str, list[str]] = defaultdict(list)
    prices: list[int] = []
    for solution in bundle.solutions:
        own = _solution_facets(solution)
        for name in ("capability", "industry", "protocol", "deployment", "pricing_model"):
            union[name].extend(own[name])
        prices.extend(min_fen for _, min_fen in solution.prices)
        tags = [
            *_names("capabilities", own["capability"]),
            *_names("protocols", solution.codes.get("protocol", ())),
            *_names("scenes", solution.scenes),
            *_industry_names(solution.codes.get("industry", ())),
            # So that 云端/SaaS and 按月付费 (via the 订阅 synonym) find the offer terms.
            *_names("deployments", own["deployment"]),
            *_names("pricing_models", own["pricing_model"]),
        ]
        documents.append(
            _finish(
                SearchDocument(
                    id=solution_doc_id(solution.id),
                    kind="solution",
                    ref_id=str(solution.id),
                    provider_id=provider_id,
                    title=solution.title,
                    provider_name=bundle.legal_name,
                    summary=solution.summary,
                    body=solution.description,
                    tags=tuple(_unique(tags)),
                    facets=_clean({**own, **shared}),
                    rating=rating,
                    trust=trust,
                    published_at=solution.published_at,
                    price_min_fen=min((m for _, m in solution.prices), default=None),
                )
            )
        )
    capabilities = _unique(union["capability"])
    provider_facets = {name: _unique(values) for name, values in union.items()}
    provider_facets["size"] = [bundle.size] if bundle.size else []
    tags = [
        *_names("provider_types", [bundle.provider_type]),
        *_names("capabilities", capabilities),
        *_names("policy_tags", bundle.policy_tags),
        *bundle.certifications,
    ]
    since = [x.since for x in bundle.listings if x.since is not None]
    documents.append(
        _finish(
            SearchDocument(
                id=provider_doc_id(bundle.id),
                kind="provider",
                ref_id=provider_id,
                provider_id=provider_id,
                title=bundle.legal_name,
                provider_name=bundle.legal_name,
                summary=bundle.description_zh,
                # Delivered projects describe a provider as well as its own words do.
                body="\n".join([bundle.description_en, *bundle.case_titles]).strip(),
                tags=tuple(_unique(tags)),
                facets=_clean({**provider_facets, **shared}),
                rating=rating,
                trust=trust,
                published_at=min(since) if since else None,
                price_min_fen=min(prices) if prices else None,
            )
        )
    )
    return documents


# --- public entry points ----------------------------------------------------------------------


def _public_provider_ids(session: Session, only: Iterable[uuid.UUID] | None) -> list[uuid.UUID]:
    stmt = select(Provider.id).where(visibility.is_public_provider(Provider.id))
    if only is not None:
        stmt = stmt.where(Provider.id.in_(list(only)))
    return list(session.scalars(stmt.order_by(Provider.id)))


def iter_documents(
    session: Session, *, provider_ids: Iterable[uuid.UUID] | None = None, chunk: int = CHUNK
) -> Iterator[SearchDocument]:
    """Every document the public may find (or only those of ``provider_ids``), each
    provider's solutions followed by the provider itself."""
    ids = _public_provider_ids(session, provider_ids)
    for start in range(0, len(ids), chunk):
        for bundle in _load_chunk(session, ids[start : start + chunk]):
            yield from _documents_of(bundle)


def documents_of_provider(session: Session, provider_id: uuid.UUID) -> list[SearchDocument]:
    """The provider's documents as they should be now: [] when it is not public."""
    return list(iter_documents(session, provider_ids=[provider_id]))


def candidate_ids_of_provider(session: Session, provider_id: uuid.UUID) -> list[str]:
    """Every document id the provider could have in an index, public or not, so that a
    refresh can delete whichever of them should no longer be found."""
    solution_ids = session.scalars(select(Solution.id).where(Solution.provider_id == provider_id))
    return [provider_doc_id(provider_id), *(solution_doc_id(s) for s in solution_ids)]


def count_documents(session: Session) -> int:
    """How many documents :func:`iter_documents` yields, for progress bars."""
    providers = session.scalar(
        select(func.count()).select_from(Provider).where(visibility.is_public_provider(Provider.id))
    )
    solutions = session.scalar(
        select(func.count()).select_from(Solution).where(visibility.is_public_solution())
    )
    return int(providers or 0) + int(solutions or 0)
