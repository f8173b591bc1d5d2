"""The coverage table (agent_reach) equals an independent pyproj computation, and stays exact.

Every change goes through plain SQL on purpose: the triggers must keep the table right whoever
writes (importers, mutations, psql).
"""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import pytest

from tests.conftest import fetch
from tests.oracle import GEOD, OAgent, OVillage, reach_pairs


def _agents(url: str) -> list[OAgent]:
    rows = fetch(url, "SELECT id, ST_X(location) x, ST_Y(location) y, reach_m, status::text s FROM agent")
    return [OAgent(r["id"], r["x"], r["y"], r["reach_m"], r["s"] == "active") for r in rows]


def _villages(url: str, prefix: str = "") -> list[OVillage]:
    rows = fetch(url, "SELECT code, ST_X(label_point) x, ST_Y(label_point) y, informal_workers iw FROM village "
                      "WHERE code LIKE $1 || '%'", prefix)
    return [OVillage(r["code"], r["x"], r["y"], r["iw"], 0) for r in rows]


def _table(url: str) -> dict[tuple[int, str], float]:
    return {(r["agent_id"], r["village_code"]): r["distance_m"]
            for r in fetch(url, "SELECT agent_id, village_code, distance_m FROM agent_reach")}


def _assert_equal_to_oracle(url: str) -> None:
    """The pairs equal pyproj's, and each village's counter of active agents (migration 0014) equals
    the active agents among pyproj's pairs."""
    agents = _agents(url)
    expected = reach_pairs(_villages(url), agents)
    table = _table(url)
    assert expected, "the demo should have agents reaching villages"
    assert set(table) == set(expected)
    assert max(abs(table[k] - expected[k]) for k in expected) < 0.01
    active = {a.id for a in agents if a.active}
    expected_counts = Counter(village for agent, village in expected if agent in active)
    counters = {r["village_code"]: r["active"] for r in fetch(url, "SELECT village_code, active FROM village_agents")}
    assert {v: n for v, n in counters.items() if n} == expected_counts


def test_demo_coverage_table_equals_pyproj(demo_db: str) -> None:
    _assert_equal_to_oracle(demo_db)


def _run(url: str, *statements: str) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            async with conn.transaction():
                for sql in statements:
                    await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


def test_moves_reach_changes_deletes_and_village_changes_keep_it_exact(demo_db: str) -> None:
    agent_ids = [r["id"] for r in fetch(demo_db, "SELECT id FROM agent ORDER BY id LIMIT 4")]
    _run(demo_db,
         f"UPDATE agent SET location = ST_Translate(location, 0.03, -0.02) WHERE id = {agent_ids[0]}",
         f"UPDATE agent SET reach_m = 50000 WHERE id = {agent_ids[1]}",
         f"UPDATE agent SET status = 'inactive' WHERE id = {agent_ids[2]}",  # no pair changes
         f"DELETE FROM enrollment WHERE agent_id = {agent_ids[3]}",
         f"DELETE FROM agent WHERE id = {agent_ids[3]}")
    _assert_equal_to_oracle(demo_db)
    _run(demo_db, "UPDATE village SET label_point = ST_Translate(label_point, 0.01, 0.01) "
                  "WHERE code IN (SELECT code FROM village ORDER BY code LIMIT 30)")
    _assert_equal_to_oracle(demo_db)


def test_bulk_updates_after_small_ones_on_one_connection_keep_it_exact(demo_db: str) -> None:
    """The trigger plans are cached per connection from the first (one-row) call; the bulk updates
    after it, which change some positions and leave the rest as they were, must still be exact
    (migration 0006: changed rows come from a set difference, whatever the cached plan)."""
    _run(demo_db,
         "UPDATE village SET population = population WHERE code = (SELECT min(code) FROM village)",
         "UPDATE agent SET name = name WHERE id = (SELECT min(id) FROM agent)",
         "UPDATE village SET population = coalesce(population, 0) + 1, label_point = CASE WHEN code LIKE '%1' "
         "THEN ST_Translate(label_point, 0.02, 0) ELSE label_point END",
         "UPDATE agent SET phone = phone, reach_m = CASE WHEN id % 3 = 0 THEN reach_m + 1500 ELSE reach_m END, "
         "location = CASE WHEN id % 5 = 0 THEN ST_Translate(location, -0.015, 0.01) ELSE location END")
    _assert_equal_to_oracle(demo_db)


def test_a_move_is_visible_inside_its_own_transaction(demo_db: str) -> None:
    """No stale window: the same transaction that moves an agent already reads the new pairs."""
    agent = fetch(demo_db, "SELECT id, home_village_code FROM agent WHERE reach_m < 6000 ORDER BY id LIMIT 1")[0]
    far = fetch(demo_db, "SELECT code, ST_X(label_point) x, ST_Y(label_point) y FROM village v "
                         "WHERE NOT EXISTS (SELECT 1 FROM agent_reach r WHERE r.village_code = v.code "
                         "AND r.agent_id = $1) ORDER BY code DESC LIMIT 1", agent["id"])[0]

    async def moved_then_rolled_back() -> bool:
        conn = await asyncpg.connect(demo_db)
        try:
            tx = conn.transaction()
            await tx.start()
            await conn.execute("UPDATE agent SET location = ST_SetSRID(ST_MakePoint($1, $2), 4326) WHERE id = $3",
                               far["x"], far["y"], agent["id"])
            reached = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM agent_reach WHERE agent_id = $1 "
                                          "AND village_code = $2)", agent["id"], far["code"])
            await tx.rollback()
            return bool(reached)
        finally:
            await conn.close()

    assert asyncio.run(moved_then_rolled_back())
    # …and the rollback took the pairs back with it.
    assert not fetch(demo_db, "SELECT 1 FROM agent_reach WHERE agent_id = $1 AND village_code = $2",
                     agent["id"], far["code"])
    _assert_equal_to_oracle(demo_db)


