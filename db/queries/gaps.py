"""Coverage gaps: the villages of a region no counting agent reaches, or where enrollment lags.

Ranked by uncovered workers (most first, then by code). Villages without an estimate cannot be
ranked: they come after every ranked village, in code order, and only when asked for.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.queries.coverage import (
    VILLAGE_FIGURES,
    active_enrollments,
    code_range,
    nearest_counting_agent,
    reached,
    to_village_coverage,
    within,
)
from db.queries.observed import observed
from db.queries.paging import Item, Key, Slice
from db.queries.suppression import is_hidden
from db.records import Activity, VillageCoverage


class GapKind(enum.StrEnum):
    UNREACHED = "unreached"  # no counting agent reaches the label point
    UNDERPENETRATED = "underpenetrated"  # penetration below the threshold (or unknown)
    ALL = "all"  # unreached or underpenetrated
    PAPER_ONLY = "paper_only"  # reached, but no agent in reach enrolled anyone there in :observed_days days


@dataclass(frozen=True, slots=True)
class GapQuery:
    region_code: str | None
    kind: GapKind
    penetration_below: float
    min_uncovered_workers: int
    include_without_estimate: bool
    activity: Activity
    suppress: bool = False  # small counts suppressed (callers without personal data)


def _gaps(figures: str, kind_condition: str, paper_only: str = "false") -> str:
    # With :suppress (callers without personal data), a village whose enrollments are suppressed
    # (migration 0013) passes every enrollment threshold and ranks by its informal workers: were
    # thresholds applied to it, moving penetrationBelow or minUncoveredWorkers would find its count.
    return f"""
WITH {figures},
gaps AS (
    SELECT f.*, {paper_only} AS paper_only,
           CASE WHEN f.informal_workers IS NULL THEN 1.0
                WHEN f.suppressed THEN -f.informal_workers::float8
                ELSE -greatest(0, f.informal_workers - f.active_enrollments)::float8 END AS rank_key
    FROM (SELECT f.*, CAST(:suppress AS boolean) AND {is_hidden("f.code")} AS suppressed FROM village_figures f) f
    WHERE {kind_condition}
      AND (f.informal_workers IS NULL OR f.suppressed
           OR greatest(0, f.informal_workers - f.active_enrollments) >= CAST(:min_uncovered AS integer))
      AND (CAST(:with_unknown AS boolean) OR f.informal_workers IS NOT NULL)
)"""


def _unreached_figures(from_counter: bool) -> str:
    """Unreached villages first, figures only for them: a region's reached villages (most of them)
    cost one index probe each, instead of an aggregate of every reach pair and enrollment of the
    region."""
    return f"""
