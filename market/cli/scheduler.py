"""Time-driven duties: what has to happen because a date passed, not because someone asked.

Each :class:`Job` calls the same service function an operator or an endpoint would, in its own
transaction, and is idempotent: it acts only on rows that are due *now* (a notice whose 公示
ended, a listing whose validity ended ...), so a second run finds nothing left to do.

``market worker`` runs the jobs at their intervals between outbox drains; ``market jobs run``
runs them once, for cron. Two workers may run at once: on PostgreSQL each job first takes a
transaction-scoped advisory lock named after it and a worker that does not get it skips the
job (the other is running it), and the row-level steps use ``FOR UPDATE SKIP LOCKED`` as well.
SQLite lets one writer at a time in, so there a second run waits and then finds nothing due.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.pools import lifecycle, rereview
from core import outbox
from core.database import Database, utcnow
from market import idempotency
from market.rfqs import service as rfqs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    # Does what is due at the given moment; returns how many items it acted on.
    run: Callable[[Session, datetime], int]
    description: str


JOBS: tuple[Job, ...] = (
    Job(
        "close_notices",
        timedelta(minutes=5),
        lambda session, now: len(lifecycle.close_notices(session, now=now)),
        "list the providers whose 公示 ended without an open objection",
    ),
    Job(
        "expire_due",
        timedelta(minutes=15),
        lambda session, now: len(rereview.expire_due(session, now=now).expired),
        "expire listings whose validity ended and open their re-review",
    ),
    Job(
        "remind_due",
        timedelta(hours=1),
        lambda session, now: rereview.remind_due(session, now=now),
        "announce coming and overdue rectification, 公示 and validity deadlines, once each",
    ),
    Job(
        "expire_rfqs",
        timedelta(minutes=5),
        lambda session, now: rfqs.expire_due(session, now=now),
        "close quote requests whose deadline passed",
    ),
    Job(
        "purge_idempotency_keys",
        timedelta(hours=6),
        lambda session, now: idempotency.purge(session, now=now),
        "forget idempotency keys older than their retention",
    ),
    Job(
        "prune_outbox",
        timedelta(hours=6),
        lambda session, now: outbox.prune(session, now=now),
        f"delete outbox events delivered more than {outbox.KEEP_DELIVERED.days} days ago",
    ),
)
JOB_NAMES: tuple[str, ...] = tuple(job.name for job in JOBS)


def job_named(name: str) -> Job:
    for job in JOBS:
        if job.name == name:
            return job
    raise KeyError(f"no job named {name!r}; the jobs are {', '.join(JOB_NAMES)}")


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key per job name."""
    digest = hashlib.sha256(f"iimarket.job.{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _claim(session: Session, job: Job) -> bool:
    """Whether this process may run the job now (always on SQLite, see the module docstring)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(_lock_key(job.name)))))


@dataclass(frozen=True)
class JobResult:
    name: str
    done: int
    # False when another worker held the job's lock, so this run left it alone.
    ran: bool = True
    error: str | None = None


def run_job(db: Database, job: Job, *, now: datetime | None = None) -> JobResult:
    """Run one job in its own transaction; a failure is reported, not raised, so that one
    broken job does not stop the others (the next interval tries again)."""
    try:
        with db.transaction() as session:
            if not _claim(session, job):
                return JobResult(job.name, 0, ran=False)
            done = job.run(session, now or utcnow())
    except Exception as exc:
        log.exception("job %s failed", job.name)
        return JobResult(job.name, 0, error=f"{type(exc).__name__}: {exc}"[:500])
    return JobResult(job.name, done)


def run_jobs(
    db: Database, jobs: Iterable[Job] = JOBS, *, now: datetime | None = None
) -> list[JobResult]:
    """Run the given jobs once, in order (notices close before listings expire)."""
    return [run_job(db, job, now=now) for job in jobs]


@dataclass
class Schedule:
    """When each job is next due, for the worker loop; every job is due at start."""

    jobs: tuple[Job, ...] = JOBS
    next_due: dict[str, datetime] = field(default_factory=dict)

    def due(self, now: datetime) -> list[Job]:
        return [job for job in self.jobs if self.next_due.get(job.name, now) <= now]

    def run_due(self, db: Database, *, now: datetime | None = None) -> list[JobResult]:
        now = now or utcnow()
        results = []
        for job in self.due(now):
            results.append(run_job(db, job, now=now))
            self.next_due[job.name] = now + job.every
        return results
