"""Our own floor: the exact statement our server sends for a workload, run by pgbench.

For each variable set the compiled statement's SQL and parameters come from `compiler/` itself
(the code the server runs, as the caller the form is sent as), so the floor is what the server
sends, not a hand-written copy. The
parameters of every set go into `perisai_floor.params`; the pgbench script picks a set, `\\gset`s
its parameters and sends the statement prepared (`-M prepared`: parameters bound like asyncpg's).

The rig's `bench.sh` cannot run this script: its floor sample strips meta-commands and expects one
statement returning `{"data": …}`, while ours returns one JSON text per root field. So this module
runs pgbench with bench.sh's settings and reports through the rig's own `benchlib.py report`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from graphql import parse

from bench.peers_data import RIG
from compiler.execute import compile_operation
from compiler.plan import plan_operation
from db.access import Viewer
from resolvers.context import ANONYMOUS_PLANNER
from schema import schema as api_schema

TOOL = "perisai-floor"


def statements(query: str, variable_sets: list[dict[str, Any]],
               viewer: Viewer = ANONYMOUS_PLANNER) -> tuple[str, list[list[Any]]]:
    """The one SQL text our server sends for `query` and its parameters for each variable set."""
    document = parse(query)
    compiled = []
    for variables in variable_sets:
        sql, build = compile_operation(plan_operation(api_schema._schema, document, None, variables), viewer)
        compiled.append(build.params.finish(sql))
    texts = {sql for sql, _ in compiled}
    if len(texts) != 1:
        raise SystemExit("the workload compiles to different statements for different variables")
    return texts.pop(), [params for _, params in compiled]


def script(sql: str, params: list[list[Any]]) -> str:
    """pgbench script: pick a variable set, fetch its parameters, send the statement.

    pgbench cannot bind a null, so a parameter that is null in every set (an argument the workload
    leaves out, such as `activeWithinDays`) is written as NULL; PostgreSQL's custom plans fold a
    null parameter the same way. A parameter null in some sets only is refused."""
    always_null = {k for k in range(1, len(params[0]) + 1) if all(p[k - 1] is None for p in params)}
    if any(p[k - 1] is None for p in params for k in range(1, len(p) + 1) if k not in always_null):
        raise SystemExit("a parameter is null in some variable sets only; pgbench cannot send that statement")
    picks = ", ".join(f"p[{k}] AS p{k}" for k in range(1, len(params[0]) + 1) if k not in always_null) or "1 AS none"
    body = re.sub(r"\$(\d+)\b", lambda m: "NULL" if int(m.group(1)) in always_null else f":p{m.group(1)}", sql)
    return f"\\set i random(1, :nvars)\nSELECT {picks} FROM perisai_floor.params WHERE i = :i \\gset\n{body};\n"


async def store_params(url: str, params: list[list[Any]]) -> None:
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            await connection.execute("CREATE SCHEMA IF NOT EXISTS perisai_floor; "
                                     "DROP TABLE IF EXISTS perisai_floor.params; "
                                     "CREATE TABLE perisai_floor.params (i int PRIMARY KEY, p text[] NOT NULL)")
            # repr() of a float reads back as the same float8, so text parameters lose nothing
            await connection.copy_records_to_table("params", schema_name="perisai_floor", records=[
                (i, [None if v is None else repr(v) if isinstance(v, float) else str(v) for v in values])
                for i, values in enumerate(params, start=1)])
        await connection.execute("ANALYZE perisai_floor.params")
    finally:
        await connection.close()


async def sample(url: str, sql: str, params: list[list[Any]], server: str, query: str,
                 variable_sets: list[dict[str, Any]], n: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the statement for the first `n` sets and check each answer equals our server's `data`."""
    result: dict[str, Any] = {"sampled": 0, "errors": 0, "empty": 0, "equal_to_server": 0, "first_error": None}
    connection = await asyncpg.connect(url)
    try:
        async with httpx.AsyncClient(timeout=60, headers=headers) as client:
            for values, variables in list(zip(params, variable_sets, strict=True))[:n]:
                result["sampled"] += 1
                try:
                    row = await connection.fetchrow(sql, *values)
                except asyncpg.PostgresError as exc:
                    result["errors"] += 1
                    result["first_error"] = result["first_error"] or str(exc)[:300]
                    continue
                texts = list(row.values()) if row else []
                served = (await client.post(server, json={"query": query, "variables": variables})).json()
                if None in texts or not texts:
                    result["empty"] += 1
                    continue
                ours = dict(zip(served.get("data") or {}, map(orjson.loads, texts), strict=False))
                result["equal_to_server"] += ours == served.get("data")
    finally:
        await connection.close()
    return result


