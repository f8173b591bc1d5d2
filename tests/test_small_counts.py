"""Small-count suppression: a planner never gets an enrollment count of 1 to k - 1, and cannot get
one back by differencing. The attack runs on what GraphQL publishes at every level, tightening each
hidden cell's bounds through every parent = Σ children equation until nothing moves; every other
path (maps, tiles, OGC API, exports, scenarios) must show the same values and hide the same cells;
and the paths that could give a count back another way (gap thresholds, site gains, enrollment
lists, an agent's observed reach and villages) are attacked on their own."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import mapbox_vector_tile
import pytest

from db.regions import Level
from tests.conftest import data, fetch, running_server, token
from tests.test_exports import download, rows_of
from tests.test_maps_pixels import page_features
from tests.test_ogc import every_feature
from tests.test_tiles import fetch_tile, tile_of

K = 5
REGION_QUERY = """query($r: String) { coverage(regionCode: $r) { code activeEnrollments penetration uncoveredWorkers
    enrollmentsPerAgent enrollmentsSuppressed children { code activeEnrollments penetration uncoveredWorkers enrollmentsSuppressed } } }"""


def _set_counts(url: str, counts: dict[str, int]) -> None:
    """Leave each village of `counts` with that many active enrollments (the triggers update the counters)."""
    for village, keep in counts.items():
        fetch(url, """UPDATE enrollment SET status = 'lapsed' WHERE village_code = $1 AND status = 'active'
                      AND id NOT IN (SELECT id FROM enrollment WHERE village_code = $1 AND status = 'active'
                                     ORDER BY id LIMIT $2)""", village, keep)


@pytest.fixture(scope="module")
def small(shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server over the demo data (which has villages of 1 to 4 enrollments) where, in the last
    regency, one district has 3 enrollments in all (villages of 2 and 1, the rest 0) and its sibling
    districts no small village: hiding that district needs a sibling hidden with it, and that
    sibling hidden needs two of its own villages hidden (else adding them up gives it back). And a
    district elsewhere whose villages have one enrollment each."""
    url = shared_demo_db
    regency = fetch(url, "SELECT max(regency_code) AS code FROM district")[0]["code"]
    district = fetch(url, """SELECT d.code FROM district d WHERE d.regency_code = $1
        AND (SELECT count(*) FROM village v WHERE v.district_code = d.code) >= 3 ORDER BY d.code LIMIT 1""", regency)[0]["code"]
    villages = [r["code"] for r in fetch(url, "SELECT code FROM village WHERE district_code = $1 ORDER BY code", district)]
    siblings_small = [r["village_code"] for r in fetch(url, """SELECT ve.village_code FROM village_enrollments ve
        JOIN village v ON v.code = ve.village_code JOIN district d ON d.code = v.district_code
        WHERE d.regency_code = $1 AND d.code <> $2 AND ve.active BETWEEN 1 AND $3""", regency, district, K - 1)]
    _set_counts(url, {v: 0 for v in villages} | {villages[0]: 2, villages[1]: 1} | {v: 0 for v in siblings_small})
    # Elsewhere, a district of at least k villages with one enrollment each: shown, its total would
    # pin every hidden village to 1 for an attacker who assumes hidden cells are positive.
    ones = fetch(url, """SELECT v.district_code AS code FROM village v WHERE left(v.code, 5) <> $1
        GROUP BY 1 HAVING count(*) >= $2 AND bool_and(EXISTS (SELECT FROM enrollment e WHERE e.village_code = v.code))
        ORDER BY 1 LIMIT 1""", regency, K)[0]["code"]
    _set_counts(url, {r["code"]: 1 for r in fetch(url, "SELECT code FROM village WHERE district_code = $1", ones)})
    with running_server(url, tmp_path_factory.mktemp("small")) as server:
        yield server, url


