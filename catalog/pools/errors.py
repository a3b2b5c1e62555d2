"""Errors specific to resource pools, each with the stable code clients branch on."""

from __future__ import annotations

from catalog.publishing import InvalidTransition
from core.errors import AppError, Conflict, Forbidden, InvalidInput

__all__ = [
    "AppealExists",
    "ApplicationExists",
    "ApplicationsClosed",
    "BelowPassScore",
    "CategoryInUse",
    "EvidenceTooLarge",
    "ImportRejected",
    "InvalidTransition",
    "NotAssignedReviewer",
    "NotPoolCurator",
    "QuotaFull",
    "RereviewOpen",
    "ReviewerConflict",
    "SameCurator",
    "ScoresMissing",
    "UnsupportedEvidence",
]


class NotPoolCurator(Forbidden):
    code = "not_pool_curator"


class ApplicationsClosed(Conflict):
    code = "applications_closed"


class ApplicationExists(Conflict):
    code = "application_exists"


class NotAssignedReviewer(Forbidden):
    code = "not_assigned_reviewer"


class ReviewerConflict(Conflict):
    code = "reviewer_conflict"
    # The declaration of a conflict of interest is itself the record to keep: it commits even
    # though the score it came with is refused.
    keep_changes = True


class ScoresMissing(Conflict):
    code = "scores_missing"


class QuotaFull(Conflict):
    code = "quota_full"


class BelowPassScore(Conflict):
    code = "below_pass_score"


class CategoryInUse(Conflict):
    code = "category_in_use"


class AppealExists(Conflict):
    """A decision is appealed once; the appeal's own decision is final on the platform."""

    code = "appeal_exists"


class AppealTooLate(Conflict):
    """The pool's appeal window (``Pool.appeal_window_days``) after the decision has passed."""

    code = "appeal_window_closed"


class SameCurator(Forbidden):
    """An appeal goes to someone who took no part in the decision appealed against."""

    code = "same_curator"


class RereviewOpen(Conflict):
    code = "rereview_open"


class UnsupportedEvidence(AppError):
    status_code = 415
    code = "unsupported_media_type"


class EvidenceTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class ImportRejected(InvalidInput):
    """Some rows of an import failed validation, so nothing was imported; details carry the
    row-level report."""

    code = "import_rejected"
