"""Agent workload: what each agent of a region reaches, how much it enrolls, and with whom it overlaps.

An agent belongs to the region of its home village. Per agent:
- villages and informal workers whose label point it reaches;
- its *share*: Σ over those villages of workers / (other counting agents reaching the village + 1),
  i.e. the workers it would serve if every village's workers were split evenly among its agents;
- enrollments it recorded in the 30 and 90 days up to `as_of`;
- overlap: the share of its reached workers that another counting agent also reaches.
Ordered by share, heaviest first.
"""

from __future__ import annotations

from dataclasses import dataclass

from db.queries.coverage import AS_OF, counting_per_village, counts, within

HEAVY_OVERLAP_SHARE = 0.8  # most of an agent's workers are also someone else's


@dataclass(frozen=True, slots=True)
class WorkloadRecord:
    agent_id: int
    counts: bool  # counts under the request's activity rule
    villages_in_reach: int
    informal_workers_in_reach: int
    villages_without_estimate: int
    workers_share: float
    overlapping_workers: int
    enrollments_30_days: int
    enrollments_90_days: int
    overloaded: bool = False  # set by the caller, who chooses the threshold

    @property
    def heavy_overlap(self) -> bool:
        return (self.overlap_share or 0.0) >= HEAVY_OVERLAP_SHARE

    @property
    def overlap_share(self) -> float | None:
        return self.overlapping_workers / self.informal_workers_in_reach if self.informal_workers_in_reach else None


_WORKLOAD = f"""
WITH mine AS (
    SELECT a.id, {counts("a")} AS counts FROM agent a WHERE {within("a.home_village_code")}
),
pairs AS (SELECT r.agent_id, r.village_code FROM agent_reach r JOIN mine m ON m.id = r.agent_id),
village_load AS ({counting_per_village("SELECT village_code FROM pairs")}),
reached AS (  -- others: counting agents other than this one
    SELECT m.id, v.informal_workers, l.counting - CASE WHEN m.counts THEN 1 ELSE 0 END AS others
    FROM mine m JOIN pairs p ON p.agent_id = m.id JOIN village v ON v.code = p.village_code
    JOIN village_load l ON l.village_code = p.village_code
),
per_agent AS (
    SELECT id, count(*) AS villages, coalesce(sum(informal_workers), 0) AS workers,
           count(*) FILTER (WHERE informal_workers IS NULL) AS without_estimate,
           coalesce(sum(informal_workers::float8 / (others + 1)), 0) AS share,
           coalesce(sum(informal_workers) FILTER (WHERE others > 0), 0) AS overlapping
    FROM reached GROUP BY id
),
recent AS (
    SELECT e.agent_id, count(*) FILTER (WHERE e.enrolled_on > {AS_OF} - 30) AS n30, count(*) AS n90
    FROM enrollment e JOIN mine m ON m.id = e.agent_id
    WHERE e.enrolled_on > {AS_OF} - 90 AND e.enrolled_on <= {AS_OF}
    GROUP BY e.agent_id
),
workload AS (
    SELECT m.id, m.counts, coalesce(p.villages, 0) AS villages, coalesce(p.workers, 0) AS workers,
           coalesce(p.without_estimate, 0) AS without_estimate, coalesce(p.share, 0) AS share,
           coalesce(p.overlapping, 0) AS overlapping, coalesce(r.n30, 0) AS n30, coalesce(r.n90, 0) AS n90,
           -coalesce(p.share, 0) AS rank_key
    FROM mine m LEFT JOIN per_agent p ON p.id = m.id LEFT JOIN recent r ON r.agent_id = m.id
)"""

# Every agent of the region (:lo, :hi) with its workload and rank key (heaviest first).
WORKLOAD_ROWS = _WORKLOAD + "SELECT * FROM workload"
