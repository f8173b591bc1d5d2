"""Keyset pages: the window a page covers, and a page of rows with their sort keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

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
