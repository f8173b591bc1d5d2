"""The peer rig's national data, loaded into the project's own schema through its own importers.

`../shared/peers/` loads real geography plus seeded synthetic agents and enrollments into its
reference schema (database `peers_national` of its private cluster). To answer the same
questions on the same data, this module exports those rows to the file formats the project
imports (GeoJSON boundaries, label-point, estimate, agent and enrollment CSVs) and imports them
with `db.importers` into database `perisai_national` of the same cluster, so both servers read
from one PostgreSQL with one configuration. Rebuilt only when the rig's load or the migrations
change (a fingerprint in the database comment).

Mapping (the reference schema has fewer fields): agent `id` → code `AG-<id>`; `active` → status;
enrollments get a synthetic NIK unique per row, programmes JKK;JKM and the minimum contribution;
statuses pending → active and rejected → lapsed (this schema has only those two; every count the
workloads ask for counts all statuses).
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg

from bench.national import (
    NIK_KEY,
    drop_database,
    mark_built,
    migration_digests,
    stored_fingerprint,
)
from db.engine import create_engine
from db.importers.boundaries import import_boundaries
from db.importers.gisfile import read_boundary_file
from db.importers.labels import load_labels, read_labels
from db.importers.tables import (
    load_agents,
    load_enrollments,
    load_estimates,
    read_agents,
    read_enrollments,
    read_estimates,
)
from db.migrate import upgrade
from db.regions import Level

ROOT = Path(__file__).resolve().parents[1]
RIG = ROOT.parent / "shared" / "peers"
RIG_DB = "peers_national"
OUR_DB = "perisai_national"
ENROLLMENT_CHUNK = 250_000  # rows per import transaction (the CSV reader holds a chunk in memory)
STATUS = {"active": "active", "pending": "active", "lapsed": "lapsed", "rejected": "lapsed"}


def rig(script: str, *args: str) -> str:
    """Run one of the rig's scripts; its standard output, stripped."""
    done = subprocess.run([str(RIG / script), *args], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def ensure_rig_database() -> str:
    """URL of the rig's national database, loaded if it is not yet (about a minute)."""
    if not RIG.exists():
        raise SystemExit(f"{RIG} is absent: the peer comparison needs the shared benchmark rig")
    rig("pg.sh", "start")
    rig("pg.sh", "createdb", RIG_DB)
    url = rig("pg.sh", "url", RIG_DB)
    if asyncio.run(_fetch_value(url, "SELECT info->>'scale' FROM peers_bench.load_info")) != "national":
        print("Loading the rig's national data (about a minute) …", flush=True)
        subprocess.run([sys.executable, str(RIG / "load.py"), "--db", url, "--scale", "national",
                        "--report", str(Path(tempfile.gettempdir()) / "peers-load-national.json")],
                       check=True, stdout=subprocess.DEVNULL)
    return url


async def _fetch_value(url: str, sql: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()


def ensure_our_database(rig_url: str) -> str:
    """URL of `perisai_national`, (re)built from the rig's rows when they or the migrations changed."""
    rig("pg.sh", "createdb", OUR_DB)
    url = rig("pg.sh", "url", OUR_DB)
    load_info = asyncio.run(_fetch_value(rig_url, "SELECT info::text FROM peers_bench.load_info"))
    fingerprint = hashlib.sha256("|".join(
        [str(load_info), Path(__file__).read_text(), *migration_digests()]).encode()).hexdigest()[:16]
    if asyncio.run(stored_fingerprint(url)) != fingerprint:
        print(f"Importing the rig's data into {OUR_DB} with the project's importers (a few minutes) …", flush=True)
        asyncio.run(drop_database(rig("pg.sh", "url", "postgres"), OUR_DB))
        rig("pg.sh", "createdb", OUR_DB)
        upgrade(url)
        with tempfile.TemporaryDirectory(prefix="perisai-peers-") as folder:
            asyncio.run(_export(rig_url, Path(folder)))
            asyncio.run(_import(url, Path(folder)))
        asyncio.run(mark_built(url, OUR_DB, fingerprint))
    return url


async def _export(rig_url: str, folder: Path) -> None:
    conn = await asyncpg.connect(rig_url)
    try:
        for table in ("regency", "district", "village"):
            print(f"  exporting {table} boundaries …", flush=True)
            await _boundaries(conn, table, folder / f"{table}.geojson.gz")
        await _csv(conn, folder / "labels.csv", ["village_code", "lng", "lat"],
                   "SELECT code, ST_X(label), ST_Y(label) FROM village ORDER BY code")
        await _csv(conn, folder / "estimates.csv", ["village_code", "informal_workers", "source", "year"],
                   "SELECT code, informal_workers, 'peer rig (synthetic)', 2024 FROM village ORDER BY code")
        await _csv(conn, folder / "agents.csv", ["code", "name", "home_village_code", "lng", "lat", "reach_m", "status"],
                   "SELECT 'AG-' || lpad(id::text, 6, '0'), name, village_code, ST_X(location), ST_Y(location), reach_m, "
                   "CASE WHEN active THEN 'active' ELSE 'inactive' END FROM agent ORDER BY id")
        await _enrollments(conn, folder)
    finally:
        await conn.close()


async def _boundaries(conn: asyncpg.Connection, table: str, path: Path) -> None:
    # 15 decimals: finer than a double's spacing at these magnitudes, so coordinates round-trip.
    rows = await conn.fetch(f"SELECT code, name, ST_AsGeoJSON(geom, 15) AS geometry FROM {table} ORDER BY code")
    with gzip.open(path, "wt") as out:
        out.write('{"type": "FeatureCollection", "features": [\n')
        for i, row in enumerate(rows):
            feature = {"type": "Feature", "properties": {"code": row["code"], "name": row["name"]},
                       "geometry": json.loads(row["geometry"]) if row["geometry"] else None}
            out.write(("," if i else "") + json.dumps(feature) + "\n")
        out.write("]}\n")


async def _csv(conn: asyncpg.Connection, path: Path, header: list[str], sql: str) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([repr(v) if isinstance(v, float) else v for v in r] for r in await conn.fetch(sql))


def synthetic_nik(number: int, village_code: str) -> str:
    """A plausible NIK unique per enrollment number (< 3,360,000): region, birth date, serial."""
    serial, birth = number % 9999 + 1, number // 9999
    day, month, year = birth % 28 + 1, birth // 28 % 12 + 1, birth // 336 % 100
    return f"{village_code.replace('.', '')[:6]}{day:02d}{month:02d}{year:02d}{serial:04d}"


async def _enrollments(conn: asyncpg.Connection, folder: Path) -> None:
    print("  exporting enrollments …", flush=True)
    rows = await conn.fetch("SELECT id, agent_id, village_code, enrolled_on, status FROM enrollment ORDER BY id")
    header = ["nik", "name", "village_code", "agent_code", "programmes", "monthly_contribution_idr", "enrolled_on", "status"]
    for chunk, start in enumerate(range(0, len(rows), ENROLLMENT_CHUNK)):
        with (folder / f"enrollments-{chunk:02d}.csv").open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(
                [synthetic_nik(r["id"], r["village_code"]), f"Peserta {r['id']}", r["village_code"],
                 f"AG-{r['agent_id']:06d}", "JKK;JKM", 16800, r["enrolled_on"].isoformat(), STATUS[r["status"]]]
                for r in rows[start:start + ENROLLMENT_CHUNK])


async def _import(url: str, folder: Path) -> None:
    engine = create_engine(url)
    try:
        for level in (Level.REGENCY, Level.DISTRICT, Level.VILLAGE):
            print(f"  importing {level} boundaries …", flush=True)
            await import_boundaries(engine, read_boundary_file(folder / f"{level.table}.geojson.gz", level))
        for name, read, load in (("labels", read_labels, load_labels), ("estimates", read_estimates, load_estimates),
                                 ("agents", read_agents, load_agents)):
            print(f"  importing {name} …", flush=True)
            await load(engine, read(folder / f"{name}.csv"))
        for path in sorted(folder.glob("enrollments-*.csv")):
            print(f"  importing {path.name} …", flush=True)
            await load_enrollments(engine, read_enrollments(path), NIK_KEY)
    finally:
        await engine.dispose()
