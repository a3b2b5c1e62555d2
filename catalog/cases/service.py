"""Case study use cases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, selectinload

from catalog import publishing, visibility
from catalog.access import can_read_unpublished, ensure_owner
from catalog.cases.models import Case, CaseSolution
from catalog.cases.schemas import CaseIn, CaseOut, CasePatch
from catalog.providers import service as providers
from catalog.providers.models import Provider
from catalog.solutions.models import Solution
from core.concurrency import check_version
from core.database import utcnow
from core.deps import Principal
from core.errors import Conflict, NotFound, field_error
from core.outbox import emit
from core.pagination import PageParams, order_by_clause, paginate

CASE_SORTS = {
    "case_date": Case.case_date,
    "updated_at": Case.updated_at,
    "created_at": Case.created_at,
    "title": Case.title,
}


def changed(session: Session, case_id: uuid.UUID) -> None:
    emit(session, "catalog.case.changed", case_id=str(case_id))


def to_out(case: Case) -> CaseOut:
    return CaseOut.model_validate(
        {
            **{c: getattr(case, c) for c in CaseOut.model_fields if hasattr(Case, c)},
            # Links have no order of their own; sorting keeps every read of a case identical.
            "solution_ids": sorted(link.solution_id for link in case.solution_links),
        }
    )


def missing_for_publication(case: Case) -> list[str]:
    missing = [name for name in ("problem", "solution_text") if not getattr(case, name).strip()]
    if not case.outcomes:
        missing.append("outcomes")
    if case.case_date is None:
        missing.append("case_date")
    return missing


def _check_solutions(
    session: Session, *, provider_id: uuid.UUID, solution_ids: list[uuid.UUID]
) -> None:
    if not solution_ids:
        return
    owned = set(
        session.scalars(
            select(Solution.id).where(
                Solution.id.in_(solution_ids), Solution.provider_id == provider_id
            )
        )
    )
    for i, sid in enumerate(solution_ids):
        if sid not in owned:
            raise field_error(f"body.solution_ids.{i}", f"{sid} is not one of your solutions")


def _apply_fields(
    session: Session, case: Case, values: dict[str, Any], *, provider_id: uuid.UUID
) -> None:
    solution_ids = values.pop("solution_ids", None)
    if solution_ids is not None:
        _check_solutions(session, provider_id=provider_id, solution_ids=solution_ids)
        case.solution_links = [CaseSolution(solution_id=sid) for sid in dict.fromkeys(solution_ids)]
    for key, value in values.items():
        setattr(case, key, value)
    case.updated_at = utcnow()


def create_case(session: Session, *, principal: Principal, data: CaseIn) -> Case:
    provider = providers.own_provider(session, principal=principal)
    case = Case(provider_id=provider.id, status="draft", solution_links=[])
    _apply_fields(session, case, data.model_dump(), provider_id=provider.id)
    session.add(case)
    session.flush()
    changed(session, case.id)
    return case


def _load(session: Session, case_id: uuid.UUID) -> tuple[Case, Provider]:
    row = session.execute(
        select(Case, Provider)
        .join(Provider, Provider.id == Case.provider_id)
        .where(Case.id == case_id)
        .options(selectinload(Case.solution_links))
    ).one_or_none()
    if row is None:
        raise NotFound("No such case", code="case_not_found")
    return row[0], row[1]


def get_visible(session: Session, *, principal: Principal | None, case_id: uuid.UUID) -> Case:
    case, provider = _load(session, case_id)
    readable = can_read_unpublished(principal, provider.org_id) or (
        case.status == "published" and visibility.provider_is_public(session, provider.id)
    )
    if not readable:
        # Drafts of others, and cases of unvetted providers, do not exist for the caller.
        raise NotFound("No such case", code="case_not_found")
    return case


def _owned(session: Session, *, principal: Principal, case_id: uuid.UUID) -> Case:
    case = get_visible(session, principal=principal, case_id=case_id)
    provider = providers.get_provider(session, case.provider_id)
    ensure_owner(principal, provider.org_id, "case")
    return case


def update_case(
    session: Session,
    *,
    principal: Principal,
    case_id: uuid.UUID,
    data: CasePatch,
    if_match: str | None,
) -> Case:
    case = _owned(session, principal=principal, case_id=case_id)
    check_version(if_match, case.version)
    _apply_fields(session, case, data.model_dump(exclude_unset=True), provider_id=case.provider_id)
    if case.status == "published":
        publishing.require_complete(what="case", missing=missing_for_publication(case))
    session.flush()
    changed(session, case.id)
    return case


def change_status(
    session: Session,
    *,
    principal: Principal,
    item_id: uuid.UUID,
    action: publishing.Action,
    if_match: str | None,
) -> Case:
    case = _owned(session, principal=principal, case_id=item_id)
    if if_match is not None:
        check_version(if_match, case.version)
    publishing.apply(case, action, what="case", missing=missing_for_publication(case))
    session.flush()
    changed(session, case.id)
    return case


def delete_case(session: Session, *, principal: Principal, case_id: uuid.UUID) -> None:
    case = _owned(session, principal=principal, case_id=case_id)
    if case.status != "draft":
        raise Conflict(
            "Only drafts can be deleted; archive a published case", code="case_not_draft"
        )
    session.delete(case)
    session.flush()
    changed(session, case_id)


@dataclass(frozen=True)
class CaseFilters:
    provider_id: uuid.UUID | None = None
    industry: str | None = None
    solution_id: uuid.UUID | None = None
    mine: bool = False


def list_cases(
    session: Session, *, principal: Principal | None, filters: CaseFilters, params: PageParams
) -> tuple[list[Case], int]:
    stmt = select(Case).options(selectinload(Case.solution_links))
    if filters.mine:
        if principal is None or principal.role != "provider":
            raise field_error("query.mine", "only provider accounts have cases of their own")
        stmt = stmt.where(
            Case.provider_id == providers.provider_id_for_org(session, org_id=principal.org_id)
        )
    else:
        # The public list follows the one rule: published cases of public providers.
        stmt = stmt.where(
            Case.status == "published", visibility.is_public_provider(Case.provider_id)
        )
    if filters.provider_id:
        stmt = stmt.where(Case.provider_id == filters.provider_id)
    if filters.industry:
        # Same both-ways prefix rule as solutions: "34" finds 3411 cases and "3411" finds 34.
        code = filters.industry
        ancestors = [code[:n] for n in range(2, len(code) + 1)]
        stmt = stmt.where(
            or_(Case.client_industry.in_(ancestors), Case.client_industry.startswith(code))
        )
    if filters.solution_id:
        stmt = stmt.where(
            exists().where(
                CaseSolution.case_id == Case.id, CaseSolution.solution_id == filters.solution_id
            )
        )
    order = order_by_clause(params.sort, CASE_SORTS, default="-case_date", tiebreaker=Case.id)
    return paginate(session, stmt, params, order)
