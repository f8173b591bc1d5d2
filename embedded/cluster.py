"""An embedded PostgreSQL + PostGIS cluster in a data directory, run with the system's binaries.

PostgreSQL refuses to run as root, so when this process is root the cluster belongs to, and is
run as, the `postgres` user that Debian's package creates (`runuser -u postgres --`). A normal
user on a laptop owns and runs it directly. The cluster listens on 127.0.0.1 only, on a free
port chosen at `initdb` time (and re-chosen if another program has taken it since); the password
is random and kept in `perisai.json` inside the data directory, readable by its owner only.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIN_MAJOR_VERSION = 15
SUPERUSER = "perisai"
INFO_FILE = "perisai.json"
CONF_FILE = "perisai.conf"

MISSING_POSTGRES = (
    "PostgreSQL 15 or newer was not found on this machine (looked for initdb, pg_ctl and postgres "
    "in `pg_config --bindir`, /usr/lib/postgresql/*/bin and on PATH). On Debian or Ubuntu install "
    "it with `sudo apt-get install postgresql postgresql-15-postgis-3` (or run `make demo` as root, "
    "which does so), or point perisai at an existing PostGIS server by setting "
    "DATABASE_URL=postgresql://user:password@host:5432/dbname."
)
MISSING_POSTGIS = (
    "PostgreSQL is installed but the PostGIS extension is not (no postgis.control in {sharedir}). "
    "On Debian or Ubuntu install it with `sudo apt-get install postgresql-15-postgis-3` (match the "
    "number to your PostgreSQL version), or point perisai at an existing PostGIS server by setting "
    "DATABASE_URL=postgresql://user:password@host:5432/dbname."
)

# Settings for a machine-local analytics database; written to perisai.conf, included last.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "max_connections": "100",
    "shared_buffers": "'512MB'",
    "effective_cache_size": "'4GB'",
    "work_mem": "'32MB'",
    "maintenance_work_mem": "'256MB'",
    "random_page_cost": "1.1",
    "jit": "off",
    "max_wal_size": "'2GB'",
    # Statement statistics: what the API really sends (tests count statements; benchmarks and
    # operators read it). Utility statements (BEGIN, SET) are not counted.
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.track_utility": "off",
}


class ClusterError(RuntimeError):
    """The embedded cluster could not be set up or started; the message says what to do."""


@dataclass(frozen=True)
class Binaries:
    bindir: Path
    sharedir: Path
    version: int


def find_binaries() -> Binaries:
    """Locate initdb/pg_ctl/postgres of PostgreSQL >= 15 and check that PostGIS is installed."""
    for bindir in _candidate_bindirs():
        if not all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            continue
        version = _major_version(bindir)
        if version is None or version < MIN_MAJOR_VERSION:
            continue
        sharedir = _sharedir(bindir, version)
        if not (sharedir / "extension" / "postgis.control").exists():
            raise ClusterError(MISSING_POSTGIS.format(sharedir=sharedir / "extension"))
        return Binaries(bindir, sharedir, version)
    raise ClusterError(MISSING_POSTGRES)


def _candidate_bindirs() -> list[Path]:
    if explicit := os.environ.get("PERISAI_PG_BINDIR"):
        return [Path(explicit)]  # an explicit choice is the only place to look
    found: list[Path] = []
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    found.extend(debian)
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            found.append(Path(out.stdout.strip()))
    if initdb := shutil.which("initdb"):
        found.append(Path(initdb).resolve().parent)
    return found


def _major_version(bindir: Path) -> int | None:
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True)
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    return int(match.group(1)) if match else None


def _sharedir(bindir: Path, version: int) -> Path:
    if (bindir / "pg_config").is_file():
        out = subprocess.run([str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True)
        if out.returncode == 0:
            return Path(out.stdout.strip())
    for candidate in (Path(f"/usr/share/postgresql/{version}"), bindir.parent / "share" / "postgresql"):
        if candidate.exists():
            return candidate
    return bindir.parent / "share"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class EmbeddedCluster:
    """A PostgreSQL cluster living in `data_dir`, created on first use."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._as_root = os.geteuid() == 0

    # -- state --------------------------------------------------------------------------
    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists() and (self.data_dir / INFO_FILE).exists()

    def info(self) -> dict[str, object]:
        return dict(json.loads((self.data_dir / INFO_FILE).read_text()))

    def is_running(self) -> bool:
        if not self.initialized:
            return False
        bins = find_binaries()
        return self._run([bins.bindir / "pg_ctl", "-D", self.data_dir, "status"]).returncode == 0

    def url(self, dbname: str) -> str:
        info = self.info()
        return f"postgresql://{info['user']}:{info['password']}@127.0.0.1:{info['port']}/{dbname}"

    # -- lifecycle ----------------------------------------------------------------------
    def ensure_running(self) -> None:
        """Create the cluster if needed and start it if it is not running."""
        bins = find_binaries()
        if not self.initialized:
            self._initdb(bins)
        if not self.is_running():
            self._start(bins)

    def stop(self, mode: str = "fast") -> bool:
        """Stop the cluster (`immediate`: as a crash would); False when it was not running."""
        if not self.is_running():
            return False
        bins = find_binaries()
        out = self._run([bins.bindir / "pg_ctl", "-D", self.data_dir, "-m", mode, "-w", "stop"])
        if out.returncode != 0:
            raise ClusterError(f"pg_ctl stop failed: {out.stderr.strip() or out.stdout.strip()}")
        return True

    def standby(self, data_dir: Path) -> EmbeddedCluster:
        """A hot standby of this running cluster in `data_dir`, streaming from it, started on a
        port of its own: `pg_basebackup -R` copies the data and writes the standby's connection
        to this one (initdb's pg_hba.conf already lets the superuser replicate over 127.0.0.1)."""
        bins = find_binaries()
        standby = EmbeddedCluster(data_dir)
        standby._check_reachable()
        standby.data_dir.mkdir(parents=True)
        self._own(standby.data_dir)
        standby.data_dir.chmod(0o700)
        self._own(self.data_dir / INFO_FILE)  # clusters made before it was: pg_basebackup must read it
        info = self.info()
        out = self._run([bins.bindir / "pg_basebackup", "-D", standby.data_dir, "-R", "-X", "stream", "-c", "fast",
                         "-d", f"host=127.0.0.1 port={info['port']} user={info['user']} password={info['password']}"])
        if out.returncode != 0:
            raise ClusterError(f"pg_basebackup failed:\n{out.stderr.strip() or out.stdout.strip()}")
        standby.ensure_running()  # this cluster holds the copied port: the standby takes a free one
        return standby

    def promote(self) -> None:
        """End a standby's recovery: it becomes a primary (`pg_ctl promote`, waiting until it is)."""
        out = self._run([find_binaries().bindir / "pg_ctl", "-D", self.data_dir, "-w", "promote"])
        if out.returncode != 0:
            raise ClusterError(f"pg_ctl promote failed: {out.stderr.strip() or out.stdout.strip()}")

    def ensure_database(self, dbname: str) -> None:
        """Create `dbname` (if missing) with the PostGIS extension."""
        asyncio.run(_ensure_database(self.url("postgres"), self.url(dbname), dbname))

    # -- internals ----------------------------------------------------------------------
    def _initdb(self, bins: Binaries) -> None:
        self._check_reachable()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if any(self.data_dir.iterdir()):
            raise ClusterError(
                f"{self.data_dir} exists and is not an empty PostgreSQL data directory made by "
                "perisai. Remove it or set PERISAI_DATA_DIR to another directory."
            )
        self._own(self.data_dir)
        self.data_dir.chmod(0o700)
        password = secrets.token_urlsafe(24)
        with tempfile.TemporaryDirectory() as tmp:
            pwfile = Path(tmp) / "pw"
            pwfile.write_text(password + "\n")
            self._own(Path(tmp))
            self._own(pwfile)
            out = self._run(
                [bins.bindir / "initdb", "-D", self.data_dir, "-U", SUPERUSER, f"--pwfile={pwfile}",
                 "--auth=scram-sha-256", "-E", "UTF8", "--locale=C"]
            )
        if out.returncode != 0:
            raise ClusterError(f"initdb failed:\n{out.stderr.strip() or out.stdout.strip()}")
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\ninclude_if_exists = '{CONF_FILE}'\n")
        info_path = self.data_dir / INFO_FILE
        info_path.touch(mode=0o600)
        info_path.write_text(json.dumps({"user": SUPERUSER, "password": password, "port": free_port()}))
        self._own(info_path)  # the server reads every file of its directory when a standby is copied
        self._write_conf()

    def _write_conf(self) -> None:
        settings = {**SERVER_SETTINGS, "port": str(self.info()["port"])}
        path = self.data_dir / CONF_FILE
        path.write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
        self._own(path)

    def _start(self, bins: Binaries) -> None:
        if _port_in_use(int(str(self.info()["port"]))):
            info = self.info() | {"port": free_port()}
            (self.data_dir / INFO_FILE).write_text(json.dumps(info))
        self._write_conf()  # every start, so clusters made by older versions get current settings
        log = self.data_dir / "server.log"
        out = self._run(
            [bins.bindir / "pg_ctl", "-D", self.data_dir, "-l", log, "-w", "-t", "120", "start"]
        )
        if out.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise ClusterError(f"PostgreSQL did not start:\n{out.stderr.strip()}\n{tail}")

    def _run(self, args: list[object]) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_root else []
        return subprocess.run([*prefix, *map(str, args)], capture_output=True, text=True)

    def _own(self, path: Path) -> None:
        if self._as_root:
            shutil.chown(path, "postgres", "postgres")

    def _check_reachable(self) -> None:
        """As root, the postgres user must be able to reach the data directory's parents."""
        if not self._as_root:
            return
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise ClusterError(
                "Running as root, but there is no `postgres` user to run the database as. Install "
                "Debian's postgresql package, or run perisai as a normal user."
            ) from None
        parent = self.data_dir.parent
        parent.mkdir(parents=True, exist_ok=True)
        probe = self._run(["test", "-x", parent])
        if probe.returncode != 0:
            raise ClusterError(
                f"The postgres user cannot enter {parent} (PostgreSQL runs as that user when "
                "perisai runs as root). Set PERISAI_DATA_DIR to a directory under a path the "
                "postgres user can reach, e.g. PERISAI_DATA_DIR=/var/lib/perisai/pgdata."
            )


async def _ensure_database(admin_url: str, url: str, dbname: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", dbname)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{dbname}"')  # name is our own setting
    finally:
        await admin.close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    finally:
        await conn.close()


def resolve_database_url(database_url: str | None, data_dir: Path, dbname: str) -> str:
    """The URL to use: `database_url` as given, else the embedded cluster (started on demand)."""
    if database_url:
        return database_url
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", dbname):
        raise ClusterError(f"PERISAI_DATABASE_NAME must be a plain lower-case name, got {dbname!r}")
    cluster = EmbeddedCluster(data_dir)
    cluster.ensure_running()
    cluster.ensure_database(dbname)
    return cluster.url(dbname)
