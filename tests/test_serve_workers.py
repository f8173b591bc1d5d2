"""`perisai serve --workers N`: connections shared evenly, a dead worker replaced, a clean stop.

Connections are counted from /proc (which process holds each established socket of the port),
so the test sees what the kernel sees, not what the server reports about itself.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from settings import read_pool_default
from tests.conftest import JWT_SECRET, NIK_KEY, free_port

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
CONNECTIONS = 16


@contextmanager
def serving(database_url: str, workdir: Path, **settings: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PERISAI_ENV": "test", "PERISAI_JWT_SECRET": JWT_SECRET,
           "PERISAI_NIK_KEY": NIK_KEY.decode(), "PERISAI_DATA_DIR": str(workdir / "unused-pgdata"), **settings}
    log = (workdir / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port), "--workers", str(WORKERS)],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(port, proc)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        log.close()


def wait_healthy(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"the server did not answer /healthz (exit code {proc.poll()})")


def running(pid: int) -> bool:
    try:
        return "(zombie)" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def established(port: int) -> set[str]:
    """Socket inodes of established TCP connections whose local port is `port`."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            inodes.add(fields[9])
    return inodes


def connections_held(pid: int, inodes: set[str]) -> int:
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed while listing
        held += target.startswith("socket:[") and target[8:-1] in inodes
    return held


def keep_alive_requests(port: int, n: int) -> list[socket.socket]:
    """`n` connections opened at once, each having had one request answered, left open."""
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    for s in sockets:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    for s in sockets:
        s.settimeout(10)
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
    return sockets


def test_connections_opened_together_are_shared_evenly(shared_demo_db: str, tmp_path: Path) -> None:
    with serving(shared_demo_db, tmp_path) as (proc, port):
        workers = children(proc.pid)
        sockets = keep_alive_requests(port, CONNECTIONS)
        try:
            inodes = established(port)
            held = sorted(connections_held(pid, inodes) for pid in workers)
            assert [h for h in held if h] == [CONNECTIONS // WORKERS] * WORKERS, held
            assert connections_held(proc.pid, inodes) == 0  # the parent hands every connection on
        finally:
            for s in sockets:
                s.close()


def test_a_dead_worker_is_replaced_and_requests_keep_being_answered(shared_demo_db: str, tmp_path: Path) -> None:
    with serving(shared_demo_db, tmp_path) as (proc, port):
        victim = max(children(proc.pid))
        os.kill(victim, signal.SIGKILL)
        while running(victim):  # a connection dealt to it while it was dying dies with it, as anywhere
            time.sleep(0.01)
        answered = [httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code for _ in range(20)]
        assert answered == [200] * 20
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            alive = [pid for pid in children(proc.pid) if pid != victim]
            if len(alive) >= WORKERS:
                break
            time.sleep(0.2)
        assert victim not in children(proc.pid) and len(children(proc.pid)) >= WORKERS


def test_sigterm_stops_every_worker_and_frees_the_port(shared_demo_db: str, tmp_path: Path) -> None:
    with serving(shared_demo_db, tmp_path) as (proc, port):
        workers = children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 10  # orphans of the parent are reaped by init, not at once
        while time.monotonic() < deadline and any(running(pid) for pid in workers):
            time.sleep(0.1)
        assert not any(running(pid) for pid in workers)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2)


def test_metrics_sum_every_worker(shared_demo_db: str, tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from tests.conftest import token

    with serving(shared_demo_db, tmp_path) as (proc, port):
        for _ in range(10):  # a new connection each: dealt to the workers in turn
            answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": "query Probe { me { role } }"},
                                headers={"authorization": f"Bearer {token('admin')}"}).json()
            assert answer["data"]["me"]["role"] == "admin"
        for _ in range(2):  # whichever worker answers the scrape
            text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            counted = sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
                          if s.name == "perisai_graphql_operations_total" and s.labels.get("operation") == "Probe")
            assert counted == 10


def test_workers_that_cannot_start_stop_the_server_with_their_error(shared_demo_db: str, tmp_path: Path) -> None:
    """A bad setting only the app reads (here a broken persisted-query file) fails every worker at
    start-up: the server stops with an error instead of restarting them forever."""
    broken = tmp_path / "pq.json"
    broken.write_text("{not json")
    env = {**os.environ, "DATABASE_URL": shared_demo_db, "PERISAI_ENV": "test", "PERISAI_JWT_SECRET": JWT_SECRET,
           "PERISAI_NIK_KEY": NIK_KEY.decode(), "PERISAI_PERSISTED_QUERIES": str(broken)}
    result = subprocess.run([sys.executable, "-m", "cli.main", "serve", "--port", str(free_port()), "--workers", "2"],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "cannot read the persisted queries" in result.stderr and "failed to start" in result.stderr


def pool_size_of(pid: int) -> str | None:
    """The read pool size a process was started with (its environment, as the kernel keeps it)."""
    for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
        if entry.startswith(b"PERISAI_READ_POOL_SIZE="):
            return entry.split(b"=", 1)[1].decode()
    return None


@pytest.mark.parametrize("given", [None, "7"])
def test_the_default_read_pool_is_divided_among_the_workers(shared_demo_db: str, tmp_path: Path, given: str | None) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("PERISAI_READ_POOL_SIZE", raising=False)
        with serving(shared_demo_db, tmp_path, **({"PERISAI_READ_POOL_SIZE": given} if given else {})) as (proc, _):
            sizes = {pool_size_of(pid) for pid in children(proc.pid)}  # the workers and a helper process
    assert sizes == {given or str(read_pool_default(WORKERS))}


def test_the_read_pool_rule() -> None:
    """2 × cores + 1 connections over all workers (rounded up), never fewer than 2 per worker."""
    assert [read_pool_default(workers, cores=2) for workers in (1, 2, 3, 8)] == [5, 3, 2, 2]
    assert [read_pool_default(workers, cores=16) for workers in (1, 4, 16)] == [33, 9, 3]
