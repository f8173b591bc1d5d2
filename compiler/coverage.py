"""Coverage analytics in the compiled statement: region and village figures, gaps with reasons,
nearest agents, agent workload, and recommended sites (solved in Python after the statement).

The statements are db/queries' own (bound here with `compiler.sql.bind`), so the definitions of
reach, activity, penetration, ranking and workload are written once, in the database layer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from compiler.connection import Rows, connection
from compiler.entities import agent_row, observed_days, region_row
from compiler.objects import compiles, compiles_columns, object_json
from compiler.plan import Field
from compiler.sql import Build, Path, Raw, Shaped, bind
from db.access import Role, analyses
from db.queries.coverage import (
    COVERED_FRACTION,
    VILLAGE_COVERAGE_FIGURES,
    child_of,
    code_range,
    nearest_counting_agent,
    region_coverage_sql,
)
from db.queries.gaps import GapKind, gap_reasons_sql, gap_rows_sql
from db.queries.observed import observed
from db.queries.suppression import hidden, shown, suppresses
from db.records import Activity
from db.regions import Level
from resolvers.errors import ApiError, BadUserInput, Forbidden, NotFound
from resolvers.inputs import past_day, region_code

MAX_ACTIVE_WITHIN_DAYS = 3650


def activity(active_within_days: int | None, as_of: dt.date | None) -> Activity:
    """Which agents count (activeWithinDays, asOf), checked."""
    if active_within_days is not None and not 1 <= active_within_days <= MAX_ACTIVE_WITHIN_DAYS:
        raise BadUserInput(f"must be between 1 and {MAX_ACTIVE_WITHIN_DAYS} days", field="activeWithinDays")
    return Activity(active_within_days, past_day(as_of))


TYPES = {Level.PROVINCE: "Province", Level.REGENCY: "Regency", Level.DISTRICT: "District", Level.VILLAGE: "Village"}


def act_of(f: Field) -> Activity:
    return activity(f.args.get("activeWithinDays"), f.args.get("asOf"))


def check_scope(viewer: Any, code: str | None, field: str) -> None:
    """Who may analyse what (admins and planners everything, managers inside their scope)."""
    if analyses(viewer, code):
        return
    if viewer.role is Role.MANAGER:
        if code is None:
            raise Forbidden("the national summary is for planners; give a regionCode inside your scope", field=field)
        raise Forbidden(f"{code} is outside your scope ({', '.join(viewer.scope)})", field=field)
    raise Forbidden("coverage analytics are for planners and managers", field=field)


@dataclass(frozen=True)
class Region:
    """The region argument of a root analytics field, checked, as SQL: the code's parameter (NULL
    for all of Indonesia) and the bounds of the codes below it (db.queries.coverage.code_range)."""

    level: Level | None
    code: str
    lo: Raw
    hi: Raw

    @property
    def bounds(self) -> dict[str, Raw]:
        return {"lo": self.lo, "hi": self.hi}


def analysable(b: Build, f: Field, field: str = "regionCode") -> Region:
    """The region argument of a root analytics field, checked (BadUserInput, Forbidden). The code
    and its bounds are parameters, and the statement depends only on the region's level: a
    variable's other codes of that level reuse it (compiler/templates.py)."""
    viewer = b.viewer

    def check(given: str | None) -> Shaped:
        if given is None:
            check_scope(viewer, None, field)
            everything = code_range(None)
            return None, (None, everything["lo"], everything["hi"])
        code = region_code(given, field)
        level = Level.of_code(code)
        if level is Level.VILLAGE:
            raise BadUserInput("is a village code; ask village(code) { coverage } for one village", field=field)
        check_scope(viewer, code, field)
        below = code_range(code)
        return level, (code, below["lo"], below["hi"])

    level, (code, lo, hi) = b.bound_shaped(f, field, check, ("text", None, None))
    assert level is None or isinstance(level, Level)
    return Region(level, code, Raw(lo), Raw(hi))


def exists_or_not_found(b: Build, f: Field, region: Region, value: str) -> str:
    """`value`, or NOT_FOUND when the region does not exist."""
    level = region.level
    if level is None:
        return value
    missing = b.error_of(region.code, lambda code: NotFound(f"no {level} with code {code}", field="regionCode"), f.nodes)
    return f"CASE WHEN EXISTS (SELECT 1 FROM {level.table} WHERE code = {region.code}) THEN {value} ELSE {missing} END"


