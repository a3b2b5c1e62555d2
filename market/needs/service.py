"""SME profile and need use cases.

Who may do what (object-level rules, applied here rather than in the routers):

* An SME organisation's profile and needs are read and written by that organisation's SME
  users only.
* A provider may **read** a need while the need is ``shared`` and the provider is among those it
  is shared with; it never writes one, and it never learns which rivals got the same need.
* Everyone else, curators and admins included, cannot tell a need exists: a read answers 404.
  Needs are commercial plans of private firms, not catalogue content a curator vets.

Rules for filling a need in from what the platform already knows (documented in the API too):

* **Capabilities**: when a need is created with neither must nor nice capabilities, the
  capabilities understood from its title and description (see ``understanding.py``) become
  ``nice_capabilities`` and ``must_capabilities`` stays empty: a guess must never become a hard
  constraint that silently excludes providers. The response's ``understood`` block shows where
  each came from, so the SME can promote, drop or add.
* **Protocols**: when ``protocols`` is omitted, the equipment inventory's protocols (declared
  first, then guessed from brand and controller) are used, followed by protocols named in the
  text. Sending ``protocols`` (even ``[]``) means "exactly these".
* **Pricing**: when ``preferred_pricing`` is empty, pricing models named in the text are used.
* Each filled field is listed in ``prefilled`` with its sources, until the SME sends the field
  in a PATCH (confirming or correcting it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from catalog.providers import service as providers
from catalog.taxonomy import derive_size
from core.concurrency import check_version
from core.database import utcnow
from core.deps import Principal
from core.errors import Forbidden, NotFound, PreconditionFailed, field_error
from core.outbox import emit
from core.pagination import PageParams, order_by_clause, paginate
from market.accounts import service as accounts
from market.needs.models import Need, NeedShare, SmeProfile
from market.needs.schemas import (
    MAX_SHARES,
    EquipmentOut,
    NeedIn,
    NeedOut,
    NeedPatch,
    SceneTargetOut,
    SmeProfileIn,
    SmeProfileOut,
    TimelineOut,
    UnderstandingOut,
)
from market.needs.understanding import Understanding, guess_protocol, understand

NEED_SORTS = {
    "updated_at": Need.updated_at,
    "created_at": Need.created_at,
    "title": Need.title,
}

# The MIIT-style size rules for manufacturers: SMEs on this platform are factories.
SIZE_SECTOR = "industry"


def need_changed(session: Session, need_id: uuid.UUID, change: str) -> None:
    """Tell subscribers (the matching engine) that a need was created, updated or deleted."""
    emit(session, "market.need.changed", need_id=str(need_id), change=change)


def _require_sme(principal: Principal, what: str) -> None:
    if principal.role != "sme":
        raise Forbidden(
            f"Only SME accounts have {what}; you are logged in as {principal.role}",
            code="role_required",
        )


def _check_optional_version(if_match: str | None, current: int) -> None:
    """For actions where If-Match is welcome but not demanded (share, delete)."""
    if if_match is not None:
        check_version(if_match, current)


# --- SME profile ------------------------------------------------------------------------------


def find_profile(session: Session, *, org_id: uuid.UUID) -> SmeProfile | None:
    """The organisation's saved profile, or None before its first PUT (for other domains)."""
    return session.scalar(select(SmeProfile).where(SmeProfile.org_id == org_id))


def _equipment_out(item: dict[str, Any]) -> EquipmentOut:
    protocol = item.get("protocol")
    guess = None if protocol else guess_protocol(item.get("brand"), item.get("controller"))
    return EquipmentOut(
        machine_type=item["machine_type"],
        brand=item.get("brand"),
        controller=item.get("controller"),
        count=item.get("count", 1),
        protocol=protocol,
        protocol_guess=guess,
        interface=item.get("interface"),
        networked=bool(item.get("networked", False)),
    )


