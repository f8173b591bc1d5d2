"""Saving scenarios: a planner's changes to the agents of a region, checked, stored, audited.

Nothing about the live agents changes: a scenario is evaluated when read (db/queries/scenarios.py).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Role, Viewer, analyses
from db.regions import Level
from db.rules import DEFAULT_REACH_M, MAX_REACH_M
from db.writes.audit import AuditEntry, write_audit
from db.writes.refused import WriteRefused
from geo.extent import BBox, coordinate_problem

MAX_CHANGES = 500
MAX_NAME = 200


class ChangeKind(enum.StrEnum):
    ADD_AGENT = "add_agent"
    MOVE_AGENT = "move_agent"
    CHANGE_REACH = "change_reach"
    DEACTIVATE_AGENT = "deactivate_agent"


# What each kind needs and takes (API names, for the messages).
_NEEDS = {
    ChangeKind.ADD_AGENT: ("location",),
    ChangeKind.MOVE_AGENT: ("agentCode", "location"),
    ChangeKind.CHANGE_REACH: ("agentCode", "reachM"),
    ChangeKind.DEACTIVATE_AGENT: ("agentCode",),
}
_TAKES = {
    ChangeKind.ADD_AGENT: {"location", "reachM", "name"},
    ChangeKind.MOVE_AGENT: {"agentCode", "location"},
    ChangeKind.CHANGE_REACH: {"agentCode", "reachM"},
    ChangeKind.DEACTIVATE_AGENT: {"agentCode"},
}


@dataclass(frozen=True)
class ScenarioChange:
    kind: ChangeKind
    agent_code: str | None = None
    lng: float | None = None
    lat: float | None = None
    reach_m: int | None = None
    name: str | None = None

    def given(self) -> set[str]:
        """The API names of the fields this change carries."""
        values = {"agentCode": self.agent_code, "location": self.lng, "reachM": self.reach_m, "name": self.name}
        return {k for k, v in values.items() if v is not None}


def _refuse(code: str, message: str, field: str) -> WriteRefused:
    return WriteRefused(code, message, field)


def _check_change(i: int, change: ScenarioChange) -> None:
    at = f"changes.{i}"
    for needed in _NEEDS[change.kind]:
        if needed not in change.given():
            raise _refuse("BAD_USER_INPUT", f"{change.kind.name} needs {needed}", f"{at}.{needed}")
    for extra in sorted(change.given() - _TAKES[change.kind]):
        raise _refuse("BAD_USER_INPUT", f"{change.kind.name} takes no {extra}; make it a change of its own",
                      f"{at}.{extra}")
    if change.lng is not None and change.lat is not None:
        problem = coordinate_problem(BBox(change.lng, change.lat, change.lng, change.lat))
        if problem:
            raise _refuse("BAD_USER_INPUT", problem, f"{at}.location")
    if change.reach_m is not None and not 1 <= change.reach_m <= MAX_REACH_M:
        raise _refuse("BAD_USER_INPUT", f"must be between 1 and {MAX_REACH_M:,} metres", f"{at}.reachM")
    if change.name is not None and not 1 <= len(change.name.strip()) <= MAX_NAME:
        raise _refuse("BAD_USER_INPUT", f"give a name of 1 to {MAX_NAME} characters", f"{at}.name")


async def check_region(session: AsyncSession, viewer: Viewer, code: str) -> None:
    """The caller may make scenarios, of this region, which exists (WriteRefused otherwise)."""
    if viewer.role is Role.AGENT:
        raise _refuse("FORBIDDEN", "scenarios are for planners and managers", "regionCode")
    level = Level.of_code(code)
    if level is None or level is Level.VILLAGE:
        raise _refuse("BAD_USER_INPUT", f"{code!r} is not the code of a province, regency or district (e.g. 34.71)",
                      "regionCode")
    if not analyses(viewer, code):
        raise _refuse("FORBIDDEN", f"{code} is outside your scope ({', '.join(viewer.scope)})", "regionCode")
    found = (await session.execute(text(f"SELECT EXISTS (SELECT 1 FROM {level.table} WHERE code = :code)"),
                                   {"code": code})).scalar_one()
    if not found:
        raise _refuse("NOT_FOUND", f"no {level} with code {code}", "regionCode")


async def _agents(session: AsyncSession, viewer: Viewer, changes: list[ScenarioChange]) -> dict[str, int]:
    """The ids of the agents the changes name; each must exist and be the caller's to see."""
    codes = sorted({c.agent_code for c in changes if c.agent_code is not None})
    rows = (await session.execute(text("SELECT id, code, home_village_code FROM agent WHERE code = ANY(:codes)"),
                                  {"codes": codes})).all()
    visible = {r.code: int(r.id) for r in rows if viewer.role is not Role.MANAGER or analyses(viewer, r.home_village_code)}
    for i, change in enumerate(changes):
        if change.agent_code is not None and change.agent_code not in visible:
            raise _refuse("NOT_FOUND", f"no agent {change.agent_code} that you can see", f"changes.{i}.agentCode")
    return visible


