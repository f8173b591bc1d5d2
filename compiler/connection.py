"""Relay connections in SQL: keyset pages in either direction, edges with cursors and distances,
`pageInfo` and `totalCount`, as one subquery that may sit under any parent row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from compiler.objects import object_json
from compiler.plan import TYPENAME, Field
from compiler.sql import Build, Path, json_object, quoted
from db.queries.paging import Window
from resolvers.errors import ApiError
from resolvers.inputs import PAGE_GEOMETRY_BYTES, byte_budget
from resolvers.pagination import PageArgs, window


@dataclass(frozen=True)
class Rows:
    """The rows of one list: `FROM … WHERE …` naming each row `alias`, the table whose columns a
    row has (`alias.*`), the unique sort key (SQL over `alias`, with each part's Python type, for
    cursors) and the geodesic distance an edge shows (None: no distance)."""

    body: str
    alias: str
    keys: tuple[tuple[str, type], ...]
    distance: str | None = None


def cursor_sql(parts: list[str]) -> str:
    """The cursor of a row: base64url of its sort key as a JSON array (resolvers.pagination decodes it)."""
    array = f"json_build_array({', '.join(parts)})::text"
    return f"translate(encode(convert_to({array}, 'UTF8'), 'base64'), E'+/\\n', '-_')"


def page_window(f: Field, key_types: tuple[type, ...]) -> Window:
    """The paging arguments of `f` (first/after, and last/before where the field has them), checked
    (BadUserInput). Ranked lists and logs declare only first/after: they page forwards."""
    given = {name: f.args.get(name) for name in ("first", "after", "last", "before")
             if f.definition is None or name in f.definition.args}
    return window(PageArgs(given.get("first"), given.get("after"), given.get("last"), given.get("before")), key_types)


def connection(b: Build, f: Field, rows: Rows, node_type: str, path: Path) -> str:
    """The connection `f` over `rows`, whose nodes are `node_type` objects."""
    try:
        page = page_window(f, tuple(kind for _, kind in rows.keys))
    except ApiError as error:
        return b.error(error, f.nodes)
    keys = [sql for sql, _ in rows.keys]
    order = ", ".join(f"{k} {'DESC' if page.from_end else 'ASC'}" for k in keys)
    bounds = []
    key_tuple = f"({', '.join(keys)})"
    for bound, op in ((page.after, ">"), (page.before, "<")):
        if bound is not None:
            bounds.append(f"{key_tuple} {op} ({', '.join(b.add(v) for v in bound)})")
    extra = "".join(f" AND {c}" for c in bounds)
    key_columns = ", ".join(f"{k} AS page_key{i}" for i, k in enumerate(keys))
    distance = f", {rows.distance} AS page_distance" if rows.distance else ""
    inner = (f"SELECT {rows.alias}.*, {key_columns}{distance} {rows.body}{extra} "
             f"ORDER BY {order} LIMIT {b.add(page.limit + 1)}")
    return paged(b, f, inner, len(keys), page, node_type, path, total=f"(SELECT count(*) {rows.body})",
                 has_distance=rows.distance is not None)


def paged(b: Build, f: Field, inner: str, key_count: int, page: Window, node_type: str, path: Path, *,
          total: str | ApiError, has_distance: bool = False, descending: bool = False) -> str:
    """A connection over `inner`: a SELECT of the window's rows (at most limit + 1, in the
    window's order) with columns page_key0… (and page_distance). `total`: the count's SQL, or
    the error to report for a list without one."""
    fields = f.fields()
    if not any(c.name in ("edges", "pageInfo") for c in fields):  # no page to fetch
        return json_object([(c.key, _total(b, c, total) if c.name == "totalCount" else quoted(_connection_type(node_type)))
                            for c in fields])
    p = b.alias("p")
    try:  # before the nodes are compiled: their geometry fields read the shares
        shares = _geometry_shares(b, f, page.limit, p, node_type)
    except ApiError as error:
        return b.error(error, f.nodes)
    order = ", ".join(f"q.page_key{i} {'DESC' if page.from_end != descending else 'ASC'}" for i in range(key_count))

    def shown() -> str:  # a parameter only where used: PostgreSQL cannot type an unused one
        return f"{p}.page_rank <= {b.add(page.limit)}"

    display = f"{p}.page_rank {'DESC' if page.from_end else 'ASC'}"
    backwards = f"{p}.page_rank {'ASC' if page.from_end else 'DESC'}"
    cursor = cursor_sql([f"{p}.page_key{i}" for i in range(key_count)])

    pairs = []
    for c in fields:
        if c.name == TYPENAME:
            pairs.append((c.key, quoted(_connection_type(node_type))))
        elif c.name == "totalCount":
            pairs.append((c.key, _total(b, c, total)))
        elif c.name == "edges":
            edge = _edge(b, c, node_type, p, cursor, has_distance, (*path, c.key))
            pairs.append((c.key, f"coalesce(json_agg({edge} ORDER BY {display}) FILTER (WHERE {shown()}), '[]'::json)"))
        elif c.name == "pageInfo":
            def more() -> str:
                return f"count(*) > {b.add(page.limit)}"

            info = []
            for i in c.fields():
                if i.name == TYPENAME:
                    value = quoted("PageInfo")
                elif i.name == "hasNextPage":
                    value = more() if not page.from_end else ("true" if page.before is not None else "false")
                elif i.name == "hasPreviousPage":
                    value = more() if page.from_end else ("true" if page.after is not None else "false")
                elif i.name == "startCursor":
                    value = f"(array_agg({cursor} ORDER BY {display}) FILTER (WHERE {shown()}))[1]"
                else:
                    value = f"(array_agg({cursor} ORDER BY {backwards}) FILTER (WHERE {shown()}))[1]"
                info.append((i.key, value))
            pairs.append((c.key, json_object(info)))
    ranked = f"SELECT q.*, row_number() OVER (ORDER BY {order}) AS page_rank FROM ({inner}) q"
    if shares is not None:
        ranked = shares(ranked)
    return f"(SELECT {json_object(pairs)} FROM ({ranked}) {p})"


GEOMETRY_FIELDS = ("geometry", "fittedGeometry")


def _geometry_shares(b: Build, f: Field, limit: int, p: str, node_type: str) -> Callable[[str], str] | None:
    """With a geometryBudget: what adds `page_share` to the page's rows, each shown row's bytes of
    the budget, water-filled: rows whose full boundary is small keep all of it, the others share
    what is left equally; the shares sum to at most the budget. A node's geometry fields then fit
    its share (split between them)."""
    if (given := f.args.get("geometryBudget")) is None:
        return None
    budget = byte_budget(given, "geometryBudget", PAGE_GEOMETRY_BYTES)
    geometries = [g for e in f.fields() if e.name == "edges" for n in e.fields() if n.name == "node"
                  for g in n.fields(node_type) if g.name in GEOMETRY_FIELDS]
    b.geometry_shares[p] = max(1, len(geometries))
    precision = b.add(geometries[0].args["precision"] if geometries else 7, "integer")
    total, shown = b.add(budget, "integer"), b.add(limit, "integer")
    return lambda ranked: _water_filled(ranked, total, shown, precision)


def _water_filled(ranked: str, total: str, shown: str, precision: str) -> str:
    """`ranked` with `page_share`: each shown row's bytes of the budget `total`."""
    sized = (f"SELECT r.*, CASE WHEN r.page_rank <= {shown} THEN octet_length(ST_AsGeoJSON(r.geom, {precision})) END "
             f"AS full_bytes FROM ({ranked}) r")
    # Rows by size: row i may keep its full size while it is under an equal share of what the smaller
    # rows left; from the first that is not, every row gets that share (the water level).
    capped = (f"SELECT s.*, row_number() OVER w AS fill_rank, ({total} - (sum(s.full_bytes) OVER w - s.full_bytes))::float8 "
              f"/ (count(s.full_bytes) OVER () - row_number() OVER w + 1) AS fill_cap "
              f"FROM ({sized}) s WINDOW w AS (ORDER BY s.full_bytes, s.page_rank ROWS UNBOUNDED PRECEDING)")
    level = (f"SELECT c.*, min(c.fill_rank) FILTER (WHERE c.full_bytes > c.fill_cap) OVER () AS fill_first, "
             f"first_value(c.fill_cap) OVER (ORDER BY c.full_bytes > c.fill_cap DESC NULLS LAST, c.fill_rank) AS fill_level "
             f"FROM ({capped}) c")
    return (f"SELECT l.*, CASE WHEN l.full_bytes IS NULL THEN NULL "
            f"WHEN l.fill_first IS NULL OR l.fill_rank < l.fill_first THEN l.full_bytes "
            f"ELSE floor(l.fill_level)::integer END AS page_share FROM ({level}) l")


def _total(b: Build, c: Field, total: str | ApiError) -> str:
    """The count, or the error of a list that has none (a log paged through, newest first)."""
    return total if isinstance(total, str) else b.error(total, c.nodes)


def _connection_type(node_type: str) -> str:
    return f"{node_type}Connection"


def _edge(b: Build, edges: Field, node_type: str, p: str, cursor: str, has_distance: bool, path: Path) -> str:
    pairs = []
    for e in edges.fields():
        if e.name == TYPENAME:
            pairs.append((e.key, quoted(f"{node_type}Edge")))
        elif e.name == "cursor":
            pairs.append((e.key, cursor))
        elif e.name == "distanceM":
            pairs.append((e.key, f"{p}.page_distance" if has_distance else "NULL"))
        elif e.name == "node":
            pairs.append((e.key, object_json(b, node_type, e.fields(node_type), p, (*path, e.key))))
    return json_object(pairs)
