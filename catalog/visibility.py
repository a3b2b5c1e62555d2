"""The single definition of what the public may find: listed providers and their published
solutions.

A provider is public while it is listed (入库) in at least one resource pool; a solution is
public while it is published and its provider is public. Search, and anything else that shows
the vetted catalogue to SMEs, asks these SQL expressions instead of restating the rule, so that
one edit here changes every reader. A warning or an open rectification leaves a listing on
show; a suspension, an expiry or a removal takes it off.

The same rule answers direct links: a provider profile, solution or case of a provider that is
not public is "not found" for the public and for other providers, and readable for the owning
organisation, curators and admins (:func:`may_see_provider`), who vet or maintain it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import QueryableAttribute, Session

from catalog.access import can_read_unpublished
from catalog.pools.models import PoolApplication
from catalog.solutions.models import Solution
from core.deps import Principal

# Application states in which a listing puts its provider on show: a provider is public while
# it is listed in at least one pool and not suspended there. The other memberships are not on
# show: suspended (停牌, a sanction), expired (validity over, awaiting re-review) and removed
# (取消资格). Each such move writes a pool.membership.changed event, so the search index and the
# matching catalogue drop the provider as soon as it commits.
SHOWN_STATES: tuple[str, ...] = ("listed",)
HIDDEN_MEMBERSHIP_STATES: tuple[str, ...] = ("suspended", "expired", "removed")


def is_shown_listing() -> ColumnElement[bool]:
    """Condition on ``PoolApplication``: this application is a listing that counts."""
    return PoolApplication.state.in_(SHOWN_STATES)


def shown_listings() -> Select[Any]:
    """The listings that make providers public, for reading their pool, stars and dates."""
    return select(PoolApplication).where(is_shown_listing())


def public_provider_ids() -> Select[Any]:
    """Ids of every public provider."""
    return select(PoolApplication.provider_id).where(is_shown_listing()).distinct()


def is_public_provider(
    provider_id: ColumnElement[uuid.UUID] | QueryableAttribute[uuid.UUID],
) -> ColumnElement[bool]:
    """Condition: the provider named by ``provider_id`` (a column or value) is public."""
    # An uncorrelated IN, not a correlated EXISTS: both engines evaluate it once per statement
    # (a hashed semi-join, an ephemeral index) and probe it per row. A correlated EXISTS left
    # SQLite free to answer every row through the (state, valid_until) index, a scan of all
    # listings per solution, which turned a full reindex quadratic.
    return provider_id.in_(public_provider_ids())


def is_public_solution() -> ColumnElement[bool]:
    """Condition on ``Solution``: published, by a public provider."""
    return and_(Solution.status == "published", is_public_provider(Solution.provider_id))


def provider_is_public(session: Session, provider_id: uuid.UUID) -> bool:
    """Whether this one provider is public now."""
    stmt = select(PoolApplication.id).where(
        PoolApplication.provider_id == provider_id, is_shown_listing()
    )
    return session.scalar(stmt.limit(1)) is not None


def may_see_provider(
    session: Session,
    principal: Principal | None,
    *,
    provider_id: uuid.UUID,
    owner_org_id: uuid.UUID,
) -> bool:
    """Whether the caller may read the provider's profile and published items by direct link."""
    return can_read_unpublished(principal, owner_org_id) or provider_is_public(session, provider_id)


def sees_every_provider(principal: Principal | None) -> bool:
    """Curators and admins list unvetted providers too (they vet them)."""
    return principal is not None and principal.role in ("curator", "admin")
