"""From database rows to the matching engine's plain records (the engine never sees the ORM).

What goes into the index: every provider with at least one published solution, and those
solutions. Whether the provider is on show is asked of :mod:`catalog.visibility` (listed in a
pool, which is also where suspension will take effect), never restated here; a provider that is
not public still enters the index, flagged ``listed=False``, so the engine's status rule keeps
it out of every list while "why not X?" can still say that X is not listed rather than that X
does not exist.

Inputs the platform does not record yet enter as neutral values, as the engine documents:

* **Trust**: the provider's published reviews (overall rating, age since publication, and
  whether a burst flag waits for a curator), which the engine turns into its Bayesian,
  time-decayed score; a provider without reviews sits exactly at the prior.
* **Load**: engagements occupying the provider (active or delivered) ÷ declared capacity.
* **Sizes proven**: the client sizes of the provider's verified published cases, the only
  delivered work the platform has checked so far.
* **Verified cases**: published cases a curator verified, with the capabilities of the
  solutions they are linked to.
* **New**: first listed less than 90 days ago (the engine's graduation age).

Prices: a listing may quote a project price (元/项目) or a unit price (元/设备/月). The lowest
``min_fen`` is taken as the entry price that the budget rule compares; the typical price is the
middle of the lead offer's range. Unit prices therefore pass any realistic project budget, which
is what an SME can actually start with.

Rows are read as plain column tuples, a chunk of providers at a time (as the search documents
are), because building ORM objects with their facets for a whole catalogue would cost more than
the index build itself.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import visibility
from catalog.cases.models import Case, CaseSolution
from catalog.pools.models import PoolApplication
from catalog.providers.models import Provider
from catalog.solutions.models import Solution, SolutionFacet, SolutionPrice
from catalog.taxonomy import describe_industry, vocabulary
from core.database import utcnow
from market.engagements.service import occupying_counts
from market.needs.models import Need as NeedRow
from market.needs.models import SmeProfile
from market.reviews.models import Review as ReviewRow
from market.reviews.rules import as_engine_review
from matching import Need, ProviderRecord, SolutionRecord, VerifiedCase
from matching.trust import Review

# Providers read per round trip; keeps IN lists well below SQLite's parameter limit.
CHUNK = 400
# Days after its first listing during which a provider counts as new (DOMAIN §5: the exploration
# slot graduates a provider after 90 days).
NEW_PROVIDER_DAYS = 90
# Capabilities delivered without anyone on site: a need asking only for these is "pure SaaS or
# cloud migration", for which the engine scores distance as hardly mattering.
REMOTE_CAPABILITIES = frozenset({"cap.cloud_migration", "cap.crm", "cap.oa_hr", "cap.bi"})


@dataclass(frozen=True)
class Vocabularies:
    """The id spaces the index's bitsets are laid out in (taxonomy order, fixed per process)."""

    capabilities: tuple[str, ...]
    protocols: tuple[str, ...]
    pricing_models: tuple[str, ...]


@cache
def vocabularies() -> Vocabularies:
    return Vocabularies(
        capabilities=tuple(term.id for term in vocabulary("capabilities")),
        protocols=tuple(term.id for term in vocabulary("protocols")),
        pricing_models=tuple(term.id for term in vocabulary("pricing_models")),
    )


class DisplayNames(Mapping[str, tuple[str, str]]):
    """Id or code → (zh, en) for the engine's explanations, from the taxonomy.

    Capability, protocol, pricing and region ids are listed up front. GB/T industry codes are
    looked up on demand, and only when the taxonomy names that exact code: an explanation must
    not print a class under its group's name.
    """

    def __init__(self) -> None:
        names: dict[str, tuple[str, str]] = {}
        for name in ("capabilities", "protocols", "pricing_models", "regions", "industries"):
            for term in vocabulary(name):
                names[term.id] = (term.zh, term.en)
        self._names = names

    def __getitem__(self, key: str) -> tuple[str, str]:
        found = self._names.get(key)
        if found is not None:
            return found
        if key.isdigit() and 2 <= len(key) <= 4:
            try:
                described = describe_industry(key)
            except ValueError:
                # Not a GB/T 4754 code at all: the explanation shows the code as it is.
                described = None
            if described is not None and described["code"] == key:
                return described["zh"], described["en"]
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@cache
def display_names() -> DisplayNames:
    return DisplayNames()


