"""The root fields of Query that look things up or list them: node, me, the regions, agents,
villages and enrollments; and the map links of regions."""

from __future__ import annotations

from urllib.parse import urlencode

from compiler.coverage import analysable
from compiler.entities import (
    REGIONS,
    _list,
    agent_row,
    agent_rows,
    enrollment_row,
    enrollment_rows,
    global_id_of,
    participant_row,
    region_row,
    region_rows,
)
from compiler.objects import compiles, object_json
from compiler.plan import Field
from compiler.scenarios import scenario_row
from compiler.sql import Build, Path
from db.access import analyses, analyses_sql
from db.regions import Level
from resolvers.errors import ApiError, BadUserInput, NotFound
from resolvers.inputs import region_code, row_id


def _lookup(level: Level) -> object:
    def compile_lookup(b: Build, f: Field, alias: str, path: Path) -> str:
        try:
            code = b.bound(f, "code", lambda given: region_code(given, "code", level), "text")
        except ApiError as error:
            return b.error(error, f.nodes)
        found = region_row(b, level, f.fields(), lambda r: f"{r}.code = {code}", path)
        return f"coalesce({found}, {b.error_of(code, lambda given: NotFound(f'no {level.value} {given} that you can see'), f.nodes)})"

    return compile_lookup


for _level in Level:
    compiles("Query", field=_level.value)(_lookup(_level))  # type: ignore[arg-type]


@compiles("Query", field="agent")
def _agent(b: Build, f: Field, alias: str, path: Path) -> str:
    given, code = f.args.get("id"), f.args.get("code")
    try:
        if (given is None) == (code is None):
            raise BadUserInput("give either `id` or `code`", field="id")
        if given is not None:
            gid = global_id_of(given)
            if gid.type_name != "Agent":
                raise BadUserInput(f"is the id of a {gid.type_name}, not of an Agent", field="id")
            number = row_id(gid.node_id)
            shown: object = number
            where = lambda a: f"{a}.id = {b.add(number)}"  # noqa: E731
        else:
            shown = code
            where = lambda a: f"{a}.code = {b.add(code)}"  # noqa: E731
    except ApiError as error:
        return b.error(error, f.nodes)
    found = agent_row(b, f.fields(), where, path)
    return f"coalesce({found}, {b.error(NotFound(f'no agent {shown} that you can see'), f.nodes)})"


@compiles("Query", field="node")
def _node(b: Build, f: Field, alias: str, path: Path) -> str:
    try:
        gid = global_id_of(f.args["id"])
        type_name, key = gid.type_name, gid.node_id
        if not f.below or type_name not in f.below or not (0 < len(key) <= 64 and "\x00" not in key):
            raise BadUserInput("is not an id this API issued; use the `id` of an object", field="id")
        fields = f.fields(type_name)
        if type_name in REGIONS:
            level = REGIONS[type_name]
            if Level.of_code(key) is not level:
                return "NULL"
            return region_row(b, level, fields, lambda r: f"{r}.code = {b.add(key)}", path)
        number = row_id(key)
        rows = {"Agent": agent_row, "Enrollment": enrollment_row, "Participant": participant_row,
                "Scenario": scenario_row}[type_name]
        return rows(b, fields, lambda x: f"{x}.id = {b.add(number)}", path)
    except ApiError as error:
        return b.error(error, f.nodes)


@compiles("Query", field="me")
def _me(b: Build, f: Field, alias: str, path: Path) -> str:
    return object_json(b, "Me", f.fields(), "", path)  # no row: the caller's token


compiles("Me", field="subject")(lambda b, f, alias, path: b.add(b.viewer.subject, "text"))
compiles("Me", field="role")(lambda b, f, alias, path: b.add(b.viewer.role.value, "text"))
compiles("Me", field="scope")(lambda b, f, alias, path: f"to_json({b.add(list(b.viewer.scope), 'text[]')})")
compiles("Me", field="agentCode")(lambda b, f, alias, path: b.add(b.viewer.agent_code, "text"))


@compiles("Query", field="provinces")
def _provinces(b: Build, f: Field, alias: str, path: Path) -> str:
    return _list(b, f, path, "Province", lambda filter: region_rows(b, Level.PROVINCE, filter, None))


@compiles("Query", field="villages")
def _villages(b: Build, f: Field, alias: str, path: Path) -> str:
    return _list(b, f, path, "Village", lambda filter: region_rows(b, Level.VILLAGE, filter, None))


@compiles("Query", field="agents")
def _agents(b: Build, f: Field, alias: str, path: Path) -> str:
    return _list(b, f, path, "Agent", lambda filter: agent_rows(b, filter))


@compiles("Query", field="enrollments")
def _enrollments(b: Build, f: Field, alias: str, path: Path) -> str:
    return _list(b, f, path, "Enrollment", lambda filter: enrollment_rows(b, filter))


def _map_link(b: Build, f: Field, path: str) -> str:
    """`{base}/maps/{path}?…&token=…`, SQL text; `path` is SQL too (a region's path uses its code)."""
    assert b.map_link is not None
    base, token = b.link()
    query = f"?metric={f.args['metric'].value}&basemap={f.args['basemap'].value}&token={token}"
    return f"{b.add(f'{base}/maps/', 'text')} || {path} || {b.add(query, 'text')}"


def _map_url(type_name: str) -> object:
    def compile_map_url(b: Build, f: Field, alias: str, path: Path) -> str:
        if b.map_link is None:
            return "NULL"
        level = REGIONS[type_name]
        page = f"{b.add(level.plural + '/', 'text')} || {alias}.code"
        return f"CASE WHEN {analyses_sql(b.viewer, level.table, alias)} THEN {_map_link(b, f, page)} END"

    return compile_map_url


@compiles("Query", field="indonesiaMapUrl")
def _indonesia_map_url(b: Build, f: Field, alias: str, path: Path) -> str:
    if b.map_link is None or not analyses(b.viewer, None):
        return "NULL"
    return f"to_json({_map_link(b, f, b.add('indonesia', 'text'))})"  # a root field's column is JSON text


for _type in ("Province", "Regency", "District"):
    compiles(_type, field="mapUrl")(_map_url(_type))  # type: ignore[arg-type]


@compiles("Query", field="exportCoverage")
def _export_coverage(b: Build, f: Field, alias: str, path: Path) -> str:
    try:
        analysable(b, f)
    except ApiError as error:
        return b.error(error, f.nodes)
    if b.map_link is None:
        return "NULL"
    base, link = b.link()
    query = urlencode({**({"regionCode": f.args["regionCode"].strip()} if f.args["regionCode"] else {}), "token": link})
    url = f"{base}/exports/{f.args['kind'].value}.{f.args['format'].value}?{query}"
    return f"to_json({b.add(url, 'text')})"  # a root field's column is JSON text