def graphql_cells(server: str, auth: str) -> tuple[dict[str, int | None], dict[str, list[str]], list[dict[str, Any]]]:
    """Every region's and village's active enrollments as `auth` gets them from coverage(regionCode),
    level by level (code '' is Indonesia), the groups (parent → children) and every figures object."""
    values: dict[str, int | None] = {}
    groups: dict[str, list[str]] = {}
    objects: list[dict[str, Any]] = []
    todo: list[str | None] = [None]
    while todo:
        code = todo.pop()
        figures = data(server, REGION_QUERY, {"r": code}, auth=auth)["coverage"]
        key = code or ""
        values[key] = figures["activeEnrollments"]
        groups[key] = [c["code"] for c in figures["children"]]
        objects += [figures, *figures["children"]]
        for child in figures["children"]:
            values[child["code"]] = child["activeEnrollments"]
            if len(child["code"]) < 13:
                todo.append(child["code"])
    return values, groups, objects


def attack(published: dict[str, int | None], groups: dict[str, list[str]], floor: int) -> dict[str, tuple[float, float]] | None:
    """Bounds on every cell from what is published and parent = Σ children, tightened to a fixed
    point; a hidden cell starts at [floor, ∞). None: no values fit (a hidden zero refutes floor 1)."""
    bounds = {c: (float(v), float(v)) if v is not None else (float(floor), math.inf) for c, v in published.items()}
    for _ in range(100):
        moved = False
        for parent, children in groups.items():
            if not children:
                continue
            low, high = sum(bounds[c][0] for c in children), sum(bounds[c][1] for c in children)
            p_low, p_high = max(bounds[parent][0], low), min(bounds[parent][1], high)
            updates = {parent: (p_low, p_high)}
            for c in children:
                c_low, c_high = bounds[c]
                others_low = sum(bounds[o][0] for o in children if o != c)  # (∞ - ∞ would be NaN)
                others_high = sum(bounds[o][1] for o in children if o != c)
                updates[c] = (max(c_low, p_low - others_high), min(c_high, p_high - others_low))
            for cell, bound in updates.items():
                if bound[0] > bound[1]:
                    return None  # the attacker's assumption (floor) is refuted by what is published
                if bound != bounds[cell]:
                    bounds[cell], moved = bound, True
        if not moved:
            return bounds
    raise AssertionError("the bounds did not settle")


def assert_not_recovered(truth: dict[str, int], published: dict[str, int | None], groups: dict[str, list[str]]) -> None:
    hidden = [c for c, v in published.items() if v is None]
    assert hidden, "nothing was suppressed: the test data has no small counts"
    for floor in (0, 1):  # an attacker who knows zeros are shown may assume a hidden cell is at least 1
        bounds = attack(published, groups, floor)
        if bounds is None:
            assert floor == 1 and any(truth[c] == 0 for c in hidden)
            continue
        for cell in hidden:
            low, high = bounds[cell]
            assert not low == high == truth[cell], f"{cell or 'Indonesia'}: {truth[cell]} recovered (floor {floor})"
            if floor == 0:
                assert low <= truth[cell] <= high, (cell, low, high, truth[cell])


def test_planners_get_no_small_count_and_cannot_difference_one_back(small: tuple[str, str]) -> None:
    server, _ = small
    truth, groups, admin_objects = graphql_cells(server, "admin")
    published, planner_groups, objects = graphql_cells(server, "planner")
    assert planner_groups == groups and set(published) == set(truth)
    assert all(v is not None for v in truth.values()) and not any(o["enrollmentsSuppressed"] for o in admin_objects)
    small_cells = {c for c, v in truth.items() if v is not None and 0 < v < K}
    assert len(small_cells) >= 4  # the demo's small villages, the fixture's 2 and 1, and its district of 3
    assert small_cells <= {c for c, v in published.items() if v is None}
    assert all(published[c] == truth[c] for c in truth if published[c] is not None)
    for o in objects:  # what gives a count back is hidden with it
        assert o["enrollmentsSuppressed"] == (o["activeEnrollments"] is None)
        if o["enrollmentsSuppressed"]:
            assert o["penetration"] is None and o["uncoveredWorkers"] is None and o.get("enrollmentsPerAgent") is None
    assert_not_recovered(truth, published, groups)


# --- every other path shows the same cells, and hides the same ones ------------------------------

@pytest.fixture(scope="module")
def planner_view(small: tuple[str, str]) -> tuple[dict[str, int | None], dict[str, int]]:
    """What GraphQL publishes to a planner, and the truth (an admin's view)."""
    server, _ = small
    published, _, _ = graphql_cells(server, "planner")
    truth, _, _ = graphql_cells(server, "admin")
    return published, {c: int(v) for c, v in truth.items() if v is not None}