def inventory_protocols(equipment: Iterable[dict[str, Any]]) -> list[str]:
    """Declared protocols in inventory order, then guessed ones; each once."""
    items = [_equipment_out(item) for item in equipment]
    declared = [item.protocol for item in items if item.protocol]
    guessed = [item.protocol_guess for item in items if item.protocol_guess]
    return list(dict.fromkeys([*declared, *guessed]))


def profile_out(
    session: Session, *, org_id: uuid.UUID, profile: SmeProfile | None
) -> SmeProfileOut:
    if profile is None:
        # Not saved yet: an empty profile in the organisation's registered region, version 0.
        org = accounts.get_organisation(session, org_id)
        return SmeProfileOut(
            org_id=org_id,
            industry_code=None,
            employees=None,
            revenue_wan=None,
            size=None,
            region_code=org.region_code,
            equipment=[],
            existing_systems=[],
            maturity={},
            inventory_protocols=[],
            version=0,
            created_at=None,
            updated_at=None,
        )
    return SmeProfileOut(
        org_id=profile.org_id,
        industry_code=profile.industry_code,
        employees=profile.employees,
        revenue_wan=profile.revenue_wan,
        size=profile.size,
        region_code=profile.region_code,
        equipment=[_equipment_out(item) for item in profile.equipment],
        existing_systems=list(profile.existing_systems),
        maturity={str(scene): int(level) for scene, level in profile.maturity.items()},
        inventory_protocols=inventory_protocols(profile.equipment),
        version=profile.version,
        created_at=profile.created_at,
        updated_at=profile.updated_at,
    )


def read_profile(session: Session, *, principal: Principal) -> SmeProfileOut:
    _require_sme(principal, "an SME profile")
    return profile_out(
        session,
        org_id=principal.org_id,
        profile=find_profile(session, org_id=principal.org_id),
    )


def put_profile(
    session: Session, *, principal: Principal, data: SmeProfileIn, if_match: str | None
) -> tuple[SmeProfileOut, bool]:
    """Replace (or first create) the caller's profile; returns it and whether it was created.

    The first save needs no If-Match (or ``W/"0"``, the ETag of the unsaved profile); every
    later save must name the version it edited.
    """
    _require_sme(principal, "an SME profile")
    profile = find_profile(session, org_id=principal.org_id)
    created = profile is None
    if profile is None:
        _check_optional_version(if_match, 0)
        profile = SmeProfile(org_id=principal.org_id)
    else:
        check_version(if_match, profile.version)

    values = data.model_dump(mode="json")
    if "region_code" not in data.model_fields_set:
        values["region_code"] = accounts.get_organisation(session, principal.org_id).region_code
    for key, value in values.items():
        setattr(profile, key, value)
    profile.size = derive_size(
        sector=SIZE_SECTOR, employees=profile.employees, revenue_wan=profile.revenue_wan
    )
    if created:
        try:
            # A savepoint, so that a colleague's simultaneous first save turns into a clean
            # "reload and retry" instead of a failed transaction.
            with session.begin_nested():
                session.add(profile)
                session.flush()
        except IntegrityError as exc:
            raise PreconditionFailed(
                "A colleague saved this profile at the same moment; reload it and try again"
            ) from exc
    else:
        profile.updated_at = utcnow()
        session.flush()
    emit(session, "market.sme_profile.changed", org_id=str(principal.org_id))
    return profile_out(session, org_id=principal.org_id, profile=profile), created


# --- reading needs ----------------------------------------------------------------------------


def _viewer_provider_id(session: Session, principal: Principal | None) -> uuid.UUID | None:
    if principal is None or principal.role != "provider":
        return None
    return providers.provider_id_for_org(session, org_id=principal.org_id)


def _is_owner(principal: Principal, need: Need) -> bool:
    return principal.role == "sme" and principal.org_id == need.org_id


def _load(session: Session, need_id: uuid.UUID) -> Need | None:
    return session.scalar(select(Need).where(Need.id == need_id).options(selectinload(Need.shares)))


