"""The fictional demo pool behind ``market demo load``.

Two pilot-city agencies with a curator each, the platform admin, 160 providers with
certificates, about 500 solutions, 215 case studies and ten SMEs, all clearly fictional: every
organisation name carries （示例） and every login lives under ``@demo.iimarket.cn``.

Loading is idempotent (an existing demo admin means "already loaded") and deterministic: ids,
names and dates come from ``random.Random(seed)`` and a fixed base date, never from the clock,
so two machines loading the same seed show the same catalogue.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from catalog.cases.models import Case, CaseSolution
from catalog.pools.models import PoolApplication
from catalog.providers.models import Certification, Provider
from catalog.solutions.models import Solution, SolutionFacet, SolutionPrice, SolutionScene
from catalog.taxonomy import make_credit_code, organisation_code_check_char, vocabulary
from core.outbox import emit
from market.accounts import service as accounts
from market.accounts.models import Organisation, User
from market.demo import content
from market.demo.content import BASE_TIME, DEMO_MARK, ProviderDraft, SolutionDraft
from market.demo.pools import build_demo_pools

# Shown to people by `make demo`; the demo runs on their own machine only.
DEMO_PASSWORD = "demo-pass-2026"
DEMO_DOMAIN = "demo.iimarket.cn"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"

PROVIDER_COUNT = 160
# Floors the random draw is topped up to, so any seed meets the documented sizes.
MIN_SOLUTIONS = 430
MIN_CASES = 215
MAX_CASES_PER_PROVIDER = 3
# Subject identifiers of demo credit codes start with this, keeping them apart from the
# synthetic ("YH") and test ("T") ones.
SERIAL_PREFIX = "DM"

AGENCIES: tuple[tuple[str, str, str, str], ...] = (
    # (name, jurisdiction, e-mail key, curator name)
    ("常州市工业和信息化局（示例）", "320400", "cz", "周敏"),
    ("东莞市工业和信息化局（示例）", "441900", "dg", "陈嘉怡"),
)
# The first providers get logins: three in Changzhou, then three in Dongguan.
PROVIDER_LOGINS: tuple[tuple[str, str], ...] = (
    (content.CHANGZHOU, "integrator"),
    (content.CHANGZHOU, "product"),
    (content.CHANGZHOU, "product"),
    (content.DONGGUAN, "lead_unit"),
    (content.DONGGUAN, "product"),
    (content.DONGGUAN, "integrator"),
)
# (region, industry) of each demo SME, in and around the two pilot cities.
SMES: tuple[tuple[str, str], ...] = (
    ("320400", "29"),
    ("320400", "34"),
    ("320400", "17"),
    ("321100", "38"),
    ("320200", "3484"),
    ("441900", "39"),
    ("441900", "3525"),
    ("441900", "21"),
    ("440600", "38"),
    ("441300", "245"),
)
SOLUTIONS_PER_TYPE: dict[str, tuple[int, int]] = {
    "product": (2, 4),
    "integrator": (2, 5),
    "platform": (3, 6),
    "chain_leader": (1, 3),
    "enabler": (1, 3),
    "lead_unit": (2, 5),
    "partner": (1, 3),
}
ROLE_ORDER = {"admin": 0, "curator": 1, "provider": 2, "sme": 3}


@dataclass
class Login:
    role: str
    email: str
    organisation: str


@dataclass
class DemoReport:
    created: bool
    logins: list[Login]
    counts: dict[str, int]

    def summary(self) -> str:
        c = self.counts
        return (
            f"{c['providers']} providers ({c['listed_providers']} listed in a pool), "
            f"{c['solutions']} solutions, {c['cases']} cases, {c['smes']} SMEs"
        )


def load_demo(session: Session, *, seed: int = 2026) -> DemoReport:
    """Add the demo pool unless it is there already; the caller commits."""
    exists = session.scalar(select(User.id).where(User.email == ADMIN_EMAIL)) is not None
    if not exists:
        _Builder(session, random.Random(seed)).build()
    return DemoReport(created=not exists, logins=demo_logins(session), counts=demo_counts(session))


def demo_logins(session: Session) -> list[Login]:
    rows = session.execute(
        select(User.role, User.email, Organisation.name)
        .join(Organisation, Organisation.id == User.org_id)
        .where(User.email.endswith(f"@{DEMO_DOMAIN}"))
    ).all()
    logins = [Login(role=role, email=email, organisation=org) for role, email, org in rows]
    # provider2 before provider10: compare by length first, then text.
    logins.sort(key=lambda x: (ROLE_ORDER.get(x.role, 9), len(x.email), x.email))
    return logins


def demo_counts(session: Session) -> dict[str, int]:
    """What the demo holds now, told apart from other data by the （示例） mark."""
    demo_provider = Provider.legal_name.contains(DEMO_MARK, autoescape=True)

    def count(stmt: Select[Any]) -> int:
        return int(session.scalar(stmt) or 0)

    solutions = select(func.count()).select_from(Solution).join(Provider).where(demo_provider)
    listed = (
        select(func.count(func.distinct(PoolApplication.provider_id)))
        .join(Provider, Provider.id == PoolApplication.provider_id)
        .where(demo_provider, PoolApplication.state == "listed")
    )
    return {
        "providers": count(select(func.count()).select_from(Provider).where(demo_provider)),
        "listed_providers": count(listed),
        "certifications": count(
            select(func.count()).select_from(Certification).join(Provider).where(demo_provider)
        ),
        "solutions": count(solutions),
        "published_solutions": count(solutions.where(Solution.status == "published")),
        "cases": count(select(func.count()).select_from(Case).join(Provider).where(demo_provider)),
        "smes": count(
            select(func.count())
            .select_from(Organisation)
            .where(
                Organisation.kind == "sme",
                Organisation.name.contains(DEMO_MARK, autoescape=True),
            )
        ),
    }


@dataclass
class _ProviderRow:
    draft: ProviderDraft
    provider: Provider
    solutions: list[tuple[Solution, SolutionDraft]]


class _Builder:
    def __init__(self, session: Session, rng: random.Random) -> None:
        self.session = session
        self.rng = rng
        self.serial = 0
        self.password_hash = ""
        self.names: set[str] = set()

    # -- deterministic primitives

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def days_before_base(self, low: int, high: int) -> datetime:
        offset = timedelta(days=self.rng.randint(low, high), seconds=self.rng.randrange(86_400))
        return BASE_TIME - offset

    def between(self, start: datetime, end: datetime) -> datetime:
        if end <= start:
            return start
        seconds = int((end - start).total_seconds())
        return start + timedelta(seconds=self.rng.randint(0, seconds))

    def credit_code(self, area: str) -> str:
        # Unique by the running serial; the body's own GB 11714 check digit makes the embedded
        # organisation code pass too, so curators see no warning on demo firms.
        self.serial += 1
        body = f"{SERIAL_PREFIX}{self.serial:06d}"
        return make_credit_code(area=area, serial=body + organisation_code_check_char(body))

    def user(
        self,
        org: Organisation,
        *,
        email: str,
        name: str,
        role: str,
        jurisdiction: str | None = None,
        org_admin: bool = True,
    ) -> User:
        return User(
            id=self.uid(),
            org_id=org.id,
            email=email,
            name=name,
            # One hash for every demo user: Argon2 per user would make `make demo` crawl.
            password_hash=self.password_hash,
            role=role,
            is_org_admin=org_admin,
            is_active=True,
            jurisdiction=jurisdiction,
            created_at=org.created_at,
            password_changed_at=org.created_at,
        )

    # -- the build

    def build(self) -> None:
        admin = accounts.create_admin(
            self.session, email=ADMIN_EMAIL, name="平台管理员", password=DEMO_PASSWORD
        )
        self.password_hash = admin.password_hash
        admin.created_at = admin.password_changed_at = BASE_TIME - timedelta(days=900)

        orgs: list[Organisation] = []
        people: list[User] = []
        for name, jurisdiction, key, curator in AGENCIES:
            agency = Organisation(
                id=self.uid(),
                kind="agency",
                name=name,
                region_code=jurisdiction,
                jurisdiction=jurisdiction,
                is_active=True,
                created_at=BASE_TIME - timedelta(days=880),
            )
            orgs.append(agency)
            people.append(
                self.user(
                    agency,
                    email=f"curator.{key}@{DEMO_DOMAIN}",
                    name=curator,
                    role="curator",
                    jurisdiction=jurisdiction,
                    # As accounts.create_curator makes them: agencies are run by the admins.
                    org_admin=False,
                )
            )

        providers = self._providers(orgs, people)
        agencies = [org for org in orgs if org.kind == "agency"]
        self._smes(orgs, people)
        # Organisations first: users and profiles point at them, and the ORM only orders
        # inserts along relationships, which these foreign keys do not have.
        self.session.add_all(orgs)
        self.session.flush()
        self.session.add_all(people)
        self.session.add_all(row.provider for row in providers)
        self.session.flush()

        self._solutions(providers)
        self.session.add_all(s for row in providers for s, _ in row.solutions)
        self.session.flush()
        cases = self._cases(providers)
        self.session.add_all(cases)
        self.session.flush()

        # Search and matching subscribers learn of the demo like of any other change.
        for row in providers:
            emit(self.session, "catalog.provider.changed", provider_id=str(row.provider.id))
            for solution, _ in row.solutions:
                emit(self.session, "catalog.solution.changed", solution_id=str(solution.id))
        for case in cases:
            emit(self.session, "catalog.case.changed", case_id=str(case.id))
        self.session.flush()
        build_demo_pools(
            self.session,
            rng=self.rng,
            uid=self.uid,
            base_time=BASE_TIME,
            agencies=agencies,
            providers=[(row.provider, [s for s, _ in row.solutions]) for row in providers],
        )

    def _region_plan(self) -> list[tuple[str, str | None]]:
        """(city, forced provider type) per provider: ~40 % Changzhou area, ~35 % Dongguan."""
        rng = self.rng
        changzhou = round(PROVIDER_COUNT * 0.40) - 3
        dongguan = round(PROVIDER_COUNT * 0.35) - 3
        external = PROVIDER_COUNT - len(PROVIDER_LOGINS) - changzhou - dongguan
        rest: list[str] = []
        for pilot, area, total in (
            (content.CHANGZHOU, content.CHANGZHOU_AREA, changzhou),
            (content.DONGGUAN, content.DONGGUAN_AREA, dongguan),
        ):
            in_city = round(total * 0.65)
            rest += [pilot] * in_city + [rng.choice(area) for _ in range(total - in_city)]
        rest += [content.weighted(rng, content.EXTERNAL_CITIES) for _ in range(external)]
        rng.shuffle(rest)
        plan: list[tuple[str, str | None]] = list(PROVIDER_LOGINS)
        plan += [(city, None) for city in rest]
        return plan

    def _providers(self, orgs: list[Organisation], people: list[User]) -> list[_ProviderRow]:
        capability_ids = [term.id for term in vocabulary("capabilities")]
        rows: list[_ProviderRow] = []
        for index, (city, provider_type) in enumerate(self._region_plan()):
            # The first 46 providers lead with each capability twice over, so every capability
            # has published listings whatever the seed.
            primary = capability_ids[index % len(capability_ids)] if index < 46 else None
            draft = self._unique_provider(city, provider_type, primary, index)
            created = self.days_before_base(150, 1_000)
            org = Organisation(
                id=self.uid(),
                kind="provider",
                name=draft.name + DEMO_MARK,
                credit_code=self.credit_code(city),
                region_code=city,
                is_active=True,
                created_at=created,
            )
            assert org.credit_code is not None
            provider = Provider(
                id=self.uid(),
                org_id=org.id,
                legal_name=org.name,
                credit_code=org.credit_code,
                provider_type=draft.provider_type,
                registered_region=city,
                service_regions=draft.service_regions,
                on_site_regions=draft.on_site_regions,
                size_sector=content.PROVIDER_SIZE_SECTOR,
                employees=draft.employees,
                revenue_wan=draft.revenue_wan,
                assets_wan=draft.assets_wan,
                size=draft.size,
                founded_year=draft.founded_year,
                policy_tags=draft.policy_tags,
                patents_count=draft.patents_count,
                capacity=draft.capacity,
                contact_name=draft.contact_name,
                contact_phone=draft.contact_phone,
                contact_email=draft.contact_email,
                website=draft.website,
                description_zh=draft.description_zh,
                description_en=draft.description_en,
                created_at=created,
                updated_at=self.between(created, BASE_TIME),
                certifications=[
                    Certification(
                        id=self.uid(),
                        name=cert.name,
                        issuer=cert.issuer,
                        number=cert.number,
                        valid_until=BASE_TIME.date() + timedelta(days=cert.valid_for_days),
                        created_at=created,
                    )
                    for cert in content.draw_certifications(self.rng, draft)
                ],
            )
            orgs.append(org)
            if index < len(PROVIDER_LOGINS):
                people.append(
                    self.user(
                        org,
                        email=f"provider{index + 1}@{DEMO_DOMAIN}",
                        name=draft.contact_name,
                        role="provider",
                    )
                )
            rows.append(_ProviderRow(draft=draft, provider=provider, solutions=[]))
        return rows

    def _unique_provider(
        self, city: str, provider_type: str | None, primary: str | None, index: int
    ) -> ProviderDraft:
        for _ in range(50):
            draft = content.draw_provider(
                self.rng,
                city_code=city,
                slug=f"demo-p{index + 1:03d}",
                provider_type=provider_type,
                primary=primary,
            )
            if draft.name not in self.names:
                self.names.add(draft.name)
                return draft
        raise RuntimeError("could not draw a unique provider name; widen content.BRANDS")

    def _smes(self, orgs: list[Organisation], people: list[User]) -> None:
        for number, (city_code, industry) in enumerate(SMES, start=1):
            city = content.CITIES[city_code]
            profile = content.industry_profile(industry)
            name = content.client_company_name(self.rng, city, profile)
            while name in self.names:
                name = content.client_company_name(self.rng, city, profile)
            self.names.add(name)
            org = Organisation(
                id=self.uid(),
                kind="sme",
                name=name + DEMO_MARK,
                credit_code=self.credit_code(city_code),
                region_code=city_code,
                is_active=True,
                created_at=self.days_before_base(30, 400),
            )
            orgs.append(org)
            people.append(
                self.user(
                    org,
                    email=f"sme{number}@{DEMO_DOMAIN}",
                    name=content.person_name(self.rng),
                    role="sme",
                )
            )

    def _solution_counts(self, rows: list[_ProviderRow]) -> list[int]:
        counts = [self.rng.randint(*SOLUTIONS_PER_TYPE[r.draft.provider_type]) for r in rows]
        while sum(counts) < MIN_SOLUTIONS:
            counts[self.rng.randrange(len(counts))] += 1
        return counts

    def _solutions(self, rows: list[_ProviderRow]) -> None:
        rng = self.rng
        capability_ids = [term.id for term in vocabulary("capabilities")]
        for row, count in zip(rows, self._solution_counts(rows), strict=True):
            focus = list(row.draft.focus)
            for number in range(count):
                if number == 0:
                    capability = focus[0]
                elif rng.random() < 0.8:
                    capability = rng.choice(focus)
                else:
                    capability = rng.choice(capability_ids)
                draft = content.draw_solution(rng, row.draft, capability)
                # The lead listing is always public so the provider has a shop window.
                status = (
                    "published"
                    if number == 0
                    else content.weighted(rng, [("published", 90), ("draft", 7), ("archived", 3)])
                )
                created = self.between(row.provider.created_at, BASE_TIME - timedelta(days=10))
                published = None if status == "draft" else self.between(created, BASE_TIME)
                solution = Solution(
                    id=self.uid(),
                    provider_id=row.provider.id,
                    title=draft.title,
                    summary=draft.summary,
                    description=draft.description,
                    typical_delivery_days=draft.delivery_days,
                    status=status,
                    created_at=created,
                    updated_at=self.between(published or created, BASE_TIME),
                    published_at=published,
                    facets=[
                        SolutionFacet(facet=facet, code=code, position=position)
                        for facet, code, position in draft.facets()
                    ],
                    scenes=[SolutionScene(scene=s, level=level) for s, level in draft.scenes],
                    prices=[
                        SolutionPrice(
                            id=self.uid(),
                            model=price.model,
                            min_fen=price.min_fen,
                            max_fen=price.max_fen,
                            unit=price.unit,
                            position=position,
                        )
                        for position, price in enumerate(draft.prices)
                    ],
                )
                row.solutions.append((solution, draft))

    def _case_counts(self, rows: list[_ProviderRow]) -> list[int]:
        rng = self.rng
        counts = [content.weighted(rng, [(0, 2), (1, 4), (2, 3), (3, 1)]) for _ in rows]
        while sum(counts) < MIN_CASES:
            index = rng.randrange(len(counts))
            if counts[index] < MAX_CASES_PER_PROVIDER:
                counts[index] += 1
        return counts

    def _cases(self, rows: list[_ProviderRow]) -> list[Case]:
        rng = self.rng
        cases: list[Case] = []
        for row, count in zip(rows, self._case_counts(rows), strict=True):
            public = [pair for pair in row.solutions if pair[0].status == "published"]
            for _ in range(count):
                used = rng.sample(public, k=min(len(public), rng.randint(1, 2)))
                draft = content.draw_case(rng, row.draft, [d for _, d in used], mark=DEMO_MARK)
                case_date = BASE_TIME.date() - timedelta(days=rng.randint(20, 3 * 365))
                status = content.weighted(rng, [("published", 85), ("draft", 10), ("archived", 5)])
                created = self.between(
                    max(row.provider.created_at, _midnight(case_date)), BASE_TIME
                )
                published = None if status == "draft" else self.between(created, BASE_TIME)
                cases.append(
                    Case(
                        id=self.uid(),
                        provider_id=row.provider.id,
                        title=draft.title,
                        client_name=draft.client_name,
                        client_industry=draft.client_industry,
                        client_size=draft.client_size,
                        region_code=draft.region_code,
                        problem=draft.problem,
                        solution_text=draft.solution_text,
                        outcomes=draft.outcomes,
                        case_date=case_date,
                        # Curators have checked about half of the public cases' outcomes.
                        verified=status == "published" and rng.random() < 0.55,
                        status=status,
                        created_at=created,
                        updated_at=self.between(published or created, BASE_TIME),
                        published_at=published,
                        solution_links=[CaseSolution(solution_id=s.id) for s, _ in used],
                    )
                )
        return cases


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)
