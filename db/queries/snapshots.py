"""Coverage snapshots read back: what changed between two of them (or one and today), with the
reasons, and a region's figures per snapshot.

The state a snapshot keeps is written here once, as SQL over the live tables (VILLAGE_STATE,
AGENT_STATE): taking a snapshot stores it, and "today" in a comparison is the same statement.
Coverage in a snapshot is nominal: an agent counts when its status is active (the statements take
`counts`' :within_days and :as_of, given as null).
"""

from __future__ import annotations

from db.queries.coverage import counts, within

# Statements using it take :within_days and :as_of: null for the nominal coverage snapshots keep.
_COUNTS = counts("a")

# Every village of (:lo, :hi) as a snapshot keeps it.
VILLAGE_STATE = f"""
SELECT v.code AS village_code, v.informal_workers, v.estimate_source, v.estimate_year::smallint AS estimate_year,
       coalesce(e.active, 0)::integer AS active_enrollments, coalesce(r.agent_ids, '{{}}'::bigint[]) AS agent_ids
FROM village v
LEFT JOIN village_enrollments e ON e.village_code = v.code
LEFT JOIN (SELECT r.village_code, array_agg(r.agent_id ORDER BY r.agent_id) AS agent_ids
           FROM agent_reach r JOIN agent a ON a.id = r.agent_id
           WHERE {within("r.village_code")} AND {_COUNTS} GROUP BY r.village_code) r ON r.village_code = v.code
WHERE {within("v.code")}
"""

# Every agent as a snapshot keeps it.
AGENT_STATE = f"SELECT a.id AS agent_id, a.home_village_code, a.location, a.reach_m, {_COUNTS} AS active FROM agent a"

# What identifies the boundaries reach was measured to: the villages' codes and label points.
BOUNDARY_VERSION = ("SELECT md5(coalesce(string_agg(code || '@' || coalesce(ST_AsText(label_point), ''), ',' ORDER BY code), '')) "
                    "FROM village")

# Why a village's reach changed: per agent that stopped or started reaching it, by what differs
# between its two states (b: before, a: after; a missing state is an agent added or removed).
_LOST_BECAUSE = """CASE WHEN a.agent_id IS NULL THEN 'AGENT_REMOVED' WHEN NOT a.active THEN 'AGENT_DEACTIVATED'
    WHEN NOT ST_Equals(a.location, b.location) THEN 'AGENT_MOVED' WHEN a.reach_m <> b.reach_m THEN 'REACH_CHANGED'
    ELSE 'BOUNDARY_CHANGED' END"""
_GAINED_BECAUSE = """CASE WHEN b.agent_id IS NULL THEN 'NEW_AGENT' WHEN NOT b.active THEN 'AGENT_ACTIVATED'
    WHEN NOT ST_Equals(a.location, b.location) THEN 'AGENT_MOVED' WHEN a.reach_m <> b.reach_m THEN 'REACH_CHANGED'
    ELSE 'BOUNDARY_CHANGED' END"""

