"""Small-count suppression of enrollment figures (the rule: migration 0013).

Callers without personal-data access (planners, public dashboards) get null for a region's or a
village's active enrollments — and for what gives them back (penetration, uncovered workers,
enrollments per agent) — when the cell is in `hidden_enrollment_cell`, kept by triggers in the
transaction of every change; every path that shows enrollment figures (GraphQL, maps, tiles, OGC
API, exports) wraps them with `shown`, or marks figures built in Python with `mark_suppressed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import Viewer
from db.engine import Pooler, create_engine
from db.records import CoverageFigures

K = TypeVar("K")


def is_hidden(code: str) -> str:
    """SQL boolean: the cell whose code is `code` (NULL: Indonesia) is suppressed (one index probe)."""
    # An alias no caller uses: `code` is resolved in the caller's FROM, not in this subquery's.
    return f"EXISTS (SELECT FROM hidden_enrollment_cell hidden_cell WHERE hidden_cell.code = coalesce({code}, ''))"


def suppresses(viewer: Viewer) -> bool:
    return not viewer.sees_personal_data


def hidden(viewer: Viewer, code: str) -> str:
    """SQL boolean: the cell whose code is `code` (NULL: Indonesia) is suppressed for the viewer."""
    if not suppresses(viewer):
        return "false"
    return is_hidden(code)


def fewest_shown(viewer: Viewer) -> str:
    """SQL: the fewest enrollments a figure drawn from individual ones (a radius around their
    points) may rest on for the viewer."""
    return "small_count_k()" if suppresses(viewer) else "1"


def shown(viewer: Viewer, code: str, value: str) -> str:
    """`value` (SQL), or NULL when the cell `code` is suppressed for the viewer."""
    if not suppresses(viewer):
        return value
    return f"CASE WHEN {hidden(viewer, code)} THEN NULL ELSE {value} END"


async def store_small_count_k(url: str, k: int, pooler: Pooler = Pooler.NONE) -> None:
    """Make `k` the database's k; a change recomputes every hidden cell (under the rule's lock).
    Start-up, not a request: on a connection of its own, without the requests' statement timeout
    (as low as 1 ms in tests; recomputing every cell takes about a second nationally)."""
    engine = create_engine(url, pool_size=1, pooler=pooler)
    try:
        async with engine.begin() as connection:
            if (await connection.execute(text("SELECT small_count_k()"))).scalar_one() != k:  # read-only when unchanged
                await connection.execute(text("SELECT set_small_count_k(:k)"), {"k": k})
    finally:
        await engine.dispose()


async def mark_suppressed(session: AsyncSession, viewer: Viewer | None,
                          figures: Mapping[K, CoverageFigures]) -> dict[K, CoverageFigures]:
    """`figures` (and their children) marked where the viewer may not see their enrollments."""
    if viewer is None or not suppresses(viewer):
        return dict(figures)
    codes = sorted({cell.code or "" for f in figures.values() for cell in (f, *f.children)})
    rows = await session.execute(text("SELECT code FROM hidden_enrollment_cell WHERE code = ANY(:codes)"), {"codes": codes})
    hidden_codes = frozenset(rows.scalars())
    return {key: _marked(f, hidden_codes) for key, f in figures.items()}


def _marked(figures: CoverageFigures, hidden_codes: frozenset[str]) -> CoverageFigures:
    return replace(figures, suppressed=(figures.code or "") in hidden_codes,
                   children=tuple(_marked(c, hidden_codes) for c in figures.children))