def _term_names(vocabulary_name: str, ids: Iterable[str]) -> list[str]:
    terms = vocabulary(vocabulary_name)
    found: list[str] = []
    for term_id in ids:
        term = terms.get(term_id)
        if term is not None:
            found.extend((term.zh, term.en))
    return found


def _industry_words(codes: Iterable[str]) -> list[str]:
    words: list[str] = []
    for code in codes:
        try:
            described = describe_industry(code)
        except ValueError:
            continue
        if described is not None:
            words.extend((described["zh"], described["en"]))
    return words


# --- the catalogue ------------------------------------------------------------------------------


@dataclass
class _SolutionRows:
    id: uuid.UUID
    provider_id: uuid.UUID
    title: str
    summary: str
    description: str
    published_at: datetime | None
    codes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # (model, min_fen, max_fen) in the provider's order: the first is the lead offer.
    prices: list[tuple[str, int, int | None]] = field(default_factory=list)


def _solution_record(rows: _SolutionRows) -> SolutionRecord:
    codes = rows.codes
    capabilities = codes.get("capability", [])
    protocols = codes.get("protocol", [])
    industries = codes.get("industry", [])
    # The listing's own words first, then the taxonomy names of what it declares, as the search
    # documents do: "数采" then finds a listing that only says 设备数据采集 in its facets.
    text = "\n".join(
        part
        for part in (
            rows.summary,
            rows.description,
            " ".join(_term_names("capabilities", capabilities)),
            " ".join(_term_names("protocols", protocols)),
            " ".join(_industry_words(industries)),
        )
        if part
    )
    min_price = min((low for _model, low, _high in rows.prices), default=None)
    typical: int | None = None
    if rows.prices:
        _model, low, high = rows.prices[0]
        typical = low if high is None else (low + high) // 2
    return SolutionRecord(
        solution_id=str(rows.id),
        provider_id=str(rows.provider_id),
        title=rows.title,
        text=text,
        capabilities=tuple(capabilities),
        protocols_native=tuple(protocols),
        industries=tuple(industries),
        target_sizes=tuple(codes.get("size", [])),
        pricing_models=tuple(dict.fromkeys(model for model, _low, _high in rows.prices)),
        min_price_fen=min_price,
        typical_price_fen=typical,
        deployments=tuple(codes.get("deployment", [])),
        published_at=rows.published_at,
    )


def load_solutions(
    session: Session,
    *,
    provider_ids: Sequence[uuid.UUID] | None = None,
    solution_ids: Sequence[uuid.UUID] | None = None,
) -> list[SolutionRecord]:
    """Published solutions of these providers (or these solutions), whether or not public.

    Public or not is the provider's status in the index; a published solution of an unlisted
    provider is indexed so that listing the provider later is one provider update.
    """
    stmt = select(
        Solution.id,
        Solution.provider_id,
        Solution.title,
        Solution.summary,
        Solution.description,
        Solution.published_at,
    ).where(Solution.status == "published")
    if provider_ids is not None:
        stmt = stmt.where(Solution.provider_id.in_(list(provider_ids)))
    if solution_ids is not None:
        stmt = stmt.where(Solution.id.in_(list(solution_ids)))
    found: dict[uuid.UUID, _SolutionRows] = {}
    for row in session.execute(stmt.order_by(Solution.provider_id, Solution.id)):
        found[row[0]] = _SolutionRows(row[0], row[1], row[2], row[3] or "", row[4] or "", row[5])
    if not found:
        return []
    ids = list(found)
    for solution_id, facet, code in session.execute(
        select(SolutionFacet.solution_id, SolutionFacet.facet, SolutionFacet.code)
        .where(SolutionFacet.solution_id.in_(ids))
        .order_by(SolutionFacet.solution_id, SolutionFacet.facet, SolutionFacet.position)
    ):
        found[solution_id].codes[facet].append(code)
    for solution_id, model, low, high in session.execute(
        select(
            SolutionPrice.solution_id,
            SolutionPrice.model,
            SolutionPrice.min_fen,
            SolutionPrice.max_fen,
        )
        .where(SolutionPrice.solution_id.in_(ids))
        .order_by(SolutionPrice.solution_id, SolutionPrice.position)
    ):
        found[solution_id].prices.append((model, int(low), None if high is None else int(high)))
    return [_solution_record(rows) for rows in found.values()]


