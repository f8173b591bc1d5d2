"""Domain errors raised by the database layer; upper layers map them to CLI or GraphQL errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_REPORTED_PROBLEMS = 50


class PerisaiError(Exception):
    """Base class: the message is written for a planner, not a programmer."""


class NotFound(PerisaiError):
    pass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row or feature of an input file."""

    where: str  # "row 12", "feature 34.71.01.1001 (#5)"
    field: str | None
    reason: str

    def __str__(self) -> str:
        field = f", {self.field}" if self.field else ""
        return f"{self.where}{field}: {self.reason}"

    @property
    def row(self) -> int:
        """The spreadsheet row a problem is on (0 for problems of the whole file): the order they are listed in."""
        return int(self.where.removeprefix("row ")) if self.where.startswith("row ") else 0


class ImportRejected(PerisaiError):
    """A file was refused; nothing was written. `problems` lists what to fix."""

    def __init__(self, summary: str, problems: list[Problem] | None = None,
                 rows: list[dict[str, Any]] | None = None) -> None:
        self.summary = summary
        self.problems = problems or []
        self.rows = rows  # the rows that did read well, so the database's checks can run on them too
        super().__init__(self.render())

    def render(self) -> str:
        lines = [self.summary]
        shown = self.problems[:MAX_REPORTED_PROBLEMS]
        lines += [f"  - {p}" for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"  … and {len(self.problems) - len(shown)} more")
        if self.problems:
            lines.append("Nothing was imported. Fix these and run the import again.")
        return "\n".join(lines)
