"""A primary and two hot standbys on this machine, for the replica and failover tests: the primary
is a fresh embedded cluster with the demo loaded, the standbys are `pg_basebackup -R` copies of it
streaming from it, each on a port of its own."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from db.migrate import upgrade
from embedded.cluster import EmbeddedCluster
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
