"""Pool use cases: running a pool, who may see which application, and every read.

The steps that move an application through its states live in ``catalog.pools.lifecycle``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import Boolean, Select, String, Uuid, column, func, select, table
from sqlalchemy.orm import Session, selectinload

from catalog import visibility
from catalog.pools.errors import CategoryInUse, NotPoolCurator
from catalog.pools.models import (
    ACTIVE_STATES,
    Pool,
    PoolApplication,
    PoolObjection,
    next_actions,
)
from catalog.pools.schemas import (
    ApplicationOut,
    AuditOut,
    AuditPage,
    BadgeOut,
    DecisionOut,
    MemberCategoryOut,
    MembersOut,
    NoticeOut,
    ObjectionOut,
    PoolIn,
    PoolOut,
    PoolPatch,
    PoolSummaryOut,
    ReviewOut,
)
from catalog.providers import service as providers
from catalog.providers.models import Provider
from core import audit
from core.concurrency import check_version
from core.deps import Principal
from core.errors import NotFound, field_error
from core.outbox import emit
from core.pagination import PageParams, order_by_clause, paginate

POOL_SORTS = {"name": Pool.name, "created_at": Pool.created_at, "updated_at": Pool.updated_at}

APPLICATION_AUDIT_PREFIX = "pool.application."
APPLICATION_TARGET = "pool_application"
# Audit actions the provider sees about its own application; reviewer assignments, scores and
# conflict declarations stay with the curators.
PROVIDER_FACING = frozenset(
    "submitted returned resubmitted accepted approved rejected objection_lodged "
    "objection_upheld objection_dismissed listed withdrawn imported "
    "warned rectification_ordered rectification_reported rectification_accepted "
    "rectification_rejected suspended suspension_lifted removed "
    "appeal_filed appeal_upheld appeal_dismissed suspension_revoked reinstated "
    "expired rereview_opened rereview_passed renewed rereview_failed "
    "change_reported change_reviewed".split()
)
# An application's own history is a few dozen steps at most; it is read whole.
HISTORY_LIMIT = 1000

# The accounts tables belong to the market package, which the catalog must not import (the
# dependency runs market → catalog). Pools only ask "is this an agency, and where?" and "is this
# user a curator of that agency?", so these read-only views name just those columns.
_organisations = table(
    "organisations",
    column("id", Uuid()),
    column("kind", String()),
    column("jurisdiction", String()),
)
_users = table(
    "users",
    column("id", Uuid()),
    column("org_id", Uuid()),
    column("role", String()),
    column("is_active", Boolean()),
)


# --- notifications -----------------------------------------------------------------------------


def notify(
    session: Session,
    topic: str,
    *,
    org_ids: Iterable[uuid.UUID] = (),
    user_ids: Iterable[uuid.UUID] = (),
    curators_of: uuid.UUID | None = None,
    **data: Any,
) -> None:
    """Announce ``notify.<topic>`` on the outbox for the in-app inbox (and later e-mail).

    The catalog cannot import the market package where the inbox lives, so it names the
    recipients (members of organisations, single users, or the curators of a pool) and the
    facts; the subscriber on the market side writes the rows and the wording.
    """
    recipients = {
        "org_ids": sorted({str(o) for o in org_ids}),
        "user_ids": sorted({str(u) for u in user_ids}),
        "curators_of_pool": str(curators_of) if curators_of else None,
    }
    payload = {k: (str(v) if isinstance(v, uuid.UUID | datetime) else v) for k, v in data.items()}
    emit(session, f"notify.{topic}", recipients=recipients, **payload)


def notify_provider(session: Session, loaded: Loaded, topic: str, **data: Any) -> None:
    """Tell the provider's people about a step in one of its applications or listings."""
    notify(session, topic, org_ids=[loaded.provider.org_id], **about(loaded), **data)


def notify_curators(session: Session, loaded: Loaded, topic: str, **data: Any) -> None:
    """Tell the curators of the application's pool."""
    notify(session, topic, curators_of=loaded.pool.id, **about(loaded), **data)


