"""Evidence documents sent with a page's form: a file input beside the other fields.

A person choosing a file on an application, a rectification report, an appeal or a change
report expects it to go with that form. The file is stored first through the same evidence
service the API uses; a refusal (wrong type, too large, empty) is said beside the file input,
and nothing else in the form is saved.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from catalog.pools import evidence
from catalog.pools.models import EVIDENCE_KINDS
from catalog.pools.storage import storage_for
from core.errors import AppError
from market.web import forms
from market.web.forms import FormErrors
from market.web.security import WebContext

FILE_FIELD = "file"
KIND_FIELD = "file_kind"


def chosen_file(form: FormData) -> UploadFile | None:
    """The uploaded file, or None when the person chose none (browsers send an empty part)."""
    value = form.get(FILE_FIELD)
    if isinstance(value, UploadFile) and value.filename:
        return value
    return None


def store_chosen_file(
    ctx: WebContext, session: Session, form: FormData, errors: FormErrors
) -> uuid.UUID | None:
    """Store the chosen file as one of the provider's documents; its id, or None (nothing
    chosen, or a problem added to ``errors`` beside the file input)."""
    upload = chosen_file(form)
    if upload is None:
        return None
    assert ctx.principal is not None
    kind = forms.text(form, KIND_FIELD) or "other"
    if kind not in EVIDENCE_KINDS:
        errors.add(KIND_FIELD, ctx.gettext("Choose one of the offered options."))
        return None
    limit_mb = ctx.settings.max_upload_mb
    try:
        # A savepoint: a refused file leaves the rest of the request's work untouched.
        with session.begin_nested():
            document = evidence.upload(
                session,
                principal=ctx.principal,
                storage=storage_for(ctx.request, ctx.settings),
                kind=kind,
                filename=upload.filename,
                content_type=upload.content_type,
                stream=upload.file,
                max_bytes=limit_mb * 1024 * 1024,
            )
    except AppError as exc:
        errors.add(FILE_FIELD, _refusal(ctx, exc, limit_mb))
        return None
    return document.id


def _refusal(ctx: WebContext, exc: AppError, limit_mb: int) -> str:
    if exc.status_code == 413:
        return ctx.gettext("The file is larger than %(mb)s MB.", mb=limit_mb)
    if exc.status_code == 415:
        return ctx.gettext(
            "Upload a PDF, JPEG or PNG file. This file is not one, or its content does not "
            "match its type."
        )
    if exc.code == "validation_error":
        return ctx.gettext("The file is empty.")
    return forms.app_error_message(ctx, exc)


def chosen_documents(form: FormData) -> list[str]:
    """Documents ticked from those uploaded before."""
    return forms.choices(form, "evidence_ids")
