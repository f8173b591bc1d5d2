"""Nearest agents, agent workload, recommended sites, the audit log and data-quality flags.

Recommended sites are the one value computed in Python: the statement selects the siting problem
(candidates, unreached demand, who reaches what) and the solver runs after it, through the
generic deferred-value mechanism of `compiler.sql.Build.compute`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from compiler.connection import Rows, connection, page_window, paged
from compiler.coverage import act_of, analysable, check_scope, exists_or_not_found
from compiler.entities import agent_row, enrollment_row, region_row
from compiler.objects import column, compiles, compiles_columns, object_json
from compiler.plan import TYPENAME, Field
from compiler.sql import Build, Path, Raw, bind, quoted
from db.access import Role, analyses, visible_sql
from db.queries.audit import AUDIT_PAGE
from db.queries.coverage import code_range, nearest_agents_sql
from db.queries.data_quality import (
    BURST_SIZE,
    BURST_WINDOW,
    FAR_FACTOR,
    FLAGS,
    INACTIVE_DAYS,
    describe_sql,
    flag_range,
)
from db.queries.siting import SITING_ROWS, siting_from_rows
from db.queries.suppression import suppresses
from db.queries.workload import HEAVY_OVERLAP_SHARE, WORKLOAD_ROWS
from db.records import FlagReason
from db.regions import Level
from resolvers.errors import ApiError, BadUserInput, Forbidden, NotFound
from resolvers.inputs import lng_lat, past_day, region_code
from resolvers.siting import check_siting, solve_sites

MAX_NEAREST = 100

# --- nearest agents ------------------------------------------------------------------------------------

@compiles("Query", field="nearestAgents")
def _nearest_agents(b: Build, f: Field, alias: str, path: Path) -> str:
    args = f.args
    try:
        act = act_of(f)
        if (args["villageCode"] is None) == (args["point"] is None):
            raise BadUserInput("give either villageCode or point", field="villageCode")
        if not 1 <= args["k"] <= MAX_NEAREST:
            raise BadUserInput(f"must be between 1 and {MAX_NEAREST}", field="k")
        far = args["maxDistanceM"]
        if far is not None and not (math.isfinite(far) and far > 0):
            raise BadUserInput("must be a positive number of metres", field="maxDistanceM")
        if args["villageCode"] is not None:
            code = region_code(args["villageCode"], "villageCode", Level.VILLAGE)
            check_scope(b.viewer, code, "villageCode")
        else:
            if b.viewer.role is Role.AGENT:
                raise Forbidden("nearest-agent search is for planners and managers", field="point")
            point = lng_lat(args["point"]["lng"], args["point"]["lat"], "point")
    except ApiError as error:
        return b.error(error, f.nodes)

    def listing(lng: Any, lat: Any) -> str:
        statement = bind(b, nearest_agents_sql(b.viewer), {"lng": lng, "lat": lat, "k": args["k"], "max_m": far,
                                                          "within_days": act.within_days, "as_of": act.as_of})
        n = b.alias("n")
        item = object_json(b, "NearbyAgent", f.fields(), n, (*path, 0))
        return f"(SELECT coalesce(json_agg({item} ORDER BY {n}.distance_m, {n}.id), '[]'::json) FROM ({statement}) {n})"

    if args["villageCode"] is None:
        return listing(point[0], point[1])
    v = b.alias("v")
    no_location = b.error(BadUserInput(f"village {code} has no boundary yet, so no location", field="villageCode"), f.nodes)
    found = (f"(SELECT CASE WHEN {v}.label_point IS NULL THEN {no_location} ELSE "
             f"{listing(Raw(f'ST_X({v}.label_point)'), Raw(f'ST_Y({v}.label_point)'))} END "
             f"FROM village {v} WHERE {v}.code = {b.add(code)} AND {visible_sql(b.viewer, 'village', v)})")
    return f"coalesce({found}, {b.error(NotFound(f'no village with code {code}', field='villageCode'), f.nodes)})"


compiles("NearbyAgent", field="distanceM")(lambda b, f, alias, path: f"{alias}.distance_m")
compiles("NearbyAgent", field="agent")(
    lambda b, f, alias, path: agent_row(b, f.fields(), lambda a: f"{a}.id = {alias}.id", path))


# --- agent workload -----------------------------------------------------------------------------------

@compiles("Query", field="agentWorkload")
def _agent_workload(b: Build, f: Field, alias: str, path: Path) -> str:
    try:
        act_of(f)
        region = analysable(b, f)
    except ApiError as error:
        return b.error(error, f.nodes)
    return exists_or_not_found(b, f, region, workload_connection(b, f, region.lo, region.hi, path))


def workload_connection(b: Build, f: Field, lo: str | Raw, hi: str | Raw, path: Path) -> str:
    """The workload of the agents whose home village code is in [lo, hi) (values, or SQL as Raw),
    as the connection `f` selects with its arguments, checked."""
    try:
        act = act_of(f)
        overload = f.args["overloadAbove"]
        if not (math.isfinite(overload) and overload > 0):
            raise BadUserInput("must be a positive number of workers per agent", field="overloadAbove")
    except ApiError as error:
        return b.error(error, f.nodes)
    w = b.alias("w")
    statement = bind(b, WORKLOAD_ROWS, {"lo": lo, "hi": hi, "within_days": act.within_days, "as_of": act.as_of})
    rows = Rows(f"FROM (SELECT s.*, {b.add(float(overload), 'float8')} AS overload_above FROM ({statement}) s) {w} WHERE true",
                w, ((f"{w}.rank_key", float), (f"{w}.id", int)))
    return connection(b, f, rows, "AgentWorkload", path)


_WORKLOAD: dict[str, Callable[[str], str]] = {
    "villagesInReach": lambda w: f"{w}.villages",
    "informalWorkersInReach": lambda w: f"{w}.workers",
    "villagesWithoutEstimate": lambda w: f"{w}.without_estimate",
    "workersShare": lambda w: f"{w}.share::float8",
    "overlappingWorkers": lambda w: f"{w}.overlapping",
    "overlapShare": lambda w: f"{w}.overlapping::float8 / nullif({w}.workers, 0)::float8",
    "enrollments30Days": lambda w: f"{w}.n30",
    "enrollments90Days": lambda w: f"{w}.n90",
    "overloaded": lambda w: f"{w}.share > {w}.overload_above",
    "heavyOverlap": lambda w: f"coalesce({w}.overlapping::float8 / nullif({w}.workers, 0)::float8, 0) >= {HEAVY_OVERLAP_SHARE}",
    "countsAsActive": lambda w: f"{w}.counts",
}
compiles_columns("AgentWorkload", _WORKLOAD)
compiles("AgentWorkload", field="agent")(
    lambda b, f, alias, path: agent_row(b, f.fields(), lambda a: f"{a}.id = {alias}.id", path))


# --- recommended sites (solved in Python after the statement) ---------------------------------------------

@compiles("Query", field="recommendAgentSites")
def _recommend_agent_sites(b: Build, f: Field, alias: str, path: Path) -> str:
    try:
        act_of(f)
        region = analysable(b, f)
        check_siting(f.args["count"], f.args["reachM"])
    except ApiError as error:
        return b.error(error, f.nodes)
    return exists_or_not_found(b, f, region, sites_value(b, f, region.lo, region.hi, path))


def sites_value(b: Build, f: Field, lo: str | Raw, hi: str | Raw, path: Path) -> str:
    """The recommended sites among the villages with codes in [lo, hi) (values, or SQL as Raw):
    the statement selects the siting problem, the solver runs after it."""
    args = f.args
    try:
        act = act_of(f)
        check_siting(args["count"], args["reachM"])
    except ApiError as error:
        return b.error(error, f.nodes)
    statement = bind(b, SITING_ROWS, {"lo": lo, "hi": hi, "within_days": act.within_days, "as_of": act.as_of,
                                      "reach_m": float(args["reachM"]), "suppress": suppresses(b.viewer)})
    s = b.alias("s")
    villages = [x for x in f.fields() if x.name == "village"]
    rows = f"json_build_array({s}.code, {s}.lng, {s}.lat, {s}.demand_code, {s}.weight)"
    inputs = f"json_build_object('rows', (SELECT coalesce(json_agg({rows}), '[]'::json) FROM ({statement}) {s})"
    for v in villages:  # a site's village: selected for every candidate, picked after solving
        c = b.alias("c")
        village = region_row(b, Level.VILLAGE, v.fields(), _same_code(c), (*path, 0, v.key))
        inputs += f", {quoted(v.key)}, (SELECT json_object_agg({c}.code, {village}) FROM (SELECT DISTINCT code FROM ({statement}) x) {c})"
    inputs += ")"
    return b.compute(inputs, _sites(f, args["count"], args["exact"]), f.nodes)


def _same_code(other: str) -> Callable[[str], str]:
    """The condition a region row aliased `r` meets when its code is the row `other`'s."""
    return lambda r: f"{r}.code = {other}.code"


