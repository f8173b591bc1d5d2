"""The README's examples run as written against the default demo (400 villages, seed 7)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from embedded.cluster import EmbeddedCluster
from tests.conftest import _clone, data, load_demo, running_server, token
from tests.test_api_subscriptions import next_payload, subscription

README = Path(__file__).resolve().parents[1] / "README.md"


def examples() -> list[tuple[str, str]]:
    """(token spec, query) of every ```graphql block; the first line is `# as: role [scope]`."""
    blocks = re.findall(r"```graphql\n(.*?)```", README.read_text(), flags=re.S)
    return [(re.match(r"# as: (.+)\n", b).group(1), b) for b in blocks]  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def default_demo(cluster: EmbeddedCluster, templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    for url in _clone(cluster, templates["empty"]):
        load_demo(url, villages=400, seed=7)  # what `perisai demo` loads
        with running_server(url, tmp_path_factory.mktemp("readme")) as server:
            yield server


def test_the_examples_are_all_there() -> None:
    assert [spec.split()[0] for spec, _ in examples()] == ["admin", "planner", "manager", "planner", "planner", "planner", "planner",
                                                           "manager", "planner", "manager", "planner", "admin", "manager"]


@pytest.mark.parametrize("spec, query", examples(), ids=lambda v: v.split()[0] if len(v) < 40 else "")
def test_readme_example_runs_and_finds_rows(default_demo: str, spec: str, query: str) -> None:
    role, *scope = spec.split()
    if query.split("\n", 1)[1].lstrip().startswith("subscription"):  # over graphql-transport-ws: accepted, no error
        with subscription(default_demo, query.split("\n", 1)[1], token(role, *scope)) as ws:
            assert next_payload(ws, timeout=2) is None
        return
    if "coverageChanges" in query:  # as its text says: after a month-end snapshot
        data(default_demo, 'mutation { takeSnapshot(asOf: "2026-10-31", replace: true) { asOf } }', auth=token("planner"))
    result = data(default_demo, query, auth=token(role, *scope))
    if "coverageChanges" in result:  # nothing changed since: no village; a trend point per snapshot
        assert result["coverageChanges"]["totalCount"] == 0 and len(result["coverageTrend"]) >= 1, result
        return
    if "syncEnrollments" in result:  # the batch example: as its text says, one saved, one refused
        sync = result["syncEnrollments"]
        assert (sync["created"], sync["rejected"]) == (1, 1), sync
        assert sync["results"][1]["field"] == "nik", sync
        return
    if "takeSnapshot" in result:  # the whole country, once
        assert result["takeSnapshot"]["villages"] > 0 and result["takeSnapshot"]["agents"] > 0, result
        return
    if "createScenarioFromSites" in result:  # the sites reach villages no agent reaches today
        made = result["createScenarioFromSites"]
        assert len(made["changes"]) == 3 and made["delta"]["newlyReachedVillages"] > 0, made
        return
    if "dataQuality" in result:  # no totalCount there: the demo's queue must not be empty
        assert result["dataQuality"]["edges"], result
        return
    lists = re.findall(r'"totalCount": (\d+)', str(result).replace("'", '"'))
    assert lists and int(lists[0]) > 0, result


def test_curl_example_village_exists(default_demo: str) -> None:
    curl = re.search(r'village\(code: \\"([\d.]+)\\"\)', README.read_text())
    assert curl is not None
    village = data(default_demo, "query($c: String!) { village(code: $c) { name geometry } }", {"c": curl.group(1)})
    assert village["village"]["name"] == "Kalimulya" and village["village"]["geometry"]