unreached AS MATERIALIZED (  -- materialised: the gap conditions must not be pushed below the anti-join
    SELECT v.code, v.label_point, v.informal_workers FROM village v
    WHERE {within("v.code")} AND NOT {reached("v.code", from_counter)}
),
village_figures AS (
    SELECT u.*, 0::bigint AS agents_in_reach,
           (SELECT count(*) FROM agent_reach r WHERE r.village_code = u.code) AS agents_any,
           {active_enrollments("u.code")} AS active_enrollments
    FROM unreached u
)"""


_LOW = "(f.suppressed OR f.active_enrollments < CAST(:below AS float8) * f.informal_workers)"
# Unreached gaps, with whether who counts may be read from the counter → the statement's CTEs.
_UNREACHED = {counter: _gaps(_unreached_figures(counter), "true") for counter in (False, True)}
# The other kinds rank every village of the region by figures that count each reach pair with its
# agent (the counter was tried for them and not kept: BENCHMARKS.md, 2026-12-01 06:37).
_FIGURED = {
    GapKind.UNDERPENETRATED: _gaps(VILLAGE_FIGURES, f"(f.informal_workers IS NULL OR {_LOW})"),
    GapKind.ALL: _gaps(VILLAGE_FIGURES, f"(f.agents_in_reach = 0 OR f.informal_workers IS NULL OR {_LOW})"),
    GapKind.PAPER_ONLY: _gaps(VILLAGE_FIGURES, f"f.agents_in_reach > 0 AND NOT {observed('f.code')}", "true"),
}


def _ctes(kind: GapKind, activity: Activity, stand_ins: bool) -> str:
    """The WITH entries that define `gaps` for `kind` (stand_ins as in gap_rows_sql)."""
    if kind is GapKind.UNREACHED:
        return _UNREACHED[activity.within_days is None and not stand_ins]
    return _FIGURED[kind]


def gap_reasons_sql(gap: str, below: str = "CAST(:below AS float8)") -> str:
    """SQL: the reasons (a text array, API names) of the gap row aliased `gap`, LOW_PENETRATION
    below the share `below` (SQL)."""
    return (f"array_remove(ARRAY["
            f"CASE WHEN {gap}.agents_in_reach = 0 THEN CASE WHEN {gap}.agents_any > 0 THEN 'AGENTS_INACTIVE' "
            f"ELSE 'NO_AGENT_WITHIN_REACH' END END, "
            f"CASE WHEN {gap}.suppressed THEN 'ENROLLMENTS_SUPPRESSED' "
            f"WHEN {gap}.active_enrollments::float8 < {below} * {gap}.informal_workers THEN 'LOW_PENETRATION' END, "
            f"CASE WHEN {gap}.informal_workers IS NULL THEN 'NO_ESTIMATE' END, "
            f"CASE WHEN {gap}.paper_only THEN 'PAPER_ONLY' END], NULL)")


def gap_rows_sql(kind: GapKind, activity: Activity, *, stand_ins: bool = False) -> str:
    """Every gap of kind `kind` in the region (:lo, :hi), with its village figures, rank key, label
    point and whether it is reached only on paper (PAPER_ONLY also takes :observed_days).
    `stand_ins`: the statement will read `agent` and `agent_reach` from a scenario's WITH entries,
    so nothing may come from the counters of the present. The text depends on that and on whether
    `activity` has a window; values are bound as usual."""
    return _ctes(kind, activity, stand_ins) + "SELECT * FROM gaps"


def _params(query: GapQuery) -> dict[str, object]:
    return {
        **code_range(query.region_code), **query.activity.params(),
        "below": query.penetration_below, "min_uncovered": query.min_uncovered_workers,
        "with_unknown": query.include_without_estimate, "suppress": query.suppress,
    }


@dataclass(frozen=True, slots=True)
class GapPage:
    slice: Slice[VillageCoverage]
    total: int  # gaps in the whole ranked list


async def gap_page(session: AsyncSession, query: GapQuery, limit: int, after: Key | None) -> GapPage:
    """A page of the ranked gaps and their total count, in one statement (the gaps are computed once)."""
    stmt = text(f"""
        {_ctes(query.kind, query.activity, stand_ins=False)}
        SELECT g.code, g.informal_workers, g.agents_in_reach, g.agents_any, g.active_enrollments, g.rank_key,
               n.nearest_agent_id, n.nearest_m, total.n AS total
        FROM (SELECT count(*) AS n FROM gaps) total
        LEFT JOIN (SELECT * FROM gaps
              WHERE CAST(:after_rank AS float8) IS NULL
                 OR (rank_key, code) > (CAST(:after_rank AS float8), CAST(:after_code AS text))
              ORDER BY rank_key, code LIMIT :limit) g ON true
        LEFT JOIN {nearest_counting_agent("g.label_point")} n ON true
        ORDER BY g.rank_key, g.code
    """)
    params = {**_params(query), "limit": limit + 1,
              "after_rank": after[0] if after else None, "after_code": after[1] if after else None}
    rows = (await session.execute(stmt, params)).all()  # one row with null code when the page is empty
    items = [Item(to_village_coverage(r, query.activity), (float(r.rank_key), r.code)) for r in rows if r.code]
    return GapPage(Slice(items[:limit], len(items) > limit), int(rows[0].total))
