"""The hidden cells of small-count suppression are kept by triggers (migration 0013): after any
write — through the API, by SQL, one village or hundreds, regions added or removed, k changed,
two writers at once — the table equals the rule computed from nothing, and a planner's next read
already reflects it."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import data, fetch, post, running_server, token
from tests.test_api_enrollment_writes import RECORD, an_agent, item

ACTIVE_IN = """query($code: String!) { village(code: $code) { coverage { activeEnrollments enrollmentsSuppressed } } }"""


def table_and_rule(url: str) -> tuple[set[str], set[str]]:
    stored = {r["code"] for r in fetch(url, "SELECT code FROM hidden_enrollment_cell")}
    return stored, set(fetch(url, "SELECT hidden_enrollment_cells() AS cells")[0]["cells"])


def assert_kept(url: str, after: str) -> None:
    """The stored states and hidden cells equal what recomputing everything from the counters gives
    (inside a transaction rolled back)."""

    async def read(conn: asyncpg.Connection) -> tuple[set[tuple[object, ...]], set[str]]:
        states = {tuple(r) for r in await conn.fetch("SELECT code, capped, slack FROM region_enrollment_state")}
        return states, {r["code"] for r in await conn.fetch("SELECT code FROM hidden_enrollment_cell")}

    async def both() -> tuple[set[tuple[object, ...]], set[str], set[tuple[object, ...]], set[str]]:
        conn = await asyncpg.connect(url)
        try:
            states, cells = await read(conn)
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute("SELECT refresh_hidden_cells()")
            fresh_states, fresh_cells = await read(conn)
            await transaction.rollback()
            return states, cells, fresh_states, fresh_cells
        finally:
            await conn.close()

    states, stored, fresh_states, fresh = asyncio.run(both())
    assert states == fresh_states, f"after {after}: stale states {sorted(states - fresh_states)[:5]}"
    assert stored == fresh, f"after {after}: stale {sorted(stored - fresh)}, missing {sorted(fresh - stored)}"


def set_counts_sql(villages: list[str], n: int) -> str:
    """One statement leaving each of `villages` with n active enrollments (as many as it has, if fewer)."""
    codes = ",".join(f"'{v}'" for v in villages)
    return f"""UPDATE enrollment e SET status = CASE WHEN r.pos <= {n} THEN 'active' ELSE 'lapsed' END::enrollment_status
               FROM (SELECT id, row_number() OVER (PARTITION BY village_code ORDER BY id) AS pos
                     FROM enrollment WHERE village_code IN ({codes})) r
               WHERE e.id = r.id"""


def test_the_table_equals_the_rule_after_every_kind_of_write(demo_db: str) -> None:
    url = demo_db
    assert_kept(url, "the demo load")
    assert fetch(url, "SELECT count(*) AS n FROM hidden_enrollment_cell")[0]["n"] > 0
    villages = [r["code"] for r in fetch(url, "SELECT DISTINCT village_code AS code FROM enrollment ORDER BY 1")]
    districts = sorted({v[:8] for v in villages})
    rng = random.Random(20)
    for step in range(40):
        kind = rng.choice(["one", "district", "district", "bulk", "lapse all"])
        if kind == "one":
            chosen = [rng.choice(villages)]
        elif kind == "district":
            district = rng.choice(districts)
            chosen = [v for v in villages if v.startswith(district)]
        elif kind == "bulk":  # more than 200 villages in one statement: recomputed from nothing
            chosen = rng.sample(villages, min(len(villages), 250))
        else:
            chosen = [v for v in villages if v.startswith(rng.choice(districts)[:5])]
        fetch(url, set_counts_sql(chosen, rng.choice([0, 1, 2, 3, 4, 5, 6, 9])))
        assert_kept(url, f"step {step}: {kind} ({len(chosen)} villages)")
    fetch(url, "DELETE FROM enrollment WHERE village_code = $1", villages[0])
    assert_kept(url, "deleting a village's enrollments")


def test_regions_added_or_removed_are_recomputed_at_commit(demo_db: str) -> None:
    url = demo_db
    district = fetch(url, """SELECT district_code AS code FROM village GROUP BY 1 HAVING count(*) >= 3 ORDER BY 1 LIMIT 1""")[0]["code"]
    villages = [r["code"] for r in fetch(url, "SELECT code FROM village WHERE district_code = $1 ORDER BY code", district)]
    fetch(url, set_counts_sql(villages, 0))
    fetch(url, set_counts_sql(villages[:1], 2))  # no prefix adds up to k: the whole group is hidden, zeros too
    assert set(villages) <= table_and_rule(url)[0]
    fetch(url, """INSERT INTO village (code, name, district_code, geom, label_point, area_km2)
                  SELECT $1 || '.' || (9000 + n), 'Baru', district_code, geom, label_point, area_km2
                  FROM village, generate_series(1, 3) n WHERE code = $2""", district, villages[0])
    assert_kept(url, "adding villages")
    assert len(table_and_rule(url)[0] & {f"{district}.{9000 + n}" for n in (1, 2, 3)}) == 3
    fetch(url, "DELETE FROM village WHERE code LIKE $1", f"{district}.9%")
    assert_kept(url, "removing them")


def test_a_new_k_is_stored_and_everything_recomputed(demo_db: str, tmp_path: Path) -> None:
    url = demo_db
    before = table_and_rule(url)[0]
    with running_server(url, tmp_path, PERISAI_SMALL_COUNT_K="3"):
        assert fetch(url, "SELECT k FROM small_count_rule")[0]["k"] == 3
        assert_kept(url, "k = 3")
        smallest = {r["code"] for r in fetch(url, "SELECT village_code AS code FROM village_enrollments WHERE active BETWEEN 1 AND 2")}
        between = {r["code"] for r in fetch(url, "SELECT village_code AS code FROM village_enrollments WHERE active BETWEEN 3 AND 4")}
        stored = table_and_rule(url)[0]
        assert smallest <= stored and between and stored != before
    with pytest.raises(asyncpg.CheckViolationError):  # the database refuses a k the setting would refuse
        fetch(url, "SELECT set_small_count_k(1)")


def test_a_planner_reads_what_an_agent_just_wrote(demo_db: str, tmp_path: Path) -> None:
    url = demo_db
    agent = an_agent(url)
    village = agent["reached"]
    fetch(url, set_counts_sql([village], 0))
    with running_server(url, tmp_path) as server:
        auth = token("agent", agent=agent["code"])
        for i in range(1, 7):
            body = post(server, RECORD, {"input": item(700 + i, village)}, auth=auth)
            assert body["data"]["recordEnrollment"]["status"] == "CREATED", body
            seen = data(server, ACTIVE_IN, {"code": village}, auth=token("planner"))["village"]["coverage"]
            assert seen == ({"activeEnrollments": None, "enrollmentsSuppressed": True} if i < 5
                            else {"activeEnrollments": i, "enrollmentsSuppressed": False}), i
        assert_kept(url, "six enrollments through the API")


def test_two_writers_at_once_leave_the_table_equal_to_the_rule(demo_db: str) -> None:
    """Writer B changes a village of the same district while A's change is not committed: B's
    recomputation waits for A's commit (the rule's lock), so it sees A's counts. Without the lock
    each would recompute the district's group from a different half of the truth."""
    url = demo_db
    district = fetch(url, """SELECT district_code AS code FROM village v WHERE (SELECT count(*) FROM enrollment e
                             WHERE e.village_code = v.code) >= 3 GROUP BY district_code HAVING count(*) >= 3
                             ORDER BY 1 LIMIT 1""")[0]["code"]
    first, second = [r["code"] for r in fetch(url, """SELECT v.code FROM village v WHERE v.district_code = $1
        AND (SELECT count(*) FROM enrollment e WHERE e.village_code = v.code) >= 3 ORDER BY v.code LIMIT 2""", district)]
    fetch(url, set_counts_sql([v["code"] for v in fetch(url, "SELECT code FROM village WHERE district_code = $1", district)], 0))
    assert_kept(url, "emptying the district")

    async def race() -> None:
        a, b = await asyncpg.connect(url), await asyncpg.connect(url)
        try:
            ta, tb = a.transaction(), b.transaction()
            await ta.start()
            await tb.start()
            await a.execute(set_counts_sql([first], 2))
            waiting = asyncio.create_task(b.execute(set_counts_sql([second], 1)))
            pid = b.get_server_pid()
            for _ in range(500):  # until B waits on A's lock (not a timing guess: it is read from pg_locks)
                if await a.fetchval("SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted AND locktype = 'advisory'", pid):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the second writer never waited for the first")
            await ta.commit()
            await waiting
            await tb.commit()
        finally:
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()
            await a.close()
            await b.close()

    asyncio.run(race())
    assert_kept(url, "two writers at once")
    stored = table_and_rule(url)[0]
    assert {first, second} <= stored


