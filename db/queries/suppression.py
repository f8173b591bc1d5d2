"""Small-count suppression of enrollment figures (the rule: migration 0013).

Callers without personal-data access (planners, public dashboards) get null for a region's or a
village's active enrollments — and for what gives them back (penetration, uncovered workers,
enrollments per agent) — when the cell is in `hidden_enrollment_cells`; every path that shows
enrollment figures (GraphQL, maps, tiles, OGC API, exports) wraps them with `shown`.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer
from db.records import CoverageFigures

# Once per statement: uncorrelated, PostgreSQL evaluates it as one InitPlan. Indonesia's whole
# hierarchy, so that a cell is hidden or not whatever the request's region.
# (The cast keeps `= ANY(…)` reading it as an array, not as a subquery's rows.)
HIDDEN_CELLS = "CAST((SELECT hidden_enrollment_cells(NULL)) AS text[])"


def suppresses(viewer: Viewer) -> bool:
    return not viewer.sees_personal_data


def hidden(viewer: Viewer, code: str) -> str:
    """SQL boolean: the cell whose code is `code` (NULL: Indonesia) is suppressed for the viewer."""
    if not suppresses(viewer):
        return "false"
    return f"(coalesce({code}, '') = ANY({HIDDEN_CELLS}))"


def shown(viewer: Viewer, code: str, value: str) -> str:
    """`value` (SQL), or NULL when the cell `code` is suppressed for the viewer."""
    if not suppresses(viewer):
        return value
    return f"CASE WHEN {hidden(viewer, code)} THEN NULL ELSE {value} END"


async def hidden_codes(session: AsyncSession, viewer: Viewer) -> frozenset[str]:
    """The suppressed cells for the viewer ('' is Indonesia), for pages built in Python."""
    if not suppresses(viewer):
        return frozenset()
    return frozenset((await session.execute(text(f"SELECT {HIDDEN_CELLS}"))).scalar_one())


def suppressed(figures: CoverageFigures, hidden: frozenset[str]) -> CoverageFigures:
    """`figures` and its children marked where their cell is hidden."""
    return replace(figures, suppressed=(figures.code or "") in hidden,
                   children=tuple(suppressed(c, hidden) for c in figures.children))
