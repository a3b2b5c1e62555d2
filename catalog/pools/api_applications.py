"""Routes for applications: submission, formal check, expert review, decision, 公示 objections."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from catalog.pools import (
    lifecycle,
    service,
)
from catalog.pools.api_shared import Pages, application_response
from catalog.pools.schemas import (
    ApplicationOut,
    DecisionIn,
    DecisionOut,
    ObjectionIn,
    ObjectionOut,
    OptionalReasonIn,
    ReasonsIn,
    ResolutionIn,
    ResubmitIn,
    ReviewersIn,
    ScoreIn,
)
from core.concurrency import set_etag
from core.deps import (
    CuratorPrincipal,
    CurrentPrincipal,
    DbSession,
    ProviderPrincipal,
)
from core.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["pools"])


# --- applications ------------------------------------------------------------------------------


@router.get("/applications/mine", response_model=Page[ApplicationOut])
def my_applications(
    principal: ProviderPrincipal, session: DbSession, params: Pages
) -> Page[ApplicationOut]:
    """Your organisation's applications, newest first, with state and reasons."""
    items, total = service.list_mine(session, principal=principal, params=params)
    return Page(items=items, total=total, page=params.page, size=params.size)


@router.get("/applications/{application_id}", response_model=ApplicationOut)
def get_application(
    application_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, response: Response
) -> ApplicationOut:
    """The owning provider, the pool's curators and assigned reviewers may read it."""
    loaded, viewer = service.visible_application(
        session, principal=principal, application_id=application_id
    )
    set_etag(response, loaded.app.version)
    return service.to_out(loaded, viewer, user_id=principal.user_id)


@router.post("/applications/{application_id}/resubmit", response_model=ApplicationOut)
def resubmit_application(
    application_id: uuid.UUID,
    data: ResubmitIn,
    principal: ProviderPrincipal,
    session: DbSession,
    response: Response,
) -> ApplicationOut:
    """Answer a return: change category, solutions or note, and submit again."""
    loaded = lifecycle.resubmit(
        session, principal=principal, application_id=application_id, data=data
    )
    return application_response(response, loaded, "provider")


@router.post("/applications/{application_id}/withdraw", response_model=ApplicationOut)
def withdraw_application(
    application_id: uuid.UUID,
    principal: ProviderPrincipal,
    session: DbSession,
    response: Response,
    data: OptionalReasonIn | None = None,
) -> ApplicationOut:
    """Withdraw an application that is not decided yet."""
    reason = data.reason if data else ""
    loaded = lifecycle.withdraw(
        session, principal=principal, application_id=application_id, reason=reason
    )
    return application_response(response, loaded, "provider")


@router.post("/applications/{application_id}/return", response_model=ApplicationOut)
def return_application(
    application_id: uuid.UUID,
    data: ReasonsIn,
    principal: CuratorPrincipal,
    session: DbSession,
    response: Response,
) -> ApplicationOut:
    """Send an application back (形式审查) with the reasons the provider must address."""
    loaded = lifecycle.return_application(
        session, principal=principal, application_id=application_id, reasons=data.reasons
    )
    return application_response(response, loaded, "curator")


@router.post("/applications/{application_id}/accept", response_model=ApplicationOut)
def accept_application(
    application_id: uuid.UUID, principal: CuratorPrincipal, session: DbSession, response: Response
) -> ApplicationOut:
    """Accept a complete application for expert review (专家评审)."""
    loaded = lifecycle.accept(session, principal=principal, application_id=application_id)
    return application_response(response, loaded, "curator")


@router.post("/applications/{application_id}/reviewers", response_model=ApplicationOut)
def assign_reviewers(
    application_id: uuid.UUID,
    data: ReviewersIn,
    principal: CuratorPrincipal,
    session: DbSession,
    response: Response,
) -> ApplicationOut:
    """Assign reviewers: curators of the pool's agency, or admins. Assigning again adds."""
    loaded = lifecycle.assign_reviewers(
        session, principal=principal, application_id=application_id, data=data
    )
    return application_response(response, loaded, "curator")


@router.post("/applications/{application_id}/score", response_model=ApplicationOut)
def score_application(
    application_id: uuid.UUID,
    data: ScoreIn,
    principal: CuratorPrincipal,
    session: DbSession,
    response: Response,
) -> ApplicationOut:
    """Score every criterion of the scorecard (assigned reviewers; scoring again replaces
    your scores). ``no_conflict: false`` records a conflict of interest instead."""
    loaded = lifecycle.score(session, principal=principal, application_id=application_id, data=data)
    set_etag(response, loaded.app.version)
    return service.to_out(loaded, "reviewer", user_id=principal.user_id)


@router.post("/applications/{application_id}/decision", response_model=ApplicationOut)
def decide_application(
    application_id: uuid.UUID,
    data: DecisionIn,
    principal: CuratorPrincipal,
    session: DbSession,
    response: Response,
) -> ApplicationOut:
    """Approve into a category (starts the 公示) or reject with reasons; at least one
    reviewer must have scored."""
    loaded = lifecycle.decide(
        session, principal=principal, application_id=application_id, data=data
    )
    return application_response(response, loaded, "curator")


@router.post(
    "/applications/{application_id}/objections",
    status_code=status.HTTP_201_CREATED,
    response_model=ObjectionOut,
)
def lodge_objection(
    application_id: uuid.UUID, data: ObjectionIn, principal: CurrentPrincipal, session: DbSession
) -> ObjectionOut:
    """Raise an objection (异议) during the public notice; any logged-in user may."""
    objection = lifecycle.lodge_objection(
        session, principal=principal, application_id=application_id, data=data
    )
    return ObjectionOut.model_validate(objection)


@router.get("/applications/{application_id}/objections", response_model=list[ObjectionOut])
def list_objections(
    application_id: uuid.UUID, principal: CuratorPrincipal, session: DbSession
) -> list[ObjectionOut]:
    return service.list_objections(session, principal=principal, application_id=application_id)


@router.post(
    "/applications/{application_id}/objections/{objection_id}/resolve",
    response_model=ApplicationOut,
)
def resolve_objection(
    application_id: uuid.UUID,
    objection_id: uuid.UUID,
    data: ResolutionIn,
    principal: CuratorPrincipal,
    session: DbSession,
    response: Response,
) -> ApplicationOut:
    """Uphold (the application is rejected) or dismiss an objection, with a reason."""
    loaded = lifecycle.resolve_objection(
        session,
        principal=principal,
        application_id=application_id,
        objection_id=objection_id,
        data=data,
    )
    return application_response(response, loaded, "curator")


@router.get("/applications/{application_id}/decisions", response_model=list[DecisionOut])
def application_decisions(
    application_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[DecisionOut]:
    """The history of your application, oldest first, with every reason given."""
    return service.decisions(session, principal=principal, application_id=application_id)
