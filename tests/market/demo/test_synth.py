"""Synthetic benchmark catalogues: valid, unique, appendable, deterministic and publicly listed.

``synthesise`` commits real transactions, so every test here uses its own scratch database
instead of the shared, rolled-back one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from catalog.cases.models import Case
from catalog.providers.models import Provider
from catalog.solutions.models import Solution, SolutionFacet, SolutionPrice, SolutionScene
from catalog.taxonomy import (
    is_valid_credit_code,
    organisation_code_warning,
    validate_codes,
    vocabulary,
)
from core.database import Database
from core.settings import Settings
from market.accounts.models import Organisation
from market.app import create_app
from market.demo import content
from market.demo.loader import load_demo
from market.demo.synth import (
    decode_counter,
    encode_counter,
    synthesise,
    synthetic_credit_code,
)
from migrations import runner
from tests.support import list_every_provider, scratch_database_url

ScratchFactory = Callable[[str], AbstractContextManager[tuple[str, Database]]]


@pytest.fixture
def scratch(tmp_path: Path) -> ScratchFactory:
    """Opens a migrated scratch database by name and drops it afterwards."""

    @contextmanager
    def open_scratch(name: str) -> Iterator[tuple[str, Database]]:
        # A per-run suffix: on a shared PostgreSQL server a fixed name would let two
        # concurrent runs drop each other's database mid-test.
        url, drop = scratch_database_url(tmp_path, f"{name}_{uuid.uuid4().hex[:8]}")
        db = Database.from_url(url)
        try:
            runner.upgrade(url)
            yield url, db
        finally:
            db.engine.dispose()
            drop()

    return open_scratch


def _codes(db: Database) -> list[str]:
    with db.transaction() as session:
        return [c for c in session.scalars(select(Organisation.credit_code)) if c is not None]


def test_counter_encoding_round_trips_in_sort_order() -> None:
    numbers = [0, 1, 30, 31, 961, 123_456, 31**6 - 1]
    encoded = [encode_counter(n) for n in numbers]
    assert [decode_counter(e) for e in encoded] == numbers
    assert encoded == sorted(encoded)  # MAX() over the text finds the largest counter
    assert all(len(e) == 6 for e in encoded)
    with pytest.raises(ValueError, match="out of range"):
        encode_counter(31**6)
    code = synthetic_credit_code(123_456, "441900")
    assert is_valid_credit_code(code)
    assert organisation_code_warning(code) is None
    assert code[8:10] == "YH"


def test_templates_cover_every_capability() -> None:
    assert set(content.CAPABILITY_TEXTS) == vocabulary("capabilities").ids()
    assert set(content.PROTOCOL_TEXT) == vocabulary("protocols").ids()
    assert set(content.PRICE_UNITS) == vocabulary("pricing_models").ids()


def test_synthesise_appends_valid_published_providers(scratch: ScratchFactory) -> None:
    with scratch("synth_append") as (_, db):
        first = synthesise(db, providers=40, seed=3)
        assert first.providers == 40
        assert first.seconds > 0
        with db.transaction() as session:
            assert session.scalar(select(func.count()).select_from(Provider)) == 40
            assert session.scalar(select(func.count()).select_from(Solution)) == first.solutions
            statuses = set(session.scalars(select(Solution.status)))
            assert statuses == {"published"}
            assert set(session.scalars(select(Case.status))) <= {"published"}
            names = list(session.scalars(select(Provider.legal_name)))
            assert all(content.SYNTH_WORD in name for name in names)
            for facet, vocab in (
                ("capability", "capabilities"),
                ("industry", "industries"),
                ("size", "sme_sizes"),
                ("protocol", "protocols"),
                ("deployment", "deployments"),
            ):
                stmt = select(SolutionFacet.code).where(SolutionFacet.facet == facet)
                assert validate_codes(vocab, session.scalars(stmt)) == []
            assert validate_codes("scenes", session.scalars(select(SolutionScene.scene))) == []
            models = session.scalars(select(SolutionPrice.model))
            assert validate_codes("pricing_models", models) == []
        codes = _codes(db)
        assert len(codes) == len(set(codes)) == 40
        assert all(is_valid_credit_code(code) for code in codes)

        # The same seed again appends new rows: the stream is keyed on the starting counter.
        second = synthesise(db, providers=40, seed=3)
        codes = _codes(db)
        assert len(codes) == len(set(codes)) == 80
        with db.transaction() as session:
            total = session.scalar(select(func.count()).select_from(Solution))
            assert total == first.solutions + second.solutions
            names = list(session.scalars(select(Provider.legal_name)))
            assert len(set(names)) == 80


def test_synthetic_data_never_collides_with_the_demo(scratch: ScratchFactory) -> None:
    with scratch("synth_with_demo") as (_, db):
        with db.transaction() as session:
            demo = load_demo(session)
        synthesise(db, providers=25, seed=1)
        codes = _codes(db)
        assert len(codes) == len(set(codes))
        with db.transaction() as session:
            again = load_demo(session)
        # The demo still counts only its own rows.
        assert again.counts == demo.counts


def test_a_seed_and_starting_state_fix_the_output(scratch: ScratchFactory) -> None:
    def run(name: str) -> list[tuple[object, str, str]]:
        with scratch(name) as (_, db):
            synthesise(db, providers=15, seed=11, solutions_per_provider=2.0)
            with db.transaction() as session:
                stmt = select(Provider.id, Provider.legal_name, Provider.credit_code)
                rows = session.execute(stmt)
                return sorted((row.id, row.legal_name, row.credit_code) for row in rows)

    assert run("synth_seed_a") == run("synth_seed_b")


def test_the_public_api_lists_synthetic_solutions(scratch: ScratchFactory) -> None:
    with scratch("synth_api") as (url, db):
        result = synthesise(db, providers=40, seed=5)
        # Only vetted (listed) providers are public; list them all as a curator would.
        assert list_every_provider(db) == 40
        app_db = Database.from_url(url)
        app = create_app(settings=Settings(env="test", database_url=url), db=app_db)
        try:
            with TestClient(app) as client:
                solutions = client.get("/api/v1/solutions", params={"size": 100})
                assert solutions.status_code == 200, solutions.text
                assert solutions.json()["total"] == result.solutions
                providers = client.get("/api/v1/providers", params={"size": 100})
                assert providers.status_code == 200, providers.text
                assert providers.json()["total"] == 40
                item = solutions.json()["items"][0]
                assert item["capabilities"]
                assert item["pricing"]
                detail = client.get(f"/api/v1/solutions/{item['id']}")
                assert detail.status_code == 200
                narrowed = client.get(
                    "/api/v1/solutions",
                    params={"capability": item["capabilities"][0], "size": 100},
                )
                assert 1 <= narrowed.json()["total"] <= result.solutions
        finally:
            app_db.engine.dispose()
