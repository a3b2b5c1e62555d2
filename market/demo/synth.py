"""Large synthetic catalogues for benchmarks (``market demo synth``).

Rows go in through SQLAlchemy Core ``insert()`` executemany, one transaction per batch of
providers: the ORM's identity map and per-object bookkeeping would dominate at 100,000
providers. The text comes from the same templates as the demo, so search benchmarks see
realistic Chinese listings. Every name carries 合成 and a running number, and credit codes use
their own subject-identifier prefix, so synthetic rows never collide with demo data, tests or
an earlier run, and are never mistaken for either.

No outbox events are written: a benchmark rebuilds its indexes in bulk, and hundreds of
thousands of change events would only measure the relay.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from catalog.cases.models import Case, CaseSolution
from catalog.providers.models import Certification, Provider
from catalog.solutions.models import Solution, SolutionFacet, SolutionPrice, SolutionScene
from catalog.taxonomy import CREDIT_CODE_CHARS, make_credit_code, organisation_code_check_char
from core.database import Base, Database
from market.accounts.models import Organisation
from market.demo import content
from market.demo.content import BASE_TIME, SYNTH_WORD

# Positions 9–10 of a synthetic credit code. Both are valid code characters (S is not: the
# standard drops I, O, S, V and Z), and neither demo ("DM") nor test ("T") codes start so.
SERIAL_PREFIX = "YH"
# Six base-31 digits follow the prefix: 887 million providers before the counter runs out.
COUNTER_DIGITS = 6
# Providers per transaction. Each commit writes every index page the batch dirtied, and with
# random keys that is most of each index once the tables are large, so bigger batches mean
# fewer full sweeps: 100k providers load in ~115 s at 10,000 against ~180 s at 2,000 (SQLite,
# 2 cores). A batch holds about 300 MB of row dicts at its peak.
BATCH_PROVIDERS = 10_000
CASE_ODDS = 0.1
# SQLite page cache of the loading connection, in KiB. Random uuid4 keys touch index pages all
# over the file, and with the 2 MiB default a large load spends about a third of its CPU time
# re-reading pages. It is a ceiling, not an allocation, and only the pooled connection of the
# loading process carries it.
SQLITE_CACHE_KIB = 256 * 1024

_BASE = len(CREDIT_CODE_CHARS)


@dataclass
class SynthResult:
    providers: int
    solutions: int
    seconds: float


def encode_counter(number: int) -> str:
    """Fixed-width base-31 in the credit-code alphabet, which is in ASCII order, so the
    largest counter is also the largest string and the database can find it with MAX()."""
    if not 0 <= number < _BASE**COUNTER_DIGITS:
        raise ValueError(f"synthetic counter {number} is out of range")
    digits = []
    for _ in range(COUNTER_DIGITS):
        number, rest = divmod(number, _BASE)
        digits.append(CREDIT_CODE_CHARS[rest])
    return "".join(reversed(digits))


def decode_counter(encoded: str) -> int:
    number = 0
    for char in encoded:
        number = number * _BASE + CREDIT_CODE_CHARS.index(char)
    return number


def synthetic_credit_code(number: int, area: str) -> str:
    body = SERIAL_PREFIX + encode_counter(number)
    return make_credit_code(area=area, serial=body + organisation_code_check_char(body))


def next_counter(session: Session) -> int:
    """One past the highest synthetic counter already stored (0 on a database without any)."""
    # Characters 9–10 hold the prefix and 11–16 the counter (1-based, as SQL's substr counts).
    found = session.scalar(
        select(func.max(func.substr(Organisation.credit_code, 11, COUNTER_DIGITS))).where(
            func.substr(Organisation.credit_code, 9, len(SERIAL_PREFIX)) == SERIAL_PREFIX
        )
    )
    return 0 if found is None else decode_counter(found) + 1


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _sort_key(row: dict[str, Any]) -> int:
    # Child rows sort by their parent (the leading primary-key column), the rest by their own id.
    # The integer orders like the stored hex or native uuid and compares far faster than UUID.
    key = row.get("case_id") or row.get("solution_id") or row["id"]
    assert isinstance(key, uuid.UUID)
    return key.int


@dataclass
class _Batch:
    """Plain row dicts for one transaction, in foreign-key order."""

    organisations: list[dict[str, Any]] = field(default_factory=list)
    providers: list[dict[str, Any]] = field(default_factory=list)
    certifications: list[dict[str, Any]] = field(default_factory=list)
    solutions: list[dict[str, Any]] = field(default_factory=list)
    facets: list[dict[str, Any]] = field(default_factory=list)
    scenes: list[dict[str, Any]] = field(default_factory=list)
    prices: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    case_links: list[dict[str, Any]] = field(default_factory=list)

    def insert(self, session: Session) -> None:
        if session.get_bind().dialect.name == "sqlite":
            # A negative cache_size is read as KiB rather than pages.
            session.execute(text(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}"))
        for model, rows in (
            (Organisation, self.organisations),
            (Provider, self.providers),
            (Certification, self.certifications),
            (Solution, self.solutions),
            (SolutionFacet, self.facets),
            (SolutionScene, self.scenes),
            (SolutionPrice, self.prices),
            (Case, self.cases),
            (CaseSolution, self.case_links),
        ):
            if rows:
                # Key order turns random index insertions into one sweep through the B-tree
                # per batch, so each page is read and written once instead of many times.
                rows.sort(key=_sort_key)
                session.execute(insert(_table(model)), rows)


class _Generator:
    def __init__(self, rng: random.Random, solutions_per_provider: float) -> None:
        self.rng = rng
        self.per_provider = solutions_per_provider
        self.cities = content.SYNTH_CITY_WEIGHTS

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def before_base(self, low: int, high: int) -> datetime:
        offset = timedelta(days=self.rng.randint(low, high), seconds=self.rng.randrange(86_400))
        return BASE_TIME - offset

    def after(self, start: datetime, limit: datetime = BASE_TIME) -> datetime:
        seconds = max(0, int((limit - start).total_seconds()))
        return start + timedelta(seconds=self.rng.randint(0, seconds))

    def solution_count(self) -> int:
        if self.per_provider < 1:
            return 1 if self.rng.random() < self.per_provider else 0
        # A triangular spread whose floor averages out to the requested mean.
        mean = self.per_provider
        return int(self.rng.triangular(0.5, 2 * mean + 0.5, mean + 0.5))

    def provider(self, batch: _Batch, number: int) -> None:
        rng = self.rng
        city = content.weighted(rng, self.cities)
        draft = content.draw_provider(rng, city_code=city, slug=f"synth-{number + 1:07d}")
        code = synthetic_credit_code(number, city)
        name = f"{draft.name}（{SYNTH_WORD}{number + 1:07d}）"
        created = self.before_base(30, 1_500)
        org_id, provider_id = self.uid(), self.uid()
        batch.organisations.append(
            {
                "id": org_id,
                "kind": "provider",
                "name": name,
                "credit_code": code,
                "region_code": city,
                "jurisdiction": None,
                "is_active": True,
                "created_at": created,
            }
        )
        batch.providers.append(
            {
                "id": provider_id,
                "org_id": org_id,
                "legal_name": name,
                "credit_code": code,
                "provider_type": draft.provider_type,
                "registered_region": city,
                "service_regions": draft.service_regions,
                "on_site_regions": draft.on_site_regions,
                "size_sector": content.PROVIDER_SIZE_SECTOR,
                "employees": draft.employees,
                "revenue_wan": draft.revenue_wan,
                "assets_wan": draft.assets_wan,
                "size": draft.size,
                "founded_year": draft.founded_year,
                "policy_tags": draft.policy_tags,
                "patents_count": draft.patents_count,
                "capacity": draft.capacity,
                "contact_name": draft.contact_name,
                "contact_phone": draft.contact_phone,
                "contact_email": draft.contact_email,
                "website": draft.website,
                "description_zh": draft.description_zh,
                "description_en": draft.description_en,
                "version": 1,
                "created_at": created,
                "updated_at": self.after(created),
            }
        )
        for cert in content.draw_certifications(rng, draft):
            batch.certifications.append(
                {
                    "id": self.uid(),
                    "provider_id": provider_id,
                    "name": cert.name,
                    "issuer": cert.issuer,
                    "number": cert.number,
                    "valid_until": BASE_TIME.date() + timedelta(days=cert.valid_for_days),
                    "created_at": created,
                }
            )

        listed: list[tuple[uuid.UUID, content.SolutionDraft]] = []
        for index in range(self.solution_count()):
            capability = draft.focus[index % len(draft.focus)]
            solution = content.draw_solution(rng, draft, capability)
            solution_id = self.uid()
            listed.append((solution_id, solution))
            made = self.after(created, BASE_TIME - timedelta(days=1))
            published = self.after(made)
            batch.solutions.append(
                {
                    "id": solution_id,
                    "provider_id": provider_id,
                    "title": solution.title,
                    "summary": solution.summary,
                    "description": solution.description,
                    "typical_delivery_days": solution.delivery_days,
                    "status": "published",
                    "version": 1,
                    "created_at": made,
                    "updated_at": published,
                    "published_at": published,
                }
            )
            batch.facets.extend(
                {"solution_id": solution_id, "facet": facet, "code": code, "position": position}
                for facet, code, position in solution.facets()
            )
            batch.scenes.extend(
                {"solution_id": solution_id, "scene": scene, "level": level}
                for scene, level in solution.scenes
            )
            batch.prices.extend(
                {
                    "id": self.uid(),
                    "solution_id": solution_id,
                    "model": price.model,
                    "min_fen": price.min_fen,
                    "max_fen": price.max_fen,
                    "unit": price.unit,
                    "position": position,
                }
                for position, price in enumerate(solution.prices)
            )
        if listed and rng.random() < CASE_ODDS:
            self.case(batch, provider_id, draft, listed[0], created)

    def case(
        self,
        batch: _Batch,
        provider_id: uuid.UUID,
        draft: content.ProviderDraft,
        listed: tuple[uuid.UUID, content.SolutionDraft],
        created: datetime,
    ) -> None:
        solution_id, solution = listed
        story = content.draw_case(self.rng, draft, [solution], mark=f"（{SYNTH_WORD}）")
        case_id = self.uid()
        made = self.after(created)
        batch.cases.append(
            {
                "id": case_id,
                "provider_id": provider_id,
                "title": story.title,
                "client_name": story.client_name,
                "client_industry": story.client_industry,
                "client_size": story.client_size,
                "region_code": story.region_code,
                "problem": story.problem,
                "solution_text": story.solution_text,
                "outcomes": story.outcomes,
                "case_date": BASE_TIME.date() - timedelta(days=self.rng.randint(20, 1_095)),
                "verified": False,
                "status": "published",
                "version": 1,
                "created_at": made,
                "updated_at": made,
                "published_at": made,
            }
        )
        batch.case_links.append({"case_id": case_id, "solution_id": solution_id})


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]synthesising[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("providers"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns) as bar:
        bar.add_task("providers", total=total)
        yield bar


def synthesise(
    db: Database,
    *,
    providers: int,
    solutions_per_provider: float = 3.0,
    seed: int = 7,
    progress: bool = False,
) -> SynthResult:
    """Append ``providers`` published providers with their solutions; returns what was made.

    Deterministic for a given seed and starting state: the random stream is keyed on both, so
    a second run appends fresh ids instead of repeating the first run's.
    """
    if providers < 0:
        raise ValueError("providers must not be negative")
    started = time.perf_counter()
    with db.transaction() as session:
        first = next_counter(session)
    if first + providers > _BASE**COUNTER_DIGITS:
        raise ValueError("the synthetic credit-code counter would overflow")
    # A string seed is hashed as a whole (SHA-512), so (7, 0) and (70, 0) cannot coincide.
    generator = _Generator(random.Random(f"iimarket-synth:{seed}:{first}"), solutions_per_provider)
    solutions = 0
    with _progress(progress, providers) as bar:
        for offset in range(0, providers, BATCH_PROVIDERS):
            count = min(BATCH_PROVIDERS, providers - offset)
            batch = _Batch()
            for number in range(first + offset, first + offset + count):
                generator.provider(batch, number)
            with db.transaction() as session:
                batch.insert(session)
            solutions += len(batch.solutions)
            if bar is not None:
                bar.advance(bar.task_ids[0], count)
    return SynthResult(
        providers=providers, solutions=solutions, seconds=time.perf_counter() - started
    )