def about(loaded: Loaded) -> dict[str, Any]:
    """The facts every notification about an application carries, for wording and links."""
    return {
        "pool_id": str(loaded.pool.id),
        "pool_name": loaded.pool.name,
        "provider_id": str(loaded.provider.id),
        "provider_name": loaded.provider.legal_name,
        "application_id": str(loaded.app.id),
        "category_name": loaded.pool.category_name(loaded.app.category_id),
    }


# --- who may run a pool ------------------------------------------------------------------------


def is_pool_curator(principal: Principal | None, pool: Pool) -> bool:
    """Curators of the agency that runs the pool, and platform admins, manage it."""
    if principal is None:
        return False
    if principal.is_admin:
        return True
    return principal.role == "curator" and principal.org_id == pool.agency_org_id


def ensure_pool_curator(principal: Principal, pool: Pool) -> None:
    if not is_pool_curator(principal, pool):
        raise NotPoolCurator(
            "Only curators of the agency that runs this pool (or admins) can do this"
        )


def eligible_reviewers(
    session: Session, *, pool: Pool, user_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``user_ids`` may review for the pool: active curators of its agency, or admins."""
    users = _users.c
    rows = session.execute(
        select(users.id).where(
            users.id.in_(list(user_ids)),
            users.is_active.is_(True),
            ((users.role == "curator") & (users.org_id == pool.agency_org_id))
            | (users.role == "admin"),
        )
    )
    return {row[0] for row in rows}


def _agency_jurisdiction(session: Session, org_id: uuid.UUID) -> str | None:
    orgs = _organisations.c
    row = session.execute(
        select(orgs.kind, orgs.jurisdiction).where(orgs.id == org_id)
    ).one_or_none()
    if row is None or row[0] != "agency":
        return None
    jurisdiction: str | None = row[1]
    return jurisdiction


def within(area: str, jurisdiction: str) -> bool:
    """Whether region ``area`` lies in ``jurisdiction``: GB/T 2260 codes nest by prefix, so
    32xxxx lies in 320000 and 3204xx in 320400."""
    if area == jurisdiction:
        return True
    if jurisdiction.endswith("0000"):
        return area.startswith(jurisdiction[:2])
    if jurisdiction.endswith("00"):
        return area.startswith(jurisdiction[:4])
    return False


# --- pools -------------------------------------------------------------------------------------


def get_pool(session: Session, pool_id: uuid.UUID, *, for_update: bool = False) -> Pool:
    stmt = select(Pool).where(Pool.id == pool_id)
    if for_update:
        # Approvals lock their pool so two curators cannot both take the last quota place.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    pool = session.scalar(stmt)
    if pool is None:
        raise NotFound("No such pool", code="pool_not_found")
    return pool


def listed_counts(session: Session, pool_ids: list[uuid.UUID]) -> dict[tuple[uuid.UUID, str], int]:
    """Listed providers on show per (pool, category), for every pool in one query."""
    if not pool_ids:
        return {}
    rows = session.execute(
        select(PoolApplication.pool_id, PoolApplication.category_id, func.count())
        .where(PoolApplication.pool_id.in_(pool_ids), visibility.is_shown_listing())
        .group_by(PoolApplication.pool_id, PoolApplication.category_id)
    )
    return {(pool_id, category_id): int(n) for pool_id, category_id, n in rows}


S = TypeVar("S", bound=PoolSummaryOut)


def _counted(out: S, counts: dict[tuple[uuid.UUID, str], int]) -> S:
    categories = [
        c.model_copy(update={"listed_count": counts.get((out.id, c.id), 0)}) for c in out.categories
    ]
    listed = sum(c.listed_count for c in categories)
    return out.model_copy(update={"categories": categories, "listed_count": listed})


def pool_out(session: Session, pool: Pool) -> PoolOut:
    return _counted(PoolOut.model_validate(pool), listed_counts(session, [pool.id]))


def _record(
    session: Session,
    principal: Principal,
    pool: Pool,
    action: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session,
        actor=principal,
        action=f"pool.{action}",
        target_type="pool",
        target_id=pool.id,
        scope_id=pool.id,
        before=before,
        after=after,
    )


def _agency_for(principal: Principal, requested: uuid.UUID | None) -> uuid.UUID:
    if principal.is_admin:
        if requested is None:
            message = "admins must name the agency that runs the pool"
            raise field_error("body.agency_org_id", message, kind="missing")
        return requested
    if requested is not None and requested != principal.org_id:
        raise NotPoolCurator("Curators create pools for their own agency only")
    return principal.org_id


def _check_jurisdiction(agency_jurisdiction: str, area: str) -> None:
    if not within(area, agency_jurisdiction):
        raise field_error(
            "body.jurisdiction",
            f"must be the agency's jurisdiction {agency_jurisdiction} or a region within it",
        )


def create_pool(session: Session, *, principal: Principal, data: PoolIn) -> Pool:
    agency_id = _agency_for(principal, data.agency_org_id)
    agency_jurisdiction = _agency_jurisdiction(session, agency_id)
    if agency_jurisdiction is None:
        raise field_error("body.agency_org_id", "not an agency with a jurisdiction")
    jurisdiction = data.jurisdiction or agency_jurisdiction
    _check_jurisdiction(agency_jurisdiction, jurisdiction)
    values = data.model_dump(exclude={"agency_org_id", "jurisdiction"})
    pool = Pool(agency_org_id=agency_id, jurisdiction=jurisdiction, **values)
    session.add(pool)
    session.flush()
    _record(session, principal, pool, "created", after={"jurisdiction": jurisdiction, **values})
    return pool


def _categories_in_use(session: Session, pool: Pool, removed: set[str]) -> list[str]:
    if not removed:
        return []
    rows = session.scalars(
        select(PoolApplication.category_id)
        .where(
            PoolApplication.pool_id == pool.id,
            PoolApplication.category_id.in_(removed),
            PoolApplication.state.in_(ACTIVE_STATES),
        )
        .distinct()
    )
    return sorted(rows)


def update_pool(
    session: Session,
    *,
    principal: Principal,
    pool_id: uuid.UUID,
    data: PoolPatch,
    if_match: str | None,
) -> Pool:
    pool = get_pool(session, pool_id)
    ensure_pool_curator(principal, pool)
    check_version(if_match, pool.version)
    # Only the fields sent, but each in full: exclude_unset would also drop the defaults
    # inside a category or criterion that was sent.
    changes = data.model_dump(include=data.model_fields_set)
    if "jurisdiction" in changes:
        agency_jurisdiction = _agency_jurisdiction(session, pool.agency_org_id)
        assert agency_jurisdiction is not None  # checked when the pool was created
        _check_jurisdiction(agency_jurisdiction, changes["jurisdiction"])
    if "categories" in changes:
        kept = {c["id"] for c in changes["categories"]}
        in_use = _categories_in_use(session, pool, {c["id"] for c in pool.categories} - kept)
        if in_use:
            raise CategoryInUse(
                f"Categories {', '.join(in_use)} still hold open applications or listings; "
                "keep them until those are decided or withdrawn",
                details={"categories": in_use},
            )
    before = {name: getattr(pool, name) for name in changes}
    for name, value in changes.items():
        setattr(pool, name, value)
    session.flush()
    _record(session, principal, pool, "updated", before=before, after=changes)
    return pool


def set_open(
    session: Session, *, principal: Principal, pool_id: uuid.UUID, open_: bool, if_match: str | None
) -> Pool:
    """Open or close the application window; repeating the current state changes nothing."""
    pool = get_pool(session, pool_id)
    ensure_pool_curator(principal, pool)
    if if_match is not None:
        check_version(if_match, pool.version)
    if pool.applications_open != open_:
        pool.applications_open = open_
        session.flush()
        action = "opened" if open_ else "closed"
        _record(
            session,
            principal,
            pool,
            action,
            before={"applications_open": not open_},
            after={"applications_open": open_},
        )
    return pool


@dataclass(frozen=True)
class PoolFilters:
    jurisdiction: str | None = None
    applications_open: bool | None = None


def list_pools(
    session: Session, *, filters: PoolFilters, params: PageParams
) -> tuple[list[PoolSummaryOut], int]:
    stmt: Select[Any] = select(Pool)
    if filters.jurisdiction:
        # A province finds its own pools and its cities', as the provider list does.
        if filters.jurisdiction.endswith("0000"):
            stmt = stmt.where(Pool.jurisdiction.startswith(filters.jurisdiction[:2]))
        else:
            stmt = stmt.where(Pool.jurisdiction == filters.jurisdiction)
    if filters.applications_open is not None:
        stmt = stmt.where(Pool.applications_open.is_(filters.applications_open))
    order = order_by_clause(params.sort, POOL_SORTS, default="name", tiebreaker=Pool.id)
    pools, total = paginate(session, stmt, params, order)
    counts = listed_counts(session, [p.id for p in pools])
    return [_counted(PoolSummaryOut.model_validate(p), counts) for p in pools], total


# --- applications: loading, and who sees what --------------------------------------------------

Viewer = Literal["curator", "reviewer", "provider"]
# Reviews and solution links are read with every application (relationships are lazy="raise").
WITH_CHILDREN = (
    selectinload(PoolApplication.solution_links),
    selectinload(PoolApplication.reviews),
)


@dataclass
class Loaded:
    app: PoolApplication
    pool: Pool
    provider: Provider


def load_application(session: Session, application_id: uuid.UUID) -> Loaded:
    row = session.execute(
        select(PoolApplication, Pool, Provider)
        .join(Pool, Pool.id == PoolApplication.pool_id)
        .join(Provider, Provider.id == PoolApplication.provider_id)
        .where(PoolApplication.id == application_id)
        .options(*WITH_CHILDREN)
    ).one_or_none()
    if row is None:
        raise application_not_found()
    return Loaded(app=row[0], pool=row[1], provider=row[2])


def application_not_found() -> NotFound:
    return NotFound("No such application", code="application_not_found")


def as_curator(session: Session, principal: Principal, application_id: uuid.UUID) -> Loaded:
    """The application for a curator of its pool: 404 to those who may not see it at all,
    403 to those who see it but may not run it (its provider, a reviewer from elsewhere)."""
    loaded, _ = visible_application(session, principal=principal, application_id=application_id)
    ensure_pool_curator(principal, loaded.pool)
    return loaded


def as_owner(session: Session, principal: Principal, application_id: uuid.UUID) -> Loaded:
    """The application for its own provider; anyone else is told it does not exist."""
    loaded = load_application(session, application_id)
    if principal.role != "provider" or principal.org_id != loaded.provider.org_id:
        raise application_not_found()
    return loaded


def viewer_of(principal: Principal | None, loaded: Loaded) -> Viewer | None:
    """How the caller relates to the application, or None when it must not see it."""
    if principal is None:
        return None
    if is_pool_curator(principal, loaded.pool):
        return "curator"
    if loaded.app.review_by(principal.user_id) is not None:
        return "reviewer"
    if principal.role == "provider" and principal.org_id == loaded.provider.org_id:
        return "provider"
    return None


def visible_application(
    session: Session, *, principal: Principal, application_id: uuid.UUID
) -> tuple[Loaded, Viewer]:
    loaded = load_application(session, application_id)
    viewer = viewer_of(principal, loaded)
    if viewer is None:
        # Others' applications do not exist as far as the caller can tell.
        raise application_not_found()
    return loaded, viewer


def to_out(loaded: Loaded, viewer: Viewer, *, user_id: uuid.UUID | None = None) -> ApplicationOut:
    app = loaded.app
    reviews = None
    if viewer == "curator":
        reviews = [ReviewOut.model_validate(r) for r in app.reviews]
    elif viewer == "reviewer":
        reviews = [
            ReviewOut.model_validate(r) for r in app.reviews if r.reviewer_user_id == user_id
        ]
    # Reviewers score without seeing each other's totals; providers learn theirs with the
    # decision.
    show_total = viewer == "curator" or (viewer == "provider" and app.decided_at is not None)
    return ApplicationOut(
        id=app.id,
        pool_id=loaded.pool.id,
        pool_name=loaded.pool.name,
        provider_id=loaded.provider.id,
        provider_name=loaded.provider.legal_name,
        category_id=app.category_id,
        solution_ids=app.solution_ids,
        note=app.note,
        state=app.state,
        next_actions=next_actions(app.state),
        reasons=app.reasons,
        total_score=app.total_score if show_total else None,
        star_rating=app.star_rating,
        declared_at=app.declared_at,
        submitted_at=app.submitted_at,
        decided_at=app.decided_at,
        notice_ends_at=app.notice_ends_at,
        listed_since=app.listed_since,
        valid_until=app.valid_until,
        rated_at=app.rated_at,
        change_under_review=app.change_under_review,
        source=app.source,
        reviews=reviews,
        version=app.version,
        created_at=app.created_at,
        updated_at=app.updated_at,
    )


def _page_of_applications(
    session: Session, stmt: Select[Any], params: PageParams, order: list[Any]
) -> tuple[list[Loaded], int]:
    """A page of applications with their pools and providers, in three queries in all."""
    apps, total = paginate(session, stmt.options(*WITH_CHILDREN), params, order)
    pools = {
        p.id: p for p in session.scalars(select(Pool).where(Pool.id.in_({a.pool_id for a in apps})))
    }
    provider_ids = {a.provider_id for a in apps}
    owners = {
        p.id: p for p in session.scalars(select(Provider).where(Provider.id.in_(provider_ids)))
    }
    loaded = [Loaded(app=a, pool=pools[a.pool_id], provider=owners[a.provider_id]) for a in apps]
    return loaded, total


def list_for_pool(
    session: Session,
    *,
    principal: Principal,
    pool_id: uuid.UUID,
    state: str | None,
    params: PageParams,
) -> tuple[list[ApplicationOut], int]:
    """The pool's applications for its curators, oldest submission first."""
    pool = get_pool(session, pool_id)
    ensure_pool_curator(principal, pool)
    stmt = select(PoolApplication).where(PoolApplication.pool_id == pool.id)
    if state:
        stmt = stmt.where(PoolApplication.state == state)
    order = [PoolApplication.submitted_at.asc(), PoolApplication.id.asc()]
    rows, total = _page_of_applications(session, stmt, params, order)
    return [to_out(loaded, "curator") for loaded in rows], total


def list_mine(
    session: Session, *, principal: Principal, params: PageParams
) -> tuple[list[ApplicationOut], int]:
    provider = providers.own_provider(session, principal=principal)
    stmt = select(PoolApplication).where(PoolApplication.provider_id == provider.id)
    order = [PoolApplication.created_at.desc(), PoolApplication.id.asc()]
    rows, total = _page_of_applications(session, stmt, params, order)
    return [to_out(loaded, "provider") for loaded in rows], total


def decisions(
    session: Session, *, principal: Principal, application_id: uuid.UUID
) -> list[DecisionOut]:
    """The provider-facing history of an application, oldest first, with every reason."""
    loaded, viewer = visible_application(
        session, principal=principal, application_id=application_id
    )
    if viewer == "reviewer":
        raise application_not_found()
    filters = audit.AuditFilter(target_type=APPLICATION_TARGET, target_id=str(loaded.app.id))
    rows = audit.query(session, filters=filters, limit=HISTORY_LIMIT, offset=0)
    return [
        DecisionOut.of(row, action)
        for row in reversed(rows)
        if (action := row.action.removeprefix(APPLICATION_AUDIT_PREFIX)) in PROVIDER_FACING
    ]


def list_objections(
    session: Session, *, principal: Principal, application_id: uuid.UUID
) -> list[ObjectionOut]:
    loaded, _ = visible_application(session, principal=principal, application_id=application_id)
    ensure_pool_curator(principal, loaded.pool)
    rows = session.scalars(
        select(PoolObjection)
        .where(PoolObjection.application_id == loaded.app.id)
        .order_by(PoolObjection.created_at, PoolObjection.id)
    )
    return [ObjectionOut.model_validate(o) for o in rows]


# --- public reads: the 公示 list, members, badges ----------------------------------------------


def _in_state(
    session: Session,
    state: str,
    *,
    pool_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
) -> list[tuple[PoolApplication, Pool, Provider]]:
    """Applications in ``state``; "shown" means the listings the public may see, by the one
    rule in catalog.visibility (so a suspended or expired listing shows no badge)."""
    condition = (
        visibility.is_shown_listing() if state == "shown" else PoolApplication.state == state
    )
    stmt = (
        select(PoolApplication, Pool, Provider)
        .join(Pool, Pool.id == PoolApplication.pool_id)
        .join(Provider, Provider.id == PoolApplication.provider_id)
        .where(condition)
        .order_by(Provider.legal_name, PoolApplication.id)
    )
    if pool_id is not None:
        stmt = stmt.where(PoolApplication.pool_id == pool_id)
    if provider_id is not None:
        stmt = stmt.where(PoolApplication.provider_id == provider_id)
    return [(row[0], row[1], row[2]) for row in session.execute(stmt)]


def notices(session: Session, *, pool_id: uuid.UUID) -> list[NoticeOut]:
    get_pool(session, pool_id)
    rows = _in_state(session, "in_notice", pool_id=pool_id)
    return sorted((NoticeOut.of(*row) for row in rows), key=lambda n: n.notice_ends_at)


def members(session: Session, *, pool_id: uuid.UUID) -> MembersOut:
    pool = get_pool(session, pool_id)
    by_category: dict[str, list[BadgeOut]] = defaultdict(list)
    for row in _in_state(session, "shown", pool_id=pool_id):
        by_category[row[0].category_id].append(BadgeOut.of(*row))
    categories = [
        MemberCategoryOut(
            id=c["id"], name=c["name"], quota=c.get("quota"), members=by_category.pop(c["id"], [])
        )
        for c in pool.categories
    ]
    # Listings in a category since removed from the pool are still listings; they come last.
    categories += [
        MemberCategoryOut(id=cid, name=cid, quota=None, members=badges)
        for cid, badges in sorted(by_category.items())
    ]
    return MembersOut(pool_id=pool.id, pool_name=pool.name, categories=categories)


def badges(session: Session, *, provider_id: uuid.UUID) -> list[BadgeOut]:
    providers.get_provider(session, provider_id)
    rows = _in_state(session, "shown", provider_id=provider_id)
    return sorted((BadgeOut.of(*row) for row in rows), key=lambda b: (b.pool_name, b.pool_id))


# --- the curators' audit view ------------------------------------------------------------------


def pool_audit(
    session: Session,
    *,
    principal: Principal,
    pool_id: uuid.UUID,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    params: PageParams,
) -> AuditPage:
    pool = get_pool(session, pool_id)
    ensure_pool_curator(principal, pool)
    filters = audit.AuditFilter(scope_ids=(pool.id,), action=action, since=since, until=until)
    # One row beyond the page tells whether another page follows, without a count query.
    offset = (params.page - 1) * params.size
    rows = audit.query(session, filters=filters, limit=params.size + 1, offset=offset)
    return AuditPage(
        items=[AuditOut.model_validate(r) for r in rows[: params.size]],
        page=params.page,
        size=params.size,
        has_more=len(rows) > params.size,
    )
