"""Villages: lookups by code, lists per district, and the villages within an agent's reach."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Row, Select, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer, agent_visible, region_visible
from db.filters import ListFilter, common, distance_to, spatial
from db.models import Agent, AgentReach, Village
from db.queries.paging import Listing, Slice, Window, count_rows, fetch_slices, one_of
from db.queries.regions import label_point
from db.records import VillageRecord
from db.regions import Level


class VillagesOf(enum.Enum):
    ALL = "all"  # parents: [None]
    DISTRICT = "district"  # parents: district codes
    AGENT_REACH = "agent_reach"  # parents: agent ids; villages whose label point the agent reaches


def _record(row: Row[Any]) -> VillageRecord:
    return VillageRecord(
        row.code, row.name, row.district_code, row.area_km2, label_point(row), row.population,
        row.informal_workers, row.estimate_source, row.estimate_year,
    )


def _base(viewer: Viewer, filter: ListFilter) -> Select[Any]:
    return select(
        Village.code.label("code"), Village.name.label("name"), Village.district_code.label("district_code"),
        Village.area_km2.label("area_km2"),
        func.ST_X(Village.label_point).label("lon"), func.ST_Y(Village.label_point).label("lat"),
        Village.population.label("population"), Village.informal_workers.label("informal_workers"),
        Village.estimate_source.label("estimate_source"), Village.estimate_year.label("estimate_year"),
    ).where(
        region_visible(viewer, Level.VILLAGE, Village.code),
        common(filter, Village.code, Village.name),
        spatial(filter, Village.geom, Village.label_point),
    )


def listing(viewer: Viewer, filter: ListFilter, of: VillagesOf) -> Listing[VillageRecord]:
    stmt = _base(viewer, filter)
    if of is VillagesOf.AGENT_REACH:
        # Ordered by distance from the agent, which each edge exposes.
        stmt = stmt.join(AgentReach, AgentReach.village_code == Village.code).join(
            Agent, Agent.id == AgentReach.agent_id
        ).where(agent_visible(viewer))
        distance = AgentReach.distance_m
        return Listing(stmt, (distance, Village.code), _record, distance, AgentReach.agent_id, BigInteger())
    distance = distance_to(filter, Village.label_point)
    keys = (Village.code,) if distance is None else (distance, Village.code)
    if of is VillagesOf.DISTRICT:
        return Listing(stmt, keys, _record, distance, Village.district_code, String())
    return Listing(stmt, keys, _record, distance)


async def villages_by_codes(session: AsyncSession, viewer: Viewer, codes: Sequence[str]) -> list[VillageRecord]:
    """Visible villages whose code is in `codes` (unknown or hidden ones are absent)."""
    stmt = _base(viewer, ListFilter()).where(one_of(Village.code, codes, String()))
    return [_record(r) for r in (await session.execute(stmt)).all()]


async def village_pages(
    session: AsyncSession, viewer: Viewer, of: VillagesOf, parents: Sequence[Any], filter: ListFilter,
    window: Window,
) -> dict[Any, Slice[VillageRecord]]:
    return await fetch_slices(session, listing(viewer, filter, of), parents, window)


async def village_counts(
    session: AsyncSession, viewer: Viewer, of: VillagesOf, parents: Sequence[Any], filter: ListFilter
) -> dict[Any, int]:
    return await count_rows(session, listing(viewer, filter, of), parents)
