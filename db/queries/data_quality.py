"""Suspicious field records for managers to check, in one statement, by reason then id.

Each reason is one branch of a UNION ALL; a branch the caller did not ask for is skipped at run
time (its gate is a one-time filter), and every branch starts after the cursor. The national
statement lets each branch stop at the page's end; a region's is sorted once (see `_flags`).

- GPS_OUTSIDE_VILLAGE: the device's point is farther from the claimed village's boundary than the
  accuracy the device reported (geodesic distance; no accuracy counts as 0 m).
- OUTSIDE_AGENT_REACH: the claimed village's nearest boundary point is more than FAR_FACTOR × the
  agent's reach from the agent's base. Villages in the agent's coverage (label point within reach)
  are skipped before any distance is computed: their boundary is within reach by definition.
- NIK_SHARED_BY_AGENTS: the participant (one NIK) has enrollments recorded by two or more agents.
- IDENTICAL_GPS_BURST: at least BURST_SIZE enrollments carry exactly the same coordinates and were
  recorded within BURST_WINDOW of each other (a phone reusing one cached fix, or records made at
  a desk rather than in the field).
- AGENT_INACTIVE: an active agent who joined at least INACTIVE_DAYS ago and enrolled nobody in
  the INACTIVE_DAYS up to `as_of`.

Enrollment reasons are scoped by the enrollment's village, AGENT_INACTIVE by the agent's home
village, as every other list is.
"""

from __future__ import annotations

import datetime as dt

from db.queries.suppression import is_hidden
from db.records import FlagReason

FAR_FACTOR = 2
BURST_SIZE = 3
BURST_WINDOW = dt.timedelta(hours=1)
INACTIVE_DAYS = 90


# The order of the list; the branches of `_flags` are numbered the same way, in FlagReason's order.
RANK = {reason: rank for rank, reason in enumerate(FlagReason, start=1)}


def _after(rank: int, key: str) -> str:
    """`key` past the cursor for branch `rank`, as a bound an index scan can start from (so a
    branch wholly before the cursor reads nothing, and one after it reads from its start)."""
    return (f"{key} > CASE WHEN CAST(:after_rank AS integer) IS NULL OR CAST(:after_rank AS integer) < {rank} THEN 0 "
            f"WHEN CAST(:after_rank AS integer) = {rank} THEN CAST(:after_key AS bigint) ELSE {2**63 - 1} END")


def _gate(reason: FlagReason) -> str:
    return f"'{reason.value}' = ANY(CAST(:reasons AS text[]))"  # no column: a one-time filter


# Enrollments of the scope. Nationally there is no scope to join, so each branch can walk the
# primary key in order and stop at the page's end instead of flagging the whole table first.
_SCOPED = {
    True: "SELECT * FROM enrollment",
    False: """SELECT e.* FROM region r
              JOIN enrollment e ON e.village_code ~>=~ r.lo AND e.village_code ~<~ r.hi""",
}
# Participants enrolled by two agents or more: nationally one pass over the (participant_id,
# agent_id) index; in a region a probe per enrollment of the region.
_AGENTS_OF_PARTICIPANT = """CROSS JOIN LATERAL (SELECT count(DISTINCT o.agent_id) AS agents FROM enrollment o
                                  WHERE o.participant_id = e.participant_id) shared"""
# Participants enrolled by two agents or more: nationally one pass over the (participant_id,
# agent_id) index (min <> max needs no per-group sort), counted only for those; in a region a
# probe per enrollment of the region.
_SHARED = {
    True: """JOIN (SELECT participant_id FROM enrollment GROUP BY participant_id
                   HAVING min(agent_id) <> max(agent_id)) several ON several.participant_id = e.participant_id
              """ + _AGENTS_OF_PARTICIPANT,
    False: _AGENTS_OF_PARTICIPANT,
}