def _hidden_villages(published: dict[str, int | None]) -> set[str]:
    return {c for c, v in published.items() if v is None and len(c) == 13}


def test_tiles_show_and_hide_the_same_cells(small: tuple[str, str], planner_view: tuple[dict, dict]) -> None:
    server, url = small
    published, truth = planner_view
    seen: dict[str, Any] = {}
    for row in fetch(url, "SELECT DISTINCT ST_X(label_point) AS x, ST_Y(label_point) AS y FROM district"):
        for layer, z in (("villages", 9), ("districts", 8), ("regencies", 8), ("provinces", 8)):
            x, y = tile_of(row["x"], row["y"], z)
            response = fetch_tile(server, f"/tiles/{layer}/{z}/{x}/{y}.mvt", token("planner"))
            assert response.status_code == 200
            for f in mapbox_vector_tile.decode(response.content)[layer]["features"]:
                seen[f["properties"]["code"]] = f["properties"]
    hidden = _hidden_villages(published)
    assert hidden <= set(seen) and len(seen) > len(hidden)
    for code, p in seen.items():
        assert p.get("active_enrollments") == published[code], code  # ST_AsMVT leaves a null out
        if published[code] is None:
            assert "penetration" not in p and p.get("coverage_class", "suppressed") in ("suppressed", "not_reached", "no_estimate")


def test_ogc_features_show_and_hide_the_same_cells(small: tuple[str, str], planner_view: tuple[dict, dict]) -> None:
    server, _ = small
    published, _ = planner_view
    villages = {f["properties"]["code"]: f["properties"] for f in every_feature(server, "villages", "planner", limit=1000)}
    assert _hidden_villages(published) <= set(villages)
    for code, p in villages.items():
        assert p["active_enrollments"] == published[code], code
        if published[code] is None:
            assert p["penetration"] is None and p["coverage_class"] in ("suppressed", "not_reached", "no_estimate")
    for regency in [c for c in published if len(c) == 5]:
        for f in every_feature(server, "gaps", "planner", regionCode=regency):
            p = f["properties"]
            assert p["active_enrollments"] == published[p["code"]], p["code"]
            if published[p["code"]] is None:
                assert p["uncovered_workers"] is None and "LOW_PENETRATION" not in p["reasons"]


@pytest.mark.parametrize("kind", ["villages", "gaps"])
def test_exports_show_and_hide_the_same_cells(small: tuple[str, str], planner_view: tuple[dict, dict], kind: str,
                                              tmp_path: Any) -> None:
    server, _ = small
    published, _ = planner_view
    rows = rows_of(download(server, kind, "csv", region=None).content, "csv", tmp_path)
    assert rows
    for row in rows:
        value = row["active_enrollments"]
        assert (None if value == "" else int(value)) == published[row["code"]], row["code"]
    if kind == "villages":
        assert _hidden_villages(published) <= {r["code"] for r in rows}


def test_maps_show_and_hide_the_same_cells(small: tuple[str, str], planner_view: tuple[dict, dict]) -> None:
    server, _ = small
    published, _ = planner_view
    not_shown = "not shown (small count)"
    districts = {c[:8] for c in _hidden_villages(published)}
    for district in sorted(districts):
        response = httpx.get(f"{server}/maps/districts/{district}", params={"lang": "en"},
                             headers={"authorization": f"Bearer {token('planner')}"}, timeout=60)
        assert response.status_code == 200
        villages = {f["properties"]["code"]: f["properties"] for f in page_features(response.text, Level.VILLAGE)}
        assert villages
        for code, p in villages.items():
            expected = not_shown if published[code] is None else str(published[code])
            assert p["enrolled"] == expected, code
            if published[code] is None:
                assert p["penetration"] == not_shown
    for regency in [c for c in published if len(c) == 5]:
        response = httpx.get(f"{server}/maps/regencies/{regency}", params={"lang": "en"},
                             headers={"authorization": f"Bearer {token('planner')}"}, timeout=60)
        assert response.status_code == 200
        for f in page_features(response.text, Level.DISTRICT):
            p = f["properties"]
            assert (p["not_enrolled"] == not_shown) is (published[p["code"]] is None), p["code"]


