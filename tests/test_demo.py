"""The demo generator: deterministic, nested, tessellating, with remote villages out of reach."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod

from demo.region import generate_region
from tests.conftest import DEMO_VILLAGES, fetch


def test_same_seed_same_region_other_seed_other_region() -> None:
    a, b = generate_region(120, np.random.default_rng(3)), generate_region(120, np.random.default_rng(3))
    c = generate_region(120, np.random.default_rng(4))
    assert a.village_codes == b.village_codes and a.village_names == b.village_names
    assert all(x.equals_exact(y, 0) for x, y in zip(a.villages, b.villages))
    assert a.village_names != c.village_names


def test_villages_tessellate_the_province_and_nest_in_districts() -> None:
    region = generate_region(300, np.random.default_rng(11))
    assert len(region.village_codes) == 300 == len(set(region.village_codes))
    union = shapely.union_all(region.villages)
    assert union.area == pytest.approx(region.outline.area, rel=1e-9)  # no gaps
    assert sum(shapely.area(region.villages)) == pytest.approx(union.area, rel=1e-9)  # no overlaps
    districts = dict(zip(region.district_codes, region.districts))
    for code, village in zip(region.village_codes, region.villages):
        parent = districts[code[:8]]
        assert village.difference(parent).area < 1e-12 * region.outline.area
    areas = shapely.area(region.villages)
    assert areas.max() / areas.min() > 10  # dense towns and sparse hills, not a regular grid


def test_loaded_demo_has_codes_in_99_estimates_agents_and_uncovered_villages(shared_demo_db: str) -> None:
    villages = fetch(shared_demo_db, "SELECT code, ST_X(label_point) AS lng, ST_Y(label_point) AS lat, informal_workers "
                                     "FROM village ORDER BY code")
    assert len(villages) == DEMO_VILLAGES
    assert all(v["code"].startswith("99.") for v in villages)
    without = sum(v["informal_workers"] is None for v in villages)
    assert 0 < without < len(villages) * 0.1
    agents = fetch(shared_demo_db, "SELECT ST_X(location) AS lng, ST_Y(location) AS lat, reach_m FROM agent WHERE status = 'active'")
    assert agents
    # Coverage computed independently on the ellipsoid with pyproj, not with PostGIS.
    geod = Geod(ellps="WGS84")
    a_lng = np.array([a["lng"] for a in agents])
    a_lat = np.array([a["lat"] for a in agents])
    reach = np.array([a["reach_m"] for a in agents])
    covered = 0
    for v in villages:
        _, _, dist = geod.inv(a_lng, a_lat, np.full(len(agents), v["lng"]), np.full(len(agents), v["lat"]))
        covered += bool((dist <= reach).any())
    assert 0 < len(villages) - covered < len(villages) // 2  # some remote villages stay out of reach
    enrollments = fetch(shared_demo_db, "SELECT count(*) AS n, count(DISTINCT participant_id) AS p FROM enrollment")[0]
    assert enrollments["n"] == enrollments["p"] > DEMO_VILLAGES * 10


def test_readme_example_village_exists_in_the_default_demo() -> None:
    region = generate_region(400, np.random.default_rng(7))  # `perisai demo` defaults
    assert "99.01.01.2001" in region.village_codes
    assert region.village_names[region.village_codes.index("99.01.01.2001")] == "Kalimulya"


def test_regency_codes_unique_when_the_province_is_full() -> None:
    """99 regencies: kabupaten and kota numbers must not collide (kota normally start at 71)."""
    from demo.region import _assemble

    rng = np.random.default_rng(5)
    cells = shapely.box(np.arange(99.0), 0, np.arange(99.0) + 1, 1)
    density = np.linspace(100, 5000, 99)
    region = _assemble(shapely.box(0, 0, 99, 1), None, cells, density, np.arange(99), np.arange(99), rng)  # type: ignore[arg-type]
    assert len(region.regency_codes) == 99 == len(set(region.regency_codes))
    assert all(1 <= int(c[3:]) <= 99 for c in region.regency_codes)
