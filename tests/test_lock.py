"""requirements.lock pins every dependency pyproject.toml declares, at a version it allows."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def test_the_lock_pins_every_declared_dependency_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]
    pinned = {canonicalize_name(m.group(1)): m.group(2)
              for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", (ROOT / "requirements.lock").read_text(), re.M)}
    for requirement in declared:
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is declared but not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), \
            f"requirements.lock pins {requirement.name}=={pinned[name]}, outside {requirement.specifier}: run `make lock`"