def run_floor(workload: str, url: str, query: str, server: str, out: Path, *, concurrency: int, duration: int,
              db_pid: str, sample_size: int, warmup: int = 5, tool: str = TOOL, viewer: Viewer = ANONYMOUS_PLANNER,
              headers: dict[str, str] | None = None) -> None:
    """Measure our floor of one workload (as `viewer` asks it) and append the rig's result line to `out`."""
    variables_path = RIG / "workloads" / workload / "vars.national.jsonl"
    variable_sets = [json.loads(line) for line in variables_path.read_text().splitlines() if line.strip()]
    sql, params = statements(query, variable_sets, viewer)
    asyncio.run(store_params(url, params))
    checked = asyncio.run(sample(url, sql, params, server, query, variable_sets, sample_size, headers))
    if checked["errors"] or checked["equal_to_server"] != checked["sampled"]:
        raise SystemExit(f"{workload}: our floor statement does not give our server's answers: {checked}")
    print(f"{workload}: our floor statement gave our server's answer on {checked['equal_to_server']} "
          f"of {checked['sampled']} variable sets", flush=True)
    with tempfile.TemporaryDirectory(prefix=f"perisai-floor-{workload}-") as folder:
        tmp = Path(folder)
        (tmp / "floor.sql").write_text(script(sql, params))
        (tmp / "sample.json").write_text(json.dumps(checked))
        pin = ["taskset", "-c", "1"] if (os.cpu_count() or 1) > 1 else []  # bench.sh's LOADGEN_CPUS
        pgbench = [*pin, "pgbench", "-n", "-M", "prepared", "-c", str(concurrency), "-j", "2",
                   "-D", f"nvars={len(params)}", "-f", str(tmp / "floor.sql")]
        warm = subprocess.run([*pgbench, "-T", str(warmup), url], capture_output=True, text=True)
        if warm.returncode != 0:
            raise SystemExit(f"{workload}: pgbench failed on our floor statement:\n{warm.stdout[-2000:]}{warm.stderr[-2000:]}")
        benchlib = [str(RIG / "benchlib.py")]
        subprocess.run(["python3", *benchlib, "snapshot", "--out", str(tmp / "cpu0.json")], check=True)
        snapshot = subprocess.Popen(["python3", *benchlib, "snapshot", "--delay", str(max(duration - 3, duration * 0.7)),
                                     "--out", str(tmp / "cpu1.json")])
        with (tmp / "pgbench.txt").open("w") as stdout:
            load = subprocess.Popen([*pgbench, "-T", str(duration), "-l", "--log-prefix", str(tmp / "pgbench_log"),
                                     url], stdout=stdout, stderr=subprocess.STDOUT)
            load.wait()
        snapshot.wait()
        line = subprocess.run(["python3", *benchlib, "report", "--kind", "pgbench", "--stdout", str(tmp / "pgbench.txt"),
                               "--log-prefix", str(tmp / "pgbench_log"), "--tool", tool, "--workload", workload,
                               "--scale", "national", "--concurrency", str(concurrency), "--duration", str(duration),
                               "--loadgen", f"pgbench -M prepared -c{concurrency} -j2 (our statement)",
                               "--sample", str(tmp / "sample.json"), "--cpu-start", str(tmp / "cpu0.json"),
                               "--cpu-end", str(tmp / "cpu1.json"), "--loadgen-pid", str(load.pid), "--db-pid", db_pid],
                              check=True, capture_output=True, text=True).stdout.strip()
    with out.open("a") as results:
        results.write(line + "\n")
