"""`perisai check niks`: participants keyed twice by NIKs typed in other forms of digits (before
NIKs were normalised), found from the raw NIKs exactly, or as candidates from the database alone."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
from pathlib import Path

from db.nik import nik_hash
from tests.conftest import NIK_KEY, fetch

PLAIN = "3401015204957771"
TYPED = "340101５204957771"  # a fullwidth 5, as a phone keyboard may send it


def _old_hash(nik: str) -> bytes:
    return hmac.new(NIK_KEY, nik.encode(), hashlib.sha256).digest()  # what the server stored before normalising


def check(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "PERISAI_NIK_KEY": NIK_KEY.decode()}
    return subprocess.run([sys.executable, "-m", "cli.main", "check", "niks", *args], env=env,
                          capture_output=True, text=True)


def test_aliases_are_found_from_raw_niks_and_as_candidates(demo_db: str, tmp_path: Path) -> None:
    village = fetch(demo_db, "SELECT code FROM village ORDER BY code LIMIT 1")[0]["code"]
    ids = [fetch(demo_db, "INSERT INTO participant (nik_hash, nik_last4, name, village_code) VALUES ($1, '7771', $2, $3) "
                          "RETURNING id", key, name, village)[0]["id"]
           for key, name in ((nik_hash(PLAIN, NIK_KEY), "Siti Aminah"), (_old_hash(TYPED), " siti aminah"))]
    raw = tmp_path / "niks.csv"
    raw.write_text(f"nik,name\n{TYPED},Siti Aminah\n{PLAIN},Siti Aminah\n3471015708900001,Other\n", encoding="utf-8")
    exact = check(demo_db, "--from", str(raw))
    assert exact.returncode == 0, exact.stderr
    assert "1 aliases found" in exact.stderr and f"participant {ids[0]}\talias participant {ids[1]}" in exact.stdout
    assert PLAIN not in exact.stdout + exact.stderr and "…7771" in exact.stdout  # never more than the last 4 digits
    guessed = check(demo_db)
    assert guessed.returncode == 0 and f"participant {ids[0]}\talias participant {ids[1]}" in guessed.stdout


def test_an_unreadable_file_is_a_clear_error(demo_db: str, tmp_path: Path) -> None:
    result = check(demo_db, "--from", str(tmp_path / "missing.csv"))
    assert result.returncode == 1 and "cannot read" in result.stderr and "Traceback" not in result.stderr
