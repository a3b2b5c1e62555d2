"""Page/size/sort handling shared by list endpoints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from core.errors import field_error

T = TypeVar("T")

MAX_PAGE_SIZE = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int


class PageParams(BaseModel):
    page: int = 1
    size: int = 20
    sort: str | None = None


def page_params(
    page: Annotated[int, Query(ge=1, description="1-based page number")] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="items per page")] = 20,
    sort: Annotated[
        str | None, Query(description="field to sort by; prefix with - for descending")
    ] = None,
) -> PageParams:
    return PageParams(page=page, size=size, sort=sort)


def order_by_clause(
    sort: str | None,
    allowed: Mapping[str, QueryableAttribute[Any]],
    *,
    default: str,
    tiebreaker: QueryableAttribute[Any],
) -> list[ColumnElement[Any]]:
    """Translate ``-field`` into an ORDER BY from a whitelist, so users cannot sort by anything."""
    spec = sort or default
    descending = spec.startswith("-")
    name = spec.lstrip("-")
    column = allowed.get(name)
    if column is None:
        choices = ", ".join(sorted(allowed))
        raise field_error("query.sort", f"unknown sort field {name!r}; use one of {choices}")
    # Empty values last in both directions, as SQLite and PostgreSQL disagree by default.
    primary = (column.desc() if descending else column.asc()).nulls_last()
    # The tiebreaker keeps pages stable when many rows share the sort value.
    return [primary, tiebreaker.asc()]


def paginate(
    session: Session, stmt: Select[Any], params: PageParams, order: Sequence[ColumnElement[Any]]
) -> tuple[list[Any], int]:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(
        stmt.order_by(*order).limit(params.size).offset((params.page - 1) * params.size)
    ).all()
    return list(rows), int(total)
