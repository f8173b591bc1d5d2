"""Village resolvers."""

from __future__ import annotations

from db.records import VillageRecord
from resolvers.context import Info


async def village(info: Info, code: str) -> VillageRecord | None:
    """A village by Kemendagri code (e.g. 34.71.01.1001), or null when there is none."""
    return await info.context.loaders.village_by_code.load(code.strip())
