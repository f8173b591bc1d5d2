"""Every command's help reads cleanly: placeholders in capitals, no type labels such as <bool>."""

from __future__ import annotations

import subprocess
import sys

import pytest

COMMANDS = [[], ["db"], ["db", "up"], ["import"], ["import", "agents"], ["import", "boundaries"], ["demo"], ["serve"],
            ["map"], ["map", "district"], ["token"], ["check", "niks"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "perisai")
def test_help_has_no_type_labels(command: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "cli.main", *command, "--help"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    for label in ("<bool>", "<str>", "<int", "<list[", "<path>", "<Path", "╭"):
        options = result.stdout.split("Options:", 1)[-1]
        assert label not in options, f"{label} in the options of perisai {' '.join(command)}:\n{result.stdout}"


def test_the_version_comes_from_the_package(server: str) -> None:
    from importlib.metadata import version

    import httpx

    result = subprocess.run([sys.executable, "-m", "cli.main", "--version"], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == f"perisai-coverage {version('perisai-coverage')}"
    assert httpx.get(f"{server}/healthz").json()["version"] == version("perisai-coverage")
