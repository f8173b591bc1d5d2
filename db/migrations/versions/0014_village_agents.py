"""Active agents reaching each village, kept by triggers like `village_enrollments`: a vector tile
reads a village's agents by key instead of counting its reach pairs (EXPLAIN of a median z8 tile:
24 of its 42 ms went to counting 10,028 pairs and looking up each pair's agent).

The count is the number of `agent_reach` pairs whose agent is active: what `counts()` in
db/queries/coverage.py counts when no activity window applies (a migration cannot import it).
Statement-level triggers, in the writer's transaction, whoever writes:
- pairs inserted or deleted add or subtract, for active agents (a pair deleted with its village
  changes nothing: the village's counter goes with it);
- an agent whose status turns active or inactive adds or subtracts one in each village it reaches.
  That trigger fires before `agent_reach_after_agent_update` (triggers on one event fire in name
  order), so when one statement moves an agent and changes its status, the old pairs are counted
  under the new status before they are deleted;
- an agent deleted: a row trigger takes its pairs off before the cascade deletes them (the pairs'
  own trigger no longer finds the agent then, so nothing is taken off twice).
Changes are applied in village-code order, so one-statement writers cannot deadlock on them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# EXECUTE plans the statement at each call, for the transition table it has then. A cached plan
# (PL/pgSQL's default) is made for the first call's size: after a rebuild of all pairs on one
# connection, every later one-agent move there hash-joined all agents and villages (make bench:
# moves 4.8 -> 38.8 ms p50).
_APPLY = """
    EXECUTE $q$
    INSERT INTO village_agents AS c (village_code, active)
    SELECT village_code, sum(n)::integer FROM ({changes}) d GROUP BY village_code HAVING sum(n) <> 0
    ORDER BY village_code
    ON CONFLICT (village_code) DO UPDATE SET active = c.active + EXCLUDED.active
    $q$;
"""
_ACTIVE_PAIRS = """SELECT p.village_code, {sign} AS n FROM {pairs} p
    JOIN agent a ON a.id = p.agent_id AND a.status = 'active'
    JOIN village v ON v.code = p.village_code"""  # a deleted village's pairs: its counter is gone
# Agents whose being active changed, by set difference (migration 0006: never join transition tables).
_TURNED = """SELECT r.village_code, CASE WHEN t.active THEN 1 ELSE -1 END AS n
    FROM (SELECT id, status = 'active' AS active FROM new_rows
          EXCEPT SELECT id, status = 'active' FROM old_rows) t
    JOIN agent_reach r ON r.agent_id = t.id"""
_FUNCTIONS = {
    "village_agents_pairs_inserted": _APPLY.format(changes=_ACTIVE_PAIRS.format(sign=1, pairs="new_rows")),
    "village_agents_pairs_deleted": _APPLY.format(changes=_ACTIVE_PAIRS.format(sign=-1, pairs="old_rows")),
    "village_agents_pairs_truncated": "DELETE FROM village_agents;",
    "village_agents_agents_updated": _APPLY.format(changes=_TURNED),
}
_TRIGGERS = [
    ("village_agents_after_pairs_insert", "INSERT", "agent_reach", "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
     "village_agents_pairs_inserted"),
    ("village_agents_after_pairs_delete", "DELETE", "agent_reach", "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT",
     "village_agents_pairs_deleted"),
    ("village_agents_after_pairs_truncate", "TRUNCATE", "agent_reach", "FOR EACH STATEMENT",
     "village_agents_pairs_truncated"),
    # Must sort before agent_reach_after_agent_update (see above).
    ("agent_active_after_update", "UPDATE", "agent",
     "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT", "village_agents_agents_updated"),
]
_AGENT_DELETED = """
    IF OLD.status = 'active' THEN
        INSERT INTO village_agents AS c (village_code, active)
        SELECT village_code, -1 FROM agent_reach WHERE agent_id = OLD.id ORDER BY village_code
        ON CONFLICT (village_code) DO UPDATE SET active = c.active + EXCLUDED.active;
    END IF;
    RETURN OLD;"""


def upgrade() -> None:
    # No CHECK (active >= 0), as for village_enrollments: an upsert's proposed row is a difference.
    op.execute("""
        CREATE TABLE village_agents (
            -- ON UPDATE too: a recoded village (a move to another district) keeps its counter; its
            -- pairs must be deleted before (agent_reach's key refuses the new code), which brings it to 0.
            village_code varchar(13) PRIMARY KEY REFERENCES village (code) ON DELETE CASCADE ON UPDATE CASCADE,
            active integer NOT NULL
        )
    """)
    op.execute("""INSERT INTO village_agents (village_code, active)
                  SELECT r.village_code, count(*) FROM agent_reach r JOIN agent a ON a.id = r.agent_id
                  WHERE a.status = 'active' GROUP BY r.village_code""")
    for name, body in _FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$")
    for name, event, table, referencing, function in _TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} {referencing} EXECUTE FUNCTION {function}()")
    op.execute(f"CREATE FUNCTION village_agents_agent_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ "
               f"BEGIN {_AGENT_DELETED} END $$")
    op.execute("CREATE TRIGGER village_agents_before_agent_delete BEFORE DELETE ON agent "
               "FOR EACH ROW EXECUTE FUNCTION village_agents_agent_deleted()")


def downgrade() -> None:
    op.execute("DROP TRIGGER village_agents_before_agent_delete ON agent")
    op.execute("DROP FUNCTION village_agents_agent_deleted()")
    for name, _, table, _, _ in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}")
    for name in _FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
    op.execute("DROP TABLE village_agents")