def load_providers(
    session: Session, provider_ids: Sequence[uuid.UUID], *, now: datetime | None = None
) -> list[ProviderRecord]:
    """Provider records with their public status, verified cases and listing age."""
    now = now or utcnow()
    ids = list(provider_ids)
    if not ids:
        return []
    providers = {
        row[0]: row
        for row in session.execute(
            select(
                Provider.id,
                Provider.legal_name,
                Provider.registered_region,
                Provider.on_site_regions,
                Provider.capacity,
            ).where(Provider.id.in_(ids))
        )
    }
    # Listing dates per public provider; a provider absent here is not on show.
    listings: dict[uuid.UUID, list[datetime]] = {}
    for provider_id, since in session.execute(
        select(PoolApplication.provider_id, PoolApplication.listed_since).where(
            visibility.is_shown_listing(), PoolApplication.provider_id.in_(ids)
        )
    ):
        dates = listings.setdefault(provider_id, [])
        if since is not None:
            dates.append(since)

    case_rows = session.execute(
        select(Case.id, Case.provider_id, Case.client_industry, Case.client_size)
        .where(Case.provider_id.in_(ids), Case.status == "published", Case.verified.is_(True))
        .order_by(Case.provider_id, Case.id)
    ).all()
    case_caps: dict[uuid.UUID, list[str]] = defaultdict(list)
    if case_rows:
        for case_id, code in session.execute(
            select(CaseSolution.case_id, SolutionFacet.code)
            .join(SolutionFacet, SolutionFacet.solution_id == CaseSolution.solution_id)
            .where(
                CaseSolution.case_id.in_([row[0] for row in case_rows]),
                SolutionFacet.facet == "capability",
            )
            .order_by(CaseSolution.case_id, SolutionFacet.code)
        ):
            case_caps[case_id].append(code)
    cases: dict[uuid.UUID, list[VerifiedCase]] = defaultdict(list)
    proven: dict[uuid.UUID, set[str]] = defaultdict(set)
    for case_id, provider_id, industry, size in case_rows:
        caps = tuple(dict.fromkeys(case_caps.get(case_id, ())))
        cases[provider_id].append(VerifiedCase(industry_code=industry, capabilities=caps))
        if size:
            proven[provider_id].add(size)

    load = occupying_counts(session, ids)
    reviews = _published_reviews(session, ids, now)
    records: list[ProviderRecord] = []
    for provider_id in ids:
        row = providers.get(provider_id)
        if row is None:
            continue
        listed = provider_id in listings
        since = min(listings[provider_id], default=None) if listed else None
        days = max(0, (now - since).days) if since is not None else 0
        records.append(
            ProviderRecord(
                provider_id=str(provider_id),
                name=row[1],
                region_code=row[2] or "",
                on_site_regions=tuple(row[3] or ()),
                sizes_served_proven=tuple(sorted(proven.get(provider_id, ()))),
                capacity=int(row[4] or 0),
                active_engagements=load.get(provider_id, 0),
                listed=listed,
                suspended=False,
                reviews=tuple(reviews.get(provider_id, ())),
                verified_cases=tuple(cases.get(provider_id, ())),
                listed_since_days=days,
                is_new=listed and since is not None and days < NEW_PROVIDER_DAYS,
            )
        )
    return records


