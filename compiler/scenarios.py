"""Scenarios in the compiled statement: the saved rows, and their figures evaluated as if their
changes were applied.

A scenario's coverage, gaps and workload are the compiled values of the live fields placed under
`WITH` db.queries.scenarios.SCENARIO_RELATIONS: every `agent` and `agent_reach` they read,
nested fields included (a gap's nearest agent, a workload's agent), is the scenario's.
"""

from __future__ import annotations

from collections.abc import Callable

from strawberry.relay import GlobalID

from compiler.analytics import sites_value, workload_connection
from compiler.connection import Rows, connection
from compiler.coverage import TYPES, act_of, gap_connection, region_figures
from compiler.entities import global_id_of, region_row
from compiler.objects import column, compiles, compiles_columns, global_id, object_json
from compiler.plan import Field
from compiler.sql import Build, Path, Raw, bind
from db.access import visible_sql
from db.queries.scenarios import SCENARIO_RELATIONS, SCENARIO_VILLAGE_CHANGES
from db.regions import Level
from resolvers.errors import ApiError, BadUserInput, NotFound
from resolvers.inputs import region_code, row_id

# Scenarios are made for provinces, regencies and districts: the code's length says which.
_LEVELS = {2: Level.PROVINCE, 5: Level.REGENCY, 8: Level.DISTRICT}
_CHILD_WIDTH = "CASE length({0}) WHEN 2 THEN 5 WHEN 5 THEN 8 ELSE 13 END"


def scenario_row(b: Build, fields: tuple[Field, ...], where: Callable[[str], str], path: Path) -> str:
    s = b.alias("sc")
    return (f"(SELECT {object_json(b, 'Scenario', fields, s, path)} FROM scenario {s} "
            f"WHERE {where(s)} AND {visible_sql(b.viewer, 'scenario', s)})")


@compiles("Query", field="scenario")
def _scenario(b: Build, f: Field, alias: str, path: Path) -> str:
    try:
        gid: GlobalID = global_id_of(f.args["id"])
        if gid.type_name != "Scenario":
            raise BadUserInput(f"is the id of a {gid.type_name}, not of a Scenario", field="id")
        number = row_id(gid.node_id)
    except ApiError as error:
        return b.error(error, f.nodes)
    found = scenario_row(b, f.fields(), lambda s: f"{s}.id = {b.add(number)}", path)
    return f"coalesce({found}, {b.error(NotFound(f'no scenario {number} that you can see', field='id'), f.nodes)})"


@compiles("Query", field="scenarios")
def _scenarios(b: Build, f: Field, alias: str, path: Path) -> str:
    s = b.alias("sc")
    where = [visible_sql(b.viewer, "scenario", s)]
    try:
        if f.args["regionCode"] is not None:
            code = region_code(f.args["regionCode"], "regionCode")
            where.append(f"({s}.region_code = {b.add(code)} OR {s}.region_code LIKE {b.add(code + '.%')})")
    except ApiError as error:
        return b.error(error, f.nodes)
    rows = Rows(f"FROM scenario {s} WHERE {' AND '.join(where)}", s, ((f"-{s}.id", int),))  # newest first
    return connection(b, f, rows, "Scenario", path)


compiles("Scenario", field="id")(lambda b, f, alias, path: global_id("Scenario", f"{alias}.id::text"))
for _name, _column in {"name": "name", "regionCode": "region_code", "createdBy": "created_by",
                       "createdAt": "created_at"}.items():
    compiles("Scenario", field=_name)(column(_column))


@compiles("Scenario", field="changes")
def _changes(b: Build, f: Field, alias: str, path: Path) -> str:
    c = b.alias("ch")
    item = object_json(b, "ScenarioChangeType", f.fields(), c, (*path, 0))
    return f"(SELECT coalesce(json_agg({item} ORDER BY {c}.n), '[]'::json) FROM jsonb_array_elements({alias}.changes) " \
           f"WITH ORDINALITY AS {c}(change, n))"


_CHANGE = {
    "kind": lambda c: f"upper({c}.change->>'kind')",
    "agentCode": lambda c: f"{c}.change->>'agent_code'",
    "lng": lambda c: f"({c}.change->>'lng')::float8",
    "lat": lambda c: f"({c}.change->>'lat')::float8",
    "reachM": lambda c: f"({c}.change->>'reach_m')::integer",
    "name": lambda c: f"{c}.change->>'name'",
}
compiles_columns("ScenarioChangeType", _CHANGE)


@compiles("Scenario", field="region")
def _region(b: Build, f: Field, alias: str, path: Path) -> str:
    cases = [f"WHEN {width} THEN "
             + region_row(b, level, f.fields(TYPES[level]), lambda r: f"{r}.code = {alias}.region_code", path)
             for width, level in _LEVELS.items() if f.fields(TYPES[level])]
    return f"CASE length({alias}.region_code) {' '.join(cases)} END" if cases else "NULL"


def _bounds(alias: str) -> tuple[Raw, Raw]:
    return Raw(f"{alias}.region_code || '.'"), Raw(f"{alias}.region_code || '/'")


def _relations(alias: str) -> dict[str, Raw]:
    return {"overrides": Raw(f"{alias}.overrides"), "added": Raw(f"{alias}.added")}


def under_scenario(b: Build, alias: str, value: str) -> str:
    """`value` (SQL) evaluated with the agents and reach pairs of the scenario row aliased `alias`."""
    return f"(WITH {bind(b, SCENARIO_RELATIONS, _relations(alias))} SELECT {value})"


