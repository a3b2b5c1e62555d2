"""What the workbench's editors share: rows without JavaScript, the version a form was opened
at, and the save / publish / delete round trips of a draft-then-publish catalog item.

Solutions and case studies go through the same steps: check the form against the schema,
hand it to the service with the version the person saw, and either say what went wrong beside
the fields or move on. ``DraftEditor`` holds those steps once; each page module says only what
differs (its schema, its service calls, its messages and where to go next).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from catalog.publishing import Action
from core.concurrency import etag_for
from core.deps import DbSession, Principal
from core.errors import AppError
from market.web import forms
from market.web.forms import FormErrors, KeyMapper
from market.web.security import CheckedForm, ProviderWeb, WebContext

Item = TypeVar("Item")
Shown = TypeVar("Shown", contravariant=True)
Schema = TypeVar("Schema", bound=BaseModel)
FormReading = tuple[dict[str, Any], dict[str, Any], FormErrors]

SPARE_ROWS = 2  # empty rows offered so one more can be added without JavaScript


def form_version(form: FormData) -> str:
    """The hidden version as an If-Match value; garbage can only ever fail to match."""
    raw = forms.text(form, "version")
    return etag_for(int(raw)) if raw.isdigit() else '"invalid"'


def filled_rows(
    form: FormData, prefix: str, fields: Sequence[str], limit: int
) -> list[dict[str, str]]:
    """The rows someone filled in (``prefix.i.field``), in page order; empty rows are ignored."""
    rows = []
    for i in range(limit + SPARE_ROWS):
        row = {f: forms.text(form, f"{prefix}.{i}.{f}") for f in fields}
        if any(row.values()):
            rows.append(row)
    return rows


def with_spare_rows(
    rows: Sequence[dict[str, str]], fields: Sequence[str], limit: int
) -> list[dict[str, str]]:
    """The rows to show: those given, and empty ones to add more, up to the schema's limit."""
    spare = max(0, min(SPARE_ROWS, limit - len(rows)))
    return [*rows, *(dict.fromkeys(fields, "") for _ in range(spare))]


def validated(
    ctx: WebContext,
    schema: type[Schema],
    payload: dict[str, Any],
    errors: FormErrors,
    key_of: KeyMapper = forms.plain_key,
) -> Schema | None:
    """The payload as the schema's model, or None with every problem added to ``errors``."""
    try:
        data = schema.model_validate(payload)
    except ValidationError as exc:
        errors.merge(forms.from_validation(ctx, exc, key_of))
        return None
    return None if errors else data


class EditorRenderer(Protocol[Shown]):
    def __call__(
        self,
        ctx: WebContext,
        session: Session,
        *,
        values: dict[str, Any],
        errors: FormErrors,
        item: Shown | None,
        status_code: int = 200,
        conflict: bool = False,
    ) -> HTMLResponse: ...


@dataclass(frozen=True)
class DraftEditor(Generic[Item]):
    """The round trips of one kind of draft-then-publish item, for its page module."""

    # e.g. "/provider/solutions": the editor of an item is at ``{base}/{id}/edit``.
    base: str
    key_of: KeyMapper
    read_form: Callable[[WebContext, FormData], FormReading]
    render: EditorRenderer[Item]
    # The caller's own item: 404 for others' drafts, 403 for others' public ones.
    owned: Callable[[WebContext, Session, uuid.UUID], Item]
    # The saved item as the form's values.
    values_of: Callable[[Item], dict[str, Any]]

    def edit_url(self, item_id: uuid.UUID) -> str:
        return f"{self.base}/{item_id}/edit"

    def create(
        self,
        ctx: WebContext,
        session: Session,
        form: FormData,
        schema: type[Schema],
        save: Callable[[Schema], Any],
        saved_message: str,
    ) -> Response:
        values, payload, errors = self.read_form(ctx, form)
        data = validated(ctx, schema, payload, errors, self.key_of)
        if data is None:
            return self.render(
                ctx, session, values=values, errors=errors, item=None, status_code=422
            )
        try:
            created = save(data)
        except AppError as exc:
            session.rollback()
            errors = forms.from_app_error(ctx, exc, self.key_of)
            return self.render(
                ctx, session, values=values, errors=errors, item=None, status_code=exc.status_code
            )
        ctx.flash("success", saved_message)
        return ctx.redirect(self.edit_url(created.id))

    def update(
        self,
        ctx: WebContext,
        session: Session,
        item_id: uuid.UUID,
        form: FormData,
        schema: type[Schema],
        save: Callable[[Schema, str], Any],
    ) -> Response:
        current = self.owned(ctx, session, item_id)
        values, payload, errors = self.read_form(ctx, form)
        data = validated(ctx, schema, payload, errors, self.key_of)
        if data is None:
            return self.render(
                ctx, session, values=values, errors=errors, item=current, status_code=422
            )
        try:
            save(data, form_version(form))
        except AppError as exc:
            session.rollback()
            return self.render(
                ctx,
                session,
                values=values,
                errors=forms.from_app_error(ctx, exc, self.key_of),
                # Read again: the rollback expired what was loaded, and it may have moved on.
                item=self.owned(ctx, session, item_id),
                status_code=exc.status_code,
                conflict=exc.status_code == 412,
            )
        ctx.flash("success", ctx.gettext("Changes saved."))
        return ctx.redirect(self.edit_url(item_id))

    def change_status(
        self,
        ctx: WebContext,
        session: Session,
        item_id: uuid.UUID,
        form: FormData,
        action: Action,
        change: Callable[[Action, str], Any],
    ) -> Response | None:
        """None when the change was made (the caller says so and moves on); otherwise the
        page that explains why not: the editor with the fields publishing still needs."""
        try:
            change(action, form_version(form))
        except AppError as exc:
            session.rollback()
            if exc.code != "incomplete":
                ctx.flash("error", forms.app_error_message(ctx, exc))
                return ctx.redirect(self.edit_url(item_id))
            item = self.owned(ctx, session, item_id)
            return self.render(
                ctx,
                session,
                values=self.values_of(item),
                errors=forms.from_app_error(ctx, exc, self.key_of),
                item=item,
                status_code=exc.status_code,
            )
        return None

    def delete(
        self,
        ctx: WebContext,
        session: Session,
        item_id: uuid.UUID,
        remove: Callable[[], Any],
        *,
        message: str,
        done_url: str,
    ) -> Response:
        try:
            remove()
        except AppError as exc:
            if exc.status_code == 404:
                raise
            session.rollback()
            ctx.flash("error", forms.app_error_message(ctx, exc))
            return ctx.redirect(self.edit_url(item_id))
        ctx.flash("info", message)
        return ctx.redirect(done_url)


