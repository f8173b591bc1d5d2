"""`make bench-peers`: this project against PostGraphile on the rig's national data, in one run.

Steps: make sure the rig's national database is loaded and ours imported from it
(bench/peers_data.py); start PostGraphile (one process) and our server the way the README
recommends for production here (`perisai serve`, one worker per core); check that our answers equal
PostGraphile's on a sample of every workload's variable sets, in every form clients send
(bench/peer_forms.py: plain, Apollo, Relay, as a scoped manager); then, for each workload, load-test
ours in each form and our own floor for each (the statement our server sends, bench/peers_floor.py),
PostGraphile, PostGraphile with two workers and the rig's SQL floor back to back with the rig's
`bench.sh`; print the rig's table of this run, then each workload and form against the targets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from auth.tokens import viewer_from_token
from bench.peer_forms import FORMS, form_query, form_token
from bench.peers_compare import compare, variable_sets
from bench.peers_data import RIG, ROOT, ensure_our_database, ensure_rig_database, rig
from bench.peers_floor import TOOL as OUR_FLOOR
from bench.peers_floor import run_floor
from embedded.pgbouncer import pgbouncer

WORKLOADS = ("nested", "gaps", "bbox")
QUERIES = ROOT / "bench" / "peer_workloads"
RESULTS = ROOT / ".perisai" / "peers-results"
OUR_PORT = 8100
THEIR_PORT = 5000
SAMPLE = 20  # variable sets per workload whose answers must be equal
CONCURRENCY = int(os.environ.get("PEERS_CONCURRENCY", "16"))
DURATION = int(os.environ.get("PEERS_DURATION", "20"))
WORKERS = os.cpu_count() or 2
SECRET = b"peer-bench-secret-for-hs256-tokens"
FORMS_RUN = tuple(os.environ.get("PEERS_FORMS", ",".join(FORMS)).split(","))
# Rounds of every measurement, back to back; the targets are judged on each one's median run (as the
# rig's report shows it). On a shared 2-core machine one pgbench run of the same statement differed
# from the next by up to 40 % (BENCHMARKS.md), more than the targets' margins.
REPS = int(os.environ.get("PEERS_REPS", "1"))
ROUNDS = tuple(wl for _ in range(REPS) for wl in WORKLOADS)  # the workloads measured, round after round


def tool(form: str, floor: bool = False) -> str:
    base = OUR_FLOOR if floor else "perisai"
    return base if form == "plain" else f"{base}-{form}"


@contextmanager
def our_server(url: str, **settings: str) -> Iterator[tuple[str, int]]:
    """(GraphQL URL, parent PID) of `perisai serve` with one worker per core, production settings."""
    env = {**os.environ, "DATABASE_URL": url, "PERISAI_ENV": "production",
           "PERISAI_JWT_SECRET": SECRET.decode(), "PERISAI_NIK_KEY": "bench-nik-key", **settings}
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(OUR_PORT),
                             "--workers", str(WORKERS)], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:  # e.g. the port is taken: never measure whoever holds it
                raise SystemExit(f"our server exited with code {proc.returncode} (is port {OUR_PORT} in use?)")
            try:
                if httpx.get(f"http://127.0.0.1:{OUR_PORT}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise SystemExit("our server did not start")
        yield f"http://127.0.0.1:{OUR_PORT}/graphql", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextmanager
def postgraphile(url: str, workers: int) -> Iterator[tuple[str, int]]:
    rig("run_postgraphile.sh", "start", "--db", url, "--port", str(THEIR_PORT), "--pool", str(10 // workers),
        "--workers", str(workers))
    try:
        pid = int(Path(os.environ.get("PEERS_RUN_DIR", "/tmp/peers-run"), f"postgraphile-{THEIR_PORT}.pid").read_text())
        yield f"http://127.0.0.1:{THEIR_PORT}/graphql", pid
    finally:
        rig("run_postgraphile.sh", "stop", "--port", str(THEIR_PORT))


def bench(workload: str, tool: str, out: Path, *args: str) -> None:
    folder = RIG / "workloads" / workload
    subprocess.run([str(RIG / "bench.sh"), "--workload", str(folder), "--scale", "national", "--tool", tool,
                    "-c", str(CONCURRENCY), "-d", str(DURATION), "--out", str(out), *args],
                   check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PEERS_RESULTS_DIR": str(RESULTS)})


def main() -> None:
    was_running = subprocess.run([str(RIG / "pg.sh"), "status"], capture_output=True).returncode == 0
    try:
        pooler() if "--pooler" in sys.argv[1:] else run()
    finally:
        if not was_running:  # leave the machine as we found it, like the rig's all.sh
            rig("pg.sh", "stop")


def run() -> None:
    rig_url = ensure_rig_database()
    our_url = ensure_our_database(rig_url)
    postmaster = Path("/tmp/peers-pg/data/postmaster.pid").read_text().split()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}-national.jsonl"
    tokens = {form: form_token(SECRET, form) for form in FORMS_RUN}
    headers = {form: {"Authorization": f"Bearer {tokens[form]}"} for form in FORMS_RUN}
    forms_dir = RESULTS / "forms"
    forms_dir.mkdir(exist_ok=True)
    queries = {}
    for wl in WORKLOADS:
        for form in FORMS_RUN:
            queries[wl, form] = forms_dir / f"{wl}.{form}.graphql"
            queries[wl, form].write_text(form_query((QUERIES / f"{wl}.graphql").read_text(), form))
    with our_server(our_url) as (ours, our_pid), postgraphile(rig_url, 1) as (theirs, their_pid):
        for wl in WORKLOADS:
            sample = variable_sets(RIG / "workloads" / wl / "vars.national.jsonl", SAMPLE)
            for form in FORMS_RUN:
                same = compare(wl, theirs, (RIG / "workloads" / wl / "query.graphql").read_text(),
                               ours, queries[wl, form].read_text(), sample, headers[form])
                print(f"{wl} ({form}): our answers equal PostGraphile's on {same} of {len(sample)} variable sets", flush=True)
        for wl in ROUNDS:
            for form in FORMS_RUN:
                print(f"{wl}: perisai ({form}) …", flush=True)
                bench(wl, tool(form), out, "--url", ours, "--query", str(queries[wl, form]), "--no-floor",
                      "--server-pid", str(our_pid), "--db-pid", postmaster,
                      "--header", f"Authorization: Bearer {tokens[form]}")
                print(f"{wl}: our floor ({form}) …", flush=True)
                run_floor(wl, our_url, queries[wl, form].read_text(), ours, out, concurrency=CONCURRENCY,
                          duration=DURATION, db_pid=postmaster, sample_size=SAMPLE, tool=tool(form, floor=True),
                          headers=headers[form], viewer=viewer_from_token(SECRET, tokens[form]))
            print(f"{wl}: postgraphile + floor …", flush=True)
            bench(wl, "postgraphile", out, "--url", theirs, "--db", rig_url, "--compare-floor",
                  "--server-pid", str(their_pid), "--db-pid", postmaster)
    with postgraphile(rig_url, 2) as (theirs, their_pid):
        for wl in ROUNDS:
            print(f"{wl}: postgraphile-x2 …", flush=True)
            bench(wl, "postgraphile-x2", out, "--url", theirs, "--no-floor",
                  "--server-pid", str(their_pid), "--db-pid", postmaster)
    print(f"\nMachine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}; results {out}\n", flush=True)
    subprocess.run([sys.executable, str(RIG / "report.py"), str(out)], check=True)
    print_targets(out)


def pooler() -> None:
    """`make bench-peers-pooler`: our server straight to PostgreSQL, then through PgBouncer in
    transaction mode (20 server connections): Debian 12's 1.18, which keeps no prepared statement,
    and 1.24 keeping them (scripts/build-pgbouncer), back to back on the same data, plain form:
    what each pooler costs, beside the run's own noise. No PostGraphile in this run."""
    rig_url = ensure_rig_database()
    our_url = ensure_our_database(rig_url)
    postmaster = Path("/tmp/peers-pg/data/postmaster.pid").read_text().split()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}-pooler.jsonl"
    token = form_token(SECRET, "plain")
    through_pooler = {"PERISAI_TRANSACTION_POOLER": "true", "PERISAI_LISTEN_URL": our_url}
    with pgbouncer(our_url, pool_size=20, max_clients=1000) as plain, \
            pgbouncer(our_url, pool_size=20, max_clients=1000, prepared_statements=200) as keeping:
        # Direct first and again last: the difference between the two is this run's noise.
        for label, url, settings in (("perisai", our_url, {}),
                                     ("perisai-pgbouncer", plain, through_pooler),
                                     ("perisai-pgbouncer-prepared", keeping,
                                      {**through_pooler, "PERISAI_POOLER_PREPARED_STATEMENTS": "true"}),
                                     ("perisai-again", our_url, {})):
            with our_server(url, **settings) as (ours, our_pid):
                for wl in WORKLOADS:
                    print(f"{wl}: {label} …", flush=True)
                    bench(wl, label, out, "--url", ours, "--query", str(QUERIES / f"{wl}.graphql"), "--no-floor",
                          "--server-pid", str(our_pid), "--db-pid", postmaster, "--header", f"Authorization: Bearer {token}")
    print(f"\nMachine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}; results {out}\n", flush=True)
    subprocess.run([sys.executable, str(RIG / "report.py"), str(out)], check=True)
    print_pooler_costs(out)


