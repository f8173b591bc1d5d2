"""`perisai map … -o DIR`: the folder is written safely. A symbolic link where the folder goes, or
planted inside an earlier export, is never written through (it could point anywhere); a folder
holding other files is not replaced; a write that fails part-way (a full disk) is a clear error
that leaves the earlier export as it was."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

DISTRICT = "99.01.01"


def export(url: str, output: Path, *args: str, limit_bytes: int | None = None) -> subprocess.CompletedProcess[str]:
    def limited() -> None:  # a file-size limit fails writes with EFBIG, as a full disk fails them with ENOSPC
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))  # type: ignore[arg-type]

    return subprocess.run([sys.executable, "-m", "cli.main", "map", "district", DISTRICT, "-o", str(output), *args],
                          env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True,
                          preexec_fn=limited if limit_bytes else None)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_district_export_is_a_folder_with_its_page_an_index_and_the_assets(shared_demo_db: str, tmp_path: Path) -> None:
    result = export(shared_demo_db, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    files = tree(tmp_path / "out")
    assert {"index.html", f"districts/{DISTRICT}.html", ".perisai-maps", "assets/leaflet@1.9.3/leaflet.js"} <= set(files)
    assert not any(name.startswith(("assets/graphiql", "assets/react")) for name in files)  # only what maps use
    page = files[f"districts/{DISTRICT}.html"].decode()
    assert 'src="../assets/leaflet@1.9.3/leaflet.js"' in page
    assert "../regencies/" not in page and "../districts/" not in page  # the regency and neighbours are not in it


def test_a_symlink_where_the_folder_goes_is_refused(shared_demo_db: str, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").symlink_to(elsewhere)
    result = export(shared_demo_db, tmp_path / "out")
    assert result.returncode == 1 and "symbolic link" in result.stderr and "Traceback" not in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_symlink_planted_inside_an_earlier_export_is_not_written_through(shared_demo_db: str, tmp_path: Path) -> None:
    assert export(shared_demo_db, tmp_path / "out").returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.rename(tmp_path / "out" / "assets", tmp_path / "moved")
    (tmp_path / "out" / "assets").symlink_to(elsewhere)
    assert export(shared_demo_db, tmp_path / "out").returncode == 0
    assert list(elsewhere.iterdir()) == [] and not (tmp_path / "out" / "assets").is_symlink()


def test_a_folder_with_other_files_is_left_alone(shared_demo_db: str, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.docx").write_text("keep me")
    result = export(shared_demo_db, tmp_path / "out")
    assert result.returncode == 1 and "other files" in result.stderr
    assert tree(tmp_path / "out") == {"thesis.docx": b"keep me"}


def test_a_write_that_fails_part_way_is_a_clear_error_and_keeps_the_earlier_export(shared_demo_db: str, tmp_path: Path) -> None:
    assert export(shared_demo_db, tmp_path / "out", "--metric", "penetration").returncode == 0
    before = tree(tmp_path / "out")
    result = export(shared_demo_db, tmp_path / "out", limit_bytes=60_000)
    assert result.returncode == 1 and "could not write the maps" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert tree(tmp_path / "out") == before and [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging left


def test_bad_options_are_named_and_write_nothing(shared_demo_db: str, tmp_path: Path) -> None:
    for args, named in ((["--metric", "speed"], "metric"), (["--lang", "fr"], "language"),
                        (["--classification", "random"], "classification")):
        result = export(shared_demo_db, tmp_path / "out", *args)
        assert result.returncode == 1 and named in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_exporting_twice_replaces_the_folder(shared_demo_db: str, tmp_path: Path) -> None:
    assert export(shared_demo_db, tmp_path / "out", "--lang", "en").returncode == 0
    assert export(shared_demo_db, tmp_path / "out").returncode == 0
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert '<html lang="id">' in (tmp_path / "out" / "districts" / f"{DISTRICT}.html").read_text()
