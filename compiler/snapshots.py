"""Coverage snapshots in the compiled statement: the list, what changed, and a region's trend."""

from __future__ import annotations

import datetime as dt
import math

from compiler.connection import Rows, connection
from compiler.coverage import analysable, exists_or_not_found
from compiler.entities import region_row
from compiler.objects import column, compiles, compiles_columns, object_json
from compiler.plan import Field
from compiler.sql import Build, Path, Raw, bind
from db.access import Role, visible_sql
from db.queries.snapshots import CHANGES, TREND
from db.queries.suppression import suppresses
from db.regions import Level
from resolvers.errors import ApiError, BadUserInput, Forbidden, NotFound


@compiles("Query", field="coverageSnapshots")
def _snapshots(b: Build, f: Field, alias: str, path: Path) -> str:
    s = b.alias("cs")
    item = object_json(b, "CoverageSnapshot", f.fields(), s, (*path, 0))
    if b.viewer.role is Role.AGENT:
        return b.error(Forbidden("coverage snapshots are for planners and managers", field="coverageSnapshots"), f.nodes)
    return (f"(SELECT coalesce(json_agg({item} ORDER BY {s}.as_of DESC), '[]'::json) FROM coverage_snapshot {s} "
            f"WHERE {visible_sql(b.viewer, 'coverage_snapshot', s)})")


for _name, _column in {"asOf": "as_of", "takenAt": "taken_at", "takenBy": "taken_by",
                       "boundaryVersion": "boundary_version", "villages": "villages", "agents": "agents"}.items():
    compiles("CoverageSnapshot", field=_name)(column(_column))


def _snapshot_id(b: Build, day: dt.date | None) -> str:
    return "NULL::bigint" if day is None else f"(SELECT id FROM coverage_snapshot WHERE as_of = {b.add(day, 'date')})"


@compiles("Query", field="coverageChanges")
def _coverage_changes(b: Build, f: Field, alias: str, path: Path) -> str:
    first_day, last_day, threshold = f.args["from"], f.args["to"], f.args["penetrationChange"]
    try:
        region = analysable(b, f)
        if not (math.isfinite(threshold) and 0 < threshold <= 1):
            raise BadUserInput("is a share between 0 and 1 (0.05 = 5 points)", field="penetrationChange")
        if last_day is not None and last_day <= first_day:
            raise BadUserInput("must come after `from` (or be null for today)", field="to")
    except ApiError as error:
        return b.error(error, f.nodes)
    statement = bind(b, CHANGES, {**region.bounds, "from_id": Raw(_snapshot_id(b, first_day)),
                                  "to_id": Raw(_snapshot_id(b, last_day)), "threshold": float(threshold),
                                  "within_days": None, "as_of": None, "suppress": suppresses(b.viewer)})
    c = b.alias("cc")
    rows = Rows(f"FROM ({statement}) {c} WHERE true", c, ((f"{c}.rank", int), (f"{c}.code", str)))
    listing = connection(b, f, rows, "CoverageChange", path)
    for day, name in ((first_day, "from"), (last_day, "to")):
        if day is not None:
            missing = b.error(NotFound(f"no snapshot of {day}; coverageSnapshots lists them", field=name), f.nodes)
            listing = f"CASE WHEN {_snapshot_id(b, day)} IS NULL THEN {missing} ELSE {listing} END"
    return exists_or_not_found(b, f, region, listing)


compiles_columns("CoverageChange", {
    "code": lambda c: f"{c}.code",
    "reach": lambda c: f"{c}.reach",
    "agentsBefore": lambda c: f"cardinality({c}.agents_before)",
    "agentsAfter": lambda c: f"cardinality({c}.agents_after)",
    "informalWorkersBefore": lambda c: f"{c}.workers_before",
    "informalWorkersAfter": lambda c: f"{c}.workers_after",
    "activeEnrollmentsBefore": lambda c: f"{c}.enrollments_before",
    "activeEnrollmentsAfter": lambda c: f"{c}.enrollments_after",
    "penetrationBefore": lambda c: f"{c}.penetration_before",
    "penetrationAfter": lambda c: f"{c}.penetration_after",
    "reasons": lambda c: f"to_json({c}.reasons)",
    "enrollmentsSuppressed": lambda c: f"{c}.suppressed",
})
compiles("CoverageChange", field="village")(
    lambda b, f, alias, path: region_row(b, Level.VILLAGE, f.fields(), lambda v: f"{v}.code = {alias}.code", path))


@compiles("Query", field="coverageTrend")
def _coverage_trend(b: Build, f: Field, alias: str, path: Path) -> str:
    try:
        region = analysable(b, f)
    except ApiError as error:
        return b.error(error, f.nodes)
    t = b.alias("t")
    statement = bind(b, TREND, {**region.bounds, "region": Raw(region.code), "suppress": suppresses(b.viewer)})
    item = object_json(b, "CoverageTrendPoint", f.fields(), t, (*path, 0))
    listing = f"(SELECT coalesce(json_agg({item} ORDER BY {t}.as_of), '[]'::json) FROM ({statement}) {t})"
    return exists_or_not_found(b, f, region, listing)


compiles_columns("CoverageTrendPoint", {
    "asOf": lambda t: f"{t}.as_of",
    "villages": lambda t: f"{t}.villages",
    "coveredVillages": lambda t: f"{t}.covered_villages",
    "coveredShare": lambda t: f"{t}.covered_villages::float8 / nullif({t}.villages, 0)::float8",
    "informalWorkers": lambda t: f"{t}.informal_workers",
    "workersInReach": lambda t: f"{t}.workers_in_reach",
    "activeEnrollments": lambda t: f"CASE WHEN {t}.suppressed THEN NULL ELSE {t}.active_enrollments END",
    "penetration": lambda t: f"CASE WHEN {t}.suppressed THEN NULL "
                             f"ELSE {t}.estimated_enrollments::float8 / nullif({t}.informal_workers, 0)::float8 END",
    "enrollmentsSuppressed": lambda t: f"{t}.suppressed",
})
