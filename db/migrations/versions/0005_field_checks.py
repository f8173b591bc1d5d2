"""Data-quality checks: an index over the enrollments that carry a device GPS point.

Only enrollments recorded through the API carry GPS, a small share of the table; the partial
index lets the identical-point burst check read them in (point, time) order without scanning
or sorting imported rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX enrollment_gps_point_idx ON enrollment (ST_X(gps), ST_Y(gps), recorded_at) "
               "WHERE gps IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX enrollment_gps_point_idx")