# --- region figures ----------------------------------------------------------------------------------

_FIGURES: dict[str, Callable[[str], str]] = {
    "code": lambda r: f"{r}.code",
    "name": lambda r: f"{r}.name",
    "villages": lambda r: f"{r}.villages",
    "coveredVillages": lambda r: f"{r}.covered_villages",
    "coveredShare": lambda r: f"{r}.covered_villages::float8 / nullif({r}.villages, 0)::float8",
    "coveragePct": lambda r: f"100.0::float8 * {r}.covered_villages / nullif({r}.villages, 0)::float8",
    "villagesWithoutEstimate": lambda r: f"{r}.villages_without_estimate",
    "informalWorkers": lambda r: f"coalesce({r}.informal_workers, 0)",
    "workersInReach": lambda r: f"coalesce({r}.workers_in_reach, 0)",
    "activeAgents": lambda r: f"{r}.active_agents",
}
compiles_columns("RegionCoverage", _FIGURES)
# Figures that are, or give back, a cell's enrollments: suppressed for callers without personal data.
_ENROLLMENT_FIGURES: dict[str, Callable[[str], str]] = {
    "activeEnrollments": lambda r: f"coalesce({r}.active_enrollments, 0)",
    "penetration": lambda r: f"coalesce({r}.estimated_enrollments, 0)::float8 / nullif({r}.informal_workers, 0)::float8",
    "uncoveredWorkers": lambda r: f"coalesce({r}.uncovered_workers, 0)",
    "enrollmentsPerAgent": lambda r: f"coalesce({r}.active_enrollments, 0)::float8 / nullif({r}.active_agents, 0)::float8",
}


def _suppressed(value: Callable[[str], str]) -> Callable[[Build, Field, str, Path], str]:
    return lambda b, f, alias, path: shown(b.viewer, f"{alias}.code", value(alias))


def _enrollments_suppressed(b: Build, f: Field, alias: str, path: Path) -> str:
    return hidden(b.viewer, f"{alias}.code")


for _name, _value in _ENROLLMENT_FIGURES.items():
    compiles("RegionCoverage", field=_name)(_suppressed(_value))
compiles("RegionCoverage", field="enrollmentsSuppressed")(_enrollments_suppressed)


@compiles("RegionCoverage", field="region")
def _figures_region(b: Build, f: Field, alias: str, path: Path) -> str:
    cases = [f"WHEN {alias}.level = '{level.value}' THEN "
             + region_row(b, level, f.fields(TYPES[level]), lambda r: f"{r}.code = {alias}.code", path)
             for level in Level if f.fields(TYPES[level])]
    return f"CASE {' '.join(cases)} END" if cases else "NULL"


@compiles("RegionCoverage", field="children")
def _figures_children(b: Build, f: Field, alias: str, path: Path) -> str:
    if alias not in b.with_children:
        return "'[]'::json"  # a child's own children are not computed (the figures go one level down)
    c = b.alias("c")
    child = object_json(b, "RegionCoverage", f.fields(), c, (*path, 0))
    return f"(SELECT coalesce(json_agg({child} ORDER BY {c}.code), '[]'::json) FROM {alias}_rows {c} WHERE NOT {c}.total)"


def region_figures(b: Build, f: Field, level: Level | None, code_sql: str, act: Activity, path: Path) -> str:
    """RegionCoverage of the region whose code is `code_sql` (None level: Indonesia), with children."""
    r = b.alias("rc")
    b.with_children.add(r)
    lo = Raw(f"(({code_sql}) || '.')") if level is not None else "0"
    hi = Raw(f"(({code_sql}) || '/')") if level is not None else ":"
    statement = bind(b, region_coverage_sql(level), {
        "codes": Raw(f"ARRAY[{code_sql}]"), "lo": lo, "hi": hi, "within_days": act.within_days, "as_of": act.as_of,
    })
    child_level = child_of(level)
    figures_columns = ("villages, covered_villages, villages_without_estimate, informal_workers, workers_in_reach, "
                       "active_enrollments, estimated_enrollments, uncovered_workers, active_agents")
    rows = (f"SELECT CASE WHEN s.is_total = 1 THEN s.region ELSE s.child END AS code, "
            f"CASE WHEN s.is_total = 1 THEN NULL ELSE s.name END AS name, "
            f"CASE WHEN s.is_total = 1 THEN {_level_sql(level)} ELSE '{child_level.value}' END AS level, "
            f"s.is_total = 1 AS total, {', '.join('s.' + c for c in figures_columns.split(', '))} FROM ({statement}) s")
    figures = object_json(b, "RegionCoverage", f.fields(), r, path)
    empty = (f"SELECT {code_sql if level is not None else 'NULL::text'} AS code, NULL::text AS name, "
             f"{_level_sql(level)} AS level, 0, 0, 0, 0, 0, 0, 0, 0, 0")
    return (f"(WITH {r}_rows AS ({rows}) SELECT {figures} FROM (SELECT * FROM ("
            f"SELECT code, name, level, {figures_columns} FROM {r}_rows WHERE total UNION ALL {empty}) u LIMIT 1) {r})")


