"""Material changes the provider must report (重大事项变更): name, credit code, key certificates.

A listing was granted to a firm as it was when reviewed. When the provider reports that its
name or 统一社会信用代码 changed (a new business licence) or that a key certificate was gained,
lost or lapsed, the report is recorded once for the provider and every pool it is in or
applying to gets a review item: the listing is flagged "change under review" until the pool's
curators confirm it stands or send it to re-review. Name and credit code take effect on the
profile at once, as they follow the registry (工商登记), which the provider cannot choose to
ignore; the pools decide what the change means for the listing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import String as SqlString
from sqlalchemy import Uuid, column, exists, select, table, update
from sqlalchemy.orm import Session

from catalog.pools import evidence, lifecycle, rereview
from catalog.pools import service as pools
from catalog.pools.errors import InvalidTransition
from catalog.pools.models import (
    ACTIVE_STATES,
    MEMBER_STATES,
    Pool,
    PoolApplication,
    PoolChangeReview,
    ProviderChange,
)
from catalog.pools.schemas import ChangeIn, ChangeOut, ChangeReviewIn, ChangeReviewOut
from catalog.pools.service import Loaded
from catalog.providers import service as providers
from catalog.providers.models import Provider
from catalog.taxonomy import CreditCodeError, normalise_credit_code
from core.database import utcnow
from core.deps import Principal
from core.errors import Conflict, NotFound, field_error

NAME_MAX = 200
# The organisation row (market.accounts) carries the same name and code; the catalog may not
# import the market package, so it names just these columns to keep the two in step.
_organisations = table(
    "organisations",
    column("id", Uuid()),
    column("name", SqlString()),
    column("credit_code", SqlString()),
)


def change_not_found() -> NotFound:
    return NotFound("No such change on this application", code="change_not_found")


def _new_values(
    session: Session, provider: Provider, data: ChangeIn
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of the reported change, checked; name and code are applied."""
    value = data.new_value.strip()
    if data.kind == "name":
        if len(value) > NAME_MAX:
            raise field_error("body.new_value", f"a name has at most {NAME_MAX} characters")
        if value == provider.legal_name:
            raise field_error("body.new_value", "this is the name on the profile already")
        before, after = {"legal_name": provider.legal_name}, {"legal_name": value}
        provider.legal_name = value
        session.execute(
            update(_organisations).where(_organisations.c.id == provider.org_id).values(name=value)
        )
        return before, after
    if data.kind == "credit_code":
        try:
            code = normalise_credit_code(value)
        except CreditCodeError as exc:
            raise field_error("body.new_value", str(exc)) from None
        if code == provider.credit_code:
            raise field_error("body.new_value", "this is the credit code on the profile already")
        orgs = _organisations.c
        taken = session.scalar(
            select(Provider.id).where(Provider.credit_code == code, Provider.id != provider.id)
        ) or session.scalar(
            select(orgs.id).where(orgs.credit_code == code, orgs.id != provider.org_id)
        )
        if taken is not None:
            raise Conflict(
                f"Another organisation is registered with credit code {code}; if it is yours, "
                "ask the platform operator to merge the accounts",
                code="credit_code_taken",
            )
        before, after = {"credit_code": provider.credit_code}, {"credit_code": code}
        provider.credit_code = code
        session.execute(
            update(_organisations).where(orgs.id == provider.org_id).values(credit_code=code)
        )
        return before, after
    # Certificates are kept on the profile's own endpoints; the report says what changed and
    # why it matters, against the certificates on file now.
    held = [c.name for c in provider.certifications]
    return {"certifications": held}, {"certification": value}


def report_change(session: Session, *, principal: Principal, data: ChangeIn) -> ChangeOut:
    provider = providers.own_provider(session, principal=principal)
    before, after = _new_values(session, provider, data)
    change = ProviderChange(
        provider_id=provider.id,
        kind=data.kind,
        before=before,
        after=after,
        note=data.note,
        reported_by_user_id=principal.user_id,
    )
    session.add(change)
    session.flush()
    if data.kind != "certification":
        # The public face changed (name or code); search and matching refresh the provider.
        providers.changed(session, provider.id)
    affected = session.execute(
        select(PoolApplication, Pool)
        .join(Pool, Pool.id == PoolApplication.pool_id)
        .where(PoolApplication.provider_id == provider.id, PoolApplication.state.in_(ACTIVE_STATES))
        .options(*pools.WITH_CHILDREN)
        .order_by(Pool.name, PoolApplication.id)
    ).all()
    for app, pool in affected:
        loaded = Loaded(app=app, pool=pool, provider=provider)
        session.add(PoolChangeReview(change_id=change.id, application_id=app.id, status="open"))
        app.change_under_review = True
        evidence.link(
            session,
            principal=principal,
            loaded=loaded,
            document_ids=data.evidence_ids,
            purpose="change",
            ref=change.id,
        )
        session.flush()
        lifecycle.audit_step(
            session,
            principal,
            loaded,
            "change_reported",
            app.state,
            data.note,
            change_id=str(change.id),
            kind=data.kind,
            changed_from=before,
            changed_to=after,
        )
        pools.notify_curators(
            session, loaded, "change.reported", change_id=change.id, kind=data.kind
        )
    return _outs(session, [change])[0]


