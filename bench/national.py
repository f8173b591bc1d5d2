"""The national benchmark database: real boundaries, 20,000 agents, 2,000,000 enrollments.

Built once in its own embedded cluster (`.perisai/bench/pgdata`, or `PERISAI_BENCH_DATA_DIR`) and
reused while its fingerprint (data files, seed, sizes, migration sources) is unchanged; the first
build takes about ten minutes on 2 cores.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import asyncpg

from db.engine import create_engine
from db.importers.boundaries import import_boundaries
from db.importers.gisfile import read_boundary_file
from db.migrate import upgrade
from db.regions import Level
from demo.build import build_demo
from embedded.cluster import EmbeddedCluster

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "indonesia"
FILES = {Level.REGENCY: "indonesia_regencies.geojson.gz", Level.DISTRICT: "indonesia_districts.geojson.gz",
         Level.VILLAGE: "indonesia_villages.geojson.gz"}
SEED = 2018
AGENTS = 20_000
ENROLLMENTS = 2_000_000
SYNTHETIC_VILLAGES = 83_402
NIK_KEY = b"bench-nik-key"  # benchmark data only; never a real key


def real_data_present() -> bool:
    return all((DATA / name).exists() for name in FILES.values())


def migration_digests() -> list[str]:
    """A digest per migration: a built database is stale when any of them changes."""
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((ROOT / "db" / "migrations" / "versions").glob("*.py"))]


def _fingerprint() -> str:
    parts = [f"{SEED}:{AGENTS}:{ENROLLMENTS}:{SYNTHETIC_VILLAGES}", *migration_digests()]
    if real_data_present():
        parts += [f"{name}:{(DATA / name).stat().st_size}" for name in FILES.values()]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


async def stored_fingerprint(url: str) -> str | None:
    """The fingerprint `mark_built` left on this database, if any."""
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                                   "WHERE datname = current_database()")
    finally:
        await conn.close()


async def _load(url: str) -> None:
    engine = create_engine(url)
    try:
        if real_data_present():
            for level in (Level.REGENCY, Level.DISTRICT):
                print(f"  importing {FILES[level]} …", flush=True)
                await import_boundaries(engine, read_boundary_file(DATA / FILES[level], level))
            print(f"  importing {FILES[Level.VILLAGE]} and generating agents and enrollments …", flush=True)
            await build_demo(engine, boundaries=DATA / FILES[Level.VILLAGE], seed=SEED, nik_key=NIK_KEY,
                             agents=AGENTS, enrollments=ENROLLMENTS)
        else:
            print(f"  {DATA} is absent: generating {SYNTHETIC_VILLAGES:,} synthetic villages instead", flush=True)
            await build_demo(engine, villages=SYNTHETIC_VILLAGES, seed=SEED, nik_key=NIK_KEY,
                             agents=AGENTS, enrollments=ENROLLMENTS)
    finally:
        await engine.dispose()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def national_database() -> tuple[EmbeddedCluster, str]:
    """The running bench cluster and the URL of its loaded database."""
    cluster = EmbeddedCluster(Path(os.environ.get("PERISAI_BENCH_DATA_DIR", ROOT / ".perisai" / "bench" / "pgdata")))
    cluster.ensure_running()
    fingerprint = _fingerprint()
    url = cluster.url("bench")
    cluster.ensure_database("bench")
    if asyncio.run(stored_fingerprint(url)) != fingerprint:
        print("Building the national benchmark database (once; several minutes) …", flush=True)
        asyncio.run(drop_database(cluster.url("postgres"), "bench"))
        cluster.ensure_database("bench")
        upgrade(url)
        asyncio.run(_load(url))

        asyncio.run(mark_built(url, "bench", fingerprint))
    return cluster, url


async def mark_built(url: str, name: str, fingerprint: str) -> None:
    """VACUUM ANALYZE the freshly loaded database `name` and remember what it was built from."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")
        await conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{fingerprint}'")
    finally:
        await conn.close()
