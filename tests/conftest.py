"""Test database and client fixtures.

The schema is built by running the Alembic migrations once per worker; every test then runs
inside a transaction that is rolled back, so tests never see each other's rows. Set
MARKET_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run on PostgreSQL.
"""

from __future__ import annotations

import os

os.environ["MARKET_ENV"] = "test"

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import sessionmaker

from core.database import Database, make_engine
from core.settings import Settings
from market.app import create_app
from migrations import runner
from tests.support import Api, scratch_database_url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[str]:
    url, drop = scratch_database_url(tmp_path_factory.mktemp("db"), f"main_{worker_id}")
    runner.upgrade(url)
    yield url
    drop()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def db(connection: Connection) -> Database:
    """A Database whose sessions live inside the test's transaction (commits become savepoints)."""
    sessions = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return Database(engine=connection.engine, sessions=sessions)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(env="test", database_url=database_url)


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    app = create_app(settings=settings, db=db)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient, db: Database) -> Api:
    return Api(client=client, db=db)


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scratch")