SNAPSHOT = "mutation($d: Date) { takeSnapshot(asOf: $d) { asOf } }"
SINCE = """query($r: String!, $from: Date!, $t: Float!) { coverageChanges(regionCode: $r, from: $from, penetrationChange: $t,
    first: 500) { edges { node { code reasons activeEnrollmentsBefore activeEnrollmentsAfter penetrationBefore
    penetrationAfter enrollmentsSuppressed } } } }"""
TREND = """query($r: String) { coverageTrend(regionCode: $r) { asOf activeEnrollments penetration enrollmentsSuppressed } }"""


def test_snapshots_hide_what_their_day_hid(demo_db: str, tmp_path: Path) -> None:
    """coverageChanges shows a day's figures as that day's suppression did, and never lists a hidden
    village for its penetration (a threshold moved step by step would measure its count); the trend
    hides a region's figures on the days it was hidden; a snapshot from before suppression hides all."""
    url = demo_db
    district = fetch(url, """SELECT v.district_code AS code FROM village v WHERE v.informal_workers > 0
        AND (SELECT count(*) FROM enrollment e WHERE e.village_code = v.code) >= 40
        GROUP BY 1 HAVING count(*) >= 3 ORDER BY 1 LIMIT 1""")[0]["code"]
    small, big = [r["code"] for r in fetch(url, """SELECT v.code FROM village v WHERE v.district_code = $1 AND v.informal_workers > 0
        AND (SELECT count(*) FROM enrollment e WHERE e.village_code = v.code) >= 40 ORDER BY v.code LIMIT 2""", district)]
    fetch(url, set_counts_sql([small], 2))
    fetch(url, set_counts_sql([big], 10))
    workers = fetch(url, "SELECT informal_workers FROM village WHERE code = $1", small)[0]["informal_workers"]
    assert 1 / workers >= 1e-4
    day = "2026-10-31"
    with running_server(url, tmp_path) as server:
        data(server, SNAPSHOT, {"d": day}, auth="planner")
        hidden_then = table_and_rule(url)[0]
        assert small in hidden_then and big not in hidden_then
        fetch(url, set_counts_sql([small], 3))  # still hidden, and a change of penetration
        fetch(url, set_counts_sql([big], 40))
        for role in ("admin", "planner"):
            for threshold in (1e-6, 1e-4, 1e-3, 1e-2):
                changes = data(server, SINCE, {"r": district, "from": day, "t": threshold}, auth=role)["coverageChanges"]
                listed = {e["node"]["code"]: e["node"] for e in changes["edges"]}
                assert listed[big]["activeEnrollmentsBefore"] == 10 and listed[big]["activeEnrollmentsAfter"] == 40
                assert not listed[big]["enrollmentsSuppressed"]
                if role == "admin" and 1 / workers >= threshold:  # what a planner would be measuring
                    assert (listed[small]["activeEnrollmentsBefore"], listed[small]["activeEnrollmentsAfter"]) == (2, 3)
                else:
                    assert small not in listed, (threshold, listed.get(small))
        for role, region in (("planner", district), ("planner", None), ("admin", district)):
            (point,) = data(server, TREND, {"r": region}, auth=role)["coverageTrend"]
            hidden = role == "planner" and (region or "") in hidden_then
            assert point["enrollmentsSuppressed"] is hidden
            assert (point["activeEnrollments"] is None) is hidden and (point["penetration"] is None) is hidden
        fetch(url, "UPDATE coverage_snapshot SET small_counts_kept = false")  # as if taken before suppression existed
        (point,) = data(server, TREND, {"r": district}, auth="planner")["coverageTrend"]
        assert point["enrollmentsSuppressed"] and point["activeEnrollments"] is None
        listed = data(server, SINCE, {"r": district, "from": day, "t": 1e-6}, auth="planner")["coverageChanges"]["edges"]
        assert all(e["node"]["activeEnrollmentsBefore"] is None and e["node"]["enrollmentsSuppressed"] for e in listed)