@pytest.mark.parametrize("threshold", [
    "penetrationBelow: 0.0", "penetrationBelow: 0.02", "penetrationBelow: 0.2", "penetrationBelow: 1.0",
    "minUncoveredWorkers: 0", "minUncoveredWorkers: 50", "minUncoveredWorkers: 100000",
])
def test_gap_thresholds_cannot_be_moved_to_find_a_hidden_count(small: tuple[str, str], planner_view: tuple[dict, dict],
                                                               threshold: str) -> None:
    """A hidden village is listed (as ENROLLMENTS_SUPPRESSED) whatever the thresholds: were it listed
    only below them, moving penetrationBelow or minUncoveredWorkers would bisect its count."""
    server, url = small
    published, _ = planner_view
    workers = {r["code"]: r["informal_workers"] for r in fetch(url, "SELECT code, informal_workers FROM village")}
    hidden = {c for c in _hidden_villages(published) if workers[c] is not None}
    listed: dict[str, dict[str, Any]] = {}
    for regency in [c for c in published if len(c) == 5]:
        gaps = data(server, f"""{{ coverageGaps(regionCode: "{regency}", kind: UNDERPENETRATED, {threshold}, first: 500) {{
            edges {{ node {{ reasons coverage {{ activeEnrollments penetration uncoveredWorkers enrollmentsSuppressed
            village {{ code }} }} }} }} }} }}""", auth="planner")["coverageGaps"]["edges"]
        listed |= {g["node"]["coverage"]["village"]["code"]: g["node"] for g in gaps}
    assert hidden and hidden <= set(listed)
    for code in hidden:
        node = listed[code]
        assert "ENROLLMENTS_SUPPRESSED" in node["reasons"] and "LOW_PENETRATION" not in node["reasons"]
        assert node["coverage"]["enrollmentsSuppressed"] and node["coverage"]["activeEnrollments"] is None
        assert node["coverage"]["penetration"] is None and node["coverage"]["uncoveredWorkers"] is None


SITES = """query($r: String!) { recommendAgentSites(regionCode: $r, count: 200, reachM: 100) {
    villageCode newlyReachedWorkers newlyReachedVillages } }"""


def test_site_gains_do_not_give_a_hidden_count_back(small: tuple[str, str], planner_view: tuple[dict, dict]) -> None:
    """A site's gain is the uncovered workers it newly reaches; with a reach of 100 m a site takes in
    its own village alone, and workers − gain would be the count. A hidden village weighs its
    informal workers instead (for planners; admins get workers − enrollments)."""
    server, url = small
    published, truth = planner_view
    unreached = {r["code"]: r["informal_workers"] for r in fetch(url, """SELECT v.code, v.informal_workers FROM village v
        WHERE v.informal_workers > 0 AND NOT EXISTS (SELECT FROM agent_reach r JOIN agent a ON a.id = r.agent_id
                                                     WHERE r.village_code = v.code AND a.status = 'active')""")}
    targets = {c for c in _hidden_villages(published) if c in unreached and truth[c] > 0}
    assert targets, "the test data has no unreached village with a hidden count"
    checked = 0
    for district in sorted({c[:8] for c in targets}):
        planner = {s["villageCode"]: s for s in data(server, SITES, {"r": district}, auth="planner")["recommendAgentSites"]}
        admin = {s["villageCode"]: s for s in data(server, SITES, {"r": district}, auth="admin")["recommendAgentSites"]}
        for code in targets & set(planner) & set(admin):
            if planner[code]["newlyReachedVillages"] == admin[code]["newlyReachedVillages"] == 1:
                assert admin[code]["newlyReachedWorkers"] == unreached[code] - truth[code]
                assert planner[code]["newlyReachedWorkers"] == unreached[code]
                checked += 1
    assert checked


ROWS = """query($r: String!) { villages(filter: {regionCode: $r}, first: 500) { edges { node { code
    enrollments(filter: {status: ACTIVE}, first: 1) { totalCount } } } }
    enrollments(filter: {regionCode: $r, status: ACTIVE}, first: 1) { totalCount } }"""