def _published_reviews(
    session: Session, ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, list[Review]]:
    """Each provider's published reviews as the engine weighs them."""
    found: dict[uuid.UUID, list[Review]] = defaultdict(list)
    for provider_id, overall, published_at, flagged in session.execute(
        select(ReviewRow.provider_id, ReviewRow.overall, ReviewRow.published_at, ReviewRow.flagged)
        .where(ReviewRow.provider_id.in_(ids), ReviewRow.status == "published")
        .order_by(ReviewRow.provider_id, ReviewRow.published_at, ReviewRow.id)
    ):
        found[provider_id].append(as_engine_review(overall, published_at, flagged, now))
    return found


def provider_ids_with_solutions(session: Session) -> list[uuid.UUID]:
    """Every provider with a published solution, in id order."""
    return list(
        session.scalars(
            select(Solution.provider_id)
            .where(Solution.status == "published")
            .distinct()
            .order_by(Solution.provider_id)
        )
    )


def load_catalog(session: Session) -> tuple[list[SolutionRecord], list[ProviderRecord]]:
    """Everything the index holds, a chunk of providers at a time."""
    solutions: list[SolutionRecord] = []
    providers: list[ProviderRecord] = []
    ids = provider_ids_with_solutions(session)
    now = utcnow()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        providers.extend(load_providers(session, chunk, now=now))
        solutions.extend(load_solutions(session, provider_ids=chunk))
    return solutions, providers


# --- needs ----------------------------------------------------------------------------------


def budget_of(budget_min_fen: int | None, budget_max_fen: int | None) -> int | None:
    """The budget the engine compares prices with: the top of the SME's range."""
    return budget_max_fen if budget_max_fen is not None else budget_min_fen


def is_pure_saas(capabilities: Iterable[str]) -> bool:
    requested = set(capabilities)
    return bool(requested) and requested <= REMOTE_CAPABILITIES


def need_text(title: str, description: str) -> str:
    # A line break keeps a phrase from running from the title into the description.
    return f"{title}\n{description}".strip()


def need_from_row(
    need: NeedRow,
    profile: SmeProfile | None,
    *,
    org_region: str | None,
    k: int,
    prefer_local: bool,
) -> Need:
    """The engine's view of a saved need: its own fields plus the SME profile's situation."""
    region = (profile.region_code if profile is not None else None) or org_region
    return Need(
        need_id=str(need.id),
        must_capabilities=tuple(need.must_capabilities),
        nice_capabilities=tuple(need.nice_capabilities),
        protocols=tuple(need.protocols),
        industry_code=profile.industry_code if profile is not None else None,
        sme_size=profile.size if profile is not None else None,
        region_code=region,
        budget_fen=budget_of(need.budget_min_fen, need.budget_max_fen),
        preferred_pricing=tuple(need.preferred_pricing),
        onsite_required=need.onsite_required,
        text=need_text(need.title, need.description),
        prefer_local=prefer_local,
        pure_saas=is_pure_saas([*need.must_capabilities, *need.nice_capabilities]),
        k=k,
    )


def need_as_dict(need: Need) -> dict[str, Any]:
    """JSON-ready fields of a Need, for storing with the list (and replaying it)."""
    return {
        "need_id": need.need_id,
        "must_capabilities": list(need.must_capabilities),
        "nice_capabilities": list(need.nice_capabilities),
        "protocols": list(need.protocols),
        "industry_code": need.industry_code,
        "sme_size": need.sme_size,
        "region_code": need.region_code,
        "budget_fen": need.budget_fen,
        "preferred_pricing": list(need.preferred_pricing),
        "onsite_required": need.onsite_required,
        "text": need.text,
        "prefer_local": need.prefer_local,
        "pure_saas": need.pure_saas,
        "k": need.k,
    }


def need_from_dict(data: Mapping[str, Any]) -> Need:
    """Inverse of :func:`need_as_dict`."""
    values = dict(data)
    for name in ("must_capabilities", "nice_capabilities", "protocols", "preferred_pricing"):
        values[name] = tuple(values.get(name) or ())
    return Need(**values)