def test_no_random_counts_let_a_hidden_cell_be_recovered(demo_db: str) -> None:
    """The rule against the differencing attack of tests/test_small_counts.py on many random
    count patterns (sparse to dense, runs of ones, empty districts), read straight from the tables:
    what a planner is published is every count not in hidden_enrollment_cell."""
    from tests.test_small_counts import assert_not_recovered

    url = demo_db
    villages = [r["code"] for r in fetch(url, "SELECT code FROM village ORDER BY code")]
    have = {r["code"]: r["n"] for r in fetch(url, "SELECT village_code AS code, count(*) AS n FROM enrollment GROUP BY 1")}
    rng = random.Random(5)
    for trial in range(30):
        weights = rng.choice([[60, 30, 5, 3, 2], [20, 50, 10, 10, 10], [5, 10, 5, 10, 70], [10, 80, 5, 3, 2]])
        counts = {v: min(have.get(v, 0), rng.choices([0, 1, 2, 4, 30], weights)[0]) for v in villages}
        for n in sorted(set(counts.values())):  # one statement per count: the triggers see batches
            fetch(url, set_counts_sql([v for v, c in counts.items() if c == n], n))
        assert_kept(url, f"trial {trial}")
        truth: dict[str, int] = {}
        groups: dict[str, list[str]] = {}
        for v, c in counts.items():
            for width in (8, 5, 2, 0):  # its district, regency, province and Indonesia ('')
                truth[v[:width]] = truth.get(v[:width], 0) + c
        truth |= counts
        for cell in truth:
            if cell:
                parent = cell[:{2: 0, 5: 2, 8: 5, 13: 8}[len(cell)]]
                groups.setdefault(parent, []).append(cell)
        hidden = table_and_rule(url)[0]
        published = {c: None if c in hidden else v for c, v in truth.items()}
        if any(v is None for v in published.values()):
            assert_not_recovered(truth, published, groups)


