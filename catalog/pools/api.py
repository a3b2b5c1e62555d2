"""Routes for resource pools (资源池), applications, reviews, objections and listings, and for
the management of listings: sanctions, appeals, re-reviews, reported changes, evidence
documents, and the import and export of pool lists."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from catalog.fields import RegionCode
from catalog.pools import (
    changes,
    evidence,
    exporting,
    importing,
    lifecycle,
    rereview,
    sanctions,
    service,
)
from catalog.pools.errors import EvidenceTooLarge
from catalog.pools.models import (
    ApplicationState,
    Pool,
    SanctionKind,
)
from catalog.pools.schemas import (
    AppealDecisionIn,
    AppealIn,
    AppealOut,
    ApplicationIn,
    ApplicationOut,
    AuditPage,
    BadgeOut,
    ChangeIn,
    ChangeOut,
    ChangeReviewIn,
    DecisionIn,
    DecisionOut,
    EvidenceAttachIn,
    EvidenceOut,
    ExpiryOut,
    ImportReportOut,
    LinkedEvidenceOut,
    MembersOut,
    NoticeOut,
    ObjectionIn,
    ObjectionOut,
    OptionalReasonIn,
    PoolIn,
    PoolOut,
    PoolPatch,
    PoolSummaryOut,
    ReasonIn,
    ReasonsIn,
    RectificationReportIn,
    RectificationReviewIn,
    RereviewDecisionIn,
    RereviewOut,
    ResolutionIn,
    ResubmitIn,
    ReviewersIn,
    SanctionIn,
    SanctionOut,
    ScoreIn,
)
from catalog.pools.storage import storage_for
from core.concurrency import IfMatch, set_etag
from core.deps import (
    AppSettings,
    CuratorPrincipal,
    CurrentPrincipal,
    DbSession,
    ProviderPrincipal,
)
from core.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1", tags=["pools"])

Pages = Annotated[PageParams, Depends(page_params)]


def _pool(session: DbSession, response: Response, pool: Pool) -> PoolOut:
    set_etag(response, pool.version)
    return service.pool_out(session, pool)


def _application(
    response: Response, loaded: service.Loaded, viewer: service.Viewer
) -> ApplicationOut:
    set_etag(response, loaded.app.version)
    return service.to_out(loaded, viewer)


# --- pools -------------------------------------------------------------------------------------


@router.post("/pools", status_code=status.HTTP_201_CREATED, response_model=PoolOut)
def create_pool(
    data: PoolIn, principal: CuratorPrincipal, session: DbSession, response: Response
) -> PoolOut:
    """Create a pool run by your agency (admins name the agency). Scorecard points add up to
    100; the pool starts closed unless ``applications_open`` is true."""
    pool = service.create_pool(session, principal=principal, data=data)
    response.headers["Location"] = f"/api/v1/pools/{pool.id}"
    return _pool(session, response, pool)


@router.get("/pools", response_model=Page[PoolSummaryOut])
def list_pools(
    session: DbSession,
    params: Pages,
    jurisdiction: Annotated[
        RegionCode | None, Query(description="city code, or province code for all its pools")
    ] = None,
    applications_open: Annotated[bool | None, Query()] = None,
) -> Page[PoolSummaryOut]:
    """Public list of pools with their categories and listed providers per category; sort by
    name, created_at or updated_at."""
    filters = service.PoolFilters(jurisdiction=jurisdiction, applications_open=applications_open)
    items, total = service.list_pools(session, filters=filters, params=params)
    return Page(items=items, total=total, page=params.page, size=params.size)


@router.get("/pools/{pool_id}", response_model=PoolOut)
def get_pool(pool_id: uuid.UUID, session: DbSession, response: Response) -> PoolOut:
    return _pool(session, response, service.get_pool(session, pool_id))


@router.patch("/pools/{pool_id}", response_model=PoolOut)
def update_pool(
    pool_id: uuid.UUID,
    data: PoolPatch,
    principal: CuratorPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> PoolOut:
    """Edit the pool; ``If-Match`` with the ETag you read is required. Applications already
    under review keep the scorecard they were accepted with."""
    pool = service.update_pool(
        session, principal=principal, pool_id=pool_id, data=data, if_match=if_match
    )
    return _pool(session, response, pool)


@router.post("/pools/{pool_id}/open", response_model=PoolOut)
def open_pool(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> PoolOut:
    """Open the application window."""
    pool = service.set_open(
        session, principal=principal, pool_id=pool_id, open_=True, if_match=if_match
    )
    return _pool(session, response, pool)


@router.post("/pools/{pool_id}/close", response_model=PoolOut)
def close_pool(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> PoolOut:
    """Close the application window; applications already made carry on."""
    pool = service.set_open(
        session, principal=principal, pool_id=pool_id, open_=False, if_match=if_match
    )
    return _pool(session, response, pool)


@router.get("/pools/{pool_id}/applications", response_model=Page[ApplicationOut])
def list_pool_applications(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    params: Pages,
    state: Annotated[ApplicationState | None, Query()] = None,
) -> Page[ApplicationOut]:
    """The pool's applications, oldest submission first (curators of the pool)."""
    items, total = service.list_for_pool(
        session, principal=principal, pool_id=pool_id, state=state, params=params
    )
    return Page(items=items, total=total, page=params.page, size=params.size)