def get_readable(session: Session, *, principal: Principal, need_id: uuid.UUID) -> Need:
    """The need if the caller may read it; otherwise 404, whether or not it exists."""
    need = _load(session, need_id)
    if need is not None:
        if _is_owner(principal, need):
            return need
        viewer = _viewer_provider_id(session, principal)
        if viewer is not None and need.visibility == "shared" and viewer in need.shared_with:
            return need
    raise NotFound("No such need", code="need_not_found")


def _owned(session: Session, *, principal: Principal, need_id: uuid.UUID) -> Need:
    need = get_readable(session, principal=principal, need_id=need_id)
    if not _is_owner(principal, need):
        # Only a provider it was shared with gets here: it already knows the need exists.
        raise Forbidden(
            "Only the SME that owns this need can change it; it was shared with you to read",
            code="not_owner",
        )
    return need


def understood_out(understanding: Understanding) -> UnderstandingOut:
    return UnderstandingOut.model_validate(understanding)


def _need_text(title: str, description: str) -> str:
    # A line break keeps a phrase from running from the title into the description.
    return f"{title}\n{description}"


def to_out(session: Session, need: Need, *, principal: Principal) -> NeedOut:
    shared_with = need.shared_with
    if not _is_owner(principal, need):
        viewer = _viewer_provider_id(session, principal)
        shared_with = [pid for pid in shared_with if pid == viewer]
    return NeedOut(
        id=need.id,
        org_id=need.org_id,
        created_by=need.created_by,
        title=need.title,
        description=need.description,
        must_capabilities=list(need.must_capabilities),
        nice_capabilities=list(need.nice_capabilities),
        scenes=[SceneTargetOut.model_validate(scene) for scene in need.scenes],
        protocols=list(need.protocols),
        budget_min_fen=need.budget_min_fen,
        budget_max_fen=need.budget_max_fen,
        preferred_pricing=list(need.preferred_pricing),
        timeline=TimelineOut(target_start=need.target_start, duration_weeks=need.duration_weeks),
        onsite_required=need.onsite_required,
        visibility=need.visibility,
        shared_with=shared_with,
        status=need.status,
        prefilled={str(k): [str(s) for s in v] for k, v in need.prefilled.items()},
        understood=understood_out(understand(_need_text(need.title, need.description))),
        version=need.version,
        created_at=need.created_at,
        updated_at=need.updated_at,
    )


@dataclass(frozen=True)
class NeedFilters:
    status: str | None = None
    visibility: str | None = None


def list_needs(
    session: Session, *, principal: Principal, filters: NeedFilters, params: PageParams
) -> tuple[list[Need], int]:
    """An SME's own needs, or the needs shared with a provider; nobody else has a list."""
    stmt: Select[Any]
    if principal.role == "sme":
        stmt = select(Need).where(Need.org_id == principal.org_id)
    elif principal.role == "provider":
        provider_id = _viewer_provider_id(session, principal)
        stmt = (
            select(Need)
            .join(NeedShare, NeedShare.need_id == Need.id)
            .where(NeedShare.provider_id == provider_id, Need.visibility == "shared")
        )
    else:
        raise Forbidden(
            "Needs are private to the SME that states them and the providers it shares them "
            f"with; you are logged in as {principal.role}",
            code="role_required",
        )
    if filters.status:
        stmt = stmt.where(Need.status == filters.status)
    if filters.visibility:
        stmt = stmt.where(Need.visibility == filters.visibility)
    order = order_by_clause(params.sort, NEED_SORTS, default="-updated_at", tiebreaker=Need.id)
    return paginate(session, stmt, params, order)


# --- writing needs ----------------------------------------------------------------------------


def _check_providers(session: Session, provider_ids: Iterable[uuid.UUID], field: str) -> None:
    for index, provider_id in enumerate(provider_ids):
        try:
            providers.get_provider(session, provider_id)
        except NotFound:
            raise field_error(f"{field}.{index}", f"no provider has the id {provider_id}") from None


