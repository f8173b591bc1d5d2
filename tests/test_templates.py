"""Compiled statements reused across requests (compiler/templates.py).

A reused statement must be exactly what compiling the request afresh gives: the same text, the same
parameters and the same deferred errors. The first tests check that on generated sequences of
requests, each compared with a fresh compilation (no database needed: compiling reads none); the
rest go through HTTP: answers for each value match SQL written here, refusals name the request's
own value, and the server's counter shows the statements were in fact reused.
"""

from __future__ import annotations

from typing import Any

import httpx
import shapely
from graphql import DocumentNode, GraphQLError, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.execute import compile_operation
from compiler.plan import plan_operation
from compiler.sql import Deferred
from compiler.templates import MAX_KEPT_VARIABLE_BYTES, Templates, same
from db.access import Role, Viewer
from schema import schema as api_schema
from tests.conftest import fetch, token
from tests.test_admitted import admitted_count

SCHEMA = api_schema._schema

DISTRICT = """query D($code: String!, $n: Int = 3, $name: String, $withName: Boolean = true) {
  district(code: $code) { __typename code name @include(if: $withName)
    villages(first: $n, filter: {nameContains: $name}) { totalCount
      edges { node { code geometry(precision: 6) agentsInReach(first: 5) { edges { node { name reachM } } } } } } } }"""
# The same variable bound at two levels: a district code is refused by village(code).
TWO_LEVELS = """query T($code: String!) { district(code: $code) { code } village(code: $code) { code name } }"""
EVERY_LEVEL = """query L($p: String!, $r: String!, $v: String!, $skip: Boolean!) {
  province(code: $p) { code regencies(first: 2) { edges { node { code } } } }
  regency(code: $r) @skip(if: $skip) { code name }
  village(code: $v) { code coverage { covered agentCount } } }"""
AGENT = """query A($code: String) { agent(code: $code) { code name } }"""
# A region's level shapes these statements; its code is a parameter. Null is all of Indonesia.
ANALYSES = """query G($r: String, $kind: GapKind = ALL) {
  coverageGaps(regionCode: $r, kind: $kind, first: 3) { edges { node { reasons village { code } } } }
  coverage(regionCode: $r) { informalWorkers children { code } }
  coverageTrend(regionCode: $r) { asOf } }"""
# Lists' filters: written around variables (a box of four), or as one variable of every condition.
LISTS = """query B($x0: Float!, $y0: Float!, $x1: Float!, $y1: Float!, $r: String, $e: EnrollmentFilter, $a: AgentFilter) {
  villages(filter: {bbox: [$x0, $y0, $x1, $y1], regionCode: $r}, first: 5) { edges { node { code } } }
  enrollments(filter: $e, first: 2) { totalCount edges { distanceM node { status } } }
  agents(filter: $a, first: 2) { edges { distanceM node { code } } } }"""
DOCUMENTS = {name: parse(text) for name, text in
             (("district", DISTRICT), ("two_levels", TWO_LEVELS), ("every_level", EVERY_LEVEL), ("agent", AGENT),
              ("analyses", ANALYSES), ("lists", LISTS))}

VIEWERS = [Viewer("admin", Role.ADMIN), Viewer("planner", Role.PLANNER), Viewer("m", Role.MANAGER, ("99.01",)),
           Viewer("a", Role.AGENT, agent_code="AG-000001")]

# Codes of every level, the wrong level, malformed ones, and text a client may send by mistake.
codes = st.one_of(
    st.sampled_from(["99", "99.01", "99.02", "99.01.01", "99.01.02", "99.02.03", "99.01.01.2001", "99.01.02.1003",
                     "34.71.01", " 99.01.01 ", "99.01.01.", "9", "99.1.01", "", "x", "99.01.01\u0661"]),
    st.text(max_size=12))
coordinates = st.one_of(st.sampled_from([110.0, 110.5, 111.0, -8.0, -7.5, -7.0, 0.0]), st.floats(-200, 200),
                        st.floats(allow_nan=True, allow_infinity=True))