@router.post(
    "/pools/{pool_id}/applications",
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationOut,
)
def submit_application(
    pool_id: uuid.UUID,
    data: ApplicationIn,
    principal: ProviderPrincipal,
    session: DbSession,
    response: Response,
) -> ApplicationOut:
    """Apply (申报) to an open pool with your solutions and the signed 承诺书."""
    loaded = lifecycle.submit(session, principal=principal, pool_id=pool_id, data=data)
    response.headers["Location"] = f"/api/v1/applications/{loaded.app.id}"
    return _application(response, loaded, "provider")


@router.get("/pools/{pool_id}/notices", response_model=list[NoticeOut])
def pool_notices(pool_id: uuid.UUID, session: DbSession) -> list[NoticeOut]:
    """The public notice (公示): providers approved and awaiting listing, with the date the
    objection window closes."""
    return service.notices(session, pool_id=pool_id)


@router.post("/pools/{pool_id}/notices/close-due", response_model=list[ApplicationOut])
def close_due_notices(
    pool_id: uuid.UUID, principal: CuratorPrincipal, session: DbSession
) -> list[ApplicationOut]:
    """List every application whose notice is over and has no open objection (the scheduler
    does the same for all pools)."""
    return lifecycle.close_due_for_pool(session, principal=principal, pool_id=pool_id)


@router.get("/pools/{pool_id}/members", response_model=MembersOut)
def pool_members(pool_id: uuid.UUID, session: DbSession) -> MembersOut:
    """Listed providers (入库) per category, with their badge data."""
    return service.members(session, pool_id=pool_id)


