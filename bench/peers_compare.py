"""Do our answers equal PostGraphile's? Both responses reduced to the same plain form, then compared.

The two APIs name and order things differently (PostGraphile lists covering agents by id and gaps
by code; we list agents nearest first and gaps by uncovered workers), so lists are compared as
sorted lists, and GeoJSON coordinates are rounded to 6 decimals (about 0.1 m).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

Plain = Any
DECIMALS = 6


def rounded(geojson: Any) -> Any:
    """Every number in a GeoJSON value rounded to DECIMALS."""
    if isinstance(geojson, float | int) and not isinstance(geojson, bool):
        return round(float(geojson), DECIMALS)
    if isinstance(geojson, list):
        return [rounded(v) for v in geojson]
    if isinstance(geojson, dict):
        return {k: rounded(v) for k, v in geojson.items()}
    return geojson


def _geo(value: Any) -> Any:
    return rounded(json.loads(value) if isinstance(value, str) else value)


def theirs_nested(data: dict[str, Any]) -> Plain:
    d = data["districtByCode"]
    return d and (d["code"], d["name"], [
        (v["code"], v["name"], _geo(v["geom"]["geojson"]) if v["geom"] else None, v["informalWorkers"],
         sorted((a["name"], a["reachM"]) for a in v["coveringAgents"]["nodes"]), v["enrollmentCount"])
        for v in d["villagesByDistrictCode"]["nodes"]])


def ours_nested(data: dict[str, Any]) -> Plain:
    d = data["district"]
    return d and (d["code"], d["name"], [
        (v["code"], v["name"], _geo(v["geometry"]), v["informalWorkers"],
         sorted((a["node"]["name"], a["node"]["reachM"]) for a in v["agentsInReach"]["edges"]),
         v["enrollments"]["totalCount"])
        for v in (e["node"] for e in d["villages"]["edges"])])


def theirs_gaps(data: dict[str, Any]) -> Plain:
    return sorted((v["code"], v["name"], _geo(v["label"]["geojson"])) for v in data["uncoveredVillages"]["nodes"])


def ours_gaps(data: dict[str, Any]) -> Plain:
    return sorted((g["village"]["code"], g["village"]["name"], _geo(g["village"]["labelPoint"]))
                  for g in (e["node"] for e in data["coverageGaps"]["edges"]))


def theirs_bbox(data: dict[str, Any]) -> Plain:
    return [(v["code"], _geo(v["geom"]["geojson"]) if v["geom"] else None) for v in data["allVillages"]["nodes"]]


def ours_bbox(data: dict[str, Any]) -> Plain:
    return [(v["code"], _geo(v["geometry"])) for v in (e["node"] for e in data["villages"]["edges"])]


PLAIN: dict[str, tuple[Callable[[dict[str, Any]], Plain], Callable[[dict[str, Any]], Plain]]] = {
    "nested": (theirs_nested, ours_nested), "gaps": (theirs_gaps, ours_gaps), "bbox": (theirs_bbox, ours_bbox),
}


def _ask(url: str, query: str, variables: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = httpx.post(url, json={"query": query, "variables": variables}, headers=headers, timeout=120).json()
    if body.get("errors") or not body.get("data"):
        raise SystemExit(f"{url} answered {variables} with errors: {str(body)[:500]}")
    return dict(body["data"])


def compare(workload: str, their_url: str, their_query: str, our_url: str, our_query: str,
            variable_sets: list[dict[str, Any]], headers: dict[str, str] | None = None) -> int:
    """How many of the variable sets get equal answers; the first difference stops the run. Extra
    keys of the Apollo and Relay forms (__typename, id) are not compared: PostGraphile's answer has
    other names for them."""
    theirs, ours = PLAIN[workload]
    for variables in variable_sets:
        a, b = theirs(_ask(their_url, their_query, variables)), ours(_ask(our_url, our_query, variables, headers))
        if a != b:
            raise SystemExit(f"{workload} {variables}: our answer differs from PostGraphile's\n"
                             f"  theirs: {str(a)[:400]}\n  ours:   {str(b)[:400]}")
    return len(variable_sets)


def variable_sets(path: Path, count: int) -> list[dict[str, Any]]:
    """`count` sets spread over the file (every k-th line), so the sample is not one region."""
    lines = path.read_text().splitlines()
    step = max(1, len(lines) // count)
    return [json.loads(line) for line in lines[::step][:count]]