# The villages of (:lo, :hi) whose reach changed between snapshot :from_id and snapshot :to_id
# (null: today), or whose penetration moved by at least :threshold; with both states, the
# reasons (sorted) and a rank: lost first, then newly reached, then penetration changes. With
# :suppress (callers without personal data), a village's enrollment figures hidden on a day
# (small-count suppression, migration 0013) are null for that day, and such a village is listed
# only for its reach, never for its penetration: a threshold moved step by step would measure it.
CHANGES = f"""
WITH before_v AS (SELECT * FROM snapshot_village WHERE snapshot_id = CAST(:from_id AS bigint) AND {within("village_code")}),
after_v AS (
    SELECT village_code, informal_workers, estimate_source, estimate_year, active_enrollments, agent_ids
    FROM snapshot_village WHERE snapshot_id = CAST(:to_id AS bigint) AND {within("village_code")}
    UNION ALL
    SELECT * FROM ({VILLAGE_STATE}) today WHERE CAST(:to_id AS bigint) IS NULL
),
named AS (SELECT unnest(agent_ids) AS agent_id FROM before_v UNION SELECT unnest(agent_ids) FROM after_v),
before_a AS (SELECT s.* FROM snapshot_agent s JOIN named n USING (agent_id) WHERE s.snapshot_id = CAST(:from_id AS bigint)),
after_a AS (
    SELECT s.agent_id, s.location, s.reach_m, s.active FROM snapshot_agent s JOIN named n USING (agent_id)
    WHERE s.snapshot_id = CAST(:to_id AS bigint)
    UNION ALL
    SELECT t.agent_id, t.location, t.reach_m, t.active FROM ({AGENT_STATE}) t JOIN named n USING (agent_id)
    WHERE CAST(:to_id AS bigint) IS NULL
),
known AS (
    SELECT coalesce(b.village_code, a.village_code) AS code,
           b.informal_workers AS workers_before, a.informal_workers AS workers_after,
           b.active_enrollments AS enrollments_before, a.active_enrollments AS enrollments_after,
           coalesce(b.agent_ids, '{{}}') AS agents_before, coalesce(a.agent_ids, '{{}}') AS agents_after,
           (b.informal_workers, b.estimate_source, b.estimate_year)
               IS DISTINCT FROM (a.informal_workers, a.estimate_source, a.estimate_year) AS new_estimate,
           b.active_enrollments::float8 / nullif(b.informal_workers, 0) AS penetration_before,
           a.active_enrollments::float8 / nullif(a.informal_workers, 0) AS penetration_after
    FROM before_v b FULL JOIN after_v a ON a.village_code = b.village_code
),
marked AS (
    SELECT k.*, CAST(:suppress AS boolean) AND enrollments_hidden_in(CAST(:from_id AS bigint), k.code) AS hidden_before,
           CAST(:suppress AS boolean) AND enrollments_hidden_in(CAST(:to_id AS bigint), k.code) AS hidden_after
    FROM known k
),
pairs AS (
    SELECT m.code, m.workers_before, m.workers_after, m.agents_before, m.agents_after, m.new_estimate,
           CASE WHEN m.hidden_before THEN NULL ELSE m.enrollments_before END AS enrollments_before,
           CASE WHEN m.hidden_after THEN NULL ELSE m.enrollments_after END AS enrollments_after,
           CASE WHEN m.hidden_before THEN NULL ELSE m.penetration_before END AS penetration_before,
           CASE WHEN m.hidden_after THEN NULL ELSE m.penetration_after END AS penetration_after,
           m.hidden_before OR m.hidden_after AS suppressed
    FROM marked m
),
changed AS (
    SELECT p.*, CASE WHEN cardinality(agents_before) = 0 AND cardinality(agents_after) > 0 THEN 'REACHED'
                     WHEN cardinality(agents_before) > 0 AND cardinality(agents_after) = 0 THEN 'LOST' END AS reach
    FROM pairs p
)
SELECT c.*,
       CASE c.reach WHEN 'LOST' THEN 0 WHEN 'REACHED' THEN 1 ELSE 2 END AS rank,
       ARRAY(SELECT DISTINCT why FROM (
           SELECT {_LOST_BECAUSE} AS why FROM unnest(c.agents_before) gone(id)
               LEFT JOIN before_a b ON b.agent_id = gone.id LEFT JOIN after_a a ON a.agent_id = gone.id
           WHERE gone.id <> ALL (c.agents_after)
           UNION ALL
           SELECT {_GAINED_BECAUSE} FROM unnest(c.agents_after) came(id)
               LEFT JOIN before_a b ON b.agent_id = came.id LEFT JOIN after_a a ON a.agent_id = came.id
           WHERE came.id <> ALL (c.agents_before)
           UNION ALL SELECT 'NEW_ESTIMATE' WHERE c.new_estimate
           UNION ALL SELECT 'ENROLLMENTS_CHANGED' WHERE NOT c.suppressed AND c.enrollments_before IS DISTINCT FROM c.enrollments_after
       ) r ORDER BY why) AS reasons
FROM changed c
WHERE c.reach IS NOT NULL OR abs(c.penetration_after - c.penetration_before) >= CAST(:threshold AS float8)
"""

# A region's (:region, the codes in (:lo, :hi)) figures in every snapshot, oldest first; with
# :suppress, `suppressed` where the region's enrollments were hidden that day.
TREND = f"""
SELECT s.as_of, count(v.village_code) AS villages,
       CAST(:suppress AS boolean) AND enrollments_hidden_in(s.id, CAST(:region AS text)) AS suppressed,
       count(*) FILTER (WHERE cardinality(v.agent_ids) > 0) AS covered_villages,
       coalesce(sum(v.informal_workers), 0) AS informal_workers,
       coalesce(sum(v.informal_workers) FILTER (WHERE cardinality(v.agent_ids) > 0), 0) AS workers_in_reach,
       coalesce(sum(v.active_enrollments), 0) AS active_enrollments,
       coalesce(sum(v.active_enrollments) FILTER (WHERE v.informal_workers IS NOT NULL), 0) AS estimated_enrollments
FROM coverage_snapshot s JOIN snapshot_village v ON v.snapshot_id = s.id AND {within("v.village_code")}
GROUP BY s.as_of, s.id
"""
