"""A throwaway PgBouncer in transaction pooling mode in front of one database, for the tests and
`make bench-peers-pooler`: the system's binary (Debian 12's `pgbouncer` package, 1.18), or, to keep
prepared statements (`max_prepared_statements`, 1.21 and later), the 1.24 that
`scripts/build-pgbouncer` builds into .perisai/tools.

Like the embedded cluster it runs as the `postgres` user when this process is root (PgBouncer
refuses root). The statement timeout is set where PgBouncer connects (`connect_query`): as a
startup parameter PgBouncer refuses it, or drops it when listed in `ignore_startup_parameters`
(as here, for clients that still send it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from embedded.cluster import free_port


class PoolerMissing(RuntimeError):
    pass


BUILT = Path(__file__).resolve().parents[1] / ".perisai/tools/pgbouncer/bin/pgbouncer"
KEEPS_PREPARED_FROM = (1, 21)  # the first PgBouncer with max_prepared_statements


def pgbouncer_binary(keeps_prepared: bool = False) -> str | None:
    """A pgbouncer binary, or None: the system's (in /usr/sbin, which a normal user's PATH may lack),
    or with `keeps_prepared` the first of ours and the system's that is 1.21 or later."""
    system = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")
    if not keeps_prepared:
        return system
    return next((binary for binary in (str(BUILT), system) if binary and _version(binary) >= KEEPS_PREPARED_FROM), None)


def _version(binary: str) -> tuple[int, ...]:
    """(major, minor) from `pgbouncer --version` ("PgBouncer 1.24.1"), or () when it cannot tell."""
    try:
        words = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout.split()
        return tuple(int(part) for part in words[1].split(".")[:2])
    except (OSError, subprocess.CalledProcessError, IndexError, ValueError):
        return ()


@contextmanager
def pgbouncer(target_url: str, *, pool_size: int = 2, statement_timeout_ms: int = 5_000,
              max_clients: int = 500, prepared_statements: int = 0) -> Iterator[str]:
    """Run PgBouncer in front of `target_url`'s database; yields the URL to connect through it.
    `pool_size` server connections, which every client shares as in production. With
    `prepared_statements` > 0 it keeps that many prepared statements per server connection
    (`max_prepared_statements`); the database `pgbouncer` then answers SHOW STATS to the same user."""
    binary = pgbouncer_binary(keeps_prepared=prepared_statements > 0)
    if binary is None:
        raise PoolerMissing("PgBouncer 1.21 or later is not built: `scripts/build-pgbouncer`" if prepared_statements
                            else "pgbouncer is not installed: `apt-get install pgbouncer`")
    target = urlsplit(target_url)
    user, password = unquote(target.username or "postgres"), unquote(target.password or "")
    database = target.path.lstrip("/")
    base = Path(tempfile.mkdtemp(prefix="perisai-pgbouncer-"))
    base.chmod(0o755)
    port = free_port()
    (base / "userlist.txt").write_text(f'"{user}" "{password}"\n')
    server = f"host={target.hostname} port={target.port or 5432} dbname={database}"
    (base / "pgbouncer.ini").write_text(f"""[databases]
{database} = {server} connect_query='SET statement_timeout = {statement_timeout_ms}'
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = {"scram-sha-256" if password else "trust"}
auth_file = {base}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = {max_clients}
ignore_startup_parameters = extra_float_digits,statement_timeout
""" + (f"max_prepared_statements = {prepared_statements}\nstats_users = {user}\n" if prepared_statements else ""))
    as_root = os.geteuid() == 0
    for path in base.iterdir():
        path.chmod(0o600)
        if as_root:
            shutil.chown(path, "postgres", "postgres")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    log_path = base / "pgbouncer.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([*prefix, binary, str(base / "pgbouncer.ini")], stdout=log, stderr=subprocess.STDOUT)
    credentials = f"{target.username}:{target.password}@" if target.password else f"{target.username or 'postgres'}@"
    try:
        _wait_listening(port, process, log_path)
        yield f"postgresql://{credentials}127.0.0.1:{port}/{database}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"pgbouncer did not start:\n{log.read_text()}")
        time.sleep(0.05)