def test_two_small_districts_of_ones_are_not_pinned_by_their_floors(demo_db: str) -> None:
    """Districts of 1+1+1 and 1+1 enrollments are both small and hide each other with a sum of 5 =
    k; but each hidden village is at least 1, so a district is at least its village count, and
    3 + 2 = 5 would pin both. Their slack (count over that floor) is 0: the rule must not leave them
    as each other's only complement."""
    from tests.test_small_counts import K, assert_not_recovered

    url = demo_db
    sizes = fetch(url, """SELECT v.district_code AS code, count(*) AS n, bool_and(EXISTS (
        SELECT FROM enrollment e WHERE e.village_code = v.code)) AS all_enrolled FROM village v GROUP BY 1 ORDER BY 1""")
    small = [(r["code"], r["n"]) for r in sizes if r["all_enrolled"] and r["n"] < K]
    pair = next(((a, b) for a in small for b in small if a[0] < b[0] and a[0][:5] == b[0][:5] and a[1] + b[1] >= K), None)
    assert pair, "the demo has no two small districts of one regency to build the case from"
    regency = pair[0][0][:5]
    fetch(url, set_counts_sql([r["code"] for r in fetch(url, "SELECT code FROM village WHERE code LIKE $1 || '.%'", regency)], 0))
    many = [r["code"] for r in fetch(url, """SELECT v.code FROM village v WHERE v.code LIKE $1 || '.%' AND left(v.code, 8) <> ALL($2)
        AND (SELECT count(*) FROM enrollment e WHERE e.village_code = v.code) >= $3""", regency, [pair[0][0], pair[1][0]], K)]
    fetch(url, set_counts_sql(many, K))
    ones = [r["code"] for r in fetch(url, "SELECT code FROM village WHERE district_code = ANY($1)", [pair[0][0], pair[1][0]])]
    fetch(url, set_counts_sql(ones, 1))
    assert_kept(url, "the case")
    counts = {r["code"]: r["n"] for r in fetch(url, """SELECT v.code, coalesce(ve.active, 0) AS n FROM village v
        LEFT JOIN village_enrollments ve ON ve.village_code = v.code""")}
    truth, groups = dict(counts), {}
    for v, c in counts.items():
        for width in (8, 5, 2, 0):
            truth[v[:width]] = truth.get(v[:width], 0) + c
    for cell in truth:
        if cell:
            groups.setdefault(cell[:{2: 0, 5: 2, 8: 5, 13: 8}[len(cell)]], []).append(cell)
    hidden = table_and_rule(url)[0]
    assert {pair[0][0], pair[1][0]} <= hidden
    assert_not_recovered(truth, {c: None if c in hidden else v for c, v in truth.items()}, groups)