def _flags(national: bool) -> str:
    as_of, days = "CAST(:as_of AS date)", "CAST(:inactive_days AS integer)"

    def page(key: str) -> str:
        # In a region the planner would walk the whole primary key hoping to meet the region's
        # rows early; there the branch is the region's rows, sorted once at the end.
        return f"ORDER BY {key} LIMIT :limit" if national else ""

    return f"""
WITH region AS (
    SELECT * FROM unnest(CAST(:lo AS text[]), CAST(:hi AS text[])) AS r(lo, hi)
), scoped AS NOT MATERIALIZED (  -- with :suppress, not the enrollments of villages whose counts are hidden
    SELECT * FROM ({_SCOPED[national]}) s WHERE NOT (CAST(:suppress AS boolean) AND {is_hidden("s.village_code")})
)
(SELECT 1 AS rank, e.id AS key, e.agent_id, e.village_code, e.id AS enrollment_id,
        ST_Distance(v.geom::geography, e.gps::geography) AS distance_m,
        coalesce(e.gps_accuracy_m, 0)::float8 AS allowed_m, NULL::bigint AS count, NULL::date AS last_enrolled_on
 FROM scoped e JOIN village v ON v.code = e.village_code
 WHERE {_gate(FlagReason.GPS_OUTSIDE_VILLAGE)} AND {_after(1, "e.id")}
   AND e.gps IS NOT NULL AND v.geom IS NOT NULL
   AND NOT ST_DWithin(v.geom::geography, e.gps::geography, coalesce(e.gps_accuracy_m, 0))
 {page("e.id")})
UNION ALL
(SELECT 2, e.id, e.agent_id, e.village_code, e.id, ST_Distance(v.geom::geography, a.location::geography),
        (CAST(:far_factor AS integer) * a.reach_m)::float8, NULL, NULL
 FROM scoped e JOIN agent a ON a.id = e.agent_id JOIN village v ON v.code = e.village_code
 WHERE {_gate(FlagReason.OUTSIDE_AGENT_REACH)} AND {_after(2, "e.id")} AND v.geom IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM agent_reach ar WHERE ar.agent_id = e.agent_id AND ar.village_code = e.village_code)
   AND NOT ST_DWithin(v.geom::geography, a.location::geography, CAST(:far_factor AS integer) * a.reach_m)
 {page("e.id")})
UNION ALL
(SELECT 3, e.id, e.agent_id, e.village_code, e.id, NULL, NULL, shared.agents, NULL
 FROM scoped e {_SHARED[national]}
 WHERE {_gate(FlagReason.NIK_SHARED_BY_AGENTS)} AND {_after(3, "e.id")} AND shared.agents > 1
 {page("e.id")})
UNION ALL
(SELECT 4, e.id, e.agent_id, e.village_code, e.id, NULL, NULL, burst.size, NULL
 FROM (SELECT g.id, count(*) OVER (
           PARTITION BY ST_X(g.gps), ST_Y(g.gps) ORDER BY g.recorded_at
           RANGE BETWEEN CAST(:burst_window AS interval) PRECEDING AND CAST(:burst_window AS interval) FOLLOWING
       ) AS size
       FROM enrollment g WHERE {_gate(FlagReason.IDENTICAL_GPS_BURST)} AND g.gps IS NOT NULL AND g.recorded_at IS NOT NULL
      ) burst JOIN scoped e ON e.id = burst.id
 WHERE burst.size >= CAST(:burst_size AS integer) AND {_after(4, "e.id")}
 {page("e.id")})
UNION ALL
(SELECT 5, a.id, a.id, a.home_village_code, NULL, NULL, NULL, NULL,
        (SELECT max(x.enrolled_on) FROM enrollment x WHERE x.agent_id = a.id AND x.enrolled_on <= {as_of})
 FROM region r JOIN agent a ON a.home_village_code ~>=~ r.lo AND a.home_village_code ~<~ r.hi
 WHERE {_gate(FlagReason.AGENT_INACTIVE)} AND {_after(5, "a.id")}
   AND a.status = 'active' AND a.joined_on <= {as_of} - {days}
   AND NOT EXISTS (SELECT 1 FROM enrollment x WHERE x.agent_id = a.id
                   AND x.enrolled_on > {as_of} - {days} AND x.enrolled_on <= {as_of})
 {page("a.id")})
ORDER BY rank, key LIMIT :limit
"""


FLAGS = {national: _flags(national) for national in (True, False)}  # the page statement, national or by region


def describe_sql(flag: str) -> str:
    """What a manager reads, as SQL over a flag row aliased `flag`: why the record was flagged."""
    metres = "to_char({0}, 'FM999,999,999,990')"
    distance, allowed = metres.format(f"{flag}.distance_m"), metres.format(f"{flag}.allowed_m")
    minutes = f"{BURST_WINDOW.total_seconds() / 60:.0f}"
    return f"""CASE {flag}.rank
        WHEN 1 THEN 'GPS point ' || {distance} || ' m outside village ' || {flag}.village_code
                    || ', more than the device''s accuracy of ' || {allowed} || ' m'
        WHEN 2 THEN 'village ' || {flag}.village_code || ' is ' || {distance} || ' m from the agent''s base, beyond '
                    || {allowed} || ' m ({FAR_FACTOR} × the agent''s reach)'
        WHEN 3 THEN 'this participant''s NIK has enrollments by ' || {flag}.count || ' different agents'
        WHEN 4 THEN {flag}.count || ' enrollments carry exactly these GPS coordinates within {minutes} minutes of each other'
        ELSE 'active agent with no enrollment in {INACTIVE_DAYS} days (' || coalesce('last enrollment on '
             || {flag}.last_enrolled_on::text, 'no enrollment ever') || ')' END"""


def flag_range(code: str | None) -> tuple[str, str]:
    """Codes from `code` itself up to, not including, its next sibling (`34.71` → ['34.71', '34.71/'))."""
    return _range(code)


def _range(code: str | None) -> tuple[str, str]:
    """Codes from `code` itself up to, not including, its next sibling (`34.71` → ['34.71', '34.71/'))."""
    return ("0", ":") if code is None else (code, code + "/")  # '/' follows '.', ':' follows '9'