# --- the routes of a draft-then-publish item -------------------------------------------------


@dataclass(frozen=True)
class DraftActions(Generic[Item]):
    """The service calls and the words of one kind of item, for ``add_draft_routes``.

    Messages are message ids (``N_``), said in the page's language when they are shown.
    """

    create_schema: type[BaseModel]
    patch_schema: type[BaseModel]
    create: Callable[[Session, Principal, Any], Any]
    update: Callable[[Session, Principal, uuid.UUID, Any, str], Any]
    change_status: Callable[[Session, Principal, uuid.UUID, Action, str], Any]
    delete: Callable[[Session, Principal, uuid.UUID], Any]
    blank_values: Callable[[], dict[str, Any]]
    saved: str
    published: str
    archived: str
    deleted: str
    # Where a person goes after publishing (given the item's id), archiving and deleting.
    after_publish: Callable[[uuid.UUID], str]
    list_url: str


def add_draft_routes(
    router: APIRouter, editor: DraftEditor[Item], acts: DraftActions[Item]
) -> None:
    """new, create, edit, update, publish, archive and delete under ``editor.base``."""
    base = editor.base

    def principal_of(ctx: WebContext) -> Principal:
        assert ctx.principal is not None
        return ctx.principal

    @router.get(f"{base}/new", response_class=HTMLResponse)
    def new_item(ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
        values = acts.blank_values()
        return editor.render(ctx, session, values=values, errors=FormErrors(), item=None)

    @router.post(f"{base}/new", response_model=None)
    def create_item(ctx: ProviderWeb, form: CheckedForm, session: DbSession) -> Response:
        principal = principal_of(ctx)
        return editor.create(
            ctx,
            session,
            form,
            acts.create_schema,
            lambda data: acts.create(session, principal, data),
            ctx.gettext(acts.saved),
        )

    @router.get(f"{base}/{{item_id}}/edit", response_class=HTMLResponse)
    def edit_item(item_id: uuid.UUID, ctx: ProviderWeb, session: DbSession) -> HTMLResponse:
        item = editor.owned(ctx, session, item_id)
        values = editor.values_of(item)
        return editor.render(ctx, session, values=values, errors=FormErrors(), item=item)

    @router.post(f"{base}/{{item_id}}/edit", response_model=None)
    def update_item(
        item_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
    ) -> Response:
        principal = principal_of(ctx)
        return editor.update(
            ctx,
            session,
            item_id,
            form,
            acts.patch_schema,
            lambda data, version: acts.update(session, principal, item_id, data, version),
        )

    def change(
        ctx: WebContext, session: Session, item_id: uuid.UUID, form: FormData, action: Action
    ) -> Response:
        principal = principal_of(ctx)
        refused = editor.change_status(
            ctx,
            session,
            item_id,
            form,
            action,
            lambda act, version: acts.change_status(session, principal, item_id, act, version),
        )
        if refused is not None:
            return refused
        if action == "publish":
            ctx.flash("success", ctx.gettext(acts.published))
            return ctx.redirect(acts.after_publish(item_id))
        ctx.flash("info", ctx.gettext(acts.archived))
        return ctx.redirect(acts.list_url)

    @router.post(f"{base}/{{item_id}}/publish", response_model=None)
    def publish_item(
        item_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
    ) -> Response:
        return change(ctx, session, item_id, form, "publish")

    @router.post(f"{base}/{{item_id}}/archive", response_model=None)
    def archive_item(
        item_id: uuid.UUID, ctx: ProviderWeb, form: CheckedForm, session: DbSession
    ) -> Response:
        return change(ctx, session, item_id, form, "archive")

    @router.post(f"{base}/{{item_id}}/delete", response_model=None)
    def delete_item(
        item_id: uuid.UUID, ctx: ProviderWeb, _form: CheckedForm, session: DbSession
    ) -> Response:
        principal = principal_of(ctx)
        return editor.delete(
            ctx,
            session,
            item_id,
            lambda: acts.delete(session, principal, item_id),
            message=ctx.gettext(acts.deleted),
            done_url=acts.list_url,
        )