def _set_shares(need: Need, provider_ids: list[uuid.UUID], *, by: uuid.UUID) -> None:
    """Make the share list exactly ``provider_ids``, keeping existing rows (and their dates)."""
    existing = {share.provider_id: share for share in need.shares}
    shares = [
        # New rows get their need_id from the relationship when flushed.
        existing.get(pid) or NeedShare(provider_id=pid, shared_by=by)
        for pid in provider_ids
    ]
    for position, share in enumerate(shares):
        share.position = position
    need.shares = shares


def _check_rules(need: Need, *, sent: set[str]) -> None:
    """Rules across fields, checked on the need as it will be saved (after a PATCH merges).

    The error names the field the caller sent, so a PATCH that only adds a must capability
    already listed as nice-to-have points at must_capabilities, not at the list left alone.
    """

    def blame(preferred: str, other: str) -> str:
        return f"body.{preferred if preferred in sent or other not in sent else other}"

    both = [cap for cap in need.nice_capabilities if cap in set(need.must_capabilities)]
    if both:
        raise field_error(
            blame("nice_capabilities", "must_capabilities"),
            f"{', '.join(both)} cannot be both a must and a nice-to-have; keep each in one list",
            kind="overlap",
        )
    low, high = need.budget_min_fen, need.budget_max_fen
    if low is not None and high is not None and low > high:
        raise field_error(
            blame("budget_max_fen", "budget_min_fen"),
            f"the budget maximum ({high} fen) is below the minimum ({low} fen)",
            kind="range",
        )
    if need.visibility == "shared" and not need.shares:
        raise field_error(
            blame("shared_with", "visibility"),
            "a shared need names at least one provider in shared_with; "
            "keep it a draft until you choose",
            kind="missing",
        )


def _inventory_protocols_of(session: Session, org_id: uuid.UUID) -> list[str]:
    profile = find_profile(session, org_id=org_id)
    return inventory_protocols(profile.equipment) if profile is not None else []


def create_need(session: Session, *, principal: Principal, data: NeedIn) -> Need:
    _require_sme(principal, "needs")
    understood = understand(_need_text(data.title, data.description))
    prefilled: dict[str, list[str]] = {}

    nice = list(data.nice_capabilities)
    if not data.must_capabilities and not nice and understood.capability_ids:
        nice = understood.capability_ids
        prefilled["nice_capabilities"] = ["text"]

    protocols = data.protocols
    if protocols is None:
        from_inventory = _inventory_protocols_of(session, principal.org_id)
        from_text = [p for p in understood.protocol_ids if p not in from_inventory]
        protocols = [*from_inventory, *from_text]
        sources = [
            name for name, ids in (("inventory", from_inventory), ("text", from_text)) if ids
        ]
        if sources:
            prefilled["protocols"] = sources

    pricing = list(data.preferred_pricing)
    if not pricing and understood.pricing_ids:
        pricing = understood.pricing_ids
        prefilled["preferred_pricing"] = ["text"]

    _check_providers(session, data.shared_with, "body.shared_with")
    timeline = data.timeline
    need = Need(
        org_id=principal.org_id,
        created_by=principal.user_id,
        title=data.title,
        description=data.description,
        must_capabilities=list(data.must_capabilities),
        nice_capabilities=nice,
        scenes=[scene.model_dump(mode="json") for scene in data.scenes],
        protocols=protocols,
        budget_min_fen=data.budget_min_fen,
        budget_max_fen=data.budget_max_fen,
        preferred_pricing=pricing,
        target_start=timeline.target_start if timeline else None,
        duration_weeks=timeline.duration_weeks if timeline else None,
        onsite_required=data.onsite_required,
        visibility=data.visibility,
        status="open",
        prefilled=prefilled,
        shares=[],
    )
    _set_shares(need, list(data.shared_with), by=principal.user_id)
    _check_rules(need, sent=set(data.model_fields_set))
    session.add(need)
    session.flush()
    need_changed(session, need.id, "created")
    return need


# Fields whose value is copied as sent; the rest need translating (timeline, shares, scenes).
_PLAIN_FIELDS = (
    "title",
    "description",
    "must_capabilities",
    "nice_capabilities",
    "protocols",
    "budget_min_fen",
    "budget_max_fen",
    "preferred_pricing",
    "onsite_required",
    "visibility",
    "status",
)