polygon = {"type": "Polygon", "coordinates": [[[110, -8], [111, -8], [111, -7], [110, -8]]]}
filters = st.fixed_dictionaries({}, optional={
    "regionCode": st.one_of(st.none(), codes),
    "nameContains": st.one_of(st.none(), st.sampled_from(["a", "%_\\", " ", ""])),
    "status": st.one_of(st.none(), st.sampled_from(["ACTIVE", "LAPSED", "INACTIVE"])),  # not every one fits both
    "bbox": st.one_of(st.none(), st.lists(coordinates, min_size=3, max_size=5)),
    "intersects": st.one_of(st.none(), st.sampled_from([polygon, {"type": "Polygon", "coordinates": []}, "x"])),
    "near": st.one_of(st.none(), st.fixed_dictionaries({"lng": coordinates, "lat": coordinates,
                                                       "radiusM": st.sampled_from([-1.0, 0.0, 500.0, 5e4, 1e9])})),
})
variables = {
    "district": st.fixed_dictionaries({"code": codes}, optional={
        "n": st.integers(-2, 4), "name": st.one_of(st.none(), st.sampled_from(["a", "%", "Desa"])),
        "withName": st.booleans()}),
    "two_levels": st.fixed_dictionaries({"code": codes}),
    "every_level": st.fixed_dictionaries({"p": codes, "r": codes, "v": codes, "skip": st.booleans()}),
    "analyses": st.fixed_dictionaries({}, optional={"r": st.one_of(st.none(), codes),
                                                    "kind": st.sampled_from(["ALL", "UNREACHED", "UNDERPENETRATED"])}),
    "agent": st.fixed_dictionaries({}, optional={"code": st.one_of(st.none(), st.sampled_from(["AG-000001", "AG-000002", "nope"]))}),
    "lists": st.fixed_dictionaries({"x0": coordinates, "y0": coordinates, "x1": coordinates, "y1": coordinates}, optional={
        "r": st.one_of(st.none(), codes), "e": st.one_of(st.none(), filters), "a": st.one_of(st.none(), filters)}),
}


def described(deferred: list[Deferred]) -> list[tuple[Any, ...]]:
    """What each deferred value reports, comparable between two compilations."""
    out: list[tuple[Any, ...]] = []
    for d in deferred:
        if d.error is not None:
            out.append(("error", type(d.error).__name__, str(d.error), d.error.field))
        elif d.error_of is not None:
            made = d.error_of("given")
            out.append(("error_of", type(made).__name__, str(made), made.field))
        else:
            out.append(("compute",))
    return out


def afresh(document: DocumentNode, values: dict[str, Any], viewer: Viewer) -> tuple[Any, ...]:
    try:
        sql, b = compile_operation(plan_operation(SCHEMA, document, None, values), viewer)
    except GraphQLError as error:
        return ("refused", error.message)
    statement, params = b.params.finish(sql)
    return statement, params, described(b.deferred)


def through(templates: Templates, document: DocumentNode, values: dict[str, Any], viewer: Viewer) -> tuple[Any, ...]:
    try:
        statement = templates.statement(SCHEMA, document, None, values, viewer)
    except GraphQLError as error:
        return ("refused", error.message)
    assert statement is not None
    return statement.sql, statement.values, described(statement.deferred)


@st.composite
def requests(draw: st.DrawFn) -> list[tuple[str, dict[str, Any], Viewer]]:
    return draw(st.lists(st.sampled_from(list(DOCUMENTS)).flatmap(
        lambda name: st.tuples(st.just(name), variables[name], st.sampled_from(VIEWERS))), min_size=1, max_size=12))


