"""The map of a scenario, as a manager sees it in headless Chromium: every village painted in the
class of what the scenario changes (from the API's delta and today's coverage, not from the map
code), added and moved agents drawn, both languages, a hostile name shown as text, scoped."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from db.regions import Level
from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, data, fetch, running_server, token
from tests.test_maps_browser import CHROMIUM, browser  # noqa: F401 - the browser fixture
from tests.test_maps_pixels import _open, check_colours

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (apt-get install chromium)")

# The documented classes (README "Reading the maps"), written out independently of maps/scenario.py.
GAINED, KEPT, LOST, NEVER = "#1a9641", "#d9ef8b", "#d7191c", "#fee08b"
HOSTILE = "<img src=x onerror=\"document.title='owned'\">`${alert(1)}`"
CREATE = """mutation($input: ScenarioInput!) { createScenario(input: $input) { id
    delta { villages { code reached } } } }"""


@pytest.fixture(scope="module")
def scenario_server(cluster: EmbeddedCluster, templates: dict[str, str],
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    for url in _clone(cluster, templates["demo"]):
        with running_server(url, tmp_path_factory.mktemp("scenario-maps")) as server:
            yield url, server


def _scenario(url: str, server: str, district: str) -> tuple[str, dict[str, Any]]:
    """A scenario over a district that adds an agent at an unreached village and stops the only agent of another."""
    unreached = fetch(url, """SELECT ST_X(label_point) x, ST_Y(label_point) y FROM village v WHERE district_code = $1
        AND NOT EXISTS (SELECT 1 FROM agent_reach r JOIN agent a ON a.id = r.agent_id WHERE r.village_code = v.code
                        AND a.status = 'active') ORDER BY code LIMIT 1""", district)[0]
    sole = fetch(url, """SELECT a.code FROM agent a JOIN agent_reach r ON r.agent_id = a.id WHERE a.status = 'active'
        AND r.village_code LIKE $1 || '.%' AND a.home_village_code LIKE left($1, 5) || '.%' AND NOT EXISTS (SELECT 1 FROM agent_reach o JOIN agent b ON b.id = o.agent_id
            WHERE o.village_code = r.village_code AND b.status = 'active' AND b.id <> a.id) ORDER BY a.code LIMIT 1""",
                 district)[0]["code"]
    changes = [{"kind": "ADD_AGENT", "location": {"lng": unreached["x"], "lat": unreached["y"]}, "reachM": 3000},
               {"kind": "DEACTIVATE_AGENT", "agentCode": sole}]
    made = data(server, CREATE, {"input": {"name": HOSTILE, "regionCode": district, "changes": changes}},
                auth=token("manager", district[:5]))["createScenario"]
    return base64.b64decode(made["id"]).decode().split(":")[1], made["delta"]


def _district(url: str) -> str:
    """A district with both reached and unreached villages, and an agent that is the only one of some village."""
    return str(fetch(url, """SELECT v.district_code AS d FROM village v GROUP BY 1
        HAVING bool_or(NOT EXISTS (SELECT 1 FROM agent_reach r JOIN agent a ON a.id = r.agent_id
                                   WHERE r.village_code = v.code AND a.status = 'active'))
           AND count(*) FILTER (WHERE (SELECT count(*) FROM agent_reach r JOIN agent a ON a.id = r.agent_id
                                       WHERE r.village_code = v.code AND a.status = 'active'
                                         AND a.home_village_code LIKE left(v.code, 5) || '.%') = 1
                                  AND (SELECT count(*) FROM agent_reach r JOIN agent a ON a.id = r.agent_id
                                       WHERE r.village_code = v.code AND a.status = 'active') = 1) > 0
        ORDER BY count(*) DESC, 1 LIMIT 1""")[0]["d"])


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_scenario_map_paints_each_village_by_what_the_scenario_changes(
        browser: Any, scenario_server: tuple[str, str], lang: str) -> None:  # noqa: F811
    url, server = scenario_server
    district = _district(url)
    number, delta = _scenario(url, server, district)
    changed = {v["code"]: GAINED if v["reached"] else LOST for v in delta["villages"]}
    assert GAINED in changed.values() and LOST in changed.values(), "the scenario must gain and lose villages"
    today = data(server, f'{{ district(code: "{district}") {{ villages(first: 100) {{ edges {{ node {{ code '
                         f'coverage {{ covered }} }} }} }} }} }}')["district"]["villages"]["edges"]
    expected = {e["node"]["code"]: changed.get(e["node"]["code"], KEPT if e["node"]["coverage"]["covered"] else NEVER)
                for e in today}
    page, html = _open(browser, server, f"/maps/scenarios/{number}", lang, f"scenario-{number}")
    try:
        assert page.title() != "owned" and "<img" in page.title()  # the name is text, never markup
        assert page.locator("#map-title h1").inner_text() == HOSTILE
        assert page.locator("path.scenario-agent").count() == 2  # the added agent and the stopped one
        legend = page.locator("#map-legend").inner_text()
        assert ("Newly reached" in legend) if lang == "en" else ("Baru terjangkau" in legend)
        assert check_colours(page, html, Level.VILLAGE, expected) >= 0.8 * len(expected)
    finally:
        page.context.close()


def test_the_scenario_map_is_scoped_and_refuses_what_is_not_a_scenario(scenario_server: tuple[str, str]) -> None:
    url, server = scenario_server
    number, _ = _scenario(url, server, _district(url))

    def status(path: str, bearer: str) -> tuple[int, str]:
        response = httpx.get(f"{server}{path}?lang=en", headers={"authorization": f"Bearer {bearer}"}, timeout=60)
        return response.status_code, response.text

    assert status(f"/maps/scenarios/{number}", token("planner"))[0] == 200
    code, page = status(f"/maps/scenarios/{number}", token("manager", "11.01"))
    assert code == 404 and "no scenario" in page
    assert status(f"/maps/scenarios/{number}", token("agent", agent="AG-000001"))[0] == 404
    for bad in ("abc", "1e3", "٣", "99999999999999999999999"):
        assert status(f"/maps/scenarios/{bad}", token("planner"))[0] == 404
