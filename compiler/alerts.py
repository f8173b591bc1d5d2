"""Coverage alerts in the compiled statement: the stored list, and the alerts a subscription sends."""

from __future__ import annotations

from compiler.connection import Rows, connection
from compiler.entities import region_row
from compiler.objects import column, compiles, object_json
from compiler.plan import Field
from compiler.sql import Build, Path
from db.access import Role, visible_sql
from db.regions import Level
from resolvers.errors import ApiError, Forbidden
from resolvers.inputs import region_code

NOT_FOR_AGENTS = Forbidden("coverage alerts are for planners and managers", field="regionCode")


def _where(b: Build, f: Field, a: str) -> list[str]:
    """Visible alerts of the `regionCode` argument's region (all you may see when null)."""
    if b.viewer.role is Role.AGENT:
        raise NOT_FOR_AGENTS
    where = [visible_sql(b.viewer, "coverage_alert", a)]
    if f.args.get("regionCode") is not None:
        code = region_code(f.args["regionCode"], "regionCode")
        where.append(f"({a}.district_code = {b.add(code)} OR {a}.district_code LIKE {b.add(code + '.%')} "
                     f"OR {b.add(code)} LIKE {a}.district_code || '.%')")  # a village code: its district's alerts
    return where


@compiles("Query", field="coverageAlerts")
def _coverage_alerts(b: Build, f: Field, alias: str, path: Path) -> str:
    a = b.alias("al")
    try:
        where = _where(b, f, a)
    except ApiError as error:
        return b.error(error, f.nodes)
    rows = Rows(f"FROM coverage_alert {a} WHERE {' AND '.join(where)}", a, ((f"-{a}.id", int),))  # newest first
    return connection(b, f, rows, "CoverageAlert", path)


def alerts_json(b: Build, f: Field, ids: list[int], path: Path) -> str:
    """The alerts with these ids that the caller may see, as a JSON list (a subscription's digest)."""
    a = b.alias("al")
    item = object_json(b, "CoverageAlert", f.fields(), a, (*path, 0))
    return (f"(SELECT coalesce(json_agg({item} ORDER BY {a}.id), '[]'::json) FROM coverage_alert {a} "
            f"WHERE {a}.id = ANY({b.add(ids, 'bigint[]')}) AND {visible_sql(b.viewer, 'coverage_alert', a)})")


compiles("CoverageAlert", field="id")(lambda b, f, alias, path: f"{alias}.id::text")
compiles("CoverageAlert", field="kind")(lambda b, f, alias, path: f"upper({alias}.kind)")
compiles("CoverageAlert", field="causes")(lambda b, f, alias, path: f"to_json(ARRAY(SELECT upper(c) FROM unnest({alias}.causes) c))")
for _name, _column in {"districtCode": "district_code", "informalWorkers": "informal_workers",
                       "coveredShareBefore": "covered_share_before", "coveredShareAfter": "covered_share_after",
                       "changes": "changes", "raisedAt": "raised_at", "updatedAt": "updated_at"}.items():
    compiles("CoverageAlert", field=_name)(column(_column))
compiles("CoverageAlert", field="villageCodes")(lambda b, f, alias, path: f"to_json({alias}.village_codes)")
compiles("CoverageAlert", field="agentCodes")(lambda b, f, alias, path: f"to_json({alias}.agent_codes)")
compiles("CoverageAlert", field="district")(
    lambda b, f, alias, path: region_row(b, Level.DISTRICT, f.fields(), lambda r: f"{r}.code = {alias}.district_code", path))


@compiles("CoverageAlert", field="villages")
def _villages(b: Build, f: Field, alias: str, path: Path) -> str:
    v = b.alias("v")
    item = object_json(b, "Village", f.fields(), v, (*path, 0))
    return (f"(SELECT coalesce(json_agg({item} ORDER BY {v}.code), '[]'::json) FROM village {v} "
            f"WHERE {v}.code = ANY({alias}.village_codes) AND {visible_sql(b.viewer, 'village', v)})")
