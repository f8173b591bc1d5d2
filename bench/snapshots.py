"""`make bench`, snapshots: taking a national snapshot (time and size), then coverageChanges and
coverageTrend per regency over HTTP after 50 agents moved 2 km, beside the statement alone.

Everything it makes is undone: the agents go back, the bench's snapshots are deleted (the audit
log keeps its rows: it is append-only; so do the coverage alerts the moves raised).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import httpx
from sqlalchemy import text

from auth.tokens import issue
from db.access import Role, Viewer
from db.engine import create_engine, create_sessionmaker
from db.writes.agents import move_agent
from db.writes.snapshots import take_snapshot

DAYS = (dt.date(2000, 1, 31), dt.date(2000, 2, 29))  # labels no real snapshot uses
VIEWER = Viewer("bench", Role.ADMIN)
CHANGES = """query($r: String!, $from: Date!) { coverageChanges(regionCode: $r, from: $from, first: 100) {
    totalCount edges { node { code reach agentsBefore agentsAfter penetrationBefore penetrationAfter reasons } } } }"""
TREND = """query($r: String!) { coverageTrend(regionCode: $r) { asOf coveredShare workersInReach penetration } }"""


async def _take(url: str, day: dt.date) -> float:
    """Seconds to take a national snapshot filed under `day`."""
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        async with create_sessionmaker(engine)() as session, session.begin():
            await take_snapshot(session, VIEWER, day, replace=True)
        return time.perf_counter() - started
    finally:
        await engine.dispose()


async def _size(url: str) -> tuple[int, int]:
    """Bytes on disk (tables and indexes) of the snapshots, and how many there are."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(text("""
                SELECT pg_total_relation_size('snapshot_village') + pg_total_relation_size('snapshot_agent')
                       + pg_total_relation_size('coverage_snapshot'), (SELECT count(*) FROM coverage_snapshot)"""))).one()
            return int(row[0]), int(row[1])
    finally:
        await engine.dispose()


async def _move(url: str, agents: list[tuple[int, float, float]], back: bool) -> None:
    engine = create_engine(url)
    try:
        for agent_id, lng, lat in agents:
            async with create_sessionmaker(engine)() as s, s.begin():
                await move_agent(s, agent_id, lng if back else lng + 0.018, lat)
    finally:
        await engine.dispose()


async def _agents(url: str, regencies: list[str]) -> list[tuple[int, float, float]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT DISTINCT ON (left(home_village_code, 5)) id, ST_X(location), ST_Y(location) FROM agent "
                "WHERE left(home_village_code, 5) = ANY(:r) ORDER BY left(home_village_code, 5), id"), {"r": regencies})).all()
            return [(int(r[0]), float(r[1]), float(r[2])) for r in rows]
    finally:
        await engine.dispose()


async def _forget(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM coverage_snapshot WHERE as_of = ANY(:days)"), {"days": list(DAYS)})
    finally:
        await engine.dispose()


def _timed(base: str, secret: str, query: str, variables: list[dict[str, Any]]) -> list[float]:
    token = issue(secret.encode(), subject="bench", role=Role.PLANNER)
    times = []
    with httpx.Client(base_url=base, headers={"authorization": f"Bearer {token}"}, timeout=120) as client:
        for v in [variables[0], *variables]:
            started = time.perf_counter()
            body = client.post("/graphql", json={"query": query, "variables": v}).json()
            times.append(time.perf_counter() - started)
            if "errors" in body:
                raise SystemExit(f"{query[:40]}: {body['errors']}")
    return times[1:]


def measure(base: str, url: str, secret: str, regencies: list[str]) -> dict[str, Any]:
    """Snapshot time and size, and HTTP times of coverageChanges and coverageTrend per regency (ms)."""
    asyncio.run(_take(url, DAYS[0]))
    size, count = asyncio.run(_size(url))  # before it is replaced: no dead rows yet
    taken = asyncio.run(_take(url, DAYS[0]))  # timed warm, replacing the first
    agents = asyncio.run(_agents(url, regencies))
    asyncio.run(_move(url, agents, back=False))
    try:
        changes = _timed(base, secret, CHANGES, [{"r": r, "from": DAYS[0].isoformat()} for r in regencies])
        asyncio.run(_take(url, DAYS[1]))
        trend = _timed(base, secret, TREND, [{"r": r} for r in regencies])
    finally:
        asyncio.run(_move(url, agents, back=True))
        asyncio.run(_forget(url))
    return {"snapshot_s": taken, "snapshot_bytes": size // max(count, 1), "changes": changes, "trend": trend,
            "moved": len(agents)}
