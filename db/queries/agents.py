"""Agents: lookups, lists per district (by home village) and the active agents reaching a village."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    Select,
    String,
    func,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer, agent_visible
from db.filters import ListFilter, common, distance_to, spatial
from db.models import Agent, AgentReach, AgentStatus
from db.queries.paging import Listing, Slice, Window, count_rows, fetch_slices, one_of
from db.records import AgentRecord, LonLat


class AgentsOf(enum.Enum):
    ALL = "all"  # parents: [None]
    DISTRICT = "district"  # parents: district codes; agents whose home village is there
    VILLAGE_REACH = "village_reach"  # parents: village codes; active agents reaching the label point


def _record(row: Row[Any]) -> AgentRecord:
    return AgentRecord(
        row.id, row.code, row.name, row.phone, row.home_village_code, LonLat(row.lon, row.lat),
        row.reach_m, row.status.value, row.joined_on,
    )


def _status(filter: ListFilter) -> ColumnElement[bool]:
    return Agent.status == AgentStatus(filter.status) if filter.status is not None else true()


def _base(viewer: Viewer, filter: ListFilter) -> Select[Any]:
    return select(
        Agent.id.label("id"), Agent.code.label("code"), Agent.name.label("name"), Agent.phone.label("phone"),
        Agent.home_village_code.label("home_village_code"),
        func.ST_X(Agent.location).label("lon"), func.ST_Y(Agent.location).label("lat"),
        Agent.reach_m.label("reach_m"), Agent.status.label("status"), Agent.joined_on.label("joined_on"),
    ).where(
        agent_visible(viewer),
        common(filter, Agent.home_village_code, Agent.name),
        _status(filter),
        spatial(filter, Agent.location, Agent.location),
    )


def listing(viewer: Viewer, filter: ListFilter, of: AgentsOf) -> Listing[AgentRecord]:
    stmt = _base(viewer, filter)
    if of is AgentsOf.VILLAGE_REACH:
        stmt = stmt.join(AgentReach, AgentReach.agent_id == Agent.id).where(Agent.status == AgentStatus.ACTIVE)
        distance = AgentReach.distance_m
        return Listing(stmt, (distance, Agent.id), _record, distance, AgentReach.village_code, String())
    distance = distance_to(filter, Agent.location)
    keys = (Agent.id,) if distance is None else (distance, Agent.id)
    if of is AgentsOf.DISTRICT:
        return Listing(stmt, keys, _record, distance, func.left(Agent.home_village_code, 8), String())
    return Listing(stmt, keys, _record, distance)


async def agents_by_ids(session: AsyncSession, viewer: Viewer, ids: Sequence[int]) -> list[AgentRecord]:
    stmt = _base(viewer, ListFilter()).where(one_of(Agent.id, ids, BigInteger()))
    return [_record(r) for r in (await session.execute(stmt)).all()]


async def agents_by_codes(session: AsyncSession, viewer: Viewer, codes: Sequence[str]) -> list[AgentRecord]:
    stmt = _base(viewer, ListFilter()).where(one_of(Agent.code, codes, String()))
    return [_record(r) for r in (await session.execute(stmt)).all()]


async def agent_pages(
    session: AsyncSession, viewer: Viewer, of: AgentsOf, parents: Sequence[Any], filter: ListFilter,
    window: Window,
) -> dict[Any, Slice[AgentRecord]]:
    return await fetch_slices(session, listing(viewer, filter, of), parents, window)


async def agent_counts(
    session: AsyncSession, viewer: Viewer, of: AgentsOf, parents: Sequence[Any], filter: ListFilter
) -> dict[Any, int]:
    return await count_rows(session, listing(viewer, filter, of), parents)
