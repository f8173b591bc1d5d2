"""Several databases on this machine, for the replica, failover and pooler tests: a primary (a fresh
embedded cluster with the demo loaded) and hot standbys (`pg_basebackup -R` copies streaming from
it, each on a port of its own); a PgBouncer in transaction pooling mode."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from db.migrate import upgrade
from embedded.cluster import EmbeddedCluster
from embedded.pgbouncer import PoolerMissing
from embedded.pgbouncer import pgbouncer as run_pgbouncer
from tests.conftest import fetch, load_demo

DATABASE = "perisai"


@contextmanager
def primary_and_standbys(standbys: int = 2) -> Iterator[tuple[EmbeddedCluster, list[EmbeddedCluster]]]:
    base = Path(tempfile.mkdtemp(prefix="perisai-test-replicas-"))
    base.chmod(0o755)  # as root, the postgres user must be able to enter it
    primary = EmbeddedCluster(base / "primary")
    copies: list[EmbeddedCluster] = []
    try:
        primary.ensure_running()
        primary.ensure_database(DATABASE)
        url = primary.url(DATABASE)
        upgrade(url)
        load_demo(url)
        fetch(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        fetch(url, "CREATE TABLE probe_writes (n integer)")
        copies = [primary.standby(base / f"standby{i + 1}") for i in range(standbys)]
        yield primary, copies
    finally:
        for cluster in [*copies, primary]:
            cluster.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def pgbouncer(cluster: EmbeddedCluster, database: str, statement_timeout_ms: int = 5_000,
              pool_size: int = 2, prepared_statements: int = 0) -> Iterator[str]:
    """A PgBouncer in transaction pooling mode in front of `database` (embedded/pgbouncer.py), or
    a skip with the reason when it is not installed."""
    try:
        with run_pgbouncer(cluster.url(database), pool_size=pool_size, statement_timeout_ms=statement_timeout_ms,
                           prepared_statements=prepared_statements) as url:
            yield url
    except PoolerMissing as missing:
        pytest.skip(f"{missing} (`make test` as root installs it)")


def wait_for(done: Callable[[], bool], what: str, within_s: float = 60) -> None:
    """Poll until `done()` (a deadline for a broken set-up, not a timed assertion)."""
    deadline = time.monotonic() + within_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within_s:g} s for {what}")
        time.sleep(0.05)