@pytest.mark.parametrize(("offset_m", "reached"), [(-1.0, True), (1.0, False)])
def test_an_agent_one_metre_inside_or_outside_its_reach(demo_db: str, offset_m: float, reached: bool) -> None:
    """The boundary is geodesic: placed with Geod.fwd at reach ± 1 m, in four directions."""
    village = fetch(demo_db, "SELECT code, ST_X(label_point) x, ST_Y(label_point) y FROM village ORDER BY code LIMIT 1")[0]
    agent_id = fetch(demo_db, "SELECT id FROM agent ORDER BY id LIMIT 1")[0]["id"]
    for azimuth in (0, 90, 180, 270):
        reach = 7300
        lng, lat, _ = GEOD.fwd(village["x"], village["y"], azimuth, reach + offset_m)
        _run(demo_db, f"UPDATE agent SET reach_m = {reach}, location = ST_SetSRID(ST_MakePoint({lng!r}, {lat!r}), 4326) "
                      f"WHERE id = {agent_id}")
        found = fetch(demo_db, "SELECT distance_m FROM agent_reach WHERE agent_id = $1 AND village_code = $2",
                      agent_id, village["code"])
        assert bool(found) is reached, azimuth
        if found:
            assert found[0]["distance_m"] == pytest.approx(reach + offset_m, abs=0.01)


def test_a_new_village_gets_its_pairs(demo_db: str) -> None:
    district = fetch(demo_db, "SELECT code FROM district ORDER BY code LIMIT 1")[0]["code"]
    _run(demo_db, f"""
        INSERT INTO village (code, name, district_code, geom, label_point)
        SELECT '{district}.9999', 'Baru', '{district}', geom, ST_Translate(label_point, 0.001, 0)
        FROM village WHERE code = (SELECT min(code) FROM village)
    """)
    _assert_equal_to_oracle(demo_db)
    assert fetch(demo_db, f"SELECT 1 FROM agent_reach WHERE village_code = '{district}.9999'")


def test_status_changes_with_moves_and_deletions_keep_the_agent_counters_exact(demo_db: str) -> None:
    """The counters of active agents per village follow every way an agent stops or starts
    counting: a status change alone, with a move in the same statement (either direction), an
    active agent deleted, a village deleted with its pairs, and the pairs rebuilt from nothing."""
    ids = [r["id"] for r in fetch(demo_db, "SELECT id FROM agent WHERE status = 'active' ORDER BY id LIMIT 3")]
    _run(demo_db,
         f"UPDATE agent SET status = 'inactive' WHERE id = {ids[0]}",
         f"UPDATE agent SET status = 'inactive', location = ST_Translate(location, 0.05, 0) WHERE id = {ids[1]}")
    _assert_equal_to_oracle(demo_db)
    _run(demo_db,
         f"UPDATE agent SET status = 'active', location = ST_Translate(location, -0.05, 0.02), reach_m = reach_m + 2000 "
         f"WHERE id IN ({ids[0]}, {ids[1]})",
         f"DELETE FROM enrollment WHERE agent_id = {ids[2]}",
         f"DELETE FROM agent WHERE id = {ids[2]}")
    _assert_equal_to_oracle(demo_db)
    unused = fetch(demo_db, """
        SELECT r.village_code FROM agent_reach r JOIN agent a ON a.id = r.agent_id AND a.status = 'active'
        WHERE NOT EXISTS (SELECT 1 FROM agent h WHERE h.home_village_code = r.village_code)
          AND NOT EXISTS (SELECT 1 FROM participant p WHERE p.village_code = r.village_code)
          AND NOT EXISTS (SELECT 1 FROM enrollment e WHERE e.village_code = r.village_code)
        ORDER BY 1 LIMIT 1""")
    assert unused, "the demo should have a reached village nobody lives in or enrolled in"
    _run(demo_db, f"DELETE FROM village WHERE code = '{unused[0]['village_code']}'")
    _assert_equal_to_oracle(demo_db)
    _run(demo_db, "TRUNCATE agent_reach")
    assert not fetch(demo_db, "SELECT 1 FROM village_agents WHERE active <> 0")
    _run(demo_db, "INSERT INTO agent_reach (agent_id, village_code, distance_m) "
                  "SELECT a.id, v.code, ST_Distance(a.location::geography, v.label_point::geography) FROM agent a "
                  "JOIN village v ON ST_DWithin(v.label_point::geography, a.location::geography, a.reach_m)")
    _assert_equal_to_oracle(demo_db)
