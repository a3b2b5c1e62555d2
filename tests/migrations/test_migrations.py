"""The Alembic history builds the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select

from core.database import Database, make_engine
from migrations import runner
from migrations.metadata import include_name, target_metadata
from tests.support import scratch_database_url


def _revisions_newest_first() -> list[str]:
    script = ScriptDirectory.from_config(runner.alembic_config("sqlite://"))
    return [rev.revision for rev in script.walk_revisions()]


def _tables(engine: Engine) -> set[str]:
    # The search index's full-text tables are per engine and outside the metadata.
    names = set(inspect(engine).get_table_names()) - {"alembic_version"}
    return {name for name in names if include_name(name, "table", {})}


def test_models_and_migrations_agree(engine: Engine) -> None:
    """No autogenerate drift: a model change without a revision fails here."""
    # The same hook as env.py: everything is compared except the search backend's per-engine
    # full-text tables, which metadata cannot describe.
    opts = {"compare_type": True, "include_name": include_name}
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts=opts), target_metadata)
    assert diff == []


def test_upgrade_and_downgrade_step_by_step_on_empty_database(tmp_path: Path) -> None:
    url, drop = scratch_database_url(tmp_path, "updown")
    engine = make_engine(url)
    try:
        runner.upgrade(url)
        assert _tables(engine) == set(target_metadata.tables)
        for _ in _revisions_newest_first():
            runner.downgrade(url, "-1")
        assert _tables(engine) == set()
        runner.upgrade(url)
        assert _tables(engine) == set(target_metadata.tables)
        with engine.connect() as connection:
            assert runner.current_revision(connection) == runner.head_revision()
    finally:
        engine.dispose()
        drop()


def test_migrations_walk_down_and_up_with_demo_data(tmp_path: Path) -> None:
    from catalog.providers.models import Provider
    from market.demo.loader import load_demo

    url, drop = scratch_database_url(tmp_path, "demo_updown")
    runner.upgrade(url)
    db = Database.from_url(url)
    try:
        with db.transaction() as session:
            load_demo(session)
        with db.transaction() as session:
            assert (session.scalar(select(func.count()).select_from(Provider)) or 0) >= 150
        revisions = _revisions_newest_first()
        # Step down one revision at a time with data present, then all the way back up.
        for _ in revisions:
            runner.downgrade(url, "-1")
        runner.upgrade(url)
        assert _tables(db.engine) == set(target_metadata.tables)
    finally:
        db.engine.dispose()
        drop()