def _computed(b: Build, f: Field, alias: str, path: Path) -> str:
    raise AssertionError("AgentSite fields are computed by the solver, never compiled")


for _name in ("rank", "villageCode", "lng", "lat", "newlyReachedWorkers", "cumulativeWorkers", "newlyReachedVillages",
              "village"):
    compiles("AgentSite", field=_name)(_computed)  # the one Python-resolved type (see _sites)


def _sites(f: Field, count: int, use_exact: bool) -> Callable[[Any], Any]:
    def solve(inputs: dict[str, Any]) -> list[dict[str, Any]]:
        data = siting_from_rows([tuple(r) for r in inputs["rows"]])
        result = []
        for site in solve_sites(data, count, use_exact):
            values = {TYPENAME: "AgentSite", "rank": site.rank, "villageCode": site.village_code, "lng": site.lng,
                      "lat": site.lat, "newlyReachedWorkers": site.newly_reached_workers,
                      "cumulativeWorkers": site.cumulative_workers, "newlyReachedVillages": site.newly_reached_villages}
            result.append({x.key: (inputs[x.key].get(site.village_code) if x.name == "village" else values[x.name])
                           for x in f.fields()})
        return result

    return solve


# --- audit log -------------------------------------------------------------------------------------------

@compiles("Query", field="auditLog")
def _audit_log(b: Build, f: Field, alias: str, path: Path) -> str:
    viewer = b.viewer
    try:
        code = region_code(f.args["regionCode"], "regionCode") if f.args["regionCode"] is not None else None
        if viewer.role is Role.ADMIN:
            regions: list[str | None] = [code]
        elif viewer.role is Role.MANAGER and (code is None or analyses(viewer, code)):
            regions = [code] if code is not None else list(viewer.scope)
        else:
            raise Forbidden("the audit log is for admins, and for managers inside their scope", field="regionCode")
        page = page_window(f, (int,))
    except ApiError as error:
        return b.error(error, f.nodes)
    ranges = [code_range(c) for c in regions]
    statement = bind(b, AUDIT_PAGE, {"lo": [r["lo"] for r in ranges], "hi": [r["hi"] for r in ranges],
                                     "exact": list(regions), "after": page.after[0] if page.after else None})
    a = b.alias("a")
    inner = f"SELECT {a}.*, {a}.id AS page_key0 FROM ({statement}) {a} ORDER BY {a}.id DESC LIMIT {b.add(page.limit + 1)}"
    no_total = BadUserInput("the audit log has no totalCount; page through it", field="totalCount")
    return paged(b, f, inner, 1, page, "AuditEntry", path, total=no_total, descending=True)  # newest first