def _level_sql(level: Level | None) -> str:
    return f"'{level.value}'" if level is not None else "NULL::text"


def _region_coverage(level: Level) -> Callable[[Build, Field, str, Path], str]:
    def compile_coverage(b: Build, f: Field, alias: str, path: Path) -> str:
        try:
            act = act_of(f)
            if b.viewer.role is Role.AGENT:  # a manager sees only regions inside its scope: all analysable
                check_scope(b.viewer, None, "coverage")
        except ApiError as error:
            return b.error(error, f.nodes)
        return region_figures(b, f, level, f"{alias}.code", act, path)

    return compile_coverage


for _level in (Level.PROVINCE, Level.REGENCY, Level.DISTRICT):
    compiles(TYPES[_level], field="coverage")(_region_coverage(_level))


@compiles("Query", field="coverage")
def _coverage(b: Build, f: Field, alias: str, path: Path) -> str:
    try:
        act = act_of(f)  # the arguments' own checks first, then who may ask (as the resolvers did)
        region = analysable(b, f)
    except ApiError as error:
        return b.error(error, f.nodes)
    return exists_or_not_found(b, f, region, region_figures(b, f, region.level, region.code, act, path))


# --- village figures ---------------------------------------------------------------------------------

def village_figures_row(b: Build, code_sql: str, act: Activity) -> str:
    """The figures of one village, with the activity they were measured under (for the nearest
    agent and the covered fraction, computed only when asked for)."""
    statement = bind(b, VILLAGE_COVERAGE_FIGURES, {"codes": Raw(f"ARRAY[{code_sql}]"), "within_days": act.within_days,
                                                   "as_of": act.as_of})
    return f"SELECT s.*, {b.add(act.within_days, 'integer')} AS within_days, {b.add(act.as_of, 'date')} AS as_of FROM ({statement}) s"


@compiles("Village", field="coverage")
def _village_coverage(b: Build, f: Field, alias: str, path: Path) -> str:
    try:
        act = act_of(f)
    except ApiError as error:
        return b.error(error, f.nodes)
    row = b.alias("vc")
    figures = object_json(b, "VillageCoverage", f.fields(), row, path)
    return f"(SELECT {figures} FROM ({village_figures_row(b, f'{alias}.code', act)}) {row})"


_VILLAGE: dict[str, Callable[[str], str]] = {
    "covered": lambda r: f"{r}.agents_in_reach > 0",
    "agentCount": lambda r: f"{r}.agents_in_reach",
    "agentsAnyStatus": lambda r: f"{r}.agents_any",
    "informalWorkers": lambda r: f"{r}.informal_workers",
}
compiles_columns("VillageCoverage", _VILLAGE)
for _name, _value in {
    "activeEnrollments": lambda r: f"{r}.active_enrollments",
    "penetration": lambda r: f"{r}.active_enrollments::float8 / nullif({r}.informal_workers, 0)::float8",
    "uncoveredWorkers": lambda r: f"CASE WHEN {r}.informal_workers IS NOT NULL "
                                  f"THEN greatest(0, {r}.informal_workers - {r}.active_enrollments) END",
}.items():
    compiles("VillageCoverage", field=_name)(_suppressed(_value))
compiles("VillageCoverage", field="enrollmentsSuppressed")(_enrollments_suppressed)


def _nearest(b: Build, alias: str) -> str:
    """The nearest counting agent of the figures row aliased `alias` (a LATERAL subquery `n`)."""
    return bind(b, nearest_counting_agent(f"{alias}.label_point"),
                {"within_days": Raw(f"{alias}.within_days"), "as_of": Raw(f"{alias}.as_of")}) + " n"