@compiles("Scenario", field="coverage")
def _coverage(b: Build, f: Field, alias: str, path: Path) -> str:
    try:
        act = act_of(f)
    except ApiError as error:
        return b.error(error, f.nodes)
    cases = " ".join(f"WHEN {width} THEN {region_figures(b, f, level, f'{alias}.region_code', act, path)}"
                     for width, level in _LEVELS.items())
    return under_scenario(b, alias, f"CASE length({alias}.region_code) {cases} END")


@compiles("Scenario", field="coverageGaps")
def _coverage_gaps(b: Build, f: Field, alias: str, path: Path) -> str:
    lo, hi = _bounds(alias)
    return under_scenario(b, alias, gap_connection(b, f, lo, hi, path, stand_ins=True))


@compiles("Scenario", field="agentWorkload")
def _agent_workload(b: Build, f: Field, alias: str, path: Path) -> str:
    lo, hi = _bounds(alias)
    return under_scenario(b, alias, workload_connection(b, f, lo, hi, path))


@compiles("Scenario", field="recommendAgentSites")
def _recommend_agent_sites(b: Build, f: Field, alias: str, path: Path) -> str:
    lo, hi = _bounds(alias)
    return under_scenario(b, alias, sites_value(b, f, lo, hi, path))


@compiles("Scenario", field="delta")
def _delta(b: Build, f: Field, alias: str, path: Path) -> str:
    try:
        act = act_of(f)
    except ApiError as error:
        return b.error(error, f.nodes)
    lo, hi = _bounds(alias)
    statement = bind(b, SCENARIO_VILLAGE_CHANGES, {**_relations(alias), "lo": lo, "hi": hi,
                                                   "within_days": act.within_days, "as_of": act.as_of})
    d = b.alias("d")
    delta = object_json(b, "ScenarioDelta", f.fields(), d, path)
    return (f"(WITH {d}_rows AS MATERIALIZED ({statement}) "
            f"SELECT {delta} FROM (SELECT {alias}.region_code AS region_code) {d})")


_REACHED, _LOST = "(x.before = 0 AND x.after > 0)", "(x.before > 0 AND x.after = 0)"


def _aggregate(expression: str) -> Callable[[str], str]:
    return lambda d: f"(SELECT {expression} FROM {d}_rows x)"


compiles_columns("ScenarioDelta", {
    "newlyReachedVillages": _aggregate(f"count(*) FILTER (WHERE {_REACHED})"),
    "lostVillages": _aggregate(f"count(*) FILTER (WHERE {_LOST})"),
    "newlyReachedWorkers": _aggregate(f"coalesce(sum(x.informal_workers) FILTER (WHERE {_REACHED}), 0)"),
    "lostWorkers": _aggregate(f"coalesce(sum(x.informal_workers) FILTER (WHERE {_LOST}), 0)"),
})


@compiles("ScenarioDelta", field="villages")
def _delta_villages(b: Build, f: Field, alias: str, path: Path) -> str:
    v = b.alias("vr")
    item = object_json(b, "VillageReachChange", f.fields(), v, (*path, 0))
    return (f"(SELECT coalesce(json_agg({item} ORDER BY {v}.informal_workers DESC NULLS LAST, {v}.code), '[]'::json) "
            f"FROM (SELECT x.*, x.after > 0 AS reached FROM {alias}_rows x WHERE {_REACHED} OR {_LOST}) {v})")


compiles_columns("VillageReachChange", {
    "code": lambda v: f"{v}.code",
    "reached": lambda v: f"{v}.reached",
    "informalWorkers": lambda v: f"{v}.informal_workers",
    "agentsBefore": lambda v: f"{v}.before",
    "agentsAfter": lambda v: f"{v}.after",
})
compiles("VillageReachChange", field="village")(
    lambda b, f, alias, path: region_row(b, Level.VILLAGE, f.fields(), lambda r: f"{r}.code = {alias}.code", path))


@compiles("ScenarioDelta", field="byRegion")
def _by_region(b: Build, f: Field, alias: str, path: Path) -> str:
    r = b.alias("rr")
    item = object_json(b, "RegionReachChange", f.fields(), r, (*path, 0))
    child = f"left(x.code, {_CHILD_WIDTH.format(alias + '.region_code')})"
    grouped = (f"SELECT {child} AS code, count(*) FILTER (WHERE {_REACHED}) AS reached, "
               f"count(*) FILTER (WHERE {_LOST}) AS lost, "
               f"coalesce(sum(x.informal_workers) FILTER (WHERE {_REACHED}), 0) AS reached_workers, "
               f"coalesce(sum(x.informal_workers) FILTER (WHERE {_LOST}), 0) AS lost_workers "
               f"FROM {alias}_rows x WHERE {_REACHED} OR {_LOST} GROUP BY 1")
    return f"(SELECT coalesce(json_agg({item} ORDER BY {r}.code), '[]'::json) FROM ({grouped}) {r})"


compiles_columns("RegionReachChange", {
    "code": lambda r: f"{r}.code",
    "name": lambda r: (f"coalesce((SELECT name FROM regency WHERE code = {r}.code), "
                       f"(SELECT name FROM district WHERE code = {r}.code), (SELECT name FROM village WHERE code = {r}.code))"),
    "newlyReachedVillages": lambda r: f"{r}.reached",
    "lostVillages": lambda r: f"{r}.lost",
    "newlyReachedWorkers": lambda r: f"{r}.reached_workers",
    "lostWorkers": lambda r: f"{r}.lost_workers",
})
