"""`perisai db …` against a cluster of its own, and the errors when PostgreSQL or PostGIS is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PERISAI = [sys.executable, "-m", "cli.main"]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PERISAI_PG_BINDIR")}
    return subprocess.run([*PERISAI, *args], env={**clean, **env}, capture_output=True, text=True, timeout=180)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="perisai-cli-"))
    base.chmod(0o755)
    yield base / "pgdata"
    run("db", "down", env={"PERISAI_DATA_DIR": str(base / "pgdata")})
    shutil.rmtree(base, ignore_errors=True)


def test_db_up_status_down(data_dir: Path) -> None:
    env = {"PERISAI_DATA_DIR": str(data_dir)}
    assert run("db", "status", env=env).returncode == 3
    up = run("db", "up", env=env)
    assert up.returncode == 0, up.stderr
    assert "Database ready" in up.stderr
    status = run("db", "status", env=env)
    assert status.returncode == 0 and "running" in status.stderr
    assert run("db", "up", env=env).returncode == 0  # idempotent
    down = run("db", "down", env=env)
    assert down.returncode == 0 and "Stopped" in down.stderr
    assert run("db", "status", env=env).returncode == 3


def test_missing_postgres_binaries(data_dir: Path, tmp_path: Path) -> None:
    result = run("db", "up", env={"PERISAI_DATA_DIR": str(data_dir), "PERISAI_PG_BINDIR": str(tmp_path)})
    assert result.returncode == 1
    assert "PostgreSQL 15 or newer was not found" in result.stderr
    assert "postgresql-15-postgis-3" in result.stderr and "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_postgis(data_dir: Path, tmp_path: Path) -> None:
    real = next(p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin")) if (p / "initdb").exists())
    fake = tmp_path / "bin"
    fake.mkdir()
    for tool in ("initdb", "pg_ctl", "postgres"):
        (fake / tool).symlink_to(real / tool)
    (fake / "pg_config").write_text(f"#!/bin/sh\necho {tmp_path / 'share'}\n")
    (fake / "pg_config").chmod(0o755)
    result = run("db", "up", env={"PERISAI_DATA_DIR": str(data_dir), "PERISAI_PG_BINDIR": str(fake)})
    assert result.returncode == 1
    assert "PostGIS extension is not" in result.stderr and "postgresql-15-postgis-3" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_without_secret_refuses_to_start(data_dir: Path) -> None:
    result = run("serve", env={"PERISAI_DATA_DIR": str(data_dir), "PERISAI_ENV": "production"})
    assert result.returncode == 1
    assert "PERISAI_JWT_SECRET is not set" in result.stderr and "Traceback" not in result.stderr
