"""Several databases on this machine, for the replica, failover and pooler tests: a primary (a fresh
embedded cluster with the demo loaded) and hot standbys (`pg_basebackup -R` copies streaming from
it, each on a port of its own); a PgBouncer in transaction pooling mode."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest

from db.migrate import upgrade
from embedded.cluster import EmbeddedCluster
from tests.conftest import fetch, free_port, load_demo

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


def pgbouncer_binary() -> str | None:
    """Debian's pgbouncer (in /usr/sbin, which a normal user's PATH may lack), or None."""
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")
    return found


@contextmanager
def pgbouncer(cluster: EmbeddedCluster, database: str, statement_timeout_ms: int = 5_000,
              pool_size: int = 2) -> Iterator[str]:
    """A PgBouncer in transaction pooling mode in front of `database`; yields its URL. Few server
    connections (`pool_size`), so concurrent clients share them as in production. The statement
    timeout is set where PgBouncer connects (`connect_query`): as a startup parameter PgBouncer
    refuses it, or, listed in `ignore_startup_parameters` (as here, for clients that send it), drops it. Runs as the `postgres` user when we are root (PgBouncer refuses root)."""
    binary = pgbouncer_binary()
    if binary is None:
        pytest.skip("pgbouncer is not installed (`apt-get install pgbouncer`; `make test` as root installs it)")
    info = cluster.info()
    base = Path(tempfile.mkdtemp(prefix="perisai-test-pgbouncer-"))
    base.chmod(0o755)
    port = free_port()
    (base / "userlist.txt").write_text(f'"{info["user"]}" "{info["password"]}"\n')
    (base / "pgbouncer.ini").write_text(f"""[databases]
{database} = host=127.0.0.1 port={info['port']} dbname={database} connect_query='SET statement_timeout = {statement_timeout_ms}'
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {base}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
ignore_startup_parameters = extra_float_digits,statement_timeout
""")
    as_root = os.geteuid() == 0
    for path in base.iterdir():
        path.chmod(0o600)
        if as_root:
            shutil.chown(path, "postgres", "postgres")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    log = (base / "pgbouncer.log").open("w")
    process = subprocess.Popen([*prefix, binary, str(base / "pgbouncer.ini")], stdout=log, stderr=subprocess.STDOUT)
    url = f"postgresql://{info['user']}:{info['password']}@127.0.0.1:{port}/{database}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                fetch(url, "SELECT 1")
                break
            except (OSError, asyncpg.PostgresError):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(f"pgbouncer did not start:\n{(base / 'pgbouncer.log').read_text()}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(base, ignore_errors=True)
