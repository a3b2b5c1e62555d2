"""Writing a validated pool list: organisations, profiles, draft solutions, listings, audit
records and outbox events, each table in one ``insert()`` executemany per chunk."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from catalog.pools import service as pools
from catalog.pools.importing_parse import (
    Progress,
)
from catalog.pools.importing_validate import (
    ORGANISATIONS,
    ImportReport,
    Row,
    chunks,
)
from catalog.pools.models import (
    Pool,
    PoolApplication,
    PoolApplicationSolution,
    add_months,
)
from catalog.providers.models import Provider
from catalog.solutions.models import Solution, SolutionFacet
from core.audit import SYSTEM_ROLE, AuditRecord
from core.database import new_id, utcnow
from core.deps import Principal
from core.outbox import OutboxEvent

# --- writing -----------------------------------------------------------------------------------


def write_list(
    session: Session,
    *,
    actor: Principal | None,
    pool: Pool,
    filename: str,
    report: ImportReport,
    progress: Progress | None,
) -> None:
    now = utcnow()
    base = {"created_at": now}
    orgs: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    solutions: list[dict[str, Any]] = []
    facets: list[dict[str, Any]] = []
    apps: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for row in report.valid:
        provider_id = row.provider_id
        if provider_id is None:
            org_id, provider_id = new_id(), new_id()
            orgs.append(
                {
                    **base,
                    "id": org_id,
                    "kind": "provider",
                    "name": row.name,
                    "credit_code": row.credit_code,
                    "region_code": row.region,
                    "jurisdiction": None,
                    "is_active": True,
                }
            )
            profiles.append(_profile(row, org_id, provider_id, now))
        else:
            org_id = None  # filled in below for the audit's subject
        application_id = new_id()
        listed_since = row.listed_since or now
        valid_until = row.valid_until or add_months(listed_since, pool.evaluation_period_months)
        if row.capabilities:
            solution_id = new_id()
            solutions.append(_draft_solution(row, provider_id, solution_id, now))
            facets.extend(
                {"solution_id": solution_id, "facet": "capability", "code": cap, "position": i}
                for i, cap in enumerate(row.capabilities)
            )
            links.append({"application_id": application_id, "solution_id": solution_id})
        note = f"导入自 {filename} 第 {row.number} 行"
        apps.append(
            {
                "id": application_id,
                "pool_id": pool.id,
                "provider_id": provider_id,
                "category_id": row.category_id,
                "note": note,
                "declared_at": now,
                "state": "listed",
                "reasons": [],
                "scorecard": None,
                "total_score": None,
                "submitted_at": now,
                "decided_at": now,
                "notice_ends_at": None,
                "listed_since": listed_since,
                "valid_until": valid_until,
                "star_rating": row.star_rating,
                "rated_at": listed_since if row.star_rating else None,
                "change_under_review": False,
                "source": "import",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        audits.append(
            {
                "id": new_id(),
                "at": now,
                "actor_user_id": actor.user_id if actor else None,
                "actor_role": actor.role if actor else SYSTEM_ROLE,
                "action": pools.APPLICATION_AUDIT_PREFIX + "imported",
                "target_type": pools.APPLICATION_TARGET,
                "target_id": str(application_id),
                "scope_id": pool.id,
                "subject_org_id": org_id,
                "reason": note,
                "before": None,
                "after": {
                    "state": "listed",
                    "category_id": row.category_id,
                    "credit_code": row.credit_code,
                    "star_rating": row.star_rating,
                    "valid_until": valid_until.isoformat(),
                },
            }
        )
        payload = {
            "pool_id": str(pool.id),
            "provider_id": str(provider_id),
            "application_id": str(application_id),
            "state": "listed",
        }
        events.append(
            {
                "topic": "pool.membership.changed",
                "payload": payload,
                "created_at": now,
                "available_at": now,
                "attempts": 0,
            }
        )
    _fill_subjects(session, report, audits)
    steps: list[tuple[Any, list[dict[str, Any]]]] = [
        (ORGANISATIONS, orgs),
        (Provider.__table__, profiles),
        (Solution.__table__, solutions),
        (SolutionFacet.__table__, facets),
        (PoolApplication.__table__, apps),
        (PoolApplicationSolution.__table__, links),
        (AuditRecord.__table__, audits),
        (OutboxEvent.__table__, events),
    ]
    total = sum(len(rows) for _, rows in steps)
    done = 0
    for target, rows in steps:
        for part in chunks(rows):
            session.execute(insert(target), part)
            done += len(part)
            if progress is not None:
                progress("write", done, total)
    if events:
        # As emit() does for single rows: the app delivers after commit. Every listing is its
        # own pool.membership.changed event; the relay hands consecutive ones to the search
        # index as a batch, which refreshes a few hundred providers per round of queries.
        session.info["outbox_pending"] = True


def _fill_subjects(session: Session, report: ImportReport, audits: list[dict[str, Any]]) -> None:
    """Audit rows of firms already on the platform name their existing organisation."""
    existing = [row.provider_id for row in report.valid if row.provider_id is not None]
    orgs: dict[uuid.UUID, uuid.UUID] = {}
    for part in chunks(existing):
        stmt = select(Provider.id, Provider.org_id).where(Provider.id.in_(part))
        orgs.update((provider_id, org_id) for provider_id, org_id in session.execute(stmt))
    for row, record in zip(report.valid, audits, strict=True):
        if record["subject_org_id"] is None and row.provider_id is not None:
            record["subject_org_id"] = orgs[row.provider_id]


def _profile(row: Row, org_id: uuid.UUID, provider_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    return {
        "id": provider_id,
        "org_id": org_id,
        "legal_name": row.name,
        "credit_code": row.credit_code,
        "provider_type": row.provider_type,
        "registered_region": row.region,
        "service_regions": [row.region],
        "on_site_regions": [],
        "size_sector": "software_it",
        "employees": None,
        "revenue_wan": None,
        "assets_wan": None,
        "size": None,
        "founded_year": None,
        "policy_tags": [],
        "patents_count": 0,
        "capacity": 5,
        "contact_name": row.contact_name,
        "contact_phone": row.contact_phone,
        "contact_email": row.contact_email,
        "website": row.website,
        "description_zh": row.description,
        "description_en": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _draft_solution(
    row: Row, provider_id: uuid.UUID, solution_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """The listed capabilities, kept as a draft the provider completes and publishes: a
    spreadsheet line is not a solution the public should see as one."""
    return {
        "id": solution_id,
        "provider_id": provider_id,
        "title": f"{row.name[:180]} 服务能力（导入）",
        "summary": "",
        "description": "",
        "typical_delivery_days": None,
        "status": "draft",
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "published_at": None,
    }
