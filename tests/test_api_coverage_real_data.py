"""Coverage on the real DI Yogyakarta village boundaries (438 villages), against pyproj and Shapely.

Agents and enrollments are the demo generator's (seeded); the villages are real, including
multi-part ones. Skipped when ../shared/data/indonesia is absent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import shapely

from db.engine import create_engine
from demo.build import build_demo
from embedded.cluster import EmbeddedCluster
from tests.conftest import NIK_KEY, _clone, data, fetch, require_data, running_server
from tests.oracle import World, covered_fraction, distances

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def diy(cluster: EmbeddedCluster, templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = require_data("diy_villages.geojson")
    for url in _clone(cluster, templates["empty"]):
        async def load() -> None:
            engine = create_engine(url)
            try:
                await build_demo(engine, boundaries=folder / "diy_villages.geojson", seed=11, nik_key=NIK_KEY)
            finally:
                await engine.dispose()

        asyncio.run(load())
        with running_server(url, tmp_path_factory.mktemp("diy-coverage")) as server:
            yield url, server


def test_real_villages_covered_set_and_nearest_distances(diy: tuple[str, str]) -> None:
    url, server = diy
    world = World(url)
    query = """{ villages(first: 500) { edges { node { code coverage { covered agentCount nearestDistanceM
        uncoveredWorkers } } } } }"""
    served = {e["node"]["code"]: e["node"]["coverage"] for e in data(server, query)["villages"]["edges"]}
    assert len(served) == len(world.villages) == 438
    covered = {c for c, v in world.coverage.items() if v.covered}
    assert {c for c, v in served.items() if v["covered"]} == covered
    assert 0 < len(covered) < 438
    for code, expected in world.coverage.items():
        assert served[code]["agentCount"] == expected.agent_count, code
        assert served[code]["nearestDistanceM"] == pytest.approx(expected.nearest_m, abs=1.0), code
        assert served[code]["uncoveredWorkers"] == expected.uncovered_workers, code


def test_real_province_summary_equals_the_sum_of_its_regencies_and_villages(diy: tuple[str, str]) -> None:
    url, server = diy
    world = World(url)
    got = data(server, """{ coverage(regionCode: "34") { villages coveredVillages uncoveredWorkers
        children { code villages coveredVillages uncoveredWorkers } } }""")["coverage"]
    assert got["villages"] == 438
    assert got["coveredVillages"] == sum(v.covered for v in world.coverage.values())
    assert got["uncoveredWorkers"] == sum(v.uncovered_workers or 0 for v in world.coverage.values())
    for child in got["children"]:
        mine = [c for code, c in world.coverage.items() if code.startswith(child["code"] + ".")]
        assert child["villages"] == len(mine)
        assert child["coveredVillages"] == sum(c.covered for c in mine)
        assert child["uncoveredWorkers"] == sum(c.uncovered_workers or 0 for c in mine)
    assert sum(c["villages"] for c in got["children"]) == 438 and len(got["children"]) == 5


def test_real_covered_fractions_within_half_a_point(diy: tuple[str, str]) -> None:
    url, server = diy
    world = World(url)
    geoms = {r["code"]: shapely.from_wkb(r["g"]) for r in fetch(url, "SELECT code, ST_AsBinary(geom) g FROM village")}
    multi = [c for c, g in geoms.items() if len(g.geoms) > 1]
    active = [a for a in world.agents if a.active]
    sample = sorted(geoms)[::15] + multi[:5]
    query = "query($code: String!) { village(code: $code) { coverage { coveredFraction } } }"
    partial = 0
    for code in sample:
        centre = geoms[code].centroid
        near = [(a.lng, a.lat, a.reach_m) for a, d in zip(active, distances(centre.x, centre.y, active), strict=True)
                if d <= a.reach_m + 30_000]
        expected = covered_fraction(geoms[code], near)
        got = data(server, query, {"code": code})["village"]["coverage"]["coveredFraction"]
        assert got == pytest.approx(expected, abs=0.005), code
        partial += 0.02 < expected < 0.98
    assert partial >= 2, "the sample should include partly covered villages"
