"""Fixtures: a throwaway PostgreSQL + PostGIS cluster started by the project's own embedded code.

Two template databases are built once per session: `tpl_empty` (migrated) and `tpl_demo`
(migrated + a small demo). Tests get clones made by pytest-postgresql's DatabaseJanitor, so each
test that writes starts from a known state in about a tenth of a second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from auth.tokens import issue
from db.access import Role
from db.engine import create_engine
from db.migrate import upgrade
from demo.build import build_demo
from embedded.cluster import EmbeddedCluster

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "indonesia"
NIK_KEY = b"test-nik-key"
DEMO_VILLAGES = 150


def require_data(*names: str) -> Path:
    """The shared real-data folder, or skip with the reason."""
    for name in names:
        if not (DATA / name).exists():
            pytest.skip(f"real data not available: {DATA / name} is absent")
    return DATA


@pytest.fixture(scope="session")
def cluster() -> Iterator[EmbeddedCluster]:
    base = Path(tempfile.mkdtemp(prefix="perisai-test-"))
    base.chmod(0o755)  # as root, the postgres user must be able to enter it
    cluster = EmbeddedCluster(base / "pgdata")
    cluster.ensure_running()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


def _janitor(cluster: EmbeddedCluster, dbname: str, template: str | None = None) -> DatabaseJanitor:
    info = cluster.info()
    return DatabaseJanitor(
        user=str(info["user"]), host="127.0.0.1", port=int(str(info["port"])),
        dbname=dbname, template_dbname=template, password=str(info["password"]),
    )


@pytest.fixture(scope="session")
def templates(cluster: EmbeddedCluster) -> dict[str, str]:
    """Build the template databases once; returns their names."""
    _janitor(cluster, "tpl_empty").init()
    cluster.ensure_database("tpl_empty")
    upgrade(cluster.url("tpl_empty"))
    _janitor(cluster, "tpl_demo", "tpl_empty").init()
    load_demo(cluster.url("tpl_demo"))
    return {"empty": "tpl_empty", "demo": "tpl_demo"}


def load_demo(url: str, villages: int = DEMO_VILLAGES, seed: int = 7) -> None:
    """Load a demo into the database at `url` (as `perisai demo --villages N --seed S` would)."""

    async def go() -> None:
        engine = create_engine(url)
        try:
            await build_demo(engine, villages=villages, seed=seed, nik_key=NIK_KEY)
        finally:
            await engine.dispose()

    asyncio.run(go())


def _clone(cluster: EmbeddedCluster, template: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    janitor = _janitor(cluster, name, template)
    janitor.init()
    try:
        yield cluster.url(name)
    finally:
        janitor.drop()


@pytest.fixture
def empty_db(cluster: EmbeddedCluster, templates: dict[str, str]) -> Iterator[str]:
    """URL of a fresh migrated database with no data."""
    yield from _clone(cluster, templates["empty"])


@pytest.fixture
def demo_db(cluster: EmbeddedCluster, templates: dict[str, str]) -> Iterator[str]:
    """URL of a fresh copy of the demo database (write to it freely)."""
    yield from _clone(cluster, templates["demo"])


@pytest.fixture(scope="module")
def shared_demo_db(cluster: EmbeddedCluster, templates: dict[str, str]) -> Iterator[str]:
    """URL of a demo database shared by one module's read-only tests."""
    yield from _clone(cluster, templates["demo"])


def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Run one query directly with asyncpg (independent of the code under test)."""

    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(go())
    # Inside Playwright's sync API an event loop already runs in this thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def table_counts(url: str) -> dict[str, int]:
    tables = ["province", "regency", "district", "village", "agent", "participant", "enrollment"]
    row = fetch(url, "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in tables))[0]
    return dict(row)


def assert_rejected(
    invoke: Callable[..., tuple[int, str]], url: str, args: Sequence[str], *fragments: str,
    snapshot: Callable[[str], object] = table_counts,
) -> None:
    """The command fails, says each fragment, shows no traceback, and leaves the data as it was."""
    before = snapshot(url)
    code, output = invoke(url, *args)
    assert code != 0
    for fragment in fragments:
        assert fragment in output, output
    assert "Traceback" not in output
    assert snapshot(url) == before


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


JWT_SECRET = "test-secret-for-signing-tokens-0123456789"


def token(role: str = "admin", *scope: str, agent: str | None = None, ttl: dt.timedelta = dt.timedelta(hours=1)) -> str:
    """A token signed with the test servers' secret."""
    return issue(
        JWT_SECRET.encode(), subject=f"test-{role}", role=Role(role), scope=scope, agent_code=agent, ttl=ttl
    )


@contextmanager
def running_server(database_url: str, workdir: Path, **env: str) -> Iterator[str]:
    """Base URL of a real uvicorn server (subprocess, loopback) over `database_url`."""
    port = free_port()
    environment = {
        **os.environ, "DATABASE_URL": database_url, "PERISAI_ENV": "test", "PERISAI_JWT_SECRET": JWT_SECRET,
        "PERISAI_NIK_KEY": NIK_KEY.decode(),
        "PERISAI_DATA_DIR": str(workdir / "unused-pgdata"), **env,
    }
    log = workdir / f"server-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port)], env=environment, stdout=out, stderr=subprocess.STDOUT, cwd=workdir,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"server did not start:\n{log.read_text()}")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server over the module's shared demo database."""
    with running_server(shared_demo_db, tmp_path_factory.mktemp("server")) as base:
        yield base


def post(server: str, query: str, variables: dict[str, Any] | None = None, *, auth: str | None = "admin") -> dict[str, Any]:
    """POST a GraphQL document; `auth` is a token, a role name (admin/planner) or None."""
    headers = {}
    if auth is not None:
        bearer = token(auth) if auth in ("admin", "planner") else auth
        headers["authorization"] = f"Bearer {bearer}"
    response = httpx.post(
        f"{server}/graphql", json={"query": query, "variables": variables or {}}, headers=headers, timeout=60
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def data(server: str, query: str, variables: dict[str, Any] | None = None, *, auth: str | None = "admin") -> dict[str, Any]:
    """The `data` of a request that must succeed."""
    body = post(server, query, variables, auth=auth)
    assert "errors" not in body, body["errors"]
    return dict(body["data"])


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]
