"""Solution (listing) use cases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import Session, selectinload

from catalog import publishing, visibility
from catalog.access import can_read_unpublished, ensure_owner
from catalog.providers import service as providers
from catalog.providers.models import Provider
from catalog.solutions.models import Solution, SolutionFacet, SolutionPrice, SolutionScene
from catalog.solutions.schemas import SolutionIn, SolutionOut, SolutionPatch
from core.concurrency import check_version
from core.database import utcnow
from core.deps import Principal
from core.errors import Conflict, NotFound, field_error
from core.outbox import emit
from core.pagination import PageParams, order_by_clause, paginate

SOLUTION_SORTS = {
    "updated_at": Solution.updated_at,
    "created_at": Solution.created_at,
    "published_at": Solution.published_at,
    "title": Solution.title,
}

# API field name -> facet stored in solution_facets.
FACET_FIELDS = {
    "capabilities": "capability",
    "industries": "industry",
    "target_sizes": "size",
    "protocols": "protocol",
    "deployments": "deployment",
}

_LOAD = (
    selectinload(Solution.facets),
    selectinload(Solution.scenes),
    selectinload(Solution.prices),
)


def changed(session: Session, solution_id: uuid.UUID) -> None:
    emit(session, "catalog.solution.changed", solution_id=str(solution_id))


def to_out(solution: Solution) -> SolutionOut:
    fields: dict[str, Any] = {name: solution.codes(facet) for name, facet in FACET_FIELDS.items()}
    return SolutionOut(
        id=solution.id,
        provider_id=solution.provider_id,
        title=solution.title,
        summary=solution.summary,
        description=solution.description,
        # Sorted as the relationship loads them, so a fresh create/patch reads back the same.
        scenes=[
            {"scene": s.scene, "level": s.level}
            for s in sorted(solution.scenes, key=lambda s: s.scene)
        ],
        pricing=[
            {"model": p.model, "min_fen": p.min_fen, "max_fen": p.max_fen, "unit": p.unit}
            for p in solution.prices
        ],
        typical_delivery_days=solution.typical_delivery_days,
        status=solution.status,
        version=solution.version,
        created_at=solution.created_at,
        updated_at=solution.updated_at,
        published_at=solution.published_at,
        **fields,
    )


def missing_for_publication(solution: Solution) -> list[str]:
    missing = [name for name in ("summary", "description") if not getattr(solution, name).strip()]
    for name in ("capabilities", "target_sizes", "deployments"):
        if not solution.codes(FACET_FIELDS[name]):
            missing.append(name)
    if not solution.prices:
        missing.append("pricing")
    return missing


def _apply_fields(solution: Solution, values: dict[str, Any]) -> None:
    for name in ("title", "summary", "description", "typical_delivery_days"):
        if name in values:
            setattr(solution, name, values[name])
    touched_facets = [f for f in FACET_FIELDS if f in values]
    if touched_facets:
        facets = {FACET_FIELDS[f] for f in touched_facets}
        kept = [f for f in solution.facets if f.facet not in facets]
        added = [
            SolutionFacet(facet=FACET_FIELDS[name], code=code, position=i)
            for name in touched_facets
            for i, code in enumerate(values[name])
        ]
        solution.facets = kept + added
    if "scenes" in values:
        solution.scenes = [
            SolutionScene(scene=s["scene"], level=s["level"]) for s in values["scenes"]
        ]
    if "pricing" in values:
        solution.prices = [
            SolutionPrice(position=i, **price) for i, price in enumerate(values["pricing"])
        ]


def create_solution(session: Session, *, principal: Principal, data: SolutionIn) -> Solution:
    provider = providers.own_provider(session, principal=principal)
    solution = Solution(provider_id=provider.id, status="draft", facets=[], scenes=[], prices=[])
    _apply_fields(solution, data.model_dump())
    session.add(solution)
    session.flush()
    changed(session, solution.id)
    return solution


def _load(session: Session, solution_id: uuid.UUID) -> tuple[Solution, Provider]:
    row = session.execute(
        select(Solution, Provider)
        .join(Provider, Provider.id == Solution.provider_id)
        .where(Solution.id == solution_id)
        .options(*_LOAD)
    ).one_or_none()
    if row is None:
        raise NotFound("No such solution", code="solution_not_found")
    return row[0], row[1]


def get_visible(
    session: Session, *, principal: Principal | None, solution_id: uuid.UUID
) -> Solution:
    solution, provider = _load(session, solution_id)
    if not _readable(session, principal, solution, provider):
        # Drafts of others, and solutions of unvetted providers, do not exist as far as the
        # caller can tell.
        raise NotFound("No such solution", code="solution_not_found")
    return solution


def _readable(
    session: Session, principal: Principal | None, solution: Solution, provider: Provider
) -> bool:
    if can_read_unpublished(principal, provider.org_id):
        return True
    return solution.status == "published" and visibility.provider_is_public(session, provider.id)


def _owned(session: Session, *, principal: Principal, solution_id: uuid.UUID) -> Solution:
    solution, provider = _load(session, solution_id)
    if not _readable(session, principal, solution, provider):
        raise NotFound("No such solution", code="solution_not_found")
    ensure_owner(principal, provider.org_id, "solution")
    return solution


def update_solution(
    session: Session,
    *,
    principal: Principal,
    solution_id: uuid.UUID,
    data: SolutionPatch,
    if_match: str | None,
) -> Solution:
    solution = _owned(session, principal=principal, solution_id=solution_id)
    check_version(if_match, solution.version)
    _apply_fields(solution, data.model_dump(exclude_unset=True))
    if solution.status == "published":
        publishing.require_complete(what="solution", missing=missing_for_publication(solution))
    # Child rows alone would not touch the solutions row; this bumps updated_at and the version.
    solution.updated_at = utcnow()
    session.flush()
    changed(session, solution.id)
    return solution


def change_status(
    session: Session,
    *,
    principal: Principal,
    item_id: uuid.UUID,
    action: publishing.Action,
    if_match: str | None,
) -> Solution:
    solution = _owned(session, principal=principal, solution_id=item_id)
    if if_match is not None:
        check_version(if_match, solution.version)
    publishing.apply(solution, action, what="solution", missing=missing_for_publication(solution))
    session.flush()
    changed(session, solution.id)
    return solution


def delete_solution(session: Session, *, principal: Principal, solution_id: uuid.UUID) -> None:
    solution = _owned(session, principal=principal, solution_id=solution_id)
    if solution.status != "draft":
        raise Conflict(
            "Only drafts can be deleted; archive a solution that has been public",
            code="solution_not_draft",
        )
    session.delete(solution)
    session.flush()
    changed(session, solution_id)


@dataclass(frozen=True)
class SolutionFilters:
    provider_id: uuid.UUID | None = None
    capability: str | None = None
    industry: str | None = None
    protocol: str | None = None
    size: str | None = None
    deployment: str | None = None
    pricing_model: str | None = None
    scene: str | None = None
    status: str | None = None
    mine: bool = False


def _has_facet(facet: str, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(
        SolutionFacet.solution_id == Solution.id, SolutionFacet.facet == facet, condition
    )


def _industry_condition(code: str) -> ColumnElement[bool]:
    # A solution for division 34 serves 3411, and a search for 34 finds one for 3411.
    ancestors = [code[:n] for n in range(2, len(code) + 1)]
    return or_(SolutionFacet.code.in_(ancestors), SolutionFacet.code.startswith(code))


def _protocol_condition(code: str) -> ColumnElement[bool]:
    # A family (proto.s7) covers its children (proto.s7.isotcp) and a family query finds both.
    parts = code.split(".")
    ancestors = [".".join(parts[:n]) for n in range(2, len(parts) + 1)]
    return or_(SolutionFacet.code.in_(ancestors), SolutionFacet.code.startswith(code + "."))


def _filtered(
    session: Session, *, principal: Principal | None, filters: SolutionFilters
) -> Select[Any]:
    stmt = select(Solution)
    if filters.mine:
        if principal is None or principal.role != "provider":
            raise field_error("query.mine", "only provider accounts have solutions of their own")
        own = providers.provider_id_for_org(session, org_id=principal.org_id)
        stmt = stmt.where(Solution.provider_id == own)
        if filters.status:
            stmt = stmt.where(Solution.status == filters.status)
    else:
        if filters.status not in (None, "published"):
            raise field_error("query.status", "other statuses are listed with mine=true only")
        # The public list shows what the public may find: published solutions of providers
        # listed in a pool and not suspended there (the one rule, in catalog.visibility).
        stmt = stmt.where(visibility.is_public_solution())
    if filters.provider_id:
        stmt = stmt.where(Solution.provider_id == filters.provider_id)
    simple = {
        "capability": filters.capability,
        "size": filters.size,
        "deployment": filters.deployment,
    }
    for facet, value in simple.items():
        if value:
            stmt = stmt.where(_has_facet(facet, SolutionFacet.code == value))
    if filters.industry:
        stmt = stmt.where(_has_facet("industry", _industry_condition(filters.industry)))
    if filters.protocol:
        stmt = stmt.where(_has_facet("protocol", _protocol_condition(filters.protocol)))
    if filters.pricing_model:
        stmt = stmt.where(
            exists().where(
                SolutionPrice.solution_id == Solution.id,
                SolutionPrice.model == filters.pricing_model,
            )
        )
    if filters.scene:
        stmt = stmt.where(
            exists().where(
                and_(SolutionScene.solution_id == Solution.id, SolutionScene.scene == filters.scene)
            )
        )
    return stmt


def list_solutions(
    session: Session,
    *,
    principal: Principal | None,
    filters: SolutionFilters,
    params: PageParams,
) -> tuple[list[Solution], int]:
    stmt = _filtered(session, principal=principal, filters=filters).options(*_LOAD)
    order = order_by_clause(
        params.sort, SOLUTION_SORTS, default="-updated_at", tiebreaker=Solution.id
    )
    return paginate(session, stmt, params, order)
