"""Active enrollments per village, kept by triggers like `agent_reach`: every coverage figure reads
a village's count by key instead of counting its enrollments (the national summary aggregated all
2,000,000 enrollments; a tile counted each of its villages' anew).

Statement-level triggers with transition tables, in the transaction of the change, whoever makes
it (the API, an importer, psql): inserts add, deletes subtract, updates (a lapse, a reactivation,
a village corrected) add the difference, truncation empties. One statement changes the counters in
village-code order, so writers that change enrollments one statement per transaction (every API
write and importer does) take the counters' row locks in one order and cannot deadlock; a
transaction of several such statements interleaved with another can, and PostgreSQL then aborts
one of them to retry.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_APPLY = """
    INSERT INTO village_enrollments AS c (village_code, active)
    SELECT village_code, sum(n)::integer FROM ({changes}) d GROUP BY village_code HAVING sum(n) <> 0
    ORDER BY village_code
    ON CONFLICT (village_code) DO UPDATE SET active = c.active + EXCLUDED.active;
"""
_NEW = "SELECT village_code, 1 AS n FROM new_rows WHERE status = 'active'"
_OLD = "SELECT village_code, -1 AS n FROM old_rows WHERE status = 'active'"
FUNCTIONS = {
    "village_enrollments_inserted": _APPLY.format(changes=_NEW),
    "village_enrollments_updated": _APPLY.format(changes=f"{_NEW} UNION ALL {_OLD}"),
    "village_enrollments_deleted": _APPLY.format(changes=_OLD),
    "village_enrollments_truncated": "DELETE FROM village_enrollments;",
}
TRIGGERS = [
    ("village_enrollments_after_insert", "INSERT", "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
     "village_enrollments_inserted"),
    ("village_enrollments_after_update", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT",
     "village_enrollments_updated"),
    ("village_enrollments_after_delete", "DELETE", "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT",
     "village_enrollments_deleted"),
    ("village_enrollments_after_truncate", "TRUNCATE", "FOR EACH STATEMENT", "village_enrollments_truncated"),
]


def upgrade() -> None:
    # No CHECK (active >= 0): PostgreSQL checks the row an upsert proposes (a negative difference)
    # before it finds the conflict that turns it into an update.
    op.execute("""
        CREATE TABLE village_enrollments (
            village_code varchar(13) PRIMARY KEY REFERENCES village (code) ON DELETE CASCADE,
            active integer NOT NULL
        )
    """)
    op.execute("""INSERT INTO village_enrollments (village_code, active)
                  SELECT village_code, count(*) FROM enrollment WHERE status = 'active' GROUP BY village_code""")
    for name, body in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$")
    for name, event, referencing, function in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON enrollment {referencing} EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    for name, _, _, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON enrollment")
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
    op.execute("DROP TABLE village_enrollments")
