"""Enrollment ingest through the API: syncEnrollments throughput and recordEnrollment latency.

Writes go to the national benchmark database and are removed afterwards (enrollments recorded
by the bench carry client ids; the audit log is append-only and keeps its rows).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import text

from auth.tokens import issue
from bench.national import NIK_KEY
from db.access import Role, Viewer
from db.engine import create_engine, create_sessionmaker
from db.writes.enrollments import EnrollmentItem, record_enrollments

BATCH = 1000
BATCHES = 10
CLIENTS = 2
SINGLES = 100
SYNC = """mutation($items: [EnrollmentInput!]!) { syncEnrollments(items: $items) { created duplicates rejected } }"""
RECORD = """mutation($input: EnrollmentInput!) { recordEnrollment(input: $input) { status } }"""


async def _places(url: str) -> list[tuple[str, str]]:
    """(agent code, village in its reach) pairs to record at."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("""
                SELECT a.code, min(r.village_code) FROM agent a JOIN agent_reach r ON r.agent_id = a.id
                WHERE a.status = 'active' GROUP BY a.code ORDER BY a.code LIMIT 200
            """))).all()
    finally:
        await engine.dispose()
    return [(r[0], r[1]) for r in rows]


async def _clean(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM enrollment WHERE client_id IS NOT NULL"))
    finally:
        await engine.dispose()


def _item(n: int, places: list[tuple[str, str]]) -> dict[str, Any]:
    agent, village = places[n % len(places)]
    nik = f"3201{(n // 9999) % 99 + 1:02d}0101{80 + n % 20:02d}{n % 9999 + 1:04d}"
    return {"clientId": str(uuid.UUID(int=n + 7 * 10**9)), "nik": nik, "name": f"Bench {n}", "villageCode": village,
            "agentCode": agent, "programmes": ["JKK", "JKM"], "monthlyContributionIdr": 16800,
            "enrolledOn": dt.date.today().isoformat()}


async def _database_layer(url: str, batches: list[list[dict[str, Any]]]) -> float:
    """Enrollments/s through db.writes alone (same checks and SQL, no HTTP or GraphQL), CLIENTS at once."""
    engine = create_engine(url, pool_size=CLIENTS)
    sessions = create_sessionmaker(engine)
    admin = Viewer("bench", Role.ADMIN)
    queue = list(batches)

    async def worker() -> int:
        created = 0
        while queue:
            batch = [_as_item(i) for i in queue.pop()]
            async with sessions() as session, session.begin():
                results = await record_enrollments(session, admin, batch, NIK_KEY)
            created += sum(r.status == "created" for r in results)
        return created

    try:
        started = time.perf_counter()
        created = sum(await asyncio.gather(*(worker() for _ in range(CLIENTS))))
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    if created != BATCH * len(batches):
        raise SystemExit(f"database-layer ingest created {created} of {BATCH * len(batches)}")
    return created / elapsed


def _as_item(item: dict[str, Any]) -> EnrollmentItem:
    return EnrollmentItem(uuid.UUID(item["clientId"]), item["nik"], item["name"], item["villageCode"],
                          tuple(item["programmes"]), item["monthlyContributionIdr"],
                          dt.date.fromisoformat(item["enrolledOn"]), agent_code=item["agentCode"])


def measure(base: str, url: str, secret: str, run_async: Any) -> dict[str, float]:
    places = run_async(_places(url))
    run_async(_clean(url))
    auth = {"authorization": f"Bearer {issue(secret.encode(), subject='bench', role=Role.ADMIN)}"}
    batches = [[_item(b * BATCH + i, places) for i in range(BATCH)] for b in range(BATCHES)]

    def send(batch: list[dict[str, Any]]) -> int:
        with httpx.Client(base_url=base, headers=auth, timeout=300) as client:
            body = client.post("/graphql", json={"query": SYNC, "variables": {"items": batch}}).json()
        if "errors" in body or body["data"]["syncEnrollments"]["rejected"]:
            raise SystemExit(f"ingest failed: {body}")
        return int(body["data"]["syncEnrollments"]["created"])

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        created = sum(pool.map(send, batches))
    elapsed = time.perf_counter() - started
    latencies = []
    with httpx.Client(base_url=base, headers=auth, timeout=60) as client:
        for n in range(SINGLES + 1):
            started_one = time.perf_counter()
            body = client.post("/graphql", json={"query": RECORD, "variables": {"input": _item(10**6 + n, places)}}).json()
            latencies.append(time.perf_counter() - started_one)
            if "errors" in body:
                raise SystemExit(f"recordEnrollment failed: {body['errors']}")
    run_async(_clean(url))
    database_per_second = run_async(_database_layer(url, batches))
    run_async(_clean(url))
    return {"created": created, "per_second": created / elapsed, "database_per_second": database_per_second,
            "record_p50_ms": statistics.median(latencies[1:]) * 1000,
            "record_p95_ms": sorted(latencies[1:])[int(0.95 * (len(latencies) - 2))] * 1000}
