"""A throwaway PgBouncer in transaction pooling mode in front of one database, run with the system's
binary (Debian's `pgbouncer` package), for the tests and `make bench-peers`' pooled runs.

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


def pgbouncer_binary() -> str | None:
    """Debian's pgbouncer (in /usr/sbin, which a normal user's PATH may lack), or None."""
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")


@contextmanager
def pgbouncer(target_url: str, *, pool_size: int = 2, statement_timeout_ms: int = 5_000,
              max_clients: int = 500) -> Iterator[str]:
    """Run PgBouncer in front of `target_url`'s database; yields the URL to connect through it.
    `pool_size` server connections, which every client shares as in production."""
    binary = pgbouncer_binary()
    if binary is None:
        raise PoolerMissing("pgbouncer is not installed: `apt-get install pgbouncer`")
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
""")
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
