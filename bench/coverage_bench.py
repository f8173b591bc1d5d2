"""`make bench`: coverage analytics at national scale, end to end (HTTP) beside the SQL alone.

For each query: p50 and p95 over at least 50 requests through the GraphQL endpoint of a server
started as the README recommends for production (uvicorn, one worker per core), then the same
statements sent directly through the db layer on one warm connection, and the ratio. Also a full
rebuild of the coverage table and single agent moves (incremental maintenance by triggers).

Prints one line per figure and a Markdown table for BENCHMARKS.md. Not a test: nothing here
asserts a time.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.tokens import issue
from bench import abuse, small_counts, snapshots
from bench import ingest as ingest_module
from bench.ingest import measure as measure_ingest
from bench.national import ROOT, national_database
from db.access import Role, Viewer
from db.engine import create_engine, create_sessionmaker
from db.queries import coverage, gaps, scenarios, siting
from db.queries import tiles as tile_queries
from db.records import Activity
from db.regions import Level
from db.writes.agents import move_agent
from geo.siting import greedy
from maps.exports import write_file
from maps.page import PAGE_BUDGET_BYTES

REQUESTS = 50
SECRET = "bench-jwt-secret-not-for-production-use"
NOW = Activity()
BENCH_VIEWER = Viewer("bench", Role.ADMIN)

SqlRun = Callable[[AsyncSession, dict[str, Any]], Awaitable[object]]


@dataclass
class Case:
    name: str
    query: str
    variables: list[dict[str, Any]]
    sql: SqlRun
    target_ms: float


@dataclass
class Timing:
    p50: float
    p95: float

    @classmethod
    def of(cls, seconds: list[float]) -> Timing:
        ms = sorted(s * 1000 for s in seconds)
        return cls(statistics.median(ms), ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))])


BYTES_PER_VILLAGE = 1_500  # a district page's geometryBudget per village: most boundaries are simplified
FITTED = """query($code: String!, $budget: Int!) { villages(filter: {regionCode: $code}, first: 500, geometryBudget: $budget) {
  edges { node { code geometry } } } }"""
DISTRICT = """query($code: String!) { coverage(regionCode: $code) { villages coveredVillages coveragePct
  informalWorkers workersInReach activeEnrollments penetration uncoveredWorkers activeAgents enrollmentsPerAgent
  children { code name villages coveredVillages coveragePct informalWorkers uncoveredWorkers penetration } } }"""
GAPS = """query($code: String!) { coverageGaps(regionCode: $code, first: 100) { totalCount edges { cursor node {
  reasons village { code name } coverage { covered agentCount informalWorkers activeEnrollments penetration
  uncoveredWorkers nearestDistanceM } } } } }"""
NATIONAL = """{ coverage { villages coveredVillages coveragePct informalWorkers workersInReach activeEnrollments
  penetration uncoveredWorkers activeAgents enrollmentsPerAgent
  children { code name villages coveredVillages coveragePct informalWorkers uncoveredWorkers penetration activeAgents } } }"""
NEAREST = """query($code: String!) { nearestAgents(villageCode: $code, k: 5) { distanceM agent { code reachM } } }"""
SITES = """query($code: String!) { recommendAgentSites(regionCode: $code, count: 10) {
  rank villageCode lng lat newlyReachedWorkers cumulativeWorkers } }"""


@dataclass
class MapCase:
    name: str
    paths: list[str]
    codes: list[str | None]  # the region of each path, for the data-only timing
    data: SqlRun  # the page's statements (and siting) through the db layer, without rendering
    target_ms: float | None


SCENARIO = """query($id: ID!) { scenario(id: $id) {
    coverage { villages coveredVillages workersInReach uncoveredWorkers children { code coveredVillages } }
    delta { newlyReachedVillages lostVillages newlyReachedWorkers lostWorkers byRegion { code newlyReachedVillages }
            villages { code reached informalWorkers } } } }"""
CREATE_SCENARIO = """mutation($input: ScenarioInput!) { createScenario(input: $input) { id } }"""
SCENARIO_CHANGES = 20


async def _scenario_inputs(url: str, regencies: list[str]) -> list[dict[str, Any]]:
    """Per regency, 20 changes as a planner would make them: 10 agents added at unreached villages
    (or any village), 5 agents moved 2 km, 3 reaches changed, 2 agents deactivated."""
    engine = create_engine(url)
    inputs = []
    try:
        async with engine.connect() as conn:
            for code in regencies:
                bounds = coverage.code_range(code)
                places = (await conn.execute(text(
                    "SELECT ST_X(label_point), ST_Y(label_point) FROM village WHERE code ~>=~ :lo AND code ~<~ :hi "
                    "AND label_point IS NOT NULL ORDER BY (SELECT count(*) FROM agent_reach r WHERE r.village_code = code), code "
                    "LIMIT 10"), bounds)).all()
                agents = (await conn.execute(text(
                    "SELECT code, ST_X(location), ST_Y(location) FROM agent WHERE home_village_code ~>=~ :lo "
                    "AND home_village_code ~<~ :hi ORDER BY code LIMIT 10"), bounds)).all()
                changes: list[dict[str, Any]] = [
                    {"kind": "ADD_AGENT", "location": {"lng": x, "lat": y}, "reachM": 5000} for x, y in places]
                changes += [{"kind": "MOVE_AGENT", "agentCode": c, "location": {"lng": x + 0.018, "lat": y}}
                            for c, x, y in agents[:5]]
                changes += [{"kind": "CHANGE_REACH", "agentCode": c, "reachM": 8000} for c, _, _ in agents[5:8]]
                changes += [{"kind": "DEACTIVATE_AGENT", "agentCode": c} for c, _, _ in agents[8:10]]
                inputs.append({"name": f"bench {code}", "regionCode": code, "changes": changes[:SCENARIO_CHANGES]})
    finally:
        await engine.dispose()
    return inputs


def _fitted_case(url: str, districts: list[str]) -> Case:
    """A district's village boundaries within a page budget of BYTES_PER_VILLAGE per village. Districts
    with a village that has no valid outline that small (about 0.3 % of villages: hundreds of islets,
    every part being kept, or slivers) are left out: their page is a BAD_USER_INPUT asking for more."""

    async def budgets() -> list[dict[str, Any]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(text(
                    "SELECT district_code, count(*) FROM village WHERE district_code = ANY(:d) GROUP BY 1 "
                    "HAVING bool_and(geom IS NULL OR (geojson_within(geom, :per_village, 7)).geojson IS NOT NULL)"),
                    {"d": districts, "per_village": BYTES_PER_VILLAGE})).all()
        finally:
            await engine.dispose()
        counts: dict[str, int] = {r[0]: r[1] for r in rows}
        return [{"code": d, "budget": max(1_000, BYTES_PER_VILLAGE * counts[d])} for d in districts if d in counts]

    async def fitted(s: AsyncSession, v: dict[str, Any]) -> object:
        # the fitting alone: each village's boundary within an equal share of the page's budget
        return (await s.execute(text(
            "SELECT sum(octet_length((geojson_within(g.geom, g.share, 7)).geojson)) FROM ("
            "SELECT v.geom, CAST(:budget / count(*) OVER () AS integer) AS share FROM village v "
            "WHERE v.district_code = :code) g"), v)).all()

    return Case(f"a district's village boundaries, geometryBudget {BYTES_PER_VILLAGE:,} B a village", FITTED,
                asyncio.run(budgets()), fitted, 200)


def _scenario_case(base: str, url: str, regencies: list[str]) -> Case:
    """Scenarios saved through the API (deleted again by `_forget_scenarios`), evaluated by id."""
    token = issue(SECRET.encode(), subject="bench", role=Role.PLANNER)
    ids = []
    with httpx.Client(base_url=base, headers={"authorization": f"Bearer {token}"}, timeout=120) as client:
        for given in asyncio.run(_scenario_inputs(url, regencies)):
            body = client.post("/graphql", json={"query": CREATE_SCENARIO, "variables": {"input": given}}).json()
            if "errors" in body:
                raise SystemExit(f"createScenario: {body['errors']}")
            ids.append(body["data"]["createScenario"]["id"])

    async def delta(s: AsyncSession, v: dict[str, Any]) -> object:
        number = int(base64.b64decode(v["id"]).decode().split(":")[1])
        row = (await s.execute(text("SELECT region_code, overrides::text, added::text FROM scenario WHERE id = :id"),
                               {"id": number})).one()
        bounds = coverage.code_range(row[0])
        return (await s.execute(text(f"SELECT count(*) FROM ({scenarios.SCENARIO_VILLAGE_CHANGES}) d WHERE d.before <> d.after"),
                                {**bounds, "overrides": row[1], "added": row[2], "within_days": None, "as_of": None})).all()

    name = f"scenario of {SCENARIO_CHANGES} changes in a regency: coverage + delta"
    return Case(name, SCENARIO, [{"id": i} for i in ids], delta, 200)


async def _forget_scenarios(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM scenario WHERE name LIKE 'bench %'"))
    finally:
        await engine.dispose()


async def _map_sample(url: str) -> dict[str, list[str]]:
    """Districts of 45 to 55 villages, regencies and provinces, 50 of each (with repeats if fewer exist)."""
    engine = create_engine(url)
    rng = random.Random(2019)
    try:
        async with engine.connect() as conn:
            fifty = (await conn.execute(text(
                "SELECT district_code FROM village GROUP BY 1 HAVING count(*) BETWEEN 45 AND 55 ORDER BY 1"
            ))).scalars().all()
            regencies = (await conn.execute(text("SELECT code FROM regency ORDER BY 1"))).scalars().all()
            provinces = (await conn.execute(text("SELECT code FROM province ORDER BY 1"))).scalars().all()
    finally:
        await engine.dispose()
    return {level: [rng.choice(codes) for _ in range(REQUESTS)]
            for level, codes in (("districts", fifty), ("regencies", regencies), ("provinces", provinces))}


def _map_cases(sample: dict[str, list[str]]) -> list[MapCase]:
    from maps.district import district_data
    from maps.regions import region_data

    async def district(s: AsyncSession, v: dict[str, Any]) -> object:
        return await district_data(s, v["code"], BENCH_VIEWER)

    def region(level: Level | None) -> SqlRun:
        async def load(s: AsyncSession, v: dict[str, Any]) -> object:
            return await region_data(s, level, v["code"], BENCH_VIEWER)
        return load

    def case(name: str, level: Level | None, codes: list[str | None], target_ms: float | None) -> MapCase:
        path = "/maps/indonesia" if level is None else f"/maps/{level.plural}/{{}}"
        loader = district if level is Level.DISTRICT else region(level)
        return MapCase(name, [path.format(c) + "?basemap=none" for c in codes], codes, loader, target_ms)

    return [
        case("district map, 45-55 villages (HTML)", Level.DISTRICT, list(sample["districts"]), 300),
        case("regency map, national data (HTML)", Level.REGENCY, list(sample["regencies"]), None),
        case("province map, national data (HTML)", Level.PROVINCE, list(sample["provinces"]), 1000),
        case("national map, 38 provinces (HTML)", None, [None] * REQUESTS, 1000),
    ]


def _http_get(base: str, paths: list[str]) -> tuple[Timing, int]:
    token = issue(SECRET.encode(), subject="bench", role=Role.PLANNER)
    times, sizes = [], []
    with httpx.Client(base_url=base, headers={"authorization": f"Bearer {token}"}, timeout=120) as client:
        for path in [paths[0]] + paths:
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code}")
            sizes.append(len(response.content))
    return Timing.of(times[1:]), max(sizes)


async def _sample(url: str) -> dict[str, list[Any]]:
    engine = create_engine(url)
    rng = random.Random(2018)
    try:
        async with engine.connect() as conn:
            districts = (await conn.execute(text("SELECT DISTINCT district_code FROM village ORDER BY 1"))).scalars().all()
            regencies = sorted({d[:5] for d in districts})
            villages = (await conn.execute(text(
                "SELECT code, ST_X(label_point), ST_Y(label_point) FROM village WHERE label_point IS NOT NULL ORDER BY code"
            ))).all()
    finally:
        await engine.dispose()
    return {
        "districts": rng.sample(list(districts), REQUESTS),
        "regencies": rng.sample(regencies, REQUESTS),
        "villages": [tuple(v) for v in rng.sample(list(villages), REQUESTS)],
    }


def _cases(sample: dict[str, list[Any]]) -> list[Case]:
    async def district(s: AsyncSession, v: dict[str, Any]) -> object:
        return await coverage.region_coverage(s, Level.DISTRICT, [v["code"]], NOW)

    async def regency_gaps(s: AsyncSession, v: dict[str, Any]) -> object:
        query = gaps.GapQuery(v["code"], gaps.GapKind.ALL, 0.10, 0, True, NOW)
        return await gaps.gap_page(s, query, 100, None)

    async def national(s: AsyncSession, v: dict[str, Any]) -> object:
        return await coverage.region_coverage(s, None, [], NOW)

    async def nearest(s: AsyncSession, v: dict[str, Any]) -> object:
        return await coverage.nearest_agents(s, v["lng"], v["lat"], 5, None, NOW, BENCH_VIEWER)

    async def sites(s: AsyncSession, v: dict[str, Any]) -> object:
        data = await siting.siting_data(s, v["code"], 5000, NOW)
        return greedy(data.reaches, [float(w) for _, w in data.demand], 10)

    regencies = [{"code": c} for c in sample["regencies"]]
    return [
        Case("district coverage", DISTRICT, [{"code": c} for c in sample["districts"]], district, 15),
        Case("regency coverageGaps(first: 100) + totalCount", GAPS, regencies, regency_gaps, 100),
        Case("national coverage, per-province children", NATIONAL, [{}] * REQUESTS, national, 1000),
        Case("nearestAgents(k: 5)", NEAREST,
             [{"code": c, "lng": x, "lat": y} for c, x, y in sample["villages"]], nearest, 20),
        Case("recommendAgentSites(count: 10) in a regency", SITES, regencies, sites, 2000),
    ]


@contextmanager
def _server(url: str) -> Iterator[str]:
    port = 18765
    env = {**os.environ, "DATABASE_URL": url, "PERISAI_ENV": "production", "PERISAI_JWT_SECRET": SECRET,
           "PERISAI_NIK_KEY": "bench-nik-key", "PERISAI_STATEMENT_TIMEOUT_MS": "30000"}
    workers = str(os.cpu_count() or 1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:create_app", "--factory", "--host", "127.0.0.1", "--port", str(port),
         "--workers", workers, "--log-level", "warning", "--no-access-log"], env=env, cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _http(base: str, case: Case) -> Timing:
    token = issue(SECRET.encode(), subject="bench", role=Role.PLANNER)
    headers = {"authorization": f"Bearer {token}"}
    times = []
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for variables in [case.variables[0]] + case.variables:  # the first request warms caches, not counted
            started = time.perf_counter()
            body = client.post("/graphql", json={"query": case.query, "variables": variables}).json()
            times.append(time.perf_counter() - started)
            if "errors" in body:
                raise SystemExit(f"{case.name}: {body['errors']}")
    return Timing.of(times[1:])


async def _sql(url: str, case: Case) -> Timing:
    engine = create_engine(url, pool_size=1)
    times = []
    try:
        async with create_sessionmaker(engine)() as session:
            for variables in [case.variables[0]] + case.variables:
                started = time.perf_counter()
                await case.sql(session, variables)
                times.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    return Timing.of(times[1:])


async def _maintenance(url: str) -> tuple[Timing, Timing, int]:
    """A full rebuild of agent_reach (3 runs), then 50 agents moved 1 km and back, one transaction each."""
    engine = create_engine(url, pool_size=1)
    sessions = create_sessionmaker(engine)
    rebuilds, moves = [], []
    try:
        for _ in range(3):
            async with sessions() as s, s.begin():
                started = time.perf_counter()
                pairs = await coverage.rebuild_reach(s)
            rebuilds.append(time.perf_counter() - started)
        async with sessions() as s:
            agents = (await s.execute(text(
                "SELECT id, ST_X(location), ST_Y(location) FROM agent ORDER BY id"
            ))).all()
        for agent_id, lng, lat in random.Random(7).sample(list(agents), REQUESTS):
            for to_lat in (lat + 0.009, lat):
                started = time.perf_counter()
                async with sessions() as s, s.begin():
                    await move_agent(s, agent_id, lng, to_lat)
                moves.append(time.perf_counter() - started)
        # Leave the table as the next run expects it: rebuilds leave ~2M dead rows, and index-only
        # scans of agent_reach hit the heap until the visibility map is set again.
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE agent_reach, agent"))
    finally:
        await engine.dispose()
    return Timing.of(rebuilds), Timing.of(moves), pairs


TILE_ZOOM = 8


def _tile_of(lng: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    return int((lng + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _tile_rows(base: str, url: str, sample: dict[str, list[Any]]) -> list[tuple[str, Timing, Timing, float, float, str]]:
    """Village tiles at zoom 8 holding the sampled villages, over HTTP and through the db layer."""
    tiles = [(TILE_ZOOM, *_tile_of(lng, lat, TILE_ZOOM)) for _, lng, lat in sample["villages"]]
    http, size = _http_get(base, [f"/tiles/villages/{z}/{x}/{y}.mvt" for z, x, y in tiles])

    async def load(s: AsyncSession, v: dict[str, Any]) -> object:
        z, x, y = v["zxy"]
        return await tile_queries.tile(s, "villages", z, x, y, BENCH_VIEWER)

    sql = asyncio.run(_sql(url, Case("tiles", "", [{"zxy": t} for t in tiles], load, 0)))
    name = f"village vector tile, zoom {TILE_ZOOM}"
    verdict = "meets" if http.p50 <= 50 else "MISSES"
    print(f"{name:<48} HTTP p50 {http.p50:8.1f} ms  p95 {http.p95:8.1f} ms | SQL p50 {sql.p50:8.1f} ms "
          f"| largest tile {size / 1024:,.0f} KB | target p50 ≤ 50 ms: {verdict}", flush=True)
    return [(name, http, sql, http.p50 / sql.p50, 50, f"{verdict}; largest tile {size / 1024:,.0f} KB")]


def _export_memory(url: str, regency: str) -> list[str]:
    """Seconds, size and peak Python memory (tracemalloc) of the village export, a regency's and all of
    Indonesia's, as GeoPackage and CSV: constant memory means the peaks do not grow with the rows."""
    lines = []
    for region, fmt in ((regency, "gpkg"), (None, "gpkg"), (None, "csv")):
        with tempfile.TemporaryDirectory(prefix="perisai-bench-") as folder:
            path = Path(folder) / f"villages.{fmt}"

            async def go(region: str | None = region, fmt: str = fmt, path: Path = path) -> int:
                engine = create_engine(url)
                try:
                    return await write_file(engine, "villages", region, BENCH_VIEWER, fmt, path)
                finally:
                    await engine.dispose()

            tracemalloc.start()
            started = time.perf_counter()
            rows = asyncio.run(go())
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            lines.append(f"{'village export, ' + (region or 'Indonesia') + ', ' + fmt:<48} {seconds * 1000:8.0f} ms, "
                         f"{rows:,} rows, {path.stat().st_size / 2**20:,.1f} MB, peak Python memory {peak / 2**20:,.1f} MB")
    return lines


