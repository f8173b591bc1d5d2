"""Scenarios: a planner's what-if (agents added, moved, re-reached or deactivated in a region),
saved with who made it and when.

A scenario stores changes, never results: it is evaluated against the data of the moment it is
read (db/queries/scenarios.py), so "move agent 12 to …" still means that after other edits.
`overrides` holds one object per existing agent it changes ({id, lng, lat, reach_m, deactivate},
absent keys unchanged); `added` one per new agent ({n, name, lng, lat, reach_m,
home_village_code}); `changes` the changes as the client sent them, for display.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE scenario (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            region_code varchar(13) NOT NULL
                CHECK (region_code ~ '^[0-9]{2}(\\.[0-9]{2}){0,2}$'),
            changes jsonb NOT NULL CHECK (jsonb_typeof(changes) = 'array'),
            overrides jsonb NOT NULL CHECK (jsonb_typeof(overrides) = 'array'),
            added jsonb NOT NULL CHECK (jsonb_typeof(added) = 'array'),
            created_by text NOT NULL,
            created_role text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute("CREATE INDEX scenario_region_code_idx ON scenario (region_code text_pattern_ops)")


def downgrade() -> None:
    op.execute("DROP TABLE scenario")
