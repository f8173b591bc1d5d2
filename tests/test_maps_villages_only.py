"""A village file alone (as README's `perisai demo --boundaries diy_villages.geojson`, or
`import boundaries --level village`) gives working maps at every level: districts, regencies and
the province are framed by the union of their villages, named from the file's `district_name` /
`regency_name` columns when it has them, and never answer a 500 or print a traceback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from embedded.cluster import EmbeddedCluster
from tests.conftest import NIK_KEY, _clone, fetch, require_data, running_server, token

NAMED = {"34.71.01": "Tegalrejo", "34.71": "Kota Yogyakarta"}  # what the file says, where it says it
PAGES = ["/maps/indonesia", "/maps/provinces/34", "/maps/regencies/34.71", "/maps/regencies/34.02",
         "/maps/districts/34.71.01", "/maps/districts/34.02.01"]


def village_file(tmp: Path) -> Path:
    """DIY's real villages, with a district and regency name on Kota Yogyakarta's (only) ones."""
    source = json.loads((require_data("diy_villages.geojson") / "diy_villages.geojson").read_text())
    for f in source["features"]:
        props = f["properties"]
        if props["code"].startswith("34.71.01."):
            props["district_name"] = NAMED["34.71.01"]
        if props["code"].startswith("34.71."):
            props["regency_name"] = NAMED["34.71"]
    path = tmp / "villages.geojson"
    path.write_text(json.dumps(source))
    return path


@pytest.fixture(scope="module")
def villages_only(cluster: EmbeddedCluster, templates: dict[str, str],
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    from db.engine import create_engine
    from demo.build import build_demo

    path = village_file(tmp_path_factory.mktemp("villages"))
    for url in _clone(cluster, templates["empty"]):
        async def load() -> None:
            engine = create_engine(url)
            try:
                await build_demo(engine, boundaries=path, nik_key=NIK_KEY)
            finally:
                await engine.dispose()

        asyncio.run(load())
        with running_server(url, tmp_path_factory.mktemp("villages-only")) as server:
            yield url, server


@pytest.mark.parametrize("path", PAGES)
def test_every_level_has_a_working_map(villages_only: tuple[str, str], path: str) -> None:
    url, server = villages_only
    response = httpx.get(f"{server}{path}", params={"basemap": "none", "lang": "en"},
                         headers={"authorization": f"Bearer {token('admin')}"}, timeout=60)
    assert response.status_code == 200, response.text[:500]
    assert "fitBounds" in response.text or path == "/maps/indonesia"
    assert response.text.count('"type": "Feature"') > 0  # something is drawn


def test_names_come_from_the_file_and_are_not_doubled(villages_only: tuple[str, str]) -> None:
    url, server = villages_only
    headers = {"authorization": f"Bearer {token('admin')}"}
    district = httpx.get(f"{server}/maps/districts/34.71.01", headers=headers, timeout=60).text
    assert "<title>Peta cakupan · Kecamatan Tegalrejo</title>" in district
    assert "Kota Yogyakarta" in district and "Kabupaten Kota" not in district
    unnamed = httpx.get(f"{server}/maps/districts/34.02.01", headers=headers, timeout=60).text
    assert "<title>Peta cakupan · Kecamatan 34.02.01</title>" in unnamed  # a code, said once
    assert fetch(url, "SELECT name FROM regency WHERE code = '34.71'")[0]["name"] == "Kota Yogyakarta"


def test_the_district_map_fits_its_villages(villages_only: tuple[str, str]) -> None:
    url, server = villages_only
    page = httpx.get(f"{server}/maps/districts/34.71.01", params={"basemap": "none"},
                     headers={"authorization": f"Bearer {token('admin')}"}, timeout=60).text
    box = fetch(url, "SELECT ST_XMin(e) x0, ST_YMin(e) y0, ST_XMax(e) x1, ST_YMax(e) y1 FROM "
                     "(SELECT ST_Extent(geom) e FROM village WHERE district_code = '34.71.01') s")[0]
    fitted = json.loads(page.split(".fitBounds(")[1].split(",\n")[0].split(", {")[0])
    assert sum(fitted, []) == pytest.approx([box["y0"], box["x0"], box["y1"], box["x1"]], abs=1e-6)


def test_an_export_of_a_villages_only_regency_works(villages_only: tuple[str, str], tmp_path: Path) -> None:
    url, _ = villages_only
    result = subprocess.run([sys.executable, "-m", "cli.main", "map", "regency", "34.71", "-o", str(tmp_path / "out")],
                            env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    districts = fetch(url, "SELECT count(*) n FROM district WHERE regency_code = '34.71'")[0]["n"]
    assert len(list((tmp_path / "out" / "districts").iterdir())) == districts > 0


def test_a_village_import_alone_gives_working_maps(empty_db: str, tmp_path: Path) -> None:
    """No demo, no agents: `import boundaries --level village` and nothing else."""
    path = village_file(tmp_path)
    result = subprocess.run([sys.executable, "-m", "cli.main", "import", "boundaries", str(path), "--level", "village"],
                            env={**os.environ, "DATABASE_URL": empty_db}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (tmp_path / "server").mkdir()
    with running_server(empty_db, tmp_path / "server") as server:
        for page in PAGES:
            response = httpx.get(f"{server}{page}", headers={"authorization": f"Bearer {token('admin')}"}, timeout=60)
            assert response.status_code == 200, (page, response.text[:300])
