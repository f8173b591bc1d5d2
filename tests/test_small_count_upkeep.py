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


STATES_FROM_COUNTERS = """SELECT r.code, s.capped, s.all_ones
    FROM (SELECT '' AS code UNION ALL SELECT code FROM province UNION ALL SELECT code FROM regency
          UNION ALL SELECT code FROM district) r, region_enrollment_state_of(r.code, small_count_k()) s"""


def assert_kept(url: str, after: str) -> None:
    states = {tuple(r) for r in fetch(url, "SELECT code, capped, all_ones FROM region_enrollment_state")}
    fresh = {tuple(r) for r in fetch(url, STATES_FROM_COUNTERS)}
    assert states == fresh, f"after {after}: stale states {sorted(states - fresh)[:5]}"
    stored, rule = table_and_rule(url)
    assert stored == rule, f"after {after}: stale {sorted(stored - rule)}, missing {sorted(rule - stored)}"


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
