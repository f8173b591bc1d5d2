"""Keyset pagination: one list, or the lists of many parents, each in one statement.

A `Listing` is a filtered, scoped SELECT plus its unique sort key. `fetch_slice` pages the whole
list; `fetch_slices` pages the list of every parent at once with `row_number()` over a window
partitioned by parent, which is how a nested connection stays one statement per level however
many parents the level has.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Row, Select, any_, bindparam, func, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

R = TypeVar("R")
Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Window:
    """At most `limit` rows strictly between the `after` and `before` keys, from the end if asked."""

    limit: int
    after: Key | None = None
    before: Key | None = None
    from_end: bool = False


@dataclass(frozen=True, slots=True)
class Item(Generic[R]):
    record: R
    key: Key
    distance_m: float | None = None


@dataclass(frozen=True, slots=True)
class Slice(Generic[R]):
    items: list[Item[R]] = field(default_factory=list)
    has_more: bool = False  # rows exist beyond the window, in its direction


@dataclass(frozen=True)
class Listing(Generic[R]):
    select: Select[Any]
    keys: tuple[ColumnElement[Any], ...]
    to_record: Callable[[Row[Any]], R]
    distance: ColumnElement[float] | None = None  # exposed on each item (geodesic metres)
    parent: ColumnElement[Any] | None = None  # set when the list belongs to a parent row
    parent_type: TypeEngine[Any] | None = None


def one_of(column: ColumnElement[Any], values: Sequence[Any], item_type: TypeEngine[Any]) -> ColumnElement[bool]:
    """`column = ANY(:array)`: one bind whatever the number of values, so plans are reused."""
    return column == any_(bindparam(None, list(values), type_=ARRAY(item_type)))


def _bounded(listing: Listing[R], window: Window) -> tuple[Select[Any], list[ColumnElement[Any]]]:
    key = tuple_(*listing.keys)
    stmt = listing.select.add_columns(*(k.label(f"page_key{i}") for i, k in enumerate(listing.keys)))
    if listing.distance is not None:
        stmt = stmt.add_columns(listing.distance.label("page_distance"))
    if window.after is not None:
        stmt = stmt.where(key > tuple_(*(bindparam(None, v) for v in window.after)))
    if window.before is not None:
        stmt = stmt.where(key < tuple_(*(bindparam(None, v) for v in window.before)))
    order = [k.desc() if window.from_end else k.asc() for k in listing.keys]
    return stmt, order


def _item(listing: Listing[R], row: Row[Any]) -> Item[R]:
    mapping = row._mapping
    key = tuple(mapping[f"page_key{i}"] for i in range(len(listing.keys)))
    return Item(listing.to_record(row), key, mapping["page_distance"] if listing.distance is not None else None)


def _slice(items: list[Item[R]], window: Window) -> Slice[R]:
    kept = items[: window.limit]
    if window.from_end:
        kept.reverse()
    return Slice(kept, len(items) > window.limit)


def page_statement(listing: Listing[R], window: Window) -> Select[Any]:
    """The statement `fetch_slice` sends (public so tests can EXPLAIN it)."""
    stmt, order = _bounded(listing, window)
    return stmt.order_by(*order).limit(window.limit + 1)


async def fetch_slice(session: AsyncSession, listing: Listing[R], window: Window) -> Slice[R]:
    rows = (await session.execute(page_statement(listing, window))).all()
    return _slice([_item(listing, r) for r in rows], window)


async def fetch_slices(
    session: AsyncSession, listing: Listing[R], parents: Sequence[Any], window: Window
) -> dict[Any, Slice[R]]:
    """The page of every parent's list (parents without rows get an empty slice).

    A listing without a parent is one list, returned under the key None.
    """
    if listing.parent is None or listing.parent_type is None:
        return {None: await fetch_slice(session, listing, window)}
    stmt, order = _bounded(listing, window)
    rank = func.row_number().over(partition_by=listing.parent, order_by=order)
    inner = (
        stmt.add_columns(listing.parent.label("page_parent"), rank.label("page_rank"))
        .where(one_of(listing.parent, parents, listing.parent_type))
        .subquery()
    )
    ranked = select(inner).where(inner.c.page_rank <= window.limit + 1).order_by(inner.c.page_parent, inner.c.page_rank)
    grouped: defaultdict[Any, list[Item[R]]] = defaultdict(list)
    for row in (await session.execute(ranked)).all():
        grouped[row._mapping["page_parent"]].append(_item(listing, row))
    return {p: _slice(grouped.get(p, []), window) for p in parents}


async def count_rows(session: AsyncSession, listing: Listing[R], parents: Sequence[Any]) -> dict[Any, int]:
    """Rows in every parent's list (or in the one list, under the key None)."""
    if listing.parent is None or listing.parent_type is None:
        inner = listing.select.subquery()
        return {None: int((await session.execute(select(func.count()).select_from(inner))).scalar_one())}
    inner = (
        listing.select.add_columns(listing.parent.label("page_parent"))
        .where(one_of(listing.parent, parents, listing.parent_type))
        .subquery()
    )
    stmt = select(inner.c.page_parent, func.count()).group_by(inner.c.page_parent)
    found = {p: int(n) for p, n in (await session.execute(stmt)).all()}
    return {p: found.get(p, 0) for p in parents}
