"""Agent changes that move coverage: location and reach (status needs no coverage work)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def move_agent(
    session: AsyncSession, agent_id: int, lng: float, lat: float, reach_m: int | None = None
) -> bool:
    """Move an agent (and optionally change its reach); False when there is no such agent.

    The agent_reach triggers recompute its pairs inside this statement, so a reader in the same
    transaction, or any reader after commit, sees the new coverage.
    """
    result = await session.execute(
        text("""
            UPDATE agent SET location = ST_SetSRID(ST_MakePoint(:lng, :lat), 4326),
                             reach_m = coalesce(CAST(:reach_m AS integer), reach_m)
            WHERE id = :id
        """),
        {"id": agent_id, "lng": lng, "lat": lat, "reach_m": reach_m},
    )
    return result.rowcount == 1
