"""A manager's scope of many codes is written compactly (db/access.MANY_SCOPE_CODES); whatever the
form, PostgreSQL must select exactly the values the rule names: the code itself, or anything
below it after a dot; and `analyses`, the same rule in Python for regions asked for by code, too.
Checked on generated scopes and values — well-formed codes, and strings that look like them (a
code running on without a dot, cut short, empty) — against the rule written here in Python."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.access import MANY_SCOPE_CODES, Role, Viewer, analyses, visible_sql
from tests.conftest import fetch

PARTS = (st.integers(10, 99).map(str), st.integers(1, 99).map("{:02d}".format), st.integers(1, 99).map("{:02d}".format),
         st.integers(1001, 2999).map(str))


@st.composite
def region_codes(draw: st.DrawFn) -> str:
    depth = draw(st.integers(1, 4))
    return ".".join(draw(part) for part in PARTS[:depth])


@st.composite
def code_like_strings(draw: st.DrawFn, scope: list[str]) -> str:
    base = draw(st.sampled_from(scope) | region_codes())
    kind = draw(st.sampled_from(["same", "below", "digit after", "cut", "other char", "empty"]))
    if kind == "below":
        return base + "." + draw(st.sampled_from(["01", "1001", "71.01"]))
    if kind == "digit after":
        return base + draw(st.sampled_from(["1", "01"]))
    if kind == "cut":
        return base[:-1]
    if kind == "other char":
        return base + draw(st.sampled_from(["-", "/", "x", " "]))
    return "" if kind == "empty" else base


def rule(scope: list[str], value: str) -> bool:
    return any(value == code or value.startswith(code + ".") for code in scope)


def selected(url: str, scope: list[str], values: list[str]) -> list[bool]:
    """For each value, whether a village row with that code would be visible to a manager of `scope`."""
    predicate = visible_sql(Viewer("probe", Role.MANAGER, scope=tuple(scope)), "village", "v")
    rows = fetch(url, f"SELECT i, {predicate} AS seen FROM unnest($1::text[]) WITH ORDINALITY AS v(code, i) ORDER BY i",
                 values)
    return [bool(r["seen"]) for r in rows]


@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), size=st.sampled_from([1, MANY_SCOPE_CODES - 1, MANY_SCOPE_CODES, 12, 38]))
def test_a_scope_selects_exactly_what_the_rule_names_in_either_form(shared_demo_db: str, data: st.DataObject,
                                                                    size: int) -> None:
    scope = data.draw(st.lists(region_codes(), min_size=size, max_size=size, unique=True))
    values = data.draw(st.lists(code_like_strings(scope), min_size=20, max_size=40))
    expected = [rule(scope, v) for v in values]
    assert selected(shared_demo_db, scope, values) == expected, (scope, values)
    manager = Viewer("probe", Role.MANAGER, scope=tuple(scope))
    assert [analyses(manager, v) for v in values] == expected, (scope, values)


def test_many_codes_are_written_once_per_length(shared_demo_db: str) -> None:
    many = tuple(f"{p}" for p in range(11, 11 + MANY_SCOPE_CODES)) + ("34.71",)
    sql = visible_sql(Viewer("probe", Role.MANAGER, scope=many), "village", "v")
    assert sql.count("LIKE") == 0 and sql.count("left(v.code, 2)") == 1 and sql.count("left(v.code, 5)") == 1
    few = visible_sql(Viewer("probe", Role.MANAGER, scope=("34.71",)), "village", "v")
    assert few == "(v.code = '34.71' OR v.code LIKE '34.71.%')"  # a range the code index can scan


def test_the_rule_holds_on_the_stored_villages(shared_demo_db: str) -> None:
    """The forms agree on real rows too: every village of the demo, for a scope of each size."""
    codes = [r["code"] for r in fetch(shared_demo_db, "SELECT code FROM village ORDER BY code")]
    districts = sorted({c[:8] for c in codes})
    for scope in (districts[:1], districts[:MANY_SCOPE_CODES], [districts[0][:5], *districts[-MANY_SCOPE_CODES:]]):
        assert selected(shared_demo_db, scope, codes) == [rule(scope, c) for c in codes], scope