def _map_rows(base: str, url: str) -> list[tuple[str, Timing, Timing, float, float, str]]:
    rows = []
    for case in _map_cases(asyncio.run(_map_sample(url))):
        http, size = _http_get(base, case.paths)
        sql = asyncio.run(_sql(url, Case(case.name, "", [{"code": c} for c in case.codes], case.data, 0)))
        verdict = "" if case.target_ms is None else ("meets" if http.p50 <= case.target_ms else "MISSES")
        budget = "within" if size <= PAGE_BUDGET_BYTES else "OVER"
        print(f"{case.name:<48} HTTP p50 {http.p50:8.1f} ms  p95 {http.p95:8.1f} ms | data p50 {sql.p50:8.1f} ms "
              f"| largest page {size / 1024:,.0f} KB ({budget} the {PAGE_BUDGET_BYTES / 1024:,.0f} KB budget)"
              + (f" | target p50 ≤ {case.target_ms:g} ms: {verdict}" if verdict else ""), flush=True)
        goal = f"{verdict or 'no target'}; largest page {size / 1024:,.0f} KB, {budget} budget"
        rows.append((case.name, http, sql, http.p50 / sql.p50, case.target_ms or 0, goal))
    return rows


def main() -> None:
    """Everything; `--maps` only the map pages (a few minutes)."""
    maps_only = "--maps" in sys.argv[1:]
    cluster, url = national_database()
    sample = asyncio.run(_sample(url))
    rows = []
    with _server(url) as base:
        cases = [] if maps_only else [*_cases(sample), _scenario_case(base, url, sample["regencies"]),
                                      _fitted_case(url, sample["districts"])]
        for case in cases:
            http = _http(base, case)
            sql = asyncio.run(_sql(url, case))
            ratio = http.p50 / sql.p50
            verdict = "meets" if http.p50 <= case.target_ms else "MISSES"
            print(f"{case.name:<48} HTTP p50 {http.p50:8.1f} ms  p95 {http.p95:8.1f} ms | SQL p50 {sql.p50:8.1f} ms  "
                  f"p95 {sql.p95:8.1f} ms | HTTP/SQL {ratio:4.2f} | target p50 ≤ {case.target_ms:g} ms: {verdict}",
                  flush=True)
            rows.append((case.name, http, sql, ratio, case.target_ms, verdict))
        asyncio.run(_forget_scenarios(url))
        rows += _map_rows(base, url)
        if not maps_only:
            rows += _tile_rows(base, url, sample)
            for line in _export_memory(url, sample["regencies"][0]):
                print(line, flush=True)
        if maps_only:
            _markdown(rows)
            return
        ingest = measure_ingest(base, url, SECRET, asyncio.run)
        print(f"{'syncEnrollments ingest (' + str(ingest_module.CLIENTS) + ' clients × 1,000-item batches)':<48} "
              f"HTTP {ingest['per_second']:6.0f}/s  database layer {ingest['database_per_second']:6.0f}/s "
              f"({ingest['created']:,.0f} created) | target ≥ 2,000/s: "
              f"{'meets' if ingest['per_second'] >= 2000 else 'MISSES'}", flush=True)
        print(f"{'recordEnrollment (one item)':<48} HTTP p50 {ingest['record_p50_ms']:8.1f} ms  "
              f"p95 {ingest['record_p95_ms']:8.1f} ms", flush=True)
        planner = issue(SECRET.encode(), subject="bench", role=Role.PLANNER)
        attacked = abuse.measure(base, planner, DISTRICT, [{"code": c} for c in sample["districts"]])
        print(abuse.report(attacked), flush=True)
        snaps = snapshots.measure(base, url, SECRET, sample["regencies"])
        changes, trend = Timing.of(snaps["changes"]), Timing.of(snaps["trend"])
        print(f"{'national snapshot (every village and agent)':<48} {snaps['snapshot_s'] * 1000:8.0f} ms, "
              f"{snaps['snapshot_bytes'] / 2**20:.1f} MB each on disk", flush=True)
        print(f"{'coverageChanges(regency, from a snapshot)':<48} HTTP p50 {changes.p50:8.1f} ms  p95 {changes.p95:8.1f} ms "
              f"| after {snaps['moved']} agents moved 2 km", flush=True)
        print(f"{'coverageTrend(regency), 2 snapshots':<48} HTTP p50 {trend.p50:8.1f} ms  p95 {trend.p95:8.1f} ms", flush=True)
    rebuild, move, pairs = asyncio.run(_maintenance(url))
    print(f"{'full coverage rebuild (' + format(pairs, ',') + ' pairs)':<48} p50 {rebuild.p50:8.1f} ms  p95 {rebuild.p95:8.1f} ms")
    print(f"{'agent move (incremental, incl. commit)':<48} p50 {move.p50:8.1f} ms  p95 {move.p95:8.1f} ms | "
          f"target p50 ≤ 50 ms: {'meets' if move.p50 <= 50 else 'MISSES'}")
    for line in small_counts.report(asyncio.run(small_counts.measure(url))):
        print(line, flush=True)
    _markdown(rows)
    print(f"| full coverage rebuild ({pairs:,} pairs) | | | {rebuild.p50:.0f} ms | {rebuild.p95:.0f} ms | | |")
    print(f"| agent move (incremental, incl. commit) | | | {move.p50:.1f} ms | {move.p95:.1f} ms | | "
          f"≤ 50 ms: {'meets' if move.p50 <= 50 else 'MISSES'} |")
    print(f"| district coverage while 4 clients send abusive documents for {abuse.DURATION_S:g} s | "
          f"{attacked['p50']:.1f} ms | {attacked['p95']:.1f} ms | | | | max {attacked['max']:.0f} ms ≤ 1 s: "
          f"{'meets' if attacked['max'] <= abuse.TARGET_MAX_S * 1000 else 'MISSES'} |")
    del cluster


def _markdown(rows: list[tuple[str, Timing, Timing, float, float, str]]) -> None:
    print()
    print(f"Markdown for BENCHMARKS.md ({dt.date.today()}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}):\n")
    print("| query | HTTP p50 | HTTP p95 | SQL p50 | SQL p95 | HTTP/SQL | target (p50) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, http, sql, ratio, target, verdict in rows:
        goal = f"≤ {target:g} ms: {verdict}" if target else verdict
        print(f"| {name} | {http.p50:.1f} ms | {http.p95:.1f} ms | {sql.p50:.1f} ms | {sql.p95:.1f} ms | "
              f"{ratio:.2f} | {goal} |")


if __name__ == "__main__":
    main()
