"""The audit trail only grows: records can be added and read, never changed or removed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from core import audit
from core.database import Database, utcnow
from core.deps import Principal
from tests.support import Api


def _curator(api: Api) -> Principal:
    actor = api.curator()
    return Principal(
        user_id=actor.user_id,
        org_id=actor.org_id,
        org_kind="agency",
        role="curator",
        email=actor.email,
        name="审核员",
        is_org_admin=False,
        jurisdiction="320400",
        token_id=uuid.uuid4(),
        via="bearer",
    )


def test_records_are_written_and_filtered(api: Api) -> None:
    curator = _curator(api)
    pool_a, pool_b, provider_org = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with api.db.transaction() as session:
        audit.record(
            session,
            actor=curator,
            action="pool.application.returned",
            target_type="application",
            target_id=uuid.uuid4(),
            scope_id=pool_a,
            subject_org_id=provider_org,
            reason="营业执照不清晰",
            before={"state": "submitted"},
            after={"state": "returned"},
        )
        audit.record(
            session,
            actor=None,
            action="pool.notice.ended",
            target_type="application",
            target_id="x",
            scope_id=pool_b,
        )
    with api.db.transaction() as session:
        in_a = audit.query(
            session, filters=audit.AuditFilter(scope_ids=(pool_a,)), limit=10, offset=0
        )
        about = audit.query(
            session, filters=audit.AuditFilter(subject_org_id=provider_org), limit=10, offset=0
        )
        by_prefix = audit.query(
            session, filters=audit.AuditFilter(action="pool.notice"), limit=10, offset=0
        )
        future = audit.query(
            session, filters=audit.AuditFilter(since=utcnow() + timedelta(1)), limit=10, offset=0
        )
    assert [r.action for r in in_a] == ["pool.application.returned"]
    assert in_a[0].actor_role == "curator"
    assert in_a[0].before == {"state": "submitted"}
    assert [r.reason for r in about] == ["营业执照不清晰"]
    assert [r.actor_role for r in by_prefix] == ["system"]
    assert future == []


@pytest.mark.parametrize(
    "statement",
    [
        update(audit.AuditRecord).values(reason="rewritten"),
        delete(audit.AuditRecord),
        text("UPDATE audit_records SET reason = 'raw'"),
        text("DELETE FROM audit_records"),
    ],
    ids=["orm-update", "orm-delete", "sql-update", "sql-delete"],
)
def test_database_refuses_to_change_or_remove_records(db: Database, statement: object) -> None:
    with db.transaction() as session:
        audit.record(session, actor=None, action="test.event", target_type="t", target_id="1")
    session = db.sessions()
    try:
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(statement)  # type: ignore[call-overload]
        assert session.query(audit.AuditRecord).one().reason == ""
    finally:
        session.rollback()
        session.close()
