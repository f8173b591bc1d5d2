"""Coverage snapshots: per village and per agent, what coverage stood on a day, with its inputs.

`snapshot_village` keeps each village's estimate (workers, source, year), active enrollments and
the ids of the active agents reaching it; `snapshot_agent` each agent's base, reach and status.
Changes between two snapshots (or a snapshot and today) and their reasons are computed from
these (db/queries/snapshots.py); `boundary_version` fingerprints the village codes and label
points the reach was measured to.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE coverage_snapshot (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            as_of date NOT NULL UNIQUE,
            taken_at timestamptz NOT NULL DEFAULT now(),
            taken_by text NOT NULL,
            boundary_version text NOT NULL,
            villages integer NOT NULL,
            agents integer NOT NULL
        )
    """)
    op.execute("""
        CREATE TABLE snapshot_village (
            snapshot_id bigint NOT NULL REFERENCES coverage_snapshot (id) ON DELETE CASCADE,
            village_code varchar(13) NOT NULL,
            informal_workers integer,
            estimate_source text,
            estimate_year smallint,
            active_enrollments integer NOT NULL,
            agent_ids bigint[] NOT NULL
        )
    """)
    # The key, with the operator class that also serves a region's code range (`~>=~ / ~<~`).
    op.execute("CREATE UNIQUE INDEX snapshot_village_key ON snapshot_village (snapshot_id, village_code text_pattern_ops)")
    op.execute("""
        CREATE TABLE snapshot_agent (
            snapshot_id bigint NOT NULL REFERENCES coverage_snapshot (id) ON DELETE CASCADE,
            agent_id bigint NOT NULL,
            home_village_code varchar(13) NOT NULL,
            location geometry(Point, 4326) NOT NULL,
            reach_m integer NOT NULL,
            active boolean NOT NULL,
            PRIMARY KEY (snapshot_id, agent_id)
        )
    """)


def downgrade() -> None:
    op.execute("DROP TABLE snapshot_agent, snapshot_village, coverage_snapshot")