@router.get("/pools/{pool_id}/audit", response_model=AuditPage)
def pool_audit(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    params: Pages,
    action: Annotated[
        str | None, Query(max_length=80, description="prefix, e.g. pool.application")
    ] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> AuditPage:
    """Every decision in the pool, newest first (curators of the pool)."""
    return service.pool_audit(
        session,
        principal=principal,
        pool_id=pool_id,
        action=action,
        since=since,
        until=until,
        params=params,
    )


@router.get("/providers/{provider_id}/badges", response_model=list[BadgeOut])
def provider_badges(provider_id: uuid.UUID, session: DbSession) -> list[BadgeOut]:
    """The pools a provider is listed in; each listing stands on its own."""
    return service.badges(session, provider_id=provider_id)


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
    return _application(response, loaded, "provider")


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
    return _application(response, loaded, "provider")


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
    return _application(response, loaded, "curator")


@router.post("/applications/{application_id}/accept", response_model=ApplicationOut)
def accept_application(
    application_id: uuid.UUID, principal: CuratorPrincipal, session: DbSession, response: Response
) -> ApplicationOut:
    """Accept a complete application for expert review (专家评审)."""
    loaded = lifecycle.accept(session, principal=principal, application_id=application_id)
    return _application(response, loaded, "curator")


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
    return _application(response, loaded, "curator")


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
    return _application(response, loaded, "curator")


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
    return _application(response, loaded, "curator")


@router.get("/applications/{application_id}/decisions", response_model=list[DecisionOut])
def application_decisions(
    application_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[DecisionOut]:
    """The history of your application, oldest first, with every reason given."""
    return service.decisions(session, principal=principal, application_id=application_id)


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


# --- re-review ---------------------------------------------------------------------------------


@router.post(
    "/applications/{application_id}/rereviews",
    status_code=status.HTTP_201_CREATED,
    response_model=RereviewOut,
)
def request_rereview(
    application_id: uuid.UUID, data: ReasonIn, principal: CuratorPrincipal, session: DbSession
) -> RereviewOut:
    """Re-review (复审) a listing on demand; it stays as it is until the round is decided."""
    round_, loaded = rereview.request_rereview(
        session, principal=principal, application_id=application_id, reason=data.reason
    )
    return rereview.round_out(round_, loaded, "curator")


@router.get("/applications/{application_id}/rereviews", response_model=list[RereviewOut])
def application_rereviews(
    application_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[RereviewOut]:
    return rereview.rounds_of(session, principal=principal, application_id=application_id)


@router.get("/rereviews/{rereview_id}", response_model=RereviewOut)
def get_rereview(
    rereview_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> RereviewOut:
    """A round for the pool's curators, its assigned reviewers and the provider."""
    return rereview.get_round(session, principal=principal, rereview_id=rereview_id)


@router.post("/rereviews/{rereview_id}/reviewers", response_model=RereviewOut)
def assign_rereviewers(
    rereview_id: uuid.UUID, data: ReviewersIn, principal: CuratorPrincipal, session: DbSession
) -> RereviewOut:
    round_, loaded = rereview.assign(
        session, principal=principal, rereview_id=rereview_id, data=data
    )
    return rereview.round_out(round_, loaded, "curator")


@router.post("/rereviews/{rereview_id}/score", response_model=RereviewOut)
def score_rereview(
    rereview_id: uuid.UUID, data: ScoreIn, principal: CuratorPrincipal, session: DbSession
) -> RereviewOut:
    """Score the round's scorecard (assigned reviewers); ``no_conflict: false`` records a
    conflict of interest instead."""
    round_, loaded = rereview.score(
        session, principal=principal, rereview_id=rereview_id, data=data
    )
    return rereview.round_out(round_, loaded, "reviewer", user_id=principal.user_id)


@router.post("/rereviews/{rereview_id}/decision", response_model=RereviewOut)
def decide_rereview(
    rereview_id: uuid.UUID,
    data: RereviewDecisionIn,
    principal: CuratorPrincipal,
    session: DbSession,
) -> RereviewOut:
    """Pass (new star rating from this round, validity renewed) or fail (removal)."""
    round_, loaded = rereview.decide(
        session, principal=principal, rereview_id=rereview_id, data=data
    )
    return rereview.round_out(round_, loaded, "curator")


@router.post("/pools/{pool_id}/expire-due", response_model=ExpiryOut)
def expire_due(pool_id: uuid.UUID, principal: CuratorPrincipal, session: DbSession) -> ExpiryOut:
    """Expire the pool's listings whose validity ended and open their re-reviews (the
    scheduler does the same for all pools)."""
    return rereview.expire_due_for_pool(session, principal=principal, pool_id=pool_id)


# --- reported changes --------------------------------------------------------------------------


@router.post("/changes", status_code=status.HTTP_201_CREATED, response_model=ChangeOut)
def report_change(data: ChangeIn, principal: ProviderPrincipal, session: DbSession) -> ChangeOut:
    """Report a material change (name, credit code, key certificate); every pool you are in
    or applying to reviews it, and your listings show "change under review" meanwhile."""
    return changes.report_change(session, principal=principal, data=data)


@router.get("/changes/mine", response_model=list[ChangeOut])
def my_changes(principal: ProviderPrincipal, session: DbSession) -> list[ChangeOut]:
    return changes.my_changes(session, principal=principal)


@router.get("/pools/{pool_id}/changes", response_model=list[ChangeOut])
def pool_changes(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    review_status: Annotated[str | None, Query(alias="status", max_length=16)] = None,
) -> list[ChangeOut]:
    """Changes reported by the pool's providers, with this pool's review of each."""
    return changes.pool_changes(session, principal=principal, pool_id=pool_id, status=review_status)


@router.post("/applications/{application_id}/changes/{change_id}/review", response_model=ChangeOut)
def review_change(
    application_id: uuid.UUID,
    change_id: uuid.UUID,
    data: ChangeReviewIn,
    principal: CuratorPrincipal,
    session: DbSession,
) -> ChangeOut:
    """Confirm the listing stands after the change, or open a re-review of it."""
    return changes.review_change(
        session,
        principal=principal,
        application_id=application_id,
        change_id=change_id,
        data=data,
    )


# --- evidence documents ------------------------------------------------------------------------


@router.post("/evidence", status_code=status.HTTP_201_CREATED, response_model=EvidenceOut)
def upload_evidence(
    request: Request,
    principal: ProviderPrincipal,
    session: DbSession,
    settings: AppSettings,
    file: Annotated[UploadFile, File(description="PDF, JPEG or PNG")],
    kind: Annotated[str, Form(description="licence, certificate, case_proof, declaration, other")],
) -> EvidenceOut:
    """Upload an evidence document (营业执照, certificate, case proof) up to the configured
    size; put it forward with ``evidence_ids`` on applications, reports and appeals."""
    document = evidence.upload(
        session,
        principal=principal,
        storage=storage_for(request, settings),
        kind=kind,
        filename=file.filename,
        content_type=file.content_type,
        stream=file.file,
        max_bytes=settings.max_upload_mb * 1024 * 1024,
    )
    return EvidenceOut.model_validate(document)


@router.get("/evidence/mine", response_model=list[EvidenceOut])
def my_evidence(principal: ProviderPrincipal, session: DbSession) -> list[EvidenceOut]:
    return [EvidenceOut.model_validate(d) for d in evidence.list_mine(session, principal=principal)]


@router.get("/evidence/{document_id}/download")
def download_evidence(
    document_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
    settings: AppSettings,
) -> StreamingResponse:
    """The document itself: for its owner, the curators of a pool it was put forward in and
    the reviewers assigned there."""
    document, handle = evidence.open_for_download(
        session,
        principal=principal,
        storage=storage_for(request, settings),
        document_id=document_id,
    )

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(evidence.CHUNK):
                yield chunk

    quoted = quote(document.filename)
    return StreamingResponse(
        chunks(),
        media_type=document.content_type,
        headers={
            # Always a download, never rendered in the page: a PDF can carry scripts.
            "Content-Disposition": f"attachment; filename*=UTF-8''{quoted}",
            "Content-Length": str(document.size_bytes),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/applications/{application_id}/evidence", response_model=list[LinkedEvidenceOut])
def attach_evidence(
    application_id: uuid.UUID,
    data: EvidenceAttachIn,
    principal: ProviderPrincipal,
    session: DbSession,
) -> list[LinkedEvidenceOut]:
    """Put more of your documents forward with an application not yet decided."""
    return evidence.attach(
        session, principal=principal, application_id=application_id, document_ids=data.document_ids
    )


@router.get("/applications/{application_id}/evidence", response_model=list[LinkedEvidenceOut])
def application_evidence(
    application_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[LinkedEvidenceOut]:
    """Everything put forward with the application (owner, curators, assigned reviewers)."""
    return evidence.application_evidence(
        session, principal=principal, application_id=application_id
    )


# --- import and export of pool lists -----------------------------------------------------------


@router.post("/pools/{pool_id}/import", response_model=ImportReportOut)
def import_pool_list(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    file: Annotated[
        UploadFile, File(description="XLSX, or CSV in UTF-8 (with or without BOM) or GBK")
    ],
    dry_run: Annotated[bool, Query(description="check and report only")] = True,
    category: Annotated[
        str | None, Query(max_length=40, description="category for rows that name none")
    ] = None,
) -> ImportReportOut:
    """Import an existing pool list (入库名单). A dry run (the default) reports row by row; a
    real run imports all rows or, if any fails, none (422 ``import_rejected`` with the
    report)."""
    data = file.file.read(importing.MAX_FILE_BYTES + 1)
    if len(data) > importing.MAX_FILE_BYTES:
        raise EvidenceTooLarge(
            f"The list is larger than {importing.MAX_FILE_BYTES // (1024 * 1024)} MB",
            details={"max_bytes": importing.MAX_FILE_BYTES},
        )
    return importing.import_for_curator(
        session,
        principal=principal,
        pool_id=pool_id,
        filename=file.filename or "upload",
        data=data,
        dry_run=dry_run,
        category_id=category,
    )


@router.get("/pools/{pool_id}/export")
def export_pool(
    pool_id: uuid.UUID,
    principal: CuratorPrincipal,
    session: DbSession,
    fmt: Annotated[exporting.Format, Query(alias="format")] = "xlsx",
) -> Response:
    """The pool's listed providers with badges and solutions, as CSV or XLSX (curators)."""
    export = exporting.export_for_curator(session, principal=principal, pool_id=pool_id, fmt=fmt)
    return Response(
        content=export.content,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