@compiles("VillageCoverage", field="nearestAgent")
def _nearest_agent(b: Build, f: Field, alias: str, path: Path) -> str:
    agent = agent_row(b, f.fields(), lambda a: f"{a}.id = n.nearest_agent_id", path)
    return f"(SELECT {agent} FROM {_nearest(b, alias)})"


@compiles("VillageCoverage", field="nearestDistanceM")
def _nearest_distance(b: Build, f: Field, alias: str, path: Path) -> str:
    return f"(SELECT n.nearest_m FROM {_nearest(b, alias)})"


@compiles("VillageCoverage", field="coveredFraction")
def _covered_fraction(b: Build, f: Field, alias: str, path: Path) -> str:
    statement = bind(b, COVERED_FRACTION, {"codes": Raw(f"ARRAY[{alias}.code]"), "within_days": Raw(f"{alias}.within_days"),
                                           "as_of": Raw(f"{alias}.as_of")})
    return f"(SELECT s.fraction FROM ({statement}) s)"


@compiles("VillageCoverage", field="observed")
def _observed(b: Build, f: Field, alias: str, path: Path) -> str:
    try:
        days = observed_days(f, "withinDays")
    except ApiError as error:
        return b.error(error, f.nodes)
    return bind(b, observed(f"{alias}.code"), {"within_days": Raw(f"{alias}.within_days"), "as_of": Raw(f"{alias}.as_of"),
                                               "observed_days": days})


@compiles("VillageCoverage", field="village")
@compiles("CoverageGap", field="village")
def _coverage_village(b: Build, f: Field, alias: str, path: Path) -> str:
    return region_row(b, Level.VILLAGE, f.fields(), lambda v: f"{v}.code = {alias}.code", path)


# --- gaps --------------------------------------------------------------------------------------------

@compiles("CoverageGap", field="coverage")
def _gap_coverage(b: Build, f: Field, alias: str, path: Path) -> str:
    return object_json(b, "VillageCoverage", f.fields(), alias, path)


@compiles("CoverageGap", field="reasons")
def _gap_reasons(b: Build, f: Field, alias: str, path: Path) -> str:
    return f"to_json({gap_reasons_sql(alias, f'{alias}.below')})"


@compiles("Query", field="coverageGaps")
def _coverage_gaps(b: Build, f: Field, alias: str, path: Path) -> str:
    try:
        act_of(f)  # the arguments' own checks first, then who may ask (as the resolvers did)
        region = analysable(b, f)
    except ApiError as error:
        return b.error(error, f.nodes)
    return exists_or_not_found(b, f, region, gap_connection(b, f, region.lo, region.hi, path))


def gap_connection(b: Build, f: Field, lo: str | Raw, hi: str | Raw, path: Path, *, stand_ins: bool = False) -> str:
    """The ranked gaps of the villages with codes in [lo, hi) (values, or SQL as Raw), as the
    connection `f` selects with its arguments (kind, thresholds, activity, page), checked.
    `stand_ins`: placed under a scenario's agents and reach pairs (db.queries.gaps.gap_rows_sql)."""
    try:
        act = act_of(f)
        days = observed_days(f, "observedWithinDays")
        below, least = f.args["penetrationBelow"], f.args["minUncoveredWorkers"]
        if least < 0:
            raise BadUserInput("must be 0 or more", field="minUncoveredWorkers")
        if not (below == below and 0 <= below <= 1):
            raise BadUserInput("is a share between 0 and 1 (0.05 = 5 %)", field="penetrationBelow")
    except ApiError as error:
        return b.error(error, f.nodes)
    g = b.alias("g")
    statement = bind(b, gap_rows_sql(GapKind(f.args["kind"].value), act, stand_ins=stand_ins), {
        "lo": lo, "hi": hi, "within_days": act.within_days, "as_of": act.as_of,
        "below": float(below), "min_uncovered": least,
        "with_unknown": f.args["includeWithoutEstimate"], "observed_days": days, "suppress": suppresses(b.viewer),
    })
    rows = Rows(f"FROM (SELECT s.*, {b.add(float(below), 'float8')} AS below, {b.add(act.within_days, 'integer')} AS within_days, "
                f"{b.add(act.as_of, 'date')} AS as_of FROM ({statement}) s) {g} WHERE true",
                g, ((f"{g}.rank_key", float), (f"{g}.code", str)))
    return connection(b, f, rows, "CoverageGap", path)