def update_need(
    session: Session,
    *,
    principal: Principal,
    need_id: uuid.UUID,
    data: NeedPatch,
    if_match: str | None,
) -> Need:
    need = _owned(session, principal=principal, need_id=need_id)
    check_version(if_match, need.version)
    sent = set(data.model_fields_set)
    for name in _PLAIN_FIELDS:
        if name in sent:
            value = getattr(data, name)
            setattr(need, name, list(value) if isinstance(value, list) else value)
    if "scenes" in sent and data.scenes is not None:
        need.scenes = [scene.model_dump(mode="json") for scene in data.scenes]
    if "timeline" in sent:
        # The timeline is one value: sending it replaces both parts, null clears it.
        need.target_start = data.timeline.target_start if data.timeline else None
        need.duration_weeks = data.timeline.duration_weeks if data.timeline else None
    if "shared_with" in sent and data.shared_with is not None:
        _check_providers(session, data.shared_with, "body.shared_with")
        _set_shares(need, list(data.shared_with), by=principal.user_id)
    if sent & set(need.prefilled):
        # A fresh dict: the JSON column does not notice changes made in place.
        need.prefilled = {k: v for k, v in need.prefilled.items() if k not in sent}
    _check_rules(need, sent=sent)
    # Shares live in their own table; touching the row moves the version (and ETag) on for
    # every change, including one that only edits shared_with.
    need.updated_at = utcnow()
    session.flush()
    need_changed(session, need.id, "updated")
    return need


def share_need(
    session: Session,
    *,
    principal: Principal,
    need_id: uuid.UUID,
    provider_ids: list[uuid.UUID],
    if_match: str | None,
) -> Need:
    """Add providers to the need's audience and make it ``shared``."""
    need = _owned(session, principal=principal, need_id=need_id)
    _check_optional_version(if_match, need.version)
    _check_providers(session, provider_ids, "body.provider_ids")
    merged = list(dict.fromkeys([*need.shared_with, *provider_ids]))
    if len(merged) > MAX_SHARES:
        raise field_error(
            "body.provider_ids",
            f"a need can be shared with at most {MAX_SHARES} providers "
            f"({len(need.shares)} already)",
            kind="too_many",
        )
    _set_shares(need, merged, by=principal.user_id)
    need.visibility = "shared"
    need.updated_at = utcnow()
    session.flush()
    need_changed(session, need.id, "updated")
    return need


def unshare_need(
    session: Session,
    *,
    principal: Principal,
    need_id: uuid.UUID,
    provider_ids: list[uuid.UUID],
    if_match: str | None,
) -> Need:
    """Withdraw the need from these providers; with nobody left it becomes a draft again.

    Ids the need was not shared with are ignored, so repeating an unshare is harmless.
    """
    need = _owned(session, principal=principal, need_id=need_id)
    _check_optional_version(if_match, need.version)
    removed = set(provider_ids)
    _set_shares(need, [pid for pid in need.shared_with if pid not in removed], by=principal.user_id)
    if not need.shares:
        need.visibility = "draft"
    need.updated_at = utcnow()
    session.flush()
    need_changed(session, need.id, "updated")
    return need


def close_for_award(session: Session, *, need_id: uuid.UUID) -> None:
    """An accepted quote fulfils the need: it closes (the SME may reopen it for more work)."""
    need = _load(session, need_id)
    if need is None or need.status == "closed":
        return
    need.status = "closed"
    need.updated_at = utcnow()
    session.flush()
    need_changed(session, need.id, "updated")


def delete_need(
    session: Session, *, principal: Principal, need_id: uuid.UUID, if_match: str | None
) -> None:
    need = _owned(session, principal=principal, need_id=need_id)
    _check_optional_version(if_match, need.version)
    session.delete(need)
    session.flush()
    need_changed(session, need_id, "deleted")