@settings(max_examples=300, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_a_reused_statement_is_the_statement_compiled_afresh(sequence: list[tuple[str, dict[str, Any], Viewer]]) -> None:
    templates = Templates(documents=3, variants=2)  # small, so that generated sequences also evict
    for name, values, viewer in sequence:
        expected = afresh(DOCUMENTS[name], values, viewer)
        got = through(templates, DOCUMENTS[name], values, viewer)
        assert got[0] == expected[0], (name, values, viewer)
        assert got[1:] == expected[1:] and same(list(got[1]), list(expected[1])), (name, values, viewer)


def test_a_district_page_compiles_once_for_every_district() -> None:
    templates = Templates()
    document, viewer = DOCUMENTS["district"], VIEWERS[0]
    first = through(templates, document, {"code": "99.01.01"}, viewer)
    for code in ("99.01.02", "99.02.03", " 99.02.01 "):
        again = templates.find(document, None, viewer, {"code": code, "n": 3, "withName": True})
        assert again is not None, code  # reused: the code is a parameter, not part of the text
        assert again.sql == first[0] and code.strip() in again.values
    # A value the statement's text depends on (a page size, a directive) is compiled anew …
    assert templates.find(document, None, viewer, {"code": "99.01.01", "n": 4, "withName": True}) is None
    assert templates.find(document, None, viewer, {"code": "99.01.01", "n": 3, "withName": False}) is None
    # … and so is a code its check refuses, so that the error is reported where it belongs.
    assert templates.find(document, None, viewer, {"code": "99.01", "n": 3, "withName": True}) is None
    # Another caller, another template: scopes are part of the statement.
    assert templates.find(document, None, VIEWERS[2], {"code": "99.01.02", "n": 3, "withName": True}) is None


def test_a_box_s_page_compiles_once_for_every_box() -> None:
    templates, document, viewer = Templates(), DOCUMENTS["lists"], VIEWERS[1]
    box = {"x0": 110.0, "y0": -8.0, "x1": 110.5, "y1": -7.5}
    first = through(templates, document, box, viewer)
    for x0, y0, x1, y1 in ((110.1, -7.9, 110.2, -7.8), (95.0, -11.0, 141.0, 6.0)):
        again = templates.find(document, None, viewer, {"x0": x0, "y0": y0, "x1": x1, "y1": y1})
        assert again is not None and again.sql == first[0]
        assert again.values[:4] == [x0, y0, x1, y1]  # the box is the statement's first parameters
    # A box the check refuses, another set of conditions: compiled anew.
    assert templates.find(document, None, viewer, {"x0": 111.0, "y0": -8.0, "x1": 110.0, "y1": -7.0}) is None
    assert templates.find(document, None, viewer, {**box, "r": "99.01"}) is None
    assert templates.find(document, None, viewer, {**box, "a": {"regionCode": "99.01"}}) is None


def test_a_request_with_large_variables_is_compiled_every_time() -> None:
    # Templates keep their variables: a worker must not hold 500 × 4 request bodies of 4 MB.
    templates, document, viewer = Templates(), DOCUMENTS["two_levels"], VIEWERS[0]
    for code in ("99.01.01", "9" * (MAX_KEPT_VARIABLE_BYTES + 1)):
        through(templates, document, {"code": code}, viewer)
        assert (templates.find(document, None, viewer, {"code": code}) is None) == (len(code) > MAX_KEPT_VARIABLE_BYTES)


def test_values_that_look_equal_in_python_are_not_the_same() -> None:
    assert not same(1, True) and not same(1, 1.0) and not same([1], [True]) and not same({"a": 0}, {"a": False})
    assert same({"a": [1, "x"]}, {"a": [1, "x"]})


# --- through HTTP -----------------------------------------------------------------------------------

def reused(server: str) -> float:
    return admitted_count(server, 'perisai_graphql_compiled_queries_total{how="reused"}')


def ask(server: str, query: str, variables: dict[str, Any], auth: str) -> dict[str, Any]:
    response = httpx.post(f"{server}/graphql", json={"query": query, "variables": variables},
                          headers={"authorization": f"Bearer {auth}"}, timeout=60)
    assert response.status_code == 200, response.text
    return dict(response.json())


PAGE = """query Page($code: String!) { district(code: $code) { code name
  villages(first: 100) { edges { node { code name informalWorkers } } } } }"""


def test_every_district_page_is_its_own_district_through_one_reused_statement(shared_demo_db: str, server: str) -> None:
    districts = fetch(shared_demo_db, "SELECT code, name FROM district ORDER BY code")
    assert len(districts) > 3
    before = reused(server)
    for d in districts:
        villages = fetch(shared_demo_db, "SELECT code, name, informal_workers FROM village "
                                         "WHERE code LIKE $1 || '.%' ORDER BY code", d["code"])
        body = ask(server, PAGE, {"code": d["code"]}, token("admin"))
        assert "errors" not in body, body
        got = body["data"]["district"]
        assert (got["code"], got["name"]) == (d["code"], d["name"])
        assert [(e["node"]["code"], e["node"]["name"], e["node"]["informalWorkers"]) for e in got["villages"]["edges"]] \
            == [(v["code"], v["name"], v["informal_workers"]) for v in villages]
    # At most one compilation for the page, on this server's one worker (the first request).
    assert reused(server) - before >= len(districts) - 1


def test_refusals_name_each_request_s_own_value_between_reused_answers(shared_demo_db: str, server: str) -> None:
    real = fetch(shared_demo_db, "SELECT code FROM district ORDER BY code LIMIT 1")[0]["code"]
    for code, expected in ((real, None), ("99.98.97", "NOT_FOUND"), (real, None), ("99.98.96", "NOT_FOUND"),
                           ("99.01", "BAD_USER_INPUT"), ("not a code", "BAD_USER_INPUT"), (real, None)):
        body = ask(server, PAGE, {"code": code}, token("admin"))
        if expected is None:
            assert "errors" not in body and body["data"]["district"]["code"] == real
            continue
        (error,) = body["errors"]
        assert error["extensions"]["code"] == expected and error["path"] == ["district"], body
        assert code in error["message"], error  # this request's code, not an earlier one's
        assert body["data"] == {"district": None}


def test_a_manager_reuses_nothing_of_an_admin_s_statement(shared_demo_db: str, server: str) -> None:
    inside = fetch(shared_demo_db, "SELECT code FROM district WHERE code LIKE '99.01.%' ORDER BY code LIMIT 1")[0]["code"]
    outside = fetch(shared_demo_db, "SELECT code FROM district WHERE code NOT LIKE '99.01.%' ORDER BY code LIMIT 1")[0]["code"]
    manager = token("manager", "99.01")
    for code in (inside, outside, inside, outside):
        admin_body, manager_body = ask(server, PAGE, {"code": code}, token("admin")), ask(server, PAGE, {"code": code}, manager)
        assert admin_body["data"]["district"]["code"] == code
        if code == inside:
            assert manager_body == admin_body
        else:
            assert manager_body["data"] == {"district": None}
            assert [e["extensions"]["code"] for e in manager_body["errors"]] == ["NOT_FOUND"]


def test_a_statement_with_a_map_link_is_never_reused(server: str) -> None:
    query = """query M($code: String!) { district(code: $code) { code mapUrl } }"""
    before = reused(server)
    links = [ask(server, query, {"code": "99.01.01"}, token("admin"))["data"]["district"]["mapUrl"] for _ in range(3)]
    assert all(link and "token=" in link for link in links)
    assert reused(server) == before


def test_a_region_s_analyses_refuse_each_request_s_own_code_between_reused_answers(shared_demo_db: str, server: str) -> None:
    query = """query G($r: String) { coverageGaps(regionCode: $r, first: 2) { edges { node { village { code } } } } }"""
    one, other = (r["code"] for r in fetch(shared_demo_db, "SELECT code FROM district ORDER BY code LIMIT 2"))
    for code, expected in ((one, None), ("99.01.98", "NOT_FOUND"), (other, None), ("99.01.97", "NOT_FOUND"),
                           ("99.01.01.2001", "BAD_USER_INPUT"), (None, None), (one, None)):
        body = ask(server, query, {"r": code}, token("planner"))
        if expected is None:
            assert "errors" not in body, body
            villages = [e["node"]["village"]["code"] for e in body["data"]["coverageGaps"]["edges"]]
            assert code is None or all(v.startswith(code + ".") for v in villages), (code, villages)
            continue
        (error,) = body["errors"]
        assert error["extensions"]["code"] == expected and error["path"] == ["coverageGaps"], body
        assert expected != "NOT_FOUND" or code in error["message"], error
    manager = token("manager", one)
    refused = ask(server, query, {"r": other}, manager)
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"] and other in refused["errors"][0]["message"]
    assert "errors" not in ask(server, query, {"r": one}, manager)


BOX = """query Box($x0: Float!, $y0: Float!, $x1: Float!, $y1: Float!) {
  villages(filter: {bbox: [$x0, $y0, $x1, $y1]}, first: 500) { edges { node { code } } } }"""


def test_every_box_s_villages_through_one_reused_statement(shared_demo_db: str, server: str) -> None:
    # Boxes around each district, as a map client sends them: its own villages must come back, and
    # for a manager only those in its scope (a statement of its own, reused from box to box).
    districts = fetch(shared_demo_db, "SELECT code, ST_XMin(geom) x0, ST_YMin(geom) y0, ST_XMax(geom) x1, "
                                      "ST_YMax(geom) y1 FROM district ORDER BY code")
    shapes = [(v["code"], shapely.from_wkb(v["wkb"]))
              for v in fetch(shared_demo_db, "SELECT code, ST_AsBinary(geom) AS wkb FROM village ORDER BY code")]
    callers = (("planner", token("planner"), ""), ("manager", token("manager", "99.01"), "99.01."))
    before = reused(server)
    for role, auth, scope in callers:
        for d in districts:
            box = {k: float(d[k]) for k in ("x0", "y0", "x1", "y1")}
            envelope = shapely.box(box["x0"], box["y0"], box["x1"], box["y1"])
            expected = [code for code, shape in shapes if code.startswith(scope) and shape.intersects(envelope)]
            body = ask(server, BOX, box, auth)
            assert "errors" not in body, body
            got = [e["node"]["code"] for e in body["data"]["villages"]["edges"]]
            assert got == expected[:500], (role, d["code"])
            assert any(code.startswith(d["code"] + ".") for code in got) == d["code"].startswith(scope), (role, d["code"])
    assert reused(server) - before >= len(callers) * (len(districts) - 1)
    refused = ask(server, BOX, {"x0": 111.0, "y0": -8.0, "x1": 110.0, "y1": -7.0}, token("planner"))
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in refused["errors"]] == [("BAD_USER_INPUT", "filter.bbox")]
    assert "minLng must be below maxLng" in refused["errors"][0]["message"]
