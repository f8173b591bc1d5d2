"""Agent changes. Coverage follows in the same statement (agent_reach triggers), events at commit."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any, cast

from sqlalchemy import CursorResult, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Role, Viewer, analyses
from db.regions import Level
from db.rules import MAX_REACH_M
from db.writes.audit import AuditEntry, write_audit
from db.writes.refused import WriteRefused
from geo.extent import BBox, coordinate_problem

CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
PHONE = re.compile(r"\+?[0-9][0-9 -]{6,18}")


@dataclass(frozen=True)
class AgentFields:
    code: str
    name: str
    home_village_code: str
    lng: float
    lat: float
    reach_m: int
    phone: str | None = None
    status: str = "active"


def _check(fields: AgentFields) -> None:
    problems = [
        ("code", None if CODE.fullmatch(fields.code) else "1 to 40 letters, digits, '.', '_' or '-'"),
        ("name", None if 1 <= len(fields.name.strip()) <= 200 else "give a name of 1 to 200 characters"),
        ("phone", None if fields.phone is None or PHONE.fullmatch(fields.phone) else "digits, an optional leading +"),
        ("homeVillageCode", None if Level.of_code(fields.home_village_code) is Level.VILLAGE
         else f"{fields.home_village_code!r} is not a village code like 34.71.01.1001"),
        ("location", coordinate_problem(BBox(fields.lng, fields.lat, fields.lng, fields.lat))),
        ("reachM", None if 1 <= fields.reach_m <= MAX_REACH_M else f"must be between 1 and {MAX_REACH_M:,} metres"),
        ("status", None if fields.status in ("active", "inactive") else "active or inactive"),
    ]
    for field, problem in problems:
        if problem:
            raise WriteRefused("BAD_USER_INPUT", problem, field)


async def _check_place(session: AsyncSession, viewer: Viewer, fields: AgentFields) -> None:
    """The home village exists; for a manager, it and the location lie inside the scope."""
    row = (await session.execute(text("""
        SELECT EXISTS (SELECT 1 FROM village WHERE code = :home) AS home_exists,
               (SELECT array_agg(code) FROM (
                   SELECT code FROM province WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326))
                   UNION ALL SELECT code FROM regency WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326))
                   UNION ALL SELECT code FROM district WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326))
                   UNION ALL SELECT code FROM village WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326))
               ) s) AS regions_at_location
    """), {"home": fields.home_village_code, "lng": fields.lng, "lat": fields.lat})).one()
    if not row.home_exists:
        raise WriteRefused("NOT_FOUND", f"no village {fields.home_village_code}", "homeVillageCode")
    if viewer.role is Role.MANAGER:
        if not analyses(viewer, fields.home_village_code):
            raise WriteRefused("FORBIDDEN", "the home village is outside your scope", "homeVillageCode")
        if not any(analyses(viewer, code) for code in row.regions_at_location or []):
            raise WriteRefused("FORBIDDEN", "the location lies outside the regions of your scope", "location")


def _may_manage(viewer: Viewer) -> None:
    if viewer.role not in (Role.ADMIN, Role.MANAGER):
        raise WriteRefused("FORBIDDEN", "agents are managed by admins and managers")


_COLUMNS = """id, code, name, phone, home_village_code, ST_X(location) AS lng, ST_Y(location) AS lat, reach_m,
              status::text AS status"""


async def _current(session: AsyncSession, code: str) -> tuple[int, AgentFields] | None:
    row = (await session.execute(text(f"SELECT {_COLUMNS} FROM agent WHERE code = :code FOR UPDATE"), {"code": code})).first()
    if row is None:
        return None
    return row.id, AgentFields(row.code, row.name, row.home_village_code, row.lng, row.lat, row.reach_m, row.phone, row.status)


async def create_agent(session: AsyncSession, viewer: Viewer, fields: AgentFields) -> int:
    _may_manage(viewer)
    _check(fields)
    await _check_place(session, viewer, fields)
    row = (await session.execute(text("""
        INSERT INTO agent (code, name, phone, home_village_code, location, reach_m, status)
        VALUES (:code, :name, :phone, :home, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326), :reach, CAST(:status AS agent_status))
        ON CONFLICT (code) DO NOTHING RETURNING id
    """), {"code": fields.code, "name": fields.name.strip(), "phone": fields.phone, "home": fields.home_village_code,
           "lng": fields.lng, "lat": fields.lat, "reach": fields.reach_m, "status": fields.status})).first()
    if row is None:
        raise WriteRefused("CONFLICT", f"an agent with code {fields.code} already exists", "code")
    await write_audit(session, [AuditEntry(viewer, "createAgent", "agent", fields.code, fields.home_village_code,
                                           None, asdict(fields))])
    return int(row.id)


async def update_agent(session: AsyncSession, viewer: Viewer, code: str, changes: dict[str, Any]) -> int:
    """Apply `changes` (AgentFields names; code cannot change); the agent must be yours before and after."""
    _may_manage(viewer)
    found = await _current(session, code)
    if found is None or (viewer.role is Role.MANAGER and not analyses(viewer, found[1].home_village_code)):
        raise WriteRefused("NOT_FOUND", f"no agent {code} that you manage", "code")
    agent_id, before = found
    after = replace(before, **changes)
    _check(after)
    await _check_place(session, viewer, after)
    await session.execute(text("""
        UPDATE agent SET name = :name, phone = :phone, home_village_code = :home,
                         location = ST_SetSRID(ST_MakePoint(:lng, :lat), 4326), reach_m = :reach,
                         status = CAST(:status AS agent_status)
        WHERE id = :id
    """), {"id": agent_id, "name": after.name.strip(), "phone": after.phone, "home": after.home_village_code,
           "lng": after.lng, "lat": after.lat, "reach": after.reach_m, "status": after.status})
    action = "setAgentStatus" if set(changes) == {"status"} else "updateAgent"
    await write_audit(session, [AuditEntry(viewer, action, "agent", code, after.home_village_code,
                                           asdict(before), asdict(after))])
    return agent_id


async def move_agent(
    session: AsyncSession, agent_id: int, lng: float, lat: float, reach_m: int | None = None
) -> bool:
    """Move an agent (and optionally change its reach); False when there is no such agent.

    A low-level move without checks or audit (benchmarks and maintenance); the API goes through
    `update_agent`. The agent_reach triggers recompute its pairs inside this statement.
    """
    result = await session.execute(
        text("""
            UPDATE agent SET location = ST_SetSRID(ST_MakePoint(:lng, :lat), 4326),
                             reach_m = coalesce(CAST(:reach_m AS integer), reach_m)
            WHERE id = :id
        """),
        {"id": agent_id, "lng": lng, "lat": lat, "reach_m": reach_m},
    )
    return cast(CursorResult[Any], result).rowcount == 1  # a DML statement's result has a row count
