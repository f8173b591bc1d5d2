"""One statement per query: a deep nested query sends one SQL statement, however many rows it returns
and however the client writes it.

Statements are counted by PostgreSQL itself (pg_stat_statements, loaded by the embedded cluster),
so this counts what the server really sent, not what the code believes it sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, data, fetch, load_demo, running_server

VILLAGES = 600

DEEP = """query($regencies: Int!, $districts: Int!) { provinces(first: 1) { edges { node { code
    regencies(first: $regencies) { edges { node { code
      districts(first: $districts) { edges { node { code
        villages(first: 40) { totalCount edges { node { code
          agentsInReach(first: 5) { totalCount edges { distanceM node { code reachM } } }
          enrollments(first: 0) { totalCount } } } } } } } } } } } } } }"""


@pytest.fixture(scope="module")
def large_db(cluster: EmbeddedCluster, templates: dict[str, str]) -> Iterator[str]:
    for url in _clone(cluster, templates["empty"]):
        load_demo(url, villages=VILLAGES, seed=11)
        fetch(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        yield url


def statements(url: str) -> list[tuple[str, int]]:
    """Statements on this database's tables since the last reset (catalog queries excluded)."""
    rows = fetch(url, r"""SELECT query, calls FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND query ~ '\m(province|regency|district|village|agent|enrollment|participant)\M'
          AND query !~ 'pg_stat_statements'""")
    return [(r["query"], r["calls"]) for r in rows]


def counted(server: str, url: str, regencies: int, districts: int) -> tuple[int, int]:
    """(statements sent, villages returned) for the deep query over that many regions."""
    sizes = {"regencies": regencies, "districts": districts}
    data(server, DEEP, sizes)  # warm up: connections and type codecs
    fetch(url, "SELECT pg_stat_statements_reset()")
    result = data(server, DEEP, sizes)
    villages = sum(
        len(d["node"]["villages"]["edges"])
        for p in result["provinces"]["edges"] for r in p["node"]["regencies"]["edges"]
        for d in r["node"]["districts"]["edges"]
    )
    return sum(calls for _, calls in statements(url)), villages


def test_deep_nested_query_statement_count_does_not_grow_with_rows(large_db: str, tmp_path: Path) -> None:
    with running_server(large_db, tmp_path) as server:
        small, few = counted(server, large_db, 1, 2)
        large, many = counted(server, large_db, 10, 30)
    assert many == VILLAGES and many > 10 * few  # every village against a few dozen
    assert large == small == 1, statements(large_db)


APOLLO_DEEP = """query Deep($districts: Int!) { provinces(first: 1) { __typename edges { __typename node { __typename id code
    coverage { __typename villages coveragePct }
    regencies(first: 10) { __typename edges { __typename node { __typename id code name
      districts(first: $districts) { __typename pageInfo { __typename hasNextPage endCursor } edges { __typename node {
        __typename id ...DistrictCard villages(first: 40) { __typename totalCount edges { __typename cursor node {
          __typename id code name coverage { __typename covered penetration nearestAgent { __typename id code } }
          agentsInReach(first: 3) { __typename edges { __typename distanceM node { __typename id code } } } } } } } } } } } } } } } }
fragment DistrictCard on District { __typename id name coverage { __typename coveredVillages } }"""


def test_a_frontends_deep_query_is_one_statement(large_db: str, tmp_path: Path) -> None:
    """Apollo style (__typename and id everywhere, a fragment), province to village with
    coverage and agents in reach: one statement for one district or for thirty."""
    def count(districts: int) -> tuple[int, int]:
        data(server, APOLLO_DEEP, {"districts": districts})
        fetch(large_db, "SELECT pg_stat_statements_reset()")
        result = data(server, APOLLO_DEEP, {"districts": districts})
        villages = sum(len(d["node"]["villages"]["edges"]) for p in result["provinces"]["edges"]
                       for r in p["node"]["regencies"]["edges"] for d in r["node"]["districts"]["edges"])
        return sum(calls for _, calls in statements(large_db)), villages

    with running_server(large_db, tmp_path) as server:
        (narrow, few), (wide, many) = count(1), count(30)
    assert many > 10 * few
    assert narrow == wide == 1, statements(large_db)


COVERAGE_DEEP = """query($districts: Int!) { provinces(first: 1) { edges { node {
    coverage { villages children { code } }
    regencies(first: 10) { edges { node { coverage { coveragePct }
      districts(first: $districts) { edges { node { coverage { coveredVillages }
        villages(first: 40) { edges { node { coverage { covered nearestDistanceM } } } } } } } } } } } } } }"""


def test_nested_coverage_is_one_statement(large_db: str, tmp_path: Path) -> None:
    """Province, regency, district and village coverage: one statement, whatever the width."""
    def count(districts: int) -> int:
        data(server, COVERAGE_DEEP, {"districts": districts})
        fetch(large_db, "SELECT pg_stat_statements_reset()")
        data(server, COVERAGE_DEEP, {"districts": districts})
        return sum(calls for _, calls in statements(large_db))

    with running_server(large_db, tmp_path) as server:
        narrow, wide = count(1), count(30)
    assert narrow == wide == 1, statements(large_db)
