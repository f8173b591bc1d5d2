"""Coverage table: every (agent, village) pair where the agent's reach covers the village's label point.

Maintained by statement-level triggers in the same transaction as the change that moves it: an
agent inserted, moved, given a new reach or deleted, or a village whose label point is added or
changed. Triggers rather than application code, so that importers, the demo, mutations and a
manual `UPDATE agent …` in psql all keep it exact with no refresh step and no stale window.

Pairs are kept for agents of every status: status and recent activity are applied when a query
reads the table, so a status change touches no row here and "agents would reach it but none is
active" stays answerable.

The reach test is the project's definition: geodesic distance on the WGS84 ellipsoid (geography,
spheroid) from the agent's location to the label point, at most `reach_m`. The extra
`ST_DWithin(…, 50000)` is the maximum reach as a constant so the GiST index on
`agent (location::geography)` can serve the village-side trigger.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The changed rows are a MATERIALIZED CTE so they are computed once, before the spatial join: the
# planner cannot estimate transition tables and otherwise re-runs their join inside a nested loop.
_PAIRS_FOR_AGENTS = """
    WITH changed AS MATERIALIZED ({agents})
    INSERT INTO agent_reach (agent_id, village_code, distance_m)
    SELECT a.id, v.code, ST_Distance(a.location::geography, v.label_point::geography)
    FROM changed a
    JOIN village v ON ST_DWithin(v.label_point::geography, a.location::geography, a.reach_m)
    ON CONFLICT (agent_id, village_code) DO UPDATE SET distance_m = EXCLUDED.distance_m;
"""

_PAIRS_FOR_VILLAGES = """
    WITH changed AS MATERIALIZED ({villages})
    INSERT INTO agent_reach (agent_id, village_code, distance_m)
    SELECT a.id, v.code, ST_Distance(a.location::geography, v.label_point::geography)
    FROM changed v
    JOIN agent a ON ST_DWithin(a.location::geography, v.label_point::geography, 50000)
                AND ST_DWithin(a.location::geography, v.label_point::geography, a.reach_m)
    ON CONFLICT (agent_id, village_code) DO UPDATE SET distance_m = EXCLUDED.distance_m;
"""

# Transition tables have no indexes: the changed rows are found with one hash join on the key,
# never a per-row search, so an UPDATE that moves nothing (an estimates import touching every
# village) costs one pass over the rows it touched.
FUNCTIONS = {
    "agent_reach_agents_inserted": _PAIRS_FOR_AGENTS.format(agents="SELECT * FROM new_rows"),
    "agent_reach_agents_updated": """
        DELETE FROM agent_reach r USING old_rows o JOIN new_rows n ON n.id = o.id
        WHERE r.agent_id = o.id AND (o.location, o.reach_m) IS DISTINCT FROM (n.location, n.reach_m);
    """ + _PAIRS_FOR_AGENTS.format(
        agents="SELECT n.* FROM new_rows n JOIN old_rows o ON o.id = n.id "
               "WHERE (o.location, o.reach_m) IS DISTINCT FROM (n.location, n.reach_m)",
    ),
    "agent_reach_villages_inserted": _PAIRS_FOR_VILLAGES.format(villages="SELECT * FROM new_rows"),
    "agent_reach_villages_updated": """
        DELETE FROM agent_reach r USING old_rows o JOIN new_rows n ON n.code = o.code
        WHERE r.village_code = o.code AND o.label_point IS DISTINCT FROM n.label_point;
    """ + _PAIRS_FOR_VILLAGES.format(
        villages="SELECT n.* FROM new_rows n JOIN old_rows o ON o.code = n.code "
                 "WHERE o.label_point IS DISTINCT FROM n.label_point",
    ),
}

TRIGGERS = [
    ("agent_reach_after_agent_insert", "INSERT", "agent", "REFERENCING NEW TABLE AS new_rows", "agent_reach_agents_inserted"),
    ("agent_reach_after_agent_update", "UPDATE", "agent", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows", "agent_reach_agents_updated"),
    ("agent_reach_after_village_insert", "INSERT", "village", "REFERENCING NEW TABLE AS new_rows", "agent_reach_villages_inserted"),
    ("agent_reach_after_village_update", "UPDATE", "village", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows", "agent_reach_villages_updated"),
]


def upgrade() -> None:
    op.execute("""
        CREATE TABLE agent_reach (
            agent_id bigint NOT NULL REFERENCES agent (id) ON DELETE CASCADE,
            village_code varchar(13) NOT NULL REFERENCES village (code) ON DELETE CASCADE,
            distance_m double precision NOT NULL,
            PRIMARY KEY (agent_id, village_code)
        )
    """)
    # Serves both `village_code = …` and the `34.71.%` prefixes of region summaries.
    op.execute("CREATE INDEX agent_reach_village_code_idx ON agent_reach (village_code text_pattern_ops)")
    # "Active within N days": the newest enrollment of each agent, by index.
    op.execute("CREATE INDEX enrollment_agent_enrolled_on_idx ON enrollment (agent_id, enrolled_on)")
    op.execute("DROP INDEX enrollment_agent_id_idx")
    for name, body in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$")
    for name, event, table, referencing, function in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} {referencing} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    op.execute(_PAIRS_FOR_AGENTS.format(agents="SELECT * FROM agent"))


def downgrade() -> None:
    for name, _, table, _, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}")
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
    op.execute("CREATE INDEX enrollment_agent_id_idx ON enrollment (agent_id)")
    op.execute("DROP INDEX enrollment_agent_enrolled_on_idx")
    op.execute("DROP TABLE agent_reach")
