"""Paging arguments: page sizes, cursors (opaque: base64url of the sort key as a JSON array, made
in SQL by compiler.connection) and the window they describe."""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass

import orjson

from db.queries.paging import Key, Window
from resolvers.errors import BadUserInput

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