async def _home_village(session: AsyncSession, lng: float, lat: float) -> str | None:
    """The village whose boundary holds the point, else the one whose label point is nearest."""
    return (await session.execute(text("""
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lng, :lat), 4326) AS g)
        SELECT coalesce(
            (SELECT v.code FROM village v, p WHERE ST_Intersects(v.geom, p.g) ORDER BY v.code LIMIT 1),
            (SELECT v.code FROM village v, p WHERE v.label_point IS NOT NULL ORDER BY v.label_point <-> p.g LIMIT 1))
    """), {"lng": lng, "lat": lat})).scalar_one_or_none()


def _overrides(changes: list[ScenarioChange], ids: dict[str, int]) -> list[dict[str, Any]]:
    """One object per changed agent, the changes merged in the order given."""
    merged: dict[int, dict[str, Any]] = {}
    for change in changes:
        if change.kind is ChangeKind.ADD_AGENT:
            continue
        assert change.agent_code is not None
        entry = merged.setdefault(ids[change.agent_code], {"id": ids[change.agent_code]})
        if change.kind is ChangeKind.MOVE_AGENT:
            entry |= {"lng": change.lng, "lat": change.lat}
        elif change.kind is ChangeKind.CHANGE_REACH:
            entry["reach_m"] = change.reach_m
        else:
            entry["deactivate"] = True
    return list(merged.values())


async def create_scenario(session: AsyncSession, viewer: Viewer, name: str, region_code: str,
                          changes: list[ScenarioChange]) -> int:
    """Check and save a scenario; its id. Planners and admins anywhere, managers inside their scope."""
    if viewer.role is Role.AGENT:
        raise _refuse("FORBIDDEN", "scenarios are for planners and managers", "regionCode")
    if not 1 <= len(name.strip()) <= MAX_NAME:
        raise _refuse("BAD_USER_INPUT", f"give a name of 1 to {MAX_NAME} characters", "name")
    if not 1 <= len(changes) <= MAX_CHANGES:
        raise _refuse("BAD_USER_INPUT", f"give 1 to {MAX_CHANGES} changes", "changes")
    for i, change in enumerate(changes):
        _check_change(i, change)
    await check_region(session, viewer, region_code)
    ids = await _agents(session, viewer, changes)
    added: list[dict[str, Any]] = []
    for i, change in enumerate(changes):
        if change.kind is ChangeKind.ADD_AGENT:
            assert change.lng is not None and change.lat is not None
            home = await _home_village(session, change.lng, change.lat)
            if home is None:
                raise _refuse("NOT_FOUND", "no village to make the new agent's home; import villages first",
                              f"changes.{i}.location")
            n = len(added) + 1
            added.append({"n": n, "name": (change.name or f"New agent {n}").strip(), "lng": change.lng,
                          "lat": change.lat, "reach_m": change.reach_m or DEFAULT_REACH_M, "home_village_code": home})
    shown = [{k: v for k, v in {**asdict(c), "kind": c.kind.value}.items() if v is not None} for c in changes]
    statement = text("""
        INSERT INTO scenario (name, region_code, changes, overrides, added, created_by, created_role)
        VALUES (:name, :region, :changes, :overrides, :added, :subject, :role) RETURNING id
    """).bindparams(*(bindparam(k, type_=JSONB) for k in ("changes", "overrides", "added")))
    scenario_id = int((await session.execute(statement, {
        "name": name.strip(), "region": region_code, "changes": shown, "overrides": _overrides(changes, ids),
        "added": added, "subject": viewer.subject, "role": viewer.role.value,
    })).scalar_one())
    after = {"name": name.strip(), "regionCode": region_code, "changes": orjson.loads(orjson.dumps(shown))}
    await write_audit(session, [AuditEntry(viewer, "createScenario", "scenario", str(scenario_id), region_code,
                                           None, after)])
    return scenario_id
