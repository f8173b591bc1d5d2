"""The per-village counters of active enrollments (migration 0011) equal a count of the enrollment
table after every kind of write, made through plain SQL on purpose (the triggers must keep them
right whoever writes), including concurrent batches over the same villages as the API sends them
(one statement per batch)."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg

from tests.conftest import fetch


def _assert_counts(url: str) -> None:
    rows = fetch(url, """SELECT coalesce(c.village_code, e.village_code) AS code, coalesce(c.active, 0) AS kept,
            coalesce(e.n, 0) AS counted
        FROM village_enrollments c
        FULL JOIN (SELECT village_code, count(*) AS n FROM enrollment WHERE status = 'active' GROUP BY 1) e
               ON e.village_code = c.village_code
        WHERE coalesce(c.active, 0) <> coalesce(e.n, 0)""")
    assert rows == [], rows[:5]


def test_the_counters_follow_every_kind_of_write(demo_db: str) -> None:
    url = demo_db
    assert fetch(url, "SELECT sum(active) AS n FROM village_enrollments")[0]["n"] > 0
    _assert_counts(url)
    ids = [r["id"] for r in fetch(url, "SELECT id FROM enrollment WHERE status = 'active' ORDER BY id LIMIT 40")]
    fetch(url, "UPDATE enrollment SET status = 'lapsed' WHERE id = ANY($1)", ids[:20])  # lapses
    _assert_counts(url)
    fetch(url, "UPDATE enrollment SET status = 'active' WHERE id = ANY($1)", ids[:10])  # reactivated
    _assert_counts(url)
    other = fetch(url, "SELECT code FROM village ORDER BY code DESC LIMIT 1")[0]["code"]
    fetch(url, "UPDATE enrollment SET village_code = $2 WHERE id = ANY($1)", ids[20:30], other)  # village corrected
    _assert_counts(url)
    fetch(url, "DELETE FROM enrollment WHERE id = ANY($1)", ids[30:40])
    _assert_counts(url)
    fetch(url, "TRUNCATE enrollment CASCADE")
    assert fetch(url, "SELECT count(*) AS n FROM village_enrollments WHERE active <> 0")[0]["n"] == 0


def test_concurrent_batches_over_the_same_villages_keep_the_counters_exact(demo_db: str) -> None:
    url = demo_db
    fetch(url, "UPDATE enrollment SET status = 'lapsed' WHERE id IN (SELECT id FROM enrollment ORDER BY id LIMIT 400)")
    people = fetch(url, """SELECT p.id, p.village_code FROM participant p WHERE NOT EXISTS (
        SELECT 1 FROM enrollment e WHERE e.participant_id = p.id AND e.status = 'active') ORDER BY p.village_code, p.id LIMIT 400""")
    assert len(people) >= 100
    agent = fetch(url, "SELECT id FROM agent ORDER BY id LIMIT 1")[0]["id"]
    statement = """INSERT INTO enrollment (participant_id, agent_id, village_code, programmes, monthly_contribution_idr,
        enrolled_on) SELECT p, $2, v, ARRAY['JKK']::programme[], 16800, $3 FROM unnest($1::bigint[], $4::text[]) AS x(p, v)"""

    async def batches(rows: list[asyncpg.Record], day: dt.date) -> None:
        connection = await asyncpg.connect(url)
        try:
            for start in range(0, len(rows), 10):  # many small batches, as devices sync, over the same villages
                chunk = rows[start:start + 10]
                await connection.execute(statement, [r["id"] for r in chunk], agent, day, [r["village_code"] for r in chunk])
        finally:
            await connection.close()

    async def both() -> None:
        await asyncio.gather(batches(people[0::2], dt.date(2001, 1, 1)), batches(people[1::2], dt.date(2001, 1, 2)))

    asyncio.run(both())
    _assert_counts(url)
