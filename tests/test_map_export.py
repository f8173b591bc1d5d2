"""`perisai map … -o`: paths are written safely. A symbolic link planted where the map or its
assets folder will go is refused (it could point anywhere), and a write that fails part-way
(a full disk) is a clear error that leaves nothing half-written."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

DISTRICT = "99.01.01"


def export(url: str, output: Path, limit_bytes: int | None = None) -> subprocess.CompletedProcess[str]:
    def limited() -> None:  # a file-size limit fails writes with EFBIG, as a full disk fails them with ENOSPC
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))  # type: ignore[arg-type]

    return subprocess.run([sys.executable, "-m", "cli.main", "map", "district", DISTRICT, "-o", str(output)],
                          env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True,
                          preexec_fn=limited if limit_bytes else None)


def test_a_planted_symlink_for_the_assets_folder_is_refused(shared_demo_db: str, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "district_assets").symlink_to(elsewhere)
    result = export(shared_demo_db, tmp_path / "out" / "district.html")
    assert result.returncode == 1 and "symbolic link" in result.stderr and "Traceback" not in result.stderr
    assert list(elsewhere.iterdir()) == [] and not (tmp_path / "out" / "district.html").exists()


def test_a_planted_symlink_for_the_page_is_refused(shared_demo_db: str, tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    (tmp_path / "district.html").symlink_to(target)
    result = export(shared_demo_db, tmp_path / "district.html")
    assert result.returncode == 1 and "symbolic link" in result.stderr
    assert target.read_text() == "keep me"


def test_a_write_that_fails_part_way_is_a_clear_error_and_leaves_nothing(shared_demo_db: str, tmp_path: Path) -> None:
    result = export(shared_demo_db, tmp_path / "district.html", limit_bytes=60_000)
    assert result.returncode == 1 and "could not write the map" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # no page, no assets, no staging folder


def test_exporting_twice_replaces_the_assets_folder(shared_demo_db: str, tmp_path: Path) -> None:
    for _ in range(2):
        assert export(shared_demo_db, tmp_path / "district.html").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["district.html", "district_assets"]
