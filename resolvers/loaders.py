"""Request-scoped DataLoaders: one batched statement per relation per request."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from db.queries import villages as village_queries
from db.records import VillageRecord


@dataclass(frozen=True, slots=True)
class Loaders:
    village_by_code: DataLoader[str, VillageRecord | None]


def make_loaders(sessions: async_sessionmaker[AsyncSession]) -> Loaders:
    async def load_villages(codes: list[str]) -> list[VillageRecord | None]:
        # A session per batch: sibling fields resolve concurrently, and one AsyncSession must
        # never be shared between concurrent tasks.
        async with sessions() as session:
            found = {v.code: v for v in await village_queries.villages_by_codes(session, codes)}
        return [found.get(code) for code in codes]

    return Loaders(village_by_code=DataLoader(load_villages))