def test_enrollment_rows_cannot_be_counted_where_the_count_is_hidden(small: tuple[str, str],
                                                                      planner_view: tuple[dict, dict]) -> None:
    """Planners may list enrollments (without personal fields), so listing them must not count what
    is hidden: a village whose count is suppressed lists no rows to them (admins get them all)."""
    server, _ = small
    published, truth = planner_view
    for regency in [c for c in published if len(c) == 5]:
        for role in ("planner", "admin"):
            got = data(server, ROWS, {"r": regency}, auth=role)
            per_village = {e["node"]["code"]: e["node"]["enrollments"]["totalCount"] for e in got["villages"]["edges"]}
            expected = {c: truth.get(c, 0) if role == "admin" else (published[c] or 0) for c in per_village}
            assert per_village == expected, (regency, role)
            assert got["enrollments"]["totalCount"] == sum(expected.values())


SCENARIO = """mutation($r: String!) { createScenarioFromSites(input: {name: "small counts", regionCode: $r, count: 2}) {
    coverage { code activeEnrollments enrollmentsSuppressed children { code activeEnrollments penetration enrollmentsSuppressed } }
    coverageGaps(kind: UNDERPENETRATED, penetrationBelow: 0.0, first: 500) { edges { node { reasons
        coverage { activeEnrollments enrollmentsSuppressed village { code } } } } } } }"""


def test_scenarios_hide_the_same_cells(small: tuple[str, str], planner_view: tuple[dict, dict]) -> None:
    """A scenario moves agents, not enrollments: under it a planner gets the same figures, hidden alike."""
    server, _ = small
    published, _ = planner_view
    regency = next(c[:5] for c in sorted(_hidden_villages(published)))
    scenario = data(server, SCENARIO, {"r": regency}, auth="planner")["createScenarioFromSites"]
    figures = scenario["coverage"]
    for cell in (figures, *figures["children"]):
        assert cell["activeEnrollments"] == published[cell["code"]] and cell["enrollmentsSuppressed"] is (published[cell["code"]] is None)
    listed = {e["node"]["coverage"]["village"]["code"]: e["node"] for e in scenario["coverageGaps"]["edges"]}
    hidden = {c for c in _hidden_villages(published) if c.startswith(regency + ".")}
    assert hidden and hidden <= set(listed)  # listed whatever the threshold (0: nothing is below it)
    assert all(listed[c]["coverage"]["activeEnrollments"] is None and "ENROLLMENTS_SUPPRESSED" in listed[c]["reasons"]
               for c in hidden)


AGENTS = """query($d: Int!) { agents(first: 500) { edges { node { code observedReachM(withinDays: $d)
    enrolledVillages(withinDays: $d) { code } } } } }"""


@pytest.mark.parametrize("days", [30, 365])
def test_observed_reach_rests_on_k_enrollments_and_lists_no_hidden_village(small: tuple[str, str],
                                                                           planner_view: tuple[dict, dict], days: int) -> None:
    """An agent's observed reach is a radius around the points of the people it enrolled: around one
    to four of them it says where they live, so planners get it only from k enrollments up; and the
    villages it enrolled in leave out those whose counts are hidden."""
    server, url = small
    published, _ = planner_view
    recorded = {r["code"]: r["n"] for r in fetch(url, """SELECT a.code, count(e.id) AS n FROM agent a
        LEFT JOIN enrollment e ON e.agent_id = a.id AND e.enrolled_on > current_date - $1::integer
                                  AND e.enrolled_on <= current_date GROUP BY a.code""", days)}
    admin = {e["node"]["code"]: e["node"] for e in data(server, AGENTS, {"d": days}, auth="admin")["agents"]["edges"]}
    planner = {e["node"]["code"]: e["node"] for e in data(server, AGENTS, {"d": days}, auth="planner")["agents"]["edges"]}
    assert set(planner) == set(admin) == set(recorded)
    assert any(0 < n < K for n in recorded.values()) and any(n >= K for n in recorded.values())
    hidden = {v for v, count in published.items() if count is None}
    assert any(v["code"] in hidden for a in admin.values() for v in a["enrolledVillages"])
    for code, n in recorded.items():
        assert (admin[code]["observedReachM"] is None) is (n == 0), code
        assert planner[code]["observedReachM"] == (admin[code]["observedReachM"] if n >= K else None), code
        assert [v["code"] for v in planner[code]["enrolledVillages"]] == \
            [v["code"] for v in admin[code]["enrolledVillages"] if v["code"] not in hidden], code
