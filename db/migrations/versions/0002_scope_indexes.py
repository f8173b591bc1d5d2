"""Prefix indexes for region-scoped reads (a manager's `34.71.%` on every table).

The plain btree indexes use the database collation, which cannot serve LIKE prefixes; these
text_pattern_ops indexes can.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    "regency_code_pattern_idx": "regency (code text_pattern_ops)",
    "agent_home_village_code_pattern_idx": "agent (home_village_code text_pattern_ops)",
    "participant_village_code_pattern_idx": "participant (village_code text_pattern_ops)",
    "enrollment_village_code_pattern_idx": "enrollment (village_code text_pattern_ops)",
}


def upgrade() -> None:
    for name, target in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {target}")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
