"""Routes for sanctions (警告, 整改, 停牌, 取消资格) and the appeals against them or against a
star rating."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from catalog.pools import (
    sanctions,
)
from catalog.pools.models import (
    SanctionKind,
)
from catalog.pools.schemas import (
    AppealDecisionIn,
    AppealIn,
    AppealOut,
    ReasonIn,
    RectificationReportIn,
    RectificationReviewIn,
    SanctionIn,
    SanctionOut,
)
from core.deps import (
    CuratorPrincipal,
    CurrentPrincipal,
    DbSession,
    ProviderPrincipal,
)

router = APIRouter(prefix="/api/v1", tags=["pools"])


# --- sanctions ---------------------------------------------------------------------------------


@router.post(
    "/applications/{application_id}/sanctions",
    status_code=status.HTTP_201_CREATED,
    response_model=SanctionOut,
)
def issue_sanction(
    application_id: uuid.UUID, data: SanctionIn, principal: CuratorPrincipal, session: DbSession
) -> SanctionOut:
    """Sanction a listing: warning (警告), rectification by a deadline (限期整改), suspension
    (停牌: hidden from search and matching) or removal (取消资格)."""
    sanction, _ = sanctions.issue(
        session, principal=principal, application_id=application_id, data=data
    )
    return sanctions.sanction_out(sanction)


@router.get("/applications/{application_id}/sanctions", response_model=list[SanctionOut])
def application_sanctions(
    application_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[SanctionOut]:
    """The listing's sanctions, newest first (its provider and the pool's curators)."""
    return sanctions.sanctions_of(session, principal=principal, application_id=application_id)


@router.post("/sanctions/{sanction_id}/report", response_model=SanctionOut)
def report_rectification(
    sanction_id: uuid.UUID,
    data: RectificationReportIn,
    principal: ProviderPrincipal,
    session: DbSession,
) -> SanctionOut:
    """Report what you have put right (整改报告), with evidence, before the deadline."""
    sanction = sanctions.report(session, principal=principal, sanction_id=sanction_id, data=data)
    return sanctions.sanction_out(sanction)


@router.post("/sanctions/{sanction_id}/review", response_model=SanctionOut)
def review_rectification(
    sanction_id: uuid.UUID,
    data: RectificationReviewIn,
    principal: CuratorPrincipal,
    session: DbSession,
) -> SanctionOut:
    """Accept a rectification report (closed) or send it back, optionally with a new deadline."""
    sanction = sanctions.review_report(
        session, principal=principal, sanction_id=sanction_id, data=data
    )
    return sanctions.sanction_out(sanction)


@router.post("/sanctions/{sanction_id}/lift", response_model=SanctionOut)
def lift_suspension(
    sanction_id: uuid.UUID, data: ReasonIn, principal: CuratorPrincipal, session: DbSession
) -> SanctionOut:
    """Lift a suspension: the listing is on show again (or expires if its validity ended)."""
    sanction = sanctions.lift(
        session, principal=principal, sanction_id=sanction_id, reason=data.reason
    )
    return sanctions.sanction_out(sanction)


@router.get("/pools/{pool_id}/sanctions", response_model=list[SanctionOut])
def pool_sanctions(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    kind: Annotated[SanctionKind | None, Query()] = None,
    sanction_status: Annotated[str | None, Query(alias="status", max_length=16)] = None,
) -> list[SanctionOut]:
    """Every sanction in the pool, newest first (curators of the pool)."""
    return sanctions.pool_sanctions(
        session, principal=principal, pool_id=pool_id, kind=kind, status=sanction_status
    )


# --- appeals -----------------------------------------------------------------------------------


@router.post(
    "/applications/{application_id}/appeals",
    status_code=status.HTTP_201_CREATED,
    response_model=AppealOut,
)
def file_appeal(
    application_id: uuid.UUID, data: AppealIn, principal: ProviderPrincipal, session: DbSession
) -> AppealOut:
    """Appeal (申诉) a sanction in force or the listing's star rating, once per decision."""
    appeal, _ = sanctions.file_appeal(
        session, principal=principal, application_id=application_id, data=data
    )
    return AppealOut.model_validate(appeal)


@router.get("/applications/{application_id}/appeals", response_model=list[AppealOut])
def application_appeals(
    application_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[AppealOut]:
    return sanctions.appeals_of(session, principal=principal, application_id=application_id)


@router.post("/appeals/{appeal_id}/decision", response_model=AppealOut)
def decide_appeal(
    appeal_id: uuid.UUID, data: AppealDecisionIn, principal: CuratorPrincipal, session: DbSession
) -> AppealOut:
    """Uphold or dismiss an appeal; a curator who took part in the decision appealed against
    may not (403 ``same_curator``)."""
    appeal, _ = sanctions.decide_appeal(
        session, principal=principal, appeal_id=appeal_id, data=data
    )
    return AppealOut.model_validate(appeal)


@router.get("/pools/{pool_id}/appeals", response_model=list[AppealOut])
def pool_appeals(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    appeal_status: Annotated[str | None, Query(alias="status", max_length=16)] = None,
) -> list[AppealOut]:
    """The pool's appeals, oldest first (curators of the pool)."""
    return sanctions.pool_appeals(
        session, principal=principal, pool_id=pool_id, status=appeal_status
    )
