"""Cursor pagination over ``pk``: newest first by default, ``after`` = the id of the last item seen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

T = TypeVar("T")


class Listed(Protocol):
    """A table with an integer ``pk`` (the cursor order) and a public string ``id``."""

    pk: ClassVar[InstrumentedAttribute[int]]
    id: ClassVar[InstrumentedAttribute[str]]


class Owned(Protocol):
    """A table whose rows belong to a project."""

    project_id: ClassVar[InstrumentedAttribute[str]]


ListedT = TypeVar("ListedT", bound=Listed)
OwnedT = TypeVar("OwnedT", bound=Owned)


@dataclass
class Page(Generic[T]):
    items: list[T]
    has_more: bool


def paginate(
    session: Session,
    query: Select[ListedT],
    table: type[ListedT],
    *,
    after: str | None,
    limit: int,
    ascending: bool = False,
) -> Page[ListedT]:
    """``query`` selects rows of ``table`` already filtered to what the caller may see."""
    if after is not None:
        cursor = session.scalar(query.with_only_columns(table.pk).where(table.id == after))
        if cursor is None:
            return Page([], False)
        query = query.where(table.pk > cursor if ascending else table.pk < cursor)
    order = table.pk.asc() if ascending else table.pk.desc()
    rows = list(session.scalars(query.order_by(order).limit(limit + 1)))
    return Page(rows[:limit], len(rows) > limit)


def scoped(table: type[OwnedT], project_id: str | ColumnElement[str]) -> Select[OwnedT]:
    """``table``'s rows of a project (``project_id`` a value, or a bound parameter of a statement
    built once)."""
    return select(table).where(table.project_id == project_id)