for _name, _column in {"at": "at", "subject": "subject", "role": "role", "action": "action", "entity": "entity",
                       "entityId": "entity_id", "regionCode": "region_code", "before": "before", "after": "after"}.items():
    compiles("AuditEntry", field=_name)(column(_column))


# --- data quality ----------------------------------------------------------------------------------------

@compiles("Query", field="dataQuality")
def _data_quality(b: Build, f: Field, alias: str, path: Path) -> str:
    viewer, args = b.viewer, f.args
    try:
        code = region_code(args["regionCode"], "regionCode") if args["regionCode"] is not None else None
        if viewer.role is Role.MANAGER and code is None:
            regions: list[str | None] = list(viewer.scope)
        elif analyses(viewer, code):
            regions = [code]
        else:
            raise Forbidden("data-quality flags are for admins, planners, and managers inside their scope",
                            field="regionCode")
        reasons = args["reasons"]
        if reasons is not None and not reasons:
            raise BadUserInput("lists no reason; leave it out for every reason", field="reasons")
        as_of = past_day(args["asOf"])
        page = page_window(f, (int, int))
    except ApiError as error:
        return b.error(error, f.nodes)
    ranges = [flag_range(c) for c in regions]
    statement = bind(b, FLAGS[regions == [None]], {
        "lo": [lo for lo, _ in ranges], "hi": [hi for _, hi in ranges],
        "reasons": [FlagReason(r.value).value for r in (reasons or list(FlagReason))],
        "far_factor": FAR_FACTOR, "burst_size": BURST_SIZE, "burst_window": BURST_WINDOW,
        "inactive_days": INACTIVE_DAYS, "as_of": as_of or dt.date.today(),
        "after_rank": page.after[0] if page.after else None, "after_key": page.after[1] if page.after else None,
        "limit": page.limit + 1, "suppress": suppresses(viewer),
    })
    d = b.alias("d")
    inner = f"SELECT {d}.*, {d}.rank AS page_key0, {d}.key AS page_key1 FROM ({statement}) {d}"
    listing = paged(b, f, inner, 2, page, "DataQualityFlag", path,
                    total=BadUserInput("data-quality flags have no totalCount; page through them", field="totalCount"))
    if code is None:
        return listing
    level = Level.of_code(code)
    assert level is not None
    exists = f"EXISTS (SELECT 1 FROM {level.table} x WHERE x.code = {b.add(code)} AND {visible_sql(viewer, level.table, 'x')})"
    return f"CASE WHEN {exists} THEN {listing} ELSE {b.error(NotFound(f'no {level} with code {code}', field='regionCode'), f.nodes)} END"


_REASONS = "ARRAY[" + ", ".join(f"'{r.value}'" for r in FlagReason) + "]"
_FLAG: dict[str, Callable[[str], str]] = {
    "reason": lambda d: f"({_REASONS})[{d}.rank]",
    "villageCode": lambda d: f"{d}.village_code",
    "distanceM": lambda d: f"{d}.distance_m",
    "allowedM": lambda d: f"{d}.allowed_m",
    "count": lambda d: f"{d}.count",
    "lastEnrolledOn": lambda d: f"{d}.last_enrolled_on",
    "message": describe_sql,
}
compiles_columns("DataQualityFlag", _FLAG)
compiles("DataQualityFlag", field="enrollment")(
    lambda b, f, alias, path: enrollment_row(b, f.fields(), lambda e: f"{e}.id = {alias}.enrollment_id", path))
compiles("DataQualityFlag", field="agent")(
    lambda b, f, alias, path: agent_row(b, f.fields(), lambda a: f"{a}.id = {alias}.agent_id", path))
compiles("DataQualityFlag", field="village")(
    lambda b, f, alias, path: region_row(b, Level.VILLAGE, f.fields(), lambda v: f"{v}.code = {alias}.village_code", path))
