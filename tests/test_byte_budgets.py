"""Boundaries within a byte budget (geometry(maxBytes), fittedGeometry, geometryBudget) on the real
DI Yogyakarta villages: valid, within budget, as detailed as the budget allows, and with a
Hausdorff distance equal to one computed here with pyproj and Shapely."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import shape

from tests.conftest import fetch, post, token
from tests.test_api_real_data import diy  # noqa: F401  # the module's server over the DIY boundaries

pytestmark = pytest.mark.real_data
DISTRICT = "34.04.07"  # Depok, Sleman: 3 villages with detailed boundaries
REGENCY = "34.03"  # Gunungkidul: 18 districts along the coast
TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32749", always_xy=True)  # UTM 49S holds all of DIY


def size(geometry: dict[str, Any]) -> int:
    """Bytes of the GeoJSON as the response carries it (compact JSON)."""
    return len(json.dumps(geometry, separators=(",", ":")).encode())


def metres(geometry: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geometry, lambda xy: np.column_stack(TO_UTM.transform(xy[:, 0], xy[:, 1])))


def full_boundaries(server: str, region: str) -> dict[str, dict[str, Any]]:
    """The full boundaries of the villages below `region`, by code."""
    body = post(server, """query($r: String!) { villages(filter: {regionCode: $r}, first: 200) {
        edges { node { code geometry } } } }""", {"r": region})
    return {e["node"]["code"]: e["node"]["geometry"] for e in body["data"]["villages"]["edges"]}


@pytest.mark.parametrize("budget", [800, 1_500, 3_000])
def test_fitted_boundaries_are_valid_within_budget_and_use_it(diy: tuple[str, dict], budget: int) -> None:  # noqa: F811
    server, villages = diy
    full = full_boundaries(server, "34.04")
    body = post(server, """query($r: String!, $n: Int!) { villages(filter: {regionCode: $r}, first: 200) { edges { node {
        code geometry(maxBytes: $n) fittedGeometry(maxBytes: $n) { geojson bytes toleranceM precision hausdorffM } } } } }""",
                {"r": "34.04", "n": budget})
    assert "errors" not in body, body["errors"][:2]
    edges = body["data"]["villages"]["edges"]
    assert len(edges) == len(full) > 80
    simplified = 0
    for edge in edges:
        node, fitted = edge["node"], edge["node"]["fittedGeometry"]
        code, outline = node["code"], shape(fitted["geojson"])
        assert node["geometry"] == fitted["geojson"], code
        assert fitted["bytes"] == size(fitted["geojson"]) <= budget, code
        assert outline.is_valid and outline.geom_type == "MultiPolygon", code
        if size(full[code]) <= budget:
            assert fitted["geojson"] == full[code] and fitted["toleranceM"] == 0 and fitted["precision"] == 7, code
            continue
        simplified += 1
        # As detailed as the budget allows: the search stops within 0.2 % of the finest tolerance
        # that fits, and fewer digits cost at most a ninth, so most of the budget is used.
        assert fitted["bytes"] >= 0.7 * budget, (code, fitted["bytes"])
        assert fitted["toleranceM"] > 0 and fitted["precision"] <= 7
        original = villages[code]
        expected = metres(original).hausdorff_distance(metres(outline))
        assert fitted["hausdorffM"] == pytest.approx(expected, rel=0.002, abs=0.05), code
        # the reported tolerance bounds how far vertices moved (simplification plus rounding)
        assert fitted["hausdorffM"] <= 1.2 * fitted["toleranceM"] + 1, code
    assert simplified > 10


def test_a_larger_budget_is_never_coarser(diy: tuple[str, dict]) -> None:  # noqa: F811
    server, _ = diy
    query = """query($r: String!) { villages(filter: {regionCode: $r}, first: 200) { edges { node { code
        small: fittedGeometry(maxBytes: 600) { toleranceM bytes } large: fittedGeometry(maxBytes: 2400) { toleranceM bytes } } } } }"""
    body = post(server, query, {"r": REGENCY})
    edges = body["data"]["villages"]["edges"]
    # A coastal village of many islets keeps every islet (each at least a triangle), so it may have
    # no outline under the budget: that field is null with an error naming maxBytes at its path.
    errors = {tuple(e["path"]) for e in body.get("errors", []) if e["extensions"]["field"] == "maxBytes"}
    nulls = {("villages", "edges", i, "node", key) for i, e in enumerate(edges) for key in ("small", "large") if e["node"][key] is None}
    assert errors == nulls and len(errors) < len(edges) / 4
    assert {p[2] for p in nulls if p[4] == "large"} <= {p[2] for p in nulls if p[4] == "small"}
    compared = 0
    for edge in edges:
        small, large = edge["node"]["small"], edge["node"]["large"]
        if small is not None and small["toleranceM"] > 0:
            compared += 1
            assert large["toleranceM"] < small["toleranceM"] and large["bytes"] > small["bytes"], edge["node"]["code"]
    assert compared > 50


def test_a_page_budget_is_shared_small_boundaries_first(diy: tuple[str, dict]) -> None:  # noqa: F811
    server, _ = diy
    full = full_boundaries(server, "34.04")
    sizes = sorted(size(g) for g in full.values())
    # a budget whose water level falls between the 30th and 31st smallest boundaries: well above an
    # equal share, since the 30 small ones leave most of theirs to the others
    budget = sum(sizes[:30]) + (len(sizes) - 30) * (sizes[29] + sizes[30]) // 2
    body = post(server, """query($r: String!, $n: Int!) { villages(filter: {regionCode: $r}, first: 200, geometryBudget: $n) {
        edges { node { code geometry } } } }""", {"r": "34.04", "n": budget})
    assert "errors" not in body, body["errors"][:2]
    served = {e["node"]["code"]: e["node"]["geometry"] for e in body["data"]["villages"]["edges"]}
    assert set(served) == set(full)
    assert 0.9 * budget <= sum(size(g) for g in served.values()) <= budget
    # The water level, computed here: the share L with sum(min(full size, L)) = budget.
    assert sum(sizes) > budget  # the budget binds
    left, level = budget, 0.0
    for i, s in enumerate(sizes):
        level = left / (len(sizes) - i)
        if s > level:
            break
        left -= s
    kept = [c for c, g in full.items() if size(g) <= level]
    assert len(kept) == 30 and budget / len(full) < sizes[29]
    for code, geometry in served.items():
        assert shapely.is_valid(shape(geometry)), code
        if code in kept:
            assert geometry == full[code], code  # small boundaries keep every vertex
        else:
            assert size(geometry) <= level and size(geometry) < size(full[code]), code


def test_page_budget_with_two_geometry_fields_and_the_nested_lists(diy: tuple[str, dict]) -> None:  # noqa: F811
    server, _ = diy
    body = post(server, """{ regency(code: "34.04") { districts(first: 100, geometryBudget: 16000) { edges { node { code
        a: geometry b: fittedGeometry(maxBytes: 300) { geojson } villages(first: 5, geometryBudget: 8000) { edges { node { geometry } } } } } } } }""")
    assert "errors" not in body, body["errors"][:2]
    districts = [e["node"] for e in body["data"]["regency"]["districts"]["edges"]]
    assert len(districts) == 17
    assert sum(size(d["a"]) + size(d["b"]["geojson"]) for d in districts) <= 16_000
    assert all(size(d["b"]["geojson"]) <= 300 for d in districts)
    for d in districts:
        villages = [v["node"]["geometry"] for v in d["villages"]["edges"]]
        assert 1 <= len(villages) <= 5 and sum(size(g) for g in villages) <= 8_000


@pytest.mark.parametrize(("arguments", "field"), [
    ("geometry(maxBytes: 99)", "maxBytes"),
    ("geometry(maxBytes: 10000001)", "maxBytes"),
    ("fittedGeometry(maxBytes: -5) { bytes }", "maxBytes"),
    ("geometry(maxBytes: 5000, simplifyM: 10)", "simplifyM"),
    ("geometry(maxBytes: 5000, precision: 16)", "precision"),
])
def test_bad_budgets_are_refused_naming_the_argument(diy: tuple[str, dict], arguments: str, field: str) -> None:  # noqa: F811
    server, _ = diy
    body = post(server, f'{{ district(code: "{DISTRICT}") {{ code {arguments} }} }}')
    assert body["data"]["district"]["code"] == DISTRICT
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == field
    assert error["path"] == ["district", arguments.split("(")[0]]


def test_a_page_budget_too_small_for_its_regions_names_it(diy: tuple[str, dict]) -> None:  # noqa: F811
    server, _ = diy
    body = post(server, """{ villages(filter: {regionCode: "34.04"}, first: 50, geometryBudget: 1000) { edges { node { code geometry } } } }""")
    edges = body["data"]["villages"]["edges"]
    assert len(edges) == 50 and all(e["node"]["geometry"] is None for e in edges)
    assert {(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]} == {("BAD_USER_INPUT", "geometryBudget")}
    assert len(body["errors"]) == 50
    for bad in ("geometryBudget: 999", "geometryBudget: 50000001"):
        body = post(server, f'{{ villages(first: 5, {bad}) {{ edges {{ node {{ code }} }} }} }}')
        assert body["data"] is None  # the list is non-null: its error nulls the response's data
        [error] = body["errors"]
        assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "geometryBudget")


def test_a_thin_boundary_that_rounding_breaks_still_gets_a_valid_outline(empty_db: str) -> None:
    """A sliver 20 m wide and 5 km long: at the coarsest tolerances its few digits fold the ring
    onto itself, so validity cannot steer the search; a fitting, valid outline must still come back."""
    rng = np.random.default_rng(7)
    xs = np.linspace(110.30, 110.35, 200)
    top = np.column_stack([xs, -7.80 + 0.0002 + rng.uniform(0, 0.00002, xs.size)])
    bottom = np.column_stack([xs[::-1], np.full(xs.size, -7.80) - rng.uniform(0, 0.00002, xs.size)])
    sliver = shapely.MultiPolygon([shapely.Polygon(np.vstack([top, bottom]))])
    assert sliver.is_valid and len(json.dumps(shapely.geometry.mapping(sliver))) > 8_000
    for budget in (300, 600, 2_000):
        [row] = fetch(empty_db, "SELECT (w).geojson, (w).tolerance FROM (SELECT geojson_within(ST_GeomFromText($1, 4326), $2, 7) AS w) s",
                      sliver.wkt, budget)
        assert row["geojson"] is not None, budget
        outline = shape(json.loads(row["geojson"]))
        assert len(row["geojson"].encode()) <= budget and outline.is_valid and outline.area > 0.5 * sliver.area, budget


def test_fragments_typename_and_a_scoped_manager_get_the_same_budgeted_page(diy: tuple[str, dict]) -> None:  # noqa: F811
    """As clients send it: Relay fragments (one on the AdministrativeRegion interface), Apollo's
    __typename, and a manager whose scope is the district — the same outlines as the plain form."""
    server, _ = diy
    plain = post(server, f"""{{ villages(filter: {{regionCode: "{DISTRICT}"}}, first: 50, geometryBudget: 4000) {{
        edges {{ node {{ code geometry small: fittedGeometry(maxBytes: 500) {{ geojson bytes }} }} }} }} }}""")
    assert "errors" not in plain, plain["errors"][:2]
    relay = post(server, f"""query Page {{ villages(filter: {{regionCode: "{DISTRICT}"}}, first: 50, geometryBudget: 4000) {{
        __typename edges {{ __typename node {{ __typename id ...Row }} }} }} }}
        fragment Row on Village {{ code ...Shape small: fittedGeometry(maxBytes: 500) {{ __typename geojson bytes }} }}
        fragment Shape on AdministrativeRegion {{ geometry }}""", auth=token("manager", DISTRICT))
    assert "errors" not in relay, relay["errors"][:2]
    expected = [e["node"] for e in plain["data"]["villages"]["edges"]]
    served = [e["node"] for e in relay["data"]["villages"]["edges"]]
    assert len(served) == len(expected) == 3
    for got, want in zip(served, expected, strict=True):
        assert (got["code"], got["geometry"]) == (want["code"], want["geometry"])
        assert {k: got["small"][k] for k in ("geojson", "bytes")} == want["small"] and got["small"]["__typename"] == "FittedGeometry"
    assert sum(size(n["geometry"]) for n in served) <= 4000 < sum(size(g) for g in full_boundaries(server, DISTRICT).values())