def _runs(out: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The rig's result lines of one run, by (workload, tool): with several rounds (PEERS_REPS), the
    median line by req/s (the rig's report.py picks the same), its errors the sum of all rounds."""
    lines = [json.loads(line) for line in out.read_text().splitlines() if line.startswith("{")]
    rounds: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in lines:
        rounds.setdefault((r["workload"], r["tool"]), []).append(r)
    runs = {}
    for key, rs in rounds.items():
        ordered = sorted(rs, key=lambda r: r["rps"] or 0)
        runs[key] = {**ordered[(len(ordered) - 1) // 2], "errors": sum(r["errors"] or 0 for r in rs)}
    return runs


def _db_ms(r: dict[str, Any]) -> str:
    return f"{r['cpu']['db_cores'] * 1000 / r['rps']:.1f}"


def _other_cores(r: dict[str, Any]) -> str:
    return f"{r['cpu']['other_cores']:.2f}"


def print_pooler_costs(out: Path) -> None:
    """Each pooler's requests/s against the mean of the two direct runs, beside the run's noise (how
    far those two differ) and the CPU no process of ours used (PgBouncer's, the only other at work)."""
    runs = _runs(out)
    print("\n| workload | direct req/s (first, last) | noise | PgBouncer 1.18 × direct | PgBouncer 1.24 keeping "
          "prepared × direct | PostgreSQL CPU ms/request direct / 1.18 / 1.24 | other CPU cores direct / 1.18 / 1.24 |")
    print("|---|---:|---:|---:|---:|---|---|")
    for wl in WORKLOADS:
        first, last = runs.get((wl, "perisai")), runs.get((wl, "perisai-again"))
        plain, keeping = runs.get((wl, "perisai-pgbouncer")), runs.get((wl, "perisai-pgbouncer-prepared"))
        if not (first and last and plain and keeping):
            print(f"| {wl} | incomplete run |")
            continue
        direct = (first["rps"] + last["rps"]) / 2
        print(f"| {wl} | {first['rps']:,.1f}, {last['rps']:,.1f} | {abs(first['rps'] - last['rps']) / direct:.0%} | "
              f"{plain['rps'] / direct:.2f} | {keeping['rps'] / direct:.2f} | "
              f"{_db_ms(first)}, {_db_ms(last)} / {_db_ms(plain)} / {_db_ms(keeping)} | "
              f"{_other_cores(first)}, {_other_cores(last)} / {_other_cores(plain)} / {_other_cores(keeping)} |")


def print_targets(out: Path) -> None:
    """Each workload and form against the targets: ≥ 1.5× the best PostGraphile, p99 no worse,
    ≥ 0.6× our floor (the statement our server sends in that form)."""
    runs = _runs(out)
    print("\n| workload | form | ours req/s | best PostGraphile req/s | × (≥ 1.5) | p99 ours / theirs ms | "
          "our floor tps | ours / our floor (≥ 0.6) | errors (ours) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for wl in WORKLOADS:
        for form in FORMS_RUN:
            ours, floor = runs.get((wl, tool(form))), runs.get((wl, tool(form, floor=True)))
            peers = [r for r in (runs.get((wl, "postgraphile")), runs.get((wl, "postgraphile-x2"))) if r]
            if not ours or not floor or not peers:
                print(f"| {wl} | {form} | incomplete run |")
                continue
            best = max(peers, key=lambda r: r["rps"] or 0)
            print(f"| {wl} | {form} | {ours['rps']:,.1f} | {best['rps']:,.1f} ({best['tool']}) | "
                  f"{ours['rps'] / best['rps']:.2f} | {ours['p99_ms']:.1f} / {best['p99_ms']:.1f} | {floor['rps']:,.1f} | "
                  f"{ours['rps'] / floor['rps']:.2f} | {ours['errors']} |")


if __name__ == "__main__":
    main()
