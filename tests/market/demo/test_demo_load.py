"""The demo pool: documented sizes, valid codes, idempotent and deterministic loads, and
logins that work through the real API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.cases.models import Case, CaseSolution
from catalog.providers.models import Certification, Provider
from catalog.solutions.models import Solution, SolutionFacet, SolutionPrice, SolutionScene
from catalog.taxonomy import (
    derive_size,
    is_known_region,
    is_valid_credit_code,
    organisation_code_warning,
    validate_codes,
    vocabulary,
)
from core.database import Database
from market.accounts.models import Organisation, User
from market.accounts.service import PLATFORM_OPERATOR
from market.demo.content import BASE_TIME, DEMO_MARK
from market.demo.loader import DEMO_PASSWORD, DemoReport, load_demo
from migrations import runner
from tests.support import Api, scratch_database_url

FACET_VOCABULARIES = {
    "capability": "capabilities",
    "industry": "industries",
    "size": "sme_sizes",
    "protocol": "protocols",
    "deployment": "deployments",
}


@pytest.fixture
def report(db: Database) -> DemoReport:
    with db.transaction() as session:
        return load_demo(session)


@pytest.fixture
def session(db: Database, report: DemoReport) -> Iterator[Session]:
    with db.sessions() as session:
        yield session


def test_counts_meet_the_documented_minimums(report: DemoReport, session: Session) -> None:
    assert report.created
    counts = report.counts
    assert counts["providers"] >= 150
    assert counts["solutions"] >= 400
    assert counts["published_solutions"] >= 360
    assert counts["cases"] >= 200
    assert counts["smes"] >= 8
    # The report counts what is in the database, not what the loader meant to write.
    assert session.scalar(select(func.count()).select_from(Provider)) == counts["providers"]
    published = select(func.count()).where(Solution.status == "published")
    assert session.scalar(published) == counts["published_solutions"]
    assert report.summary().startswith(f"{counts['providers']} providers (")
    assert counts["listed_providers"] >= 100


def test_every_capability_is_offered_by_a_published_solution(session: Session) -> None:
    offered = set(
        session.scalars(
            select(SolutionFacet.code)
            .join(Solution, Solution.id == SolutionFacet.solution_id)
            .where(SolutionFacet.facet == "capability", Solution.status == "published")
        )
    )
    assert offered == vocabulary("capabilities").ids()


def test_every_code_is_valid_against_the_vocabularies(session: Session) -> None:
    for facet, name in FACET_VOCABULARIES.items():
        stmt = select(SolutionFacet.code).where(SolutionFacet.facet == facet)
        codes = list(session.scalars(stmt))
        assert codes, f"no {facet} facets at all"
        assert validate_codes(name, codes) == [], facet
    # Industries are stored as digit strings ("29", "3525"), never with a section letter.
    stmt = select(SolutionFacet.code).where(SolutionFacet.facet == "industry")
    assert all(code.isdigit() for code in session.scalars(stmt))

    scenes = session.execute(select(SolutionScene.scene, SolutionScene.level)).all()
    assert validate_codes("scenes", [scene for scene, _ in scenes]) == []
    assert all(2 <= level <= 4 for _, level in scenes)

    models = list(session.scalars(select(SolutionPrice.model)))
    assert validate_codes("pricing_models", models) == []
    providers = list(session.scalars(select(Provider)))
    assert validate_codes("provider_types", [p.provider_type for p in providers]) == []
    assert validate_codes("policy_tags", [t for p in providers for t in p.policy_tags]) == []
    regions = [
        code
        for p in providers
        for code in (p.registered_region, *p.service_regions, *p.on_site_regions)
    ]
    assert all(is_known_region(code) for code in regions)

    cases = list(session.scalars(select(Case)))
    assert validate_codes("industries", [c.client_industry for c in cases]) == []
    assert validate_codes("sme_sizes", [c.client_size for c in cases if c.client_size]) == []
    assert all(c.region_code and is_known_region(c.region_code) for c in cases)


def test_the_catalogue_spans_every_size_deployment_and_pricing_model(session: Session) -> None:
    def used(facet: str) -> set[str]:
        return set(session.scalars(select(SolutionFacet.code).where(SolutionFacet.facet == facet)))

    assert used("size") == vocabulary("sme_sizes").ids()
    assert used("deployment") == vocabulary("deployments").ids()
    assert set(session.scalars(select(SolutionPrice.model))) == vocabulary("pricing_models").ids()
    # Manufacturing divisions 13–43: most of them have listings.
    divisions = {code[:2] for code in used("industry")}
    assert len(divisions) >= 25


def test_scenes_belong_to_the_solutions_capabilities(session: Session) -> None:
    scenes_of = {term.id: set(term.extra.get("scenes", ())) for term in vocabulary("capabilities")}
    capabilities: dict[object, set[str]] = {}
    for solution_id, code in session.execute(
        select(SolutionFacet.solution_id, SolutionFacet.code).where(
            SolutionFacet.facet == "capability"
        )
    ):
        capabilities.setdefault(solution_id, set()).update(scenes_of[code])
    per_solution: dict[object, int] = {}
    for solution_id, scene in session.execute(
        select(SolutionScene.solution_id, SolutionScene.scene)
    ):
        assert scene in capabilities[solution_id]
        per_solution[solution_id] = per_solution.get(solution_id, 0) + 1
    total = session.scalar(select(func.count()).select_from(Solution))
    assert len(per_solution) == total  # every solution names at least one scene
    assert max(per_solution.values()) <= 3


def test_prices_are_integer_fen_within_plausible_ranges(session: Session) -> None:
    for price in session.scalars(select(SolutionPrice)):
        assert isinstance(price.min_fen, int)
        assert price.min_fen > 0
        assert price.max_fen is None or price.max_fen >= price.min_fen
        if price.model == "one_off" and price.unit == "元/项目":
            # One-off projects run 3万–80万元.
            assert 3_000_000 <= price.min_fen <= 80_000_000
        if price.unit.startswith("元/设备/月"):
            assert price.min_fen <= 100_000  # at most 1,000 元 a device a month


def test_credit_codes_are_valid_unique_and_pass_the_organisation_check(session: Session) -> None:
    codes = [c for c in session.scalars(select(Organisation.credit_code)) if c is not None]
    assert len(codes) == len(set(codes))
    assert all(is_valid_credit_code(code) for code in codes)
    assert all(organisation_code_warning(code) is None for code in codes)
    for provider in session.scalars(select(Provider)):
        org = session.get(Organisation, provider.org_id)
        assert org is not None
        assert org.credit_code == provider.credit_code
        assert org.region_code == provider.registered_region
        assert provider.credit_code[2:8] == provider.registered_region


def test_sizes_are_derived_from_the_declared_numbers(session: Session) -> None:
    providers = list(session.scalars(select(Provider)))
    for p in providers:
        expected = derive_size(
            sector=p.size_sector,
            employees=p.employees,
            revenue_wan=p.revenue_wan,
            assets_wan=p.assets_wan,
        )
        assert p.size == expected, p.legal_name
    assert {p.size for p in providers} >= {"micro", "small", "medium", "large"}


def test_every_company_name_says_it_is_fictional(session: Session) -> None:
    names = [
        name for name in session.scalars(select(Organisation.name)) if name != PLATFORM_OPERATOR
    ]
    assert names
    assert all(DEMO_MARK in name for name in names)
    assert all(DEMO_MARK in p.legal_name for p in session.scalars(select(Provider)))
    assert all(DEMO_MARK in name for name in session.scalars(select(Case.client_name)) if name)
    assert all(DEMO_MARK in issuer for issuer in session.scalars(select(Certification.issuer)))
    for provider in session.scalars(select(Provider)):
        assert (provider.website or "").startswith("https://example.com/")
        assert (provider.contact_email or "@").split("@")[1].startswith("example.")
    emails = session.scalars(select(User.email))
    assert all(email.endswith("@demo.iimarket.cn") for email in emails)


def test_dates_come_from_the_fixed_base_date(session: Session) -> None:
    for stamp in (
        *session.scalars(select(Provider.created_at)),
        *session.scalars(select(Solution.updated_at)),
        *session.scalars(select(Case.updated_at)),
    ):
        assert stamp <= BASE_TIME
    case_dates = [d for d in session.scalars(select(Case.case_date)) if d is not None]
    assert all(
        BASE_TIME.date() - timedelta(days=3 * 366) <= d <= BASE_TIME.date() for d in case_dates
    )
    expiries = [d for d in session.scalars(select(Certification.valid_until)) if d is not None]
    assert any(d < BASE_TIME.date() for d in expiries)  # some lapsed: curators must notice
    assert any(d > BASE_TIME.date() for d in expiries)


def test_cases_link_to_their_own_providers_solutions(session: Session) -> None:
    rows = session.execute(
        select(Case.provider_id, Solution.provider_id, Case.id)
        .join(CaseSolution, CaseSolution.case_id == Case.id)
        .join(Solution, Solution.id == CaseSolution.solution_id)
    ).all()
    assert rows
    assert all(case_owner == owner for case_owner, owner, _ in rows)
    cases = list(session.scalars(select(Case)))
    assert all(1 <= len(c.outcomes) <= 3 for c in cases)
    verified = sum(c.verified for c in cases)
    assert 0.3 * len(cases) <= verified <= 0.7 * len(cases)
    per_provider: dict[object, int] = {}
    for case in cases:
        per_provider[case.provider_id] = per_provider.get(case.provider_id, 0) + 1
    assert max(per_provider.values()) <= 3


def test_loading_twice_changes_nothing(db: Database, report: DemoReport) -> None:
    with db.transaction() as session:
        again = load_demo(session)
    assert not again.created
    assert again.counts == report.counts
    assert again.logins == report.logins


def test_the_same_seed_gives_the_same_pool(
    db: Database, report: DemoReport, tmp_path: Path
) -> None:
    def providers(session: Session) -> list[tuple[object, str]]:
        stmt = select(Provider.id, Provider.legal_name).order_by(Provider.credit_code)
        return [(row.id, row.legal_name) for row in session.execute(stmt)]

    with db.transaction() as session:
        here = providers(session)
    # A per-run suffix keeps concurrent runs on one PostgreSQL server out of each other's way.
    url, drop = scratch_database_url(tmp_path, f"demo_repeat_{uuid.uuid4().hex[:8]}")
    other = Database.from_url(url)
    try:
        runner.upgrade(url)
        with other.transaction() as session:
            load_demo(session)
        with other.transaction() as session:
            there = providers(session)
    finally:
        other.engine.dispose()
        drop()
    assert there == here
    assert len(here) == report.counts["providers"]


def test_every_listed_login_works_through_the_api(api: Api) -> None:
    with api.db.transaction() as session:
        report = load_demo(session)
    roles = [login.role for login in report.logins]
    assert roles.count("admin") == 1
    assert roles.count("curator") == 2
    assert roles.count("provider") >= 6
    assert roles.count("sme") >= 8
    for login in report.logins:
        assert api.login(login.email, DEMO_PASSWORD)
    with api.db.transaction() as session:
        curators = session.scalars(select(User).where(User.role == "curator")).all()
        assert sorted(c.jurisdiction or "" for c in curators) == ["320400", "441900"]
