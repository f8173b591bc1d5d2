"""Relay cursor connections over keyset slices: argument checks, opaque cursors, page info."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from strawberry.dataloader import DataLoader

from db.filters import ListFilter
from db.queries.paging import Key, Slice, Window
from resolvers.errors import BadUserInput

R = TypeVar("R")

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @property
    def size(self) -> int:
        """Rows this page may hold (what the cost limit multiplies)."""
        return self.last if self.last is not None else self.first if self.first is not None else DEFAULT_PAGE_SIZE


@dataclass(frozen=True, slots=True)
class Edge(Generic[R]):
    cursor: str
    node: R
    distance_m: float | None


@dataclass(frozen=True, slots=True)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    edges: list[Edge[R]]
    page_info: PageInfo
    count: Callable[[], Awaitable[int]]  # totalCount, fetched only when asked for


def encode_cursor(key: Key) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode()


def decode_cursor(cursor: str, key_types: tuple[type, ...], field: str) -> Key:
    """The sort key inside a cursor this API issued for the same list and ordering."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != len(key_types) or not all(
        _fits(v, t) for v, t in zip(values, key_types, strict=True)
    ):
        raise BadUserInput(
            "not a cursor of this list; use a cursor from this list's pageInfo or edges, with the same filter",
            field=field,
        )
    return tuple(float(v) if t is float else v for v, t in zip(values, key_types, strict=True))


BIGINT = 2**63 - 1  # keys are compared with bigint, float8 and text columns


def _fits(value: object, kind: type) -> bool:
    """Whether a decoded cursor value has the key's type and fits its column: a forged cursor
    must be refused here, not fail in the database."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return kind in (int, float) and -BIGINT <= value <= BIGINT
    if isinstance(value, float):
        return kind is float and math.isfinite(value)
    if isinstance(value, str):
        return kind is str and "\x00" not in value and len(value) <= 200
    return False


def window(args: PageArgs, key_types: tuple[type, ...]) -> Window:
    if args.first is not None and args.last is not None:
        raise BadUserInput("give `first` (with `after`) or `last` (with `before`), not both", field="first")
    for name, value in (("first", args.first), ("last", args.last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            raise BadUserInput(
                f"must be between 0 and {MAX_PAGE_SIZE}, got {value}; fetch more rows page by page with cursors",
                field=name,
            )
    return Window(
        limit=args.size,
        after=decode_cursor(args.after, key_types, "after") if args.after is not None else None,
        before=decode_cursor(args.before, key_types, "before") if args.before is not None else None,
        from_end=args.last is not None,
    )


def key_types(key: type, *, by_distance: bool) -> tuple[type, ...]:
    return (float, key) if by_distance else (key,)


def to_page(slice: Slice[R], window: Window, count: Callable[[], Awaitable[int]]) -> Page[R]:
    edges = [Edge(encode_cursor(item.key), item.record, item.distance_m) for item in slice.items]
    if window.from_end:
        has_previous, has_next = slice.has_more, window.before is not None
    else:
        has_previous, has_next = window.after is not None, slice.has_more
    info = PageInfo(
        has_next, has_previous, edges[0].cursor if edges else None, edges[-1].cursor if edges else None
    )
    return Page(edges, info, count)


async def connection(
    pages: DataLoader[Any, Slice[R]], counts: DataLoader[Any, int], relation: Hashable, parent: Any,
    filter: ListFilter, args: PageArgs, key: tuple[type, ...],
) -> Page[R]:
    """One parent's page through the batched loaders (parent None: a root list)."""
    bounds = window(args, key)
    slice = await pages.load(((relation, filter, bounds), parent))
    return to_page(slice, bounds, lambda: counts.load(((relation, filter), parent)))