def review_change(
    session: Session,
    *,
    principal: Principal,
    application_id: uuid.UUID,
    change_id: uuid.UUID,
    data: ChangeReviewIn,
) -> ChangeOut:
    """A curator confirms the listing stands after the change, or opens a re-review."""
    loaded = pools.as_curator(session, principal, application_id)
    item = session.get(PoolChangeReview, (change_id, loaded.app.id))
    if item is None:
        raise change_not_found()
    if item.status != "open":
        raise InvalidTransition(
            f"This change was reviewed already ({item.status})",
            details={"status": item.status, "allowed_actions": []},
        )
    if data.outcome == "rereview" and loaded.app.state not in MEMBER_STATES:
        raise InvalidTransition(
            f"The application is {loaded.app.state}, not a listing; confirm the change and "
            "weigh it in the review under way",
            details={"state": loaded.app.state, "allowed_outcomes": ["confirm"]},
        )
    item.status = "confirmed" if data.outcome == "confirm" else "rereview"
    item.resolved_by_user_id, item.resolved_at, item.reason = (
        principal.user_id,
        utcnow(),
        data.reason,
    )
    session.flush()
    loaded.app.change_under_review = bool(
        session.scalar(
            select(
                exists().where(
                    PoolChangeReview.application_id == loaded.app.id,
                    PoolChangeReview.status == "open",
                )
            )
        )
    )
    session.flush()
    lifecycle.audit_step(
        session,
        principal,
        loaded,
        "change_reviewed",
        loaded.app.state,
        data.reason,
        change_id=str(change_id),
        outcome=data.outcome,
    )
    if data.outcome == "rereview":
        rereview.open_round(
            session, actor=principal, loaded=loaded, trigger="change", reason=data.reason
        )
    pools.notify_provider(
        session,
        loaded,
        "change.reviewed",
        change_id=change_id,
        outcome=data.outcome,
        reason=data.reason,
    )
    change = session.get(ProviderChange, change_id)
    assert change is not None  # the review's foreign key
    return _outs(session, [change])[0]


def my_changes(session: Session, *, principal: Principal) -> list[ChangeOut]:
    provider = providers.own_provider(session, principal=principal)
    rows = session.scalars(
        select(ProviderChange)
        .where(ProviderChange.provider_id == provider.id)
        .order_by(ProviderChange.reported_at.desc(), ProviderChange.id)
    )
    return _outs(session, list(rows))


def pool_changes(
    session: Session, *, principal: Principal, pool_id: uuid.UUID, status: str | None
) -> list[ChangeOut]:
    """Changes reported by the pool's providers, with this pool's review items only."""
    pool = pools.get_pool(session, pool_id)
    pools.ensure_pool_curator(principal, pool)
    items = (
        select(PoolChangeReview.change_id)
        .join(PoolApplication, PoolApplication.id == PoolChangeReview.application_id)
        .where(PoolApplication.pool_id == pool.id)
    )
    if status:
        items = items.where(PoolChangeReview.status == status)
    rows = session.scalars(
        select(ProviderChange)
        .where(ProviderChange.id.in_(items))
        .order_by(ProviderChange.reported_at, ProviderChange.id)
    )
    return _outs(session, list(rows), pool_id=pool.id)


def _outs(
    session: Session, changes: list[ProviderChange], *, pool_id: uuid.UUID | None = None
) -> list[ChangeOut]:
    if not changes:
        return []
    stmt = (
        select(PoolChangeReview, PoolApplication.pool_id, Pool.name)
        .join(PoolApplication, PoolApplication.id == PoolChangeReview.application_id)
        .join(Pool, Pool.id == PoolApplication.pool_id)
        .where(PoolChangeReview.change_id.in_([c.id for c in changes]))
        .order_by(Pool.name, PoolChangeReview.application_id)
    )
    if pool_id is not None:
        stmt = stmt.where(PoolApplication.pool_id == pool_id)
    reviews: dict[uuid.UUID, list[ChangeReviewOut]] = defaultdict(list)
    for item, item_pool_id, pool_name in session.execute(stmt):
        reviews[item.change_id].append(
            ChangeReviewOut(
                application_id=item.application_id,
                pool_id=item_pool_id,
                pool_name=pool_name,
                status=item.status,
                resolved_at=item.resolved_at,
                reason=item.reason,
            )
        )
    owners = select(Provider.id, Provider.legal_name).where(
        Provider.id.in_({c.provider_id for c in changes})
    )
    # A list of rows, not the Result: dict() would take a Result for a mapping of its keys.
    names: dict[uuid.UUID, str] = dict(session.execute(owners).all())
    return [
        ChangeOut(
            id=c.id,
            provider_id=c.provider_id,
            provider_name=names.get(c.provider_id, ""),
            kind=c.kind,
            before=c.before,
            after=c.after,
            note=c.note,
            reported_at=c.reported_at,
            reviews=reviews.get(c.id, []),
        )
        for c in changes
    ]
