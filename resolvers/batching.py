"""DataLoaders whose keys are (group, key): one statement per group per batch.

A group is whatever must be equal for rows to come from one statement: the region level for a
lookup, or the relation, filter and page window for a nested connection. Sibling fields ask with
the same group, so a nested level of any width costs one statement.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from db.engine import is_statement_timeout
from resolvers.errors import QueryTooComplex

G = TypeVar("G", bound=Hashable)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Fetch = Callable[[AsyncSession, G, Sequence[K]], Awaitable[dict[K, V]]]


def grouped_loader(
    sessions: async_sessionmaker[AsyncSession], fetch: Fetch[G, K, V], missing: V
) -> DataLoader[tuple[G, K], V]:
    """A request-scoped loader; keys `fetch` does not return get `missing`."""

    async def load(keys: list[tuple[G, K]]) -> list[V]:
        groups: dict[G, dict[K, None]] = {}  # dicts keep order and drop repeats
        for group, key in keys:
            groups.setdefault(group, {})[key] = None
        found: dict[tuple[G, K], V] = {}
        for group, members in groups.items():
            # A session per batch: sibling fields resolve concurrently, and one AsyncSession must
            # never be shared between concurrent tasks.
            try:
                async with sessions() as session:
                    for key, value in (await fetch(session, group, list(members))).items():
                        found[(group, key)] = value
            except DBAPIError as exc:
                if is_statement_timeout(exc):
                    raise QueryTooComplex(
                        "the database stopped this query after the per-request time limit; "
                        "narrow it (filters, smaller pages, simpler geometry)"
                    ) from exc
                raise
        return [found.get(k, missing) for k in keys]

    return DataLoader(load)

