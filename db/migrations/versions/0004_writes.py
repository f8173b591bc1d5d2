"""Writes: idempotency keys and device GPS on enrollments, and an append-only audit log.

- `enrollment.client_id` is the idempotency key chosen by the recording device; `client_hash`
  fingerprints the content sent with it, so a replay with other content is told apart. Rows
  imported from CSV have no client id.
- `gps` and `gps_accuracy_m` are what the device reported, kept for data-quality checks.
- `audit_log` receives one row per change made through the API. A trigger refuses UPDATE and
  DELETE, so the log can only grow.
- Any change to `agent` sends a `coverage` event on the `perisai_events` channel (LISTEN/NOTIFY).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        ALTER TABLE enrollment
            ADD COLUMN client_id uuid UNIQUE,
            ADD COLUMN client_hash bytea,
            ADD COLUMN recorded_at timestamptz,
            ADD COLUMN gps geometry(Point, 4326),
            ADD COLUMN gps_accuracy_m real CHECK (gps_accuracy_m >= 0),
            ADD CONSTRAINT enrollment_client_hash_with_id CHECK ((client_id IS NULL) = (client_hash IS NULL))
    """)
    op.execute("""
        CREATE TABLE audit_log (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at timestamptz NOT NULL DEFAULT now(),
            subject text NOT NULL,
            role text NOT NULL,
            action text NOT NULL,
            entity text NOT NULL,
            entity_id text NOT NULL,
            region_code varchar(13),
            before jsonb,
            after jsonb
        )
    """)
    op.execute("CREATE INDEX audit_log_region_code_idx ON audit_log (region_code text_pattern_ops, id)")
    op.execute("""
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
        END $$
    """)
    op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")
    # Coverage events for subscribers (events/hub.py): any agent change, whoever makes it; NOTIFY is
    # delivered only if the transaction commits.
    op.execute("""
        CREATE FUNCTION agent_changed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('perisai_events', json_build_object('kind', 'coverage', 'op', TG_OP)::text);
            RETURN NULL;
        END $$
    """)
    op.execute("CREATE TRIGGER agent_changed_notify AFTER INSERT OR UPDATE OR DELETE ON agent "
               "FOR EACH STATEMENT EXECUTE FUNCTION agent_changed_notify()")


def downgrade() -> None:
    op.execute("DROP TRIGGER agent_changed_notify ON agent")
    op.execute("DROP FUNCTION agent_changed_notify()")
    op.execute("DROP TABLE audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.execute("""
        ALTER TABLE enrollment DROP CONSTRAINT enrollment_client_hash_with_id,
            DROP COLUMN gps_accuracy_m, DROP COLUMN gps, DROP COLUMN recorded_at,
            DROP COLUMN client_hash, DROP COLUMN client_id
    """)
