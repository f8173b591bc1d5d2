"""Taking a coverage snapshot: every village's and agent's state, as of a day, in one transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Role, Viewer
from db.queries.coverage import code_range
from db.queries.snapshots import AGENT_STATE, BOUNDARY_VERSION, VILLAGE_STATE
from db.writes.audit import AuditEntry, write_audit
from db.writes.refused import WriteRefused

NATIONAL = {**code_range(None), "within_days": None, "as_of": None}


async def take_snapshot(session: AsyncSession, viewer: Viewer, as_of: dt.date, replace: bool = False) -> int:
    """Store today's coverage under `as_of`; its id. Must run first in its transaction: the village
    and agent states are read from one database snapshot (REPEATABLE READ)."""
    if viewer.role not in (Role.ADMIN, Role.PLANNER):
        raise WriteRefused("FORBIDDEN", "snapshots are national: admins and planners take them", "asOf")
    if as_of > dt.date.today():
        raise WriteRefused("BAD_USER_INPUT", "is in the future; a snapshot records today's coverage", "asOf")
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    if replace:
        await session.execute(text("DELETE FROM coverage_snapshot WHERE as_of = :as_of"), {"as_of": as_of})
    snapshot_id = (await session.execute(text(f"""
        INSERT INTO coverage_snapshot (as_of, taken_by, boundary_version, villages, agents, small_counts_kept)
        VALUES (:as_of, :by, ({BOUNDARY_VERSION}), 0, 0, true) ON CONFLICT (as_of) DO NOTHING RETURNING id
    """), {"as_of": as_of, "by": viewer.subject})).scalar_one_or_none()
    if snapshot_id is None:
        raise WriteRefused("CONFLICT", f"there is a snapshot of {as_of} already; give replace: true to take it again",
                           "asOf")
    await session.execute(text(f"""
        INSERT INTO snapshot_village (snapshot_id, village_code, informal_workers, estimate_source, estimate_year,
                                      active_enrollments, agent_ids)
        SELECT :id, s.* FROM ({VILLAGE_STATE}) s
    """), {"id": snapshot_id, **NATIONAL})
    await session.execute(text("INSERT INTO snapshot_hidden_cell (snapshot_id, code) "
                               "SELECT :id, code FROM hidden_enrollment_cell"), {"id": snapshot_id})
    await session.execute(text(f"""
        INSERT INTO snapshot_agent (snapshot_id, agent_id, home_village_code, location, reach_m, active)
        SELECT :id, s.* FROM ({AGENT_STATE}) s
    """), {"id": snapshot_id, **NATIONAL})
    await session.execute(text("""
        UPDATE coverage_snapshot SET villages = (SELECT count(*) FROM snapshot_village WHERE snapshot_id = :id),
                                     agents = (SELECT count(*) FROM snapshot_agent WHERE snapshot_id = :id)
        WHERE id = :id
    """), {"id": snapshot_id})
    await write_audit(session, [AuditEntry(viewer, "takeSnapshot", "snapshot", str(snapshot_id), None, None,
                                           {"asOf": as_of.isoformat(), "replace": replace})])
    return int(snapshot_id)
