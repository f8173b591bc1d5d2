"""Whole reads compiled into one SQL statement that returns the response's JSON.

Resolving a district page object by object costs about a thousand resolver calls in Python;
PostgreSQL builds the same document with `json_build_object`/`json_agg` in a fraction of the time
(BENCHMARKS.md, issue 7). `resolvers/compiled.py` turns a GraphQL selection into the plain tree
below when every field of it is one this module knows; anything else is resolved as usual.

What compiles (for callers who see every row: admins and planners):
- `province|regency|district(code)` → `code`, `name`, `areaKm2`, `geometry(precision)`, and for a
  district `villages(first)` → `totalCount`, `edges { node }`;
- `villages(filter: {bbox}, first)` → `totalCount`, `edges { node }`;
- `coverageGaps(regionCode, kind: UNREACHED, first)` → `totalCount`, `edges { node { village } }`;
- a village node → `code`, `name`, `population`, `informalWorkers`, `areaKm2`,
  `geometry(precision)`, `labelPoint(precision)`, `agentsInReach(first)` → `totalCount`,
  `edges { distanceM node }`, `enrollments(first: 0)` → `totalCount`;
- an agent node → `code`, `name`, `reachM`.
The order, page sizes and values are those of the ordinary resolvers (a test compares both).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from db.regions import Level


@dataclass(frozen=True)
class Selected:
    """One field of the selection: its schema name, response key, arguments and sub-fields."""

    name: str
    key: str
    args: dict[str, Any] = field(default_factory=dict)
    children: tuple[Selected, ...] = ()


class NotCompilable(Exception):
    """The selection asks for something this module does not build; resolve it the usual way."""


class _Params:
    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")  # GraphQL names: safe inside a SQL string literal


def _object(pairs: list[tuple[str, str]]) -> str:
    if not pairs or not all(_NAME.fullmatch(key) for key, _ in pairs):
        raise NotCompilable("an empty selection or an unexpected name")
    return "json_build_object(" + ", ".join(f"'{key}', {sql}" for key, sql in pairs) + ")"


def _geojson(f: Selected, column: str, p: _Params) -> str:
    """`geometry` / `labelPoint`: GeoJSON rounded to `precision` digits (ST_AsGeoJSON rounds from the
    exact double, like Python's round() in the resolvers)."""
    if f.args.get("simplifyM", 0) != 0 or set(f.args) - {"simplifyM", "precision"}:
        raise NotCompilable("simplified geometry")
    precision = f.args.get("precision", 7)
    if not isinstance(precision, int) or not 0 <= precision <= 15:
        raise NotCompilable("a precision the resolver refuses")
    return f"CAST(ST_AsGeoJSON({column}, CAST({p.add(precision)} AS integer)) AS json)"


def _page_size(f: Selected, default: int = 100, most: int = 500, also: frozenset[str] = frozenset()) -> int:
    if set(f.args) - {"first"} - also:
        raise NotCompilable("filters or cursors")
    first = f.args.get("first", default)
    if not isinstance(first, int) or not 0 <= first <= most:
        raise NotCompilable("a page size the resolver refuses")
    return first


_REGION_COLUMNS = {"code": "code", "name": "name", "areaKm2": "area_km2"}
_VILLAGE_COLUMNS = {**_REGION_COLUMNS, "population": "population", "informalWorkers": "informal_workers"}
_AGENT_COLUMNS = {"code": "code", "name": "name", "reachM": "reach_m"}


def _agent(fields: tuple[Selected, ...], alias: str) -> str:
    pairs = []
    for f in fields:
        if f.name not in _AGENT_COLUMNS or f.args:
            raise NotCompilable(f"Agent.{f.name}")
        pairs.append((f.key, f"{alias}.{_AGENT_COLUMNS[f.name]}"))
    return _object(pairs)


def _connection(f: Selected, rows: str, alias: str, order: str, edge: Callable[[Selected], tuple[str, str]],
                p: _Params, also: frozenset[str] = frozenset()) -> str:
    """`totalCount` and `edges` of a connection over `rows` (`FROM … WHERE …` naming its rows
    `alias`), in `order`, the first page only; `edge` gives the SQL of one edge field over `alias`.
    `also` names the arguments besides `first` the caller has already turned into `rows`."""
    first = _page_size(f, also=also)
    pairs = []
    for part in f.children:
        if part.name == "totalCount":
            pairs.append((part.key, f"(SELECT count(*) {rows})"))
        elif part.name == "edges":
            edges = _object([edge(e) for e in part.children])
            pairs.append((part.key, f"""coalesce((SELECT json_agg({edges} ORDER BY {order}) FROM (
                SELECT {alias}.* {rows} ORDER BY {order} LIMIT {p.add(first)}) {alias}), '[]'::json)"""))
        else:
            raise NotCompilable(f"{f.name}.{part.name}")
    return _object(pairs)


def _agents_in_reach(f: Selected, village: str, p: _Params) -> str:
    def edge(e: Selected) -> tuple[str, str]:
        if e.name == "distanceM":
            return e.key, "a.distance_m"
        if e.name == "node":
            return e.key, _agent(e.children, "a")
        raise NotCompilable(f"edge field {e.name}")

    rows = f"""FROM (SELECT agent.*, r.distance_m FROM agent_reach r JOIN agent ON agent.id = r.agent_id
                     WHERE r.village_code = {village}.code AND agent.status = 'active') a"""
    return _connection(f, rows, "a", "a.distance_m, a.id", edge, p)


def _village_enrollments(f: Selected, village: str) -> str:
    if _page_size(f) != 0 or [c.name for c in f.children] != ["totalCount"]:
        raise NotCompilable("enrollment rows (only the count compiles)")
    return _object([(f.children[0].key, f"(SELECT count(*) FROM enrollment e WHERE e.village_code = {village}.code)")])


def _village(fields: tuple[Selected, ...], alias: str, p: _Params) -> str:
    pairs = []
    for f in fields:
        if f.name in _VILLAGE_COLUMNS and not f.args:
            pairs.append((f.key, f"{alias}.{_VILLAGE_COLUMNS[f.name]}"))
        elif f.name == "geometry":
            pairs.append((f.key, _geojson(f, f"{alias}.geom", p)))
        elif f.name == "labelPoint":
            pairs.append((f.key, _geojson(f, f"{alias}.label_point", p)))
        elif f.name == "agentsInReach":
            pairs.append((f.key, _agents_in_reach(f, alias, p)))
        elif f.name == "enrollments":
            pairs.append((f.key, _village_enrollments(f, alias)))
        else:
            raise NotCompilable(f"Village.{f.name}")
    return _object(pairs)


def _district_villages(f: Selected, district: str, p: _Params) -> str:
    rows = f"FROM village v WHERE v.district_code = {district}.code"
    return _connection(f, rows, "v", "v.code", lambda e: _village_edge(e, p), p)


def _region(level: Level, fields: tuple[Selected, ...], alias: str, p: _Params) -> str:
    pairs = []
    for f in fields:
        if f.name in _REGION_COLUMNS and not f.args:
            pairs.append((f.key, f"{alias}.{_REGION_COLUMNS[f.name]}"))
        elif f.name == "geometry":
            pairs.append((f.key, _geojson(f, f"{alias}.geom", p)))
        elif f.name == "villages" and level is Level.DISTRICT:
            pairs.append((f.key, _district_villages(f, alias, p)))
        else:
            raise NotCompilable(f"{level}.{f.name}")
    return _object(pairs)


def _village_edge(e: Selected, p: _Params) -> tuple[str, str]:
    if e.name != "node":
        raise NotCompilable("village edge fields other than node")
    return e.key, _village(e.children, "v", p)


def _bbox_villages(f: Selected, p: _Params) -> str:
    """`villages(filter: {bbox}, first)`: villages whose boundary meets the box, in code order."""
    given = f.args.get("filter")
    if not isinstance(given, dict) or set(given) != {"bbox"} or not _valid_bbox(given["bbox"]):
        raise NotCompilable("filters other than a valid bbox")
    box = ", ".join(f"CAST({p.add(float(x))} AS float8)" for x in given["bbox"])
    rows = f"FROM village v WHERE ST_Intersects(v.geom, ST_MakeEnvelope({box}, 4326))"
    return _connection(f, rows, "v", "v.code", lambda e: _village_edge(e, p), p, also=frozenset({"filter"}))


def _valid_bbox(bbox: Any) -> bool:
    """The resolvers' rule (resolvers/inputs.py); anything it refuses falls back to get its error."""
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(isinstance(x, int | float) for x in bbox):
        return False
    min_lng, min_lat, max_lng, max_lat = (float(x) for x in bbox)
    in_range = all(-180 <= x <= 180 for x in (min_lng, max_lng)) and all(-90 <= y <= 90 for y in (min_lat, max_lat))
    return in_range and min_lng < max_lng and min_lat < max_lat


def _unreached_villages(f: Selected, p: _Params) -> str:
    """`coverageGaps(regionCode, kind: UNREACHED, first)`: villages of the region no active agent
    reaches, most uncovered workers first (db/queries/gaps.py ranks them the same way); the active
    enrollments are counted only for those villages, not for the whole region."""
    code = f.args.get("regionCode")
    level = Level.of_code(code) if isinstance(code, str) else None
    kind = f.args.get("kind")  # the enum's name when written in the query, its member when a variable
    if getattr(kind, "name", kind) != "UNREACHED" or level in (None, Level.VILLAGE):
        raise NotCompilable("gap kinds other than UNREACHED, or no region")
    lo, hi = p.add(f"{code}."), p.add(f"{code}/")
    rows = f"""FROM (
        SELECT v.*, CASE WHEN v.informal_workers IS NULL THEN 1.0 ELSE -greatest(0, v.informal_workers - (
                   SELECT count(*) FROM enrollment e WHERE e.village_code = v.code AND e.status = 'active'))::float8
               END AS rank_key
        FROM village v
        WHERE v.code ~>=~ {lo} AND v.code ~<~ {hi} AND NOT EXISTS (
            SELECT 1 FROM agent_reach r JOIN agent a ON a.id = r.agent_id
            WHERE r.village_code = v.code AND a.status = 'active')) v"""

    def edge(e: Selected) -> tuple[str, str]:
        if e.name != "node" or [n.name for n in e.children] != ["village"]:
            raise NotCompilable("gap fields other than village")
        return e.key, _object([(e.children[0].key, _village(e.children[0].children, "v", p))])

    gaps = _connection(f, rows, "v", "v.rank_key, v.code", edge, p, also=frozenset({"regionCode", "kind"}))
    exists = f"EXISTS (SELECT 1 FROM {level.table} WHERE code = {p.add(code)})"  # type: ignore[union-attr]
    return f"CASE WHEN {exists} THEN {gaps} END"  # a missing region falls back, for its NOT_FOUND


def _root(root: Selected, p: _Params) -> str:
    if root.name == "villages":
        return _bbox_villages(root, p)
    if root.name == "coverageGaps":
        return _unreached_villages(root, p)
    level = ROOTS.get(root.name)
    code = root.args.get("code")
    if level is None or set(root.args) != {"code"} or not isinstance(code, str) or not level.pattern.fullmatch(code):
        raise NotCompilable(f"root field {root.name}")
    return f"(SELECT {_region(level, root.children, 'r', p)} FROM {level.table} r WHERE r.code = {p.add(code)})"


ROOTS = {"province": Level.PROVINCE, "regency": Level.REGENCY, "district": Level.DISTRICT}


def compile_read(roots: tuple[Selected, ...]) -> tuple[str, list[Any]]:
    """SQL returning one row with each root field's JSON text, in order, with its parameters;
    NotCompilable if any part is not one this module builds. A root the database lacks is null."""
    p = _Params()
    columns = [f"CAST({_root(root, p)} AS text)" for root in roots]
    if not columns or not all(_NAME.fullmatch(root.key) for root in roots):
        raise NotCompilable("no root fields or an unexpected name")
    return "SELECT " + ", ".join(columns), p.values


async def run_compiled(pool: asyncpg.Pool, sql: str, params: list[Any]) -> list[str | None]:
    """The JSON text of each root field (a prepared statement, reused while the SQL is the same)."""
    async with pool.acquire() as connection:
        row = await connection.fetchrow(sql, *params)
    return list(row.values()) if row is not None else []
