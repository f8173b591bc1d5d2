"""Our floor in `make bench-peers` (bench/peers_floor.py) is the statement the server sends."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.peers_floor import script, statements

QUERIES = Path(__file__).parents[1] / "bench" / "peer_workloads"


def test_every_variable_set_shares_one_statement_and_brings_its_own_parameters() -> None:
    query = (QUERIES / "nested.graphql").read_text()
    sets = [{"code": "34.71.01"}, {"code": "11.01.02"}]
    sql, params = statements(query, sets)
    for variables, values in zip(sets, params, strict=True):
        assert variables["code"] in values
        assert variables["code"] not in sql  # values travel as parameters, never inside the SQL
    assert max(int(n) for n in re.findall(r"\$(\d+)", sql)) == len(params[0]) == len(params[1])


def test_statements_refuse_variable_sets_that_compile_to_different_sql() -> None:
    query = (QUERIES / "gaps.graphql").read_text()
    with pytest.raises(SystemExit, match="different statements"):
        statements(query, [{"regencyCode": "34.71"}, {"regencyCode": "34"}])  # a province: another table


def test_the_pgbench_script_binds_every_parameter_by_its_number() -> None:
    sql = "SELECT $1, $2, $10, $11 FROM t WHERE a = $3"
    text = script(sql, [[str(k) for k in range(1, 12)]] * 2)
    assert "$" not in text
    assert text.splitlines()[-1] == "SELECT :p1, :p2, :p10, :p11 FROM t WHERE a = :p3;"
    fetched = re.findall(r"p\[(\d+)\] AS p(\d+)", text)
    assert fetched == [(str(k), str(k)) for k in range(1, 12)]
    assert "\\gset" in text and text.startswith("\\set i random(1, :nvars)")


def test_a_parameter_null_in_every_set_is_written_as_null_and_one_null_in_some_sets_is_refused() -> None:
    sql = "SELECT $1 WHERE $2::int IS NULL OR x > $2::int"
    text = script(sql, [["a", None], ["b", None]])
    assert text.splitlines()[-1] == "SELECT :p1 WHERE NULL::int IS NULL OR x > NULL::int;"
    assert "p[2]" not in text and "p[1] AS p1" in text
    with pytest.raises(SystemExit, match="null in some variable sets only"):
        script(sql, [["a", None], ["b", "3"]])


def test_several_rounds_are_judged_on_their_median_run_with_every_round_s_errors(tmp_path: Path) -> None:
    from bench.peers import _runs

    out = tmp_path / "run.jsonl"
    rounds = [("nested", "perisai", 900.0, 0), ("nested", "perisai", 800.0, 2), ("nested", "perisai", 700.0, 1),
              ("nested", "perisai-floor", 1500.0, 0)]
    out.write_text("not a result line\n" + "".join(
        f'{{"workload": "{wl}", "tool": "{tool}", "rps": {rps}, "p99_ms": {rps / 10}, "errors": {errors}}}\n'
        for wl, tool, rps, errors in rounds))
    runs = _runs(out)
    assert runs["nested", "perisai"]["rps"] == 800.0 and runs["nested", "perisai"]["p99_ms"] == 80.0
    assert runs["nested", "perisai"]["errors"] == 3
    assert runs["nested", "perisai-floor"]["rps"] == 1500.0
