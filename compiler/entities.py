"""Provinces, regencies, districts, villages, agents, enrollments and participants: their fields,
the lists below them and the links between them, each scoped by the caller's role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from strawberry.relay import GlobalID
from strawberry.relay.types import GlobalIDValueError

from compiler.connection import Rows, connection
from compiler.objects import column, compiles, compiles_columns, global_id, object_json
from compiler.plan import Field
from compiler.sql import Build, Path, bind
from db.access import visible_sql
from db.filters import SPATIAL, ListFilter, filter_parameters, filter_sql
from db.queries.observed import enrolled_village_codes, observed_reach_m
from db.queries.suppression import fewest_shown, suppresses
from db.regions import Level
from db.rules import MAX_OBSERVED_DAYS
from db.spatial import METRES_PER_DEGREE
from resolvers.errors import ApiError, BadUserInput, Forbidden
from resolvers.inputs import byte_budget, geometry_options, list_filter, past_day

REGIONS = {"Province": Level.PROVINCE, "Regency": Level.REGENCY, "District": Level.DISTRICT, "Village": Level.VILLAGE}
TYPES = {level: name for name, level in REGIONS.items()}
PERSONAL = Forbidden("personal data (names, NIK digits, phone numbers) is not available to your role")


def global_id_of(value: str) -> GlobalID:
    """A global id argument, or BAD_USER_INPUT for text this API did not issue."""
    try:
        return GlobalID.from_id(value)
    except (GlobalIDValueError, ValueError) as exc:
        raise BadUserInput("is not an id this API issued; use the `id` of an object", field="id") from exc


def checked_filter(given: dict[str, Any] | None) -> ListFilter:
    """A `filter` argument as a checked ListFilter (BadUserInput names the bad field)."""
    if not given:
        return ListFilter()
    near = given.get("near")
    status = given.get("status")
    return list_filter(
        region=given.get("regionCode"), name_contains=given.get("nameContains"),
        status=status.value if status is not None else None, bbox=given.get("bbox"),
        intersects=given.get("intersects"), near=(near["lng"], near["lat"], near["radiusM"]) if near else None,
    )


@dataclass(frozen=True)
class Filter:
    """A list's checked `filter` argument in a statement: the placeholders of its parameters, by
    name (bound: a reused statement takes each request's values; the names are its shape)."""

    placeholders: dict[str, str]

    @property
    def searches_name(self) -> bool:
        return "name" in self.placeholders

    @property
    def spatial(self) -> bool:
        return any(name in self.placeholders for name in SPATIAL)


def bound_filter(b: Build, f: Field) -> Filter:
    """The `filter` argument of `f`, checked (BadUserInput names the bad field), as parameters."""
    def check(given: dict[str, Any] | None) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        parameters = filter_parameters(checked_filter(given))
        return tuple(parameters), tuple(parameters.values())

    names, placeholders = b.bound_shaped(f, "filter", check)
    return Filter(dict(zip(cast(tuple[str, ...], names), placeholders, strict=True)))


def _list(b: Build, f: Field, path: Path, node_type: str, make: Callable[[Filter], Rows]) -> str:
    try:
        rows = make(bound_filter(b, f))
    except ApiError as error:
        return b.error(error, f.nodes)
    return connection(b, f, rows, node_type, path)


def geojson(b: Build, column_sql: str, f: Field, simplify: bool = False) -> str:
    """A geometry column as GeoJSON: `precision` digits, simplified by `simplifyM` metres
    (topology-preserving per polygon, kept a MultiPolygon), as `regions.boundary` documents."""
    try:
        simplify_m, precision = geometry_options(f.args.get("simplifyM", 0) if simplify else 0, f.args["precision"])
    except ApiError as error:
        return b.error(error, f.nodes)
    geometry = column_sql
    if simplify_m > 0:
        geometry = f"ST_Multi(ST_SimplifyPreserveTopology({column_sql}, {b.add(simplify_m / METRES_PER_DEGREE, 'float8')}))"
    return f"CAST(ST_AsGeoJSON({geometry}, {b.add(precision, 'integer')}) AS json)"


# --- regions ---------------------------------------------------------------------------------------

for _name, _level in REGIONS.items():
    compiles(_name, field="code")(column("code"))
    compiles(_name, field="name")(column("name"))
    compiles(_name, field="areaKm2")(column("area_km2"))


def _region_id(type_name: str) -> Callable[[Build, Field, str, Path], str]:
    return lambda b, f, alias, path: global_id(type_name, f"{alias}.code")


for _name in REGIONS:
    compiles(_name, field="id")(_region_id(_name))


@compiles(*REGIONS, field="labelPoint")
def _label_point(b: Build, f: Field, alias: str, path: Path) -> str:
    return geojson(b, f"{alias}.label_point", f)


@compiles(*REGIONS, field="geometry")
def _geometry(b: Build, f: Field, alias: str, path: Path) -> str:
    if f.args["maxBytes"] is None and alias not in b.geometry_shares:
        return geojson(b, f"{alias}.geom", f, simplify=True)
    g = b.alias("g")
    return _fitted(b, f, alias, g, f"CAST({g}.geojson AS json)")


@compiles(*REGIONS, field="fittedGeometry")
def _fitted_geometry(b: Build, f: Field, alias: str, path: Path) -> str:
    g = b.alias("g")
    return _fitted(b, f, alias, g, object_json(b, "FittedGeometry", f.fields(), g, path))


def _fitted(b: Build, f: Field, alias: str, g: str, value: str) -> str:
    """`value`, SQL over `g` (a `geojson_within` row of the region's boundary, migration 0012, with
    the boundary as `shape`), within the field's budget: its maxBytes and its share of the page's
    geometryBudget, whichever is smaller. No outline fitting is BAD_USER_INPUT naming the budget."""
    try:
        if f.args.get("simplifyM", 0) != 0:
            raise BadUserInput("give either simplifyM or a byte budget (maxBytes, geometryBudget), not both",
                               field="simplifyM")
        _, precision = geometry_options(0, f.args["precision"])
        limits, named = [], "geometryBudget"
        if f.args["maxBytes"] is not None:
            limits.append(b.add(byte_budget(f.args["maxBytes"], "maxBytes"), "integer"))
            named = "maxBytes"
        if alias in b.geometry_shares:
            limits.append(f"({alias}.page_share / {b.geometry_shares[alias]})")
    except ApiError as error:
        return b.error(error, f.nodes)
    budget = limits[0] if len(limits) == 1 else f"least({', '.join(limits)})"
    too_small = BadUserInput("no valid outline of this region fits in its byte budget (maxBytes, or its share of the "
                             "page's geometryBudget); ask for more bytes or fewer regions per page", field=named)
    return (f"(SELECT CASE WHEN {g}.shape IS NULL THEN NULL WHEN {g}.geojson IS NULL THEN {b.error(too_small, f.nodes)} "
            f"ELSE {value} END FROM (SELECT w.*, {alias}.geom AS shape "
            f"FROM geojson_within({alias}.geom, {budget}, {b.add(precision, 'integer')}) w) {g})")


compiles_columns("FittedGeometry", {
    "geojson": lambda g: f"CAST({g}.geojson AS json)",
    "bytes": lambda g: f"octet_length({g}.geojson)",
    "toleranceM": lambda g: f"{g}.tolerance * {METRES_PER_DEGREE}",
    "precision": lambda g: f"{g}.digits",
    "hausdorffM": lambda g: f"hausdorff_m({g}.shape, ST_GeomFromGeoJSON({g}.geojson))",
})


Where = Callable[[str], str]  # SQL condition over the alias a row gets


def region_row(b: Build, level: Level, fields: tuple[Field, ...], where: Where, path: Path) -> str:
    """A region (null when absent or not visible) selected by `where`."""
    alias = b.alias(level.value[0])
    obj = object_json(b, TYPES[level], fields, alias, path)
    return f"(SELECT {obj} FROM {level.table} {alias} WHERE {where(alias)} AND {visible_sql(b.viewer, level.table, alias)})"


def _parent(level: Level, column_of: Callable[[str], str]) -> Callable[[Build, Field, str, Path], str]:
    def compile_parent(b: Build, f: Field, alias: str, path: Path) -> str:
        return region_row(b, level, f.fields(), lambda r: f"{r}.code = {column_of(alias)}", path)

    return compile_parent


compiles("Regency", field="province")(_parent(Level.PROVINCE, lambda a: f"{a}.province_code"))
compiles("District", field="province")(_parent(Level.PROVINCE, lambda a: f"left({a}.code, 2)"))
compiles("District", field="regency")(_parent(Level.REGENCY, lambda a: f"{a}.regency_code"))
compiles("Village", field="province")(_parent(Level.PROVINCE, lambda a: f"left({a}.code, 2)"))
compiles("Village", field="regency")(_parent(Level.REGENCY, lambda a: f"left({a}.code, 5)"))
compiles("Village", field="district")(_parent(Level.DISTRICT, lambda a: f"{a}.district_code"))
for _field in ("population", "estimateSource", "estimateYear"):
    compiles("Village", field=_field)(column({"population": "population", "estimateSource": "estimate_source",
                                              "estimateYear": "estimate_year"}[_field]))
compiles("Village", field="informalWorkers")(column("informal_workers"))


def region_rows(b: Build, level: Level, filter: Filter, parent: str | None) -> Rows:
    """Regions of `level` (under the parent code SQL `parent`, if given), visible and filtered."""
    alias = b.alias(level.value[0])
    condition, distance = filter_sql(filter.placeholders, code=f"{alias}.code", name=f"{alias}.name", shape=f"{alias}.geom",
                                     point=f"{alias}.label_point")
    where = [visible_sql(b.viewer, level.table, alias), condition]
    if parent is not None:
        where.append(f"{alias}.{level.parent_column} = {parent}")
    keys = ((f"{alias}.code", str),) if distance is None else ((distance, float), (f"{alias}.code", str))
    return Rows(f"FROM {level.table} {alias} WHERE {' AND '.join(where)}", alias, keys, distance)


def _children(level: Level) -> Callable[[Build, Field, str, Path], str]:
    def compile_children(b: Build, f: Field, alias: str, path: Path) -> str:
        return _list(b, f, path, TYPES[level], lambda filter: region_rows(b, level, filter, f"{alias}.code"))

    return compile_children


compiles("Province", field="regencies")(_children(Level.REGENCY))
compiles("Regency", field="districts")(_children(Level.DISTRICT))
compiles("District", field="villages")(_children(Level.VILLAGE))


# --- agents ---------------------------------------------------------------------------------------

for _field, _column in {"code": "code", "name": "name", "reachM": "reach_m", "joinedOn": "joined_on"}.items():
    compiles("Agent", field=_field)(column(_column))


@compiles("Agent", field="id")
def _agent_id(b: Build, f: Field, alias: str, path: Path) -> str:
    return global_id("Agent", f"{alias}.id::text")


@compiles("Agent", field="phone")
def _phone(b: Build, f: Field, alias: str, path: Path) -> str:
    return f"{alias}.phone" if b.viewer.sees_personal_data else b.error(PERSONAL, f.nodes)


@compiles("Agent", field="status")
def _agent_status(b: Build, f: Field, alias: str, path: Path) -> str:
    return f"upper({alias}.status::text)"


@compiles("Agent", field="location")
def _location(b: Build, f: Field, alias: str, path: Path) -> str:
    return geojson(b, f"{alias}.location", f)


def observed_days(f: Field, name: str) -> int:
    """The observed window, in days, of argument `name`, checked."""
    days = int(f.args[name])
    if not 1 <= days <= MAX_OBSERVED_DAYS:
        raise BadUserInput(f"must be between 1 and {MAX_OBSERVED_DAYS} days", field=name)
    return days


def _observed_window(f: Field) -> dict[str, Any]:
    """The window arguments of an observed-reach field (withinDays, asOf), checked, as parameters."""
    return {"observed_days": observed_days(f, "withinDays"), "as_of": past_day(f.args["asOf"])}


@compiles("Agent", field="observedReachM")
def _observed_reach(b: Build, f: Field, alias: str, path: Path) -> str:
    try:
        window = _observed_window(f)
    except ApiError as error:
        return b.error(error, f.nodes)
    return bind(b, observed_reach_m(alias, fewest_shown(b.viewer)), window)


@compiles("Agent", field="enrolledVillages")
def _enrolled_villages(b: Build, f: Field, alias: str, path: Path) -> str:
    try:
        window = _observed_window(f)
    except ApiError as error:
        return b.error(error, f.nodes)
    v = b.alias("v")
    item = object_json(b, "Village", f.fields(), v, (*path, 0))
    codes = bind(b, enrolled_village_codes(alias, suppresses(b.viewer)), window)
    return (f"(SELECT coalesce(json_agg({item} ORDER BY {v}.code), '[]'::json) FROM village {v} "
            f"WHERE {v}.code IN ({codes}) AND {visible_sql(b.viewer, 'village', v)})")


@compiles("Agent", field="homeVillage")
def _home(b: Build, f: Field, alias: str, path: Path) -> str:
    return region_row(b, Level.VILLAGE, f.fields(), lambda v: f"{v}.code = {alias}.home_village_code", path)


def agent_rows(b: Build, filter: Filter, *, where: Where = lambda a: "true", reaching: str | None = None) -> Rows:
    """Visible agents, filtered; `reaching` (a village code SQL): the active ones whose reach
    contains that village's label point, nearest first, with the distance on each edge."""
    alias = b.alias("a")
    condition, distance = filter_sql(filter.placeholders, code=f"{alias}.home_village_code", name=f"{alias}.name",
                                     shape=f"{alias}.location", point=f"{alias}.location", status=f"{alias}.status")
    body = f"FROM agent {alias}"
    conditions = [visible_sql(b.viewer, "agent", alias), condition, where(alias)]
    if reaching is not None:
        reach = b.alias("r")
        body += f" JOIN agent_reach {reach} ON {reach}.agent_id = {alias}.id"
        conditions += [f"{reach}.village_code = {reaching}", f"{alias}.status = 'active'"]
        distance = f"{reach}.distance_m"
    keys = ((f"{alias}.id", int),) if distance is None else ((distance, float), (f"{alias}.id", int))
    return Rows(f"{body} WHERE {' AND '.join(conditions)}", alias, keys, distance)


@compiles("District", field="agents")
def _district_agents(b: Build, f: Field, alias: str, path: Path) -> str:
    return _list(b, f, path, "Agent", lambda filter: agent_rows(
        b, filter, where=lambda a: f"left({a}.home_village_code, 8) = {alias}.code"))


@compiles("Village", field="agentsInReach")
def _agents_in_reach(b: Build, f: Field, alias: str, path: Path) -> str:
    return _list(b, f, path, "Agent", lambda filter: agent_rows(b, filter, reaching=f"{alias}.code"))


@compiles("Agent", field="villagesInReach")
def _villages_in_reach(b: Build, f: Field, alias: str, path: Path) -> str:
    def rows(filter: Filter) -> Rows:
        village = region_rows(b, Level.VILLAGE, filter, None)
        reach = b.alias("r")
        body = village.body.replace(f"FROM village {village.alias} WHERE",
                                    f"FROM village {village.alias} JOIN agent_reach {reach} ON "
                                    f"{reach}.village_code = {village.alias}.code WHERE {reach}.agent_id = {alias}.id AND", 1)
        distance = f"{reach}.distance_m"
        return Rows(body, village.alias, ((distance, float), (f"{village.alias}.code", str)), distance)

    return _list(b, f, path, "Village", rows)


# --- enrollments and participants ---------------------------------------------------------------------

for _field, _column in {"monthlyContributionIdr": "monthly_contribution_idr", "enrolledOn": "enrolled_on",
                        "lastPaidOn": "last_paid_on"}.items():
    compiles("Enrollment", field=_field)(column(_column))


@compiles("Enrollment", field="id")
def _enrollment_id(b: Build, f: Field, alias: str, path: Path) -> str:
    return global_id("Enrollment", f"{alias}.id::text")


@compiles("Enrollment", field="status")
def _enrollment_status(b: Build, f: Field, alias: str, path: Path) -> str:
    return f"upper({alias}.status::text)"


@compiles("Enrollment", field="programmes")
def _programmes(b: Build, f: Field, alias: str, path: Path) -> str:
    return f"to_json({alias}.programmes::text[])"


@compiles("Enrollment", field="agent")
def _enrollment_agent(b: Build, f: Field, alias: str, path: Path) -> str:
    return agent_row(b, f.fields(), lambda a: f"{a}.id = {alias}.agent_id", path)


@compiles("Enrollment", field="village")
@compiles("Participant", field="village")
def _enrollment_village(b: Build, f: Field, alias: str, path: Path) -> str:
    return region_row(b, Level.VILLAGE, f.fields(), lambda v: f"{v}.code = {alias}.village_code", path)


@compiles("Enrollment", field="participant")
def _enrollment_participant(b: Build, f: Field, alias: str, path: Path) -> str:
    return participant_row(b, f.fields(), lambda p: f"{p}.id = {alias}.participant_id", path)


def agent_row(b: Build, fields: tuple[Field, ...], where: Where, path: Path) -> str:
    a = b.alias("a")
    return f"(SELECT {object_json(b, 'Agent', fields, a, path)} FROM agent {a} WHERE {where(a)} AND {visible_sql(b.viewer, 'agent', a)})"


def participant_row(b: Build, fields: tuple[Field, ...], where: Where, path: Path) -> str:
    p = b.alias("pt")
    return (f"(SELECT {object_json(b, 'Participant', fields, p, path)} FROM participant {p} "
            f"WHERE {where(p)} AND {visible_sql(b.viewer, 'participant', p)})")


def enrollment_row(b: Build, fields: tuple[Field, ...], where: Where, path: Path) -> str:
    e = b.alias("e")
    return (f"(SELECT {object_json(b, 'Enrollment', fields, e, path)} FROM enrollment {e} "
            f"WHERE {where(e)} AND {visible_sql(b.viewer, 'enrollment', e)})")


def enrollment_rows(b: Build, filter: Filter, where: Where = lambda e: "true") -> Rows:
    """Visible enrollments, filtered (a participant's name: not for planners)."""
    if filter.searches_name and not b.viewer.sees_personal_data:
        raise Forbidden("searching by participant name uses personal data, which your role cannot see",
                        field="filter.nameContains")
    e = b.alias("e")
    body = f"FROM enrollment {e}"
    spatial = filter.spatial
    village = b.alias("v")
    if spatial:
        body += f" JOIN village {village} ON {village}.code = {e}.village_code"
    participant = b.alias("pt")
    if filter.searches_name:
        body += f" JOIN participant {participant} ON {participant}.id = {e}.participant_id"
    condition, distance = filter_sql(
        filter.placeholders, code=f"{e}.village_code", name=f"{participant}.name" if filter.searches_name else None,
        shape=f"{village}.geom" if spatial else None, point=f"{village}.label_point" if spatial else None,
        status=f"{e}.status")
    conditions = [visible_sql(b.viewer, "enrollment", e), condition, where(e)]
    keys = ((f"{e}.id", int),) if distance is None else ((distance, float), (f"{e}.id", int))
    return Rows(f"{body} WHERE {' AND '.join(conditions)}", e, keys, distance)


def _enrollments_of(column: str, parent_column: str) -> Callable[[Build, Field, str, Path], str]:
    def compile_enrollments(b: Build, f: Field, alias: str, path: Path) -> str:
        return _list(b, f, path, "Enrollment",
                     lambda filter: enrollment_rows(b, filter, lambda e: f"{e}.{column} = {alias}.{parent_column}"))

    return compile_enrollments


compiles("Village", field="enrollments")(_enrollments_of("village_code", "code"))
compiles("Agent", field="enrollments")(_enrollments_of("agent_id", "id"))
compiles("Participant", field="enrollments")(_enrollments_of("participant_id", "id"))


@compiles("Participant", field="id")
def _participant_id(b: Build, f: Field, alias: str, path: Path) -> str:
    return global_id("Participant", f"{alias}.id::text")


@compiles("Participant", field="name")
def _participant_name(b: Build, f: Field, alias: str, path: Path) -> str:
    return f"{alias}.name" if b.viewer.sees_personal_data else b.error(PERSONAL, f.nodes)


@compiles("Participant", field="nikLast4")
def _nik_last4(b: Build, f: Field, alias: str, path: Path) -> str:
    return f"{alias}.nik_last4" if b.viewer.sees_personal_data else b.error(PERSONAL, f.nodes)


compiles("Participant", field="occupation")(column("occupation"))
