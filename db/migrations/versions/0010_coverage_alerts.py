"""Coverage alerts: a village that loses its last active agent, a district whose covered share
falls below a threshold — raised by triggers in the transaction of the change, whoever makes it
(the API, an import, psql), and announced on `perisai_events` when it commits.

- `villages_unreached`: villages an active agent reached before the statement and no active agent
  reaches after it; one alert per district and cause (`agent_deactivated`, `agent_moved`,
  `reach_changed`, `agent_removed`), naming the villages, their informal workers and the agents.
- `district_below_threshold`: a district whose share of covered villages was at least
  `coverage_alert_district_share()` (0.5; replace the function to change it) and is now below.

Each district's alerts are written under an advisory lock of that district, taken in district
order, so concurrent mass changes cannot deadlock on them.

Digests: an alert of the same kind, district and cause updated in the last 10 minutes absorbs the
new villages and agents (`changes` counts the writes) instead of a new alert, so a mass
deactivation — one statement or a thousand API calls — is one alert per district. Statement
triggers named `agent_zz_…` run after the `agent_reach_…` ones (PostgreSQL fires triggers of one
event by name), so they see the reach pairs as the change left them. The reach rule is restated
here as in migration 0003: a migration cannot import it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_LOST = """
    SELECT v.code, v.district_code, o.code AS agent_code, {cause} AS cause
    FROM old_rows o {join_new}
    JOIN village v ON ST_DWithin(v.label_point::geography, o.location::geography, 50000)
                  AND ST_DWithin(v.label_point::geography, o.location::geography, o.reach_m)
    WHERE o.status = 'active' AND NOT EXISTS (
        SELECT 1 FROM agent_reach r JOIN agent a ON a.id = r.agent_id WHERE r.village_code = v.code AND a.status = 'active')
"""
_UPDATED = _LOST.format(join_new="JOIN new_rows n ON n.id = o.id", cause="""CASE
    WHEN n.status <> 'active' THEN 'agent_deactivated' WHEN NOT ST_Equals(n.location, o.location) THEN 'agent_moved'
    ELSE 'reach_changed' END""")
_DELETED = _LOST.format(join_new="", cause="'agent_removed'")

# The lost villages are computed once, kept as JSON for the two groupings below.
_RAISE = """
DECLARE
    lost jsonb;
    g record;
BEGIN
    SELECT coalesce(jsonb_agg(to_jsonb(l)), '[]'::jsonb) INTO lost FROM ({lost}) l;
    IF lost = '[]'::jsonb THEN
        RETURN NULL;
    END IF;
    FOR g IN SELECT l.district_code, l.cause, array_agg(DISTINCT l.code ORDER BY l.code) AS villages,
                    array_agg(DISTINCT l.agent_code ORDER BY l.agent_code) AS agents
             FROM jsonb_to_recordset(lost) AS l(code text, district_code text, agent_code text, cause text)
             GROUP BY l.district_code, l.cause ORDER BY l.district_code, l.cause LOOP
        PERFORM raise_coverage_alert('villages_unreached', g.district_code, ARRAY[g.cause], g.villages, g.agents,
                                     NULL, NULL);
    END LOOP;
    FOR g IN SELECT l.district_code, array_agg(DISTINCT l.cause ORDER BY l.cause) AS causes,
                    array_agg(DISTINCT l.code ORDER BY l.code) AS villages,
                    array_agg(DISTINCT l.agent_code ORDER BY l.agent_code) AS agents, count(DISTINCT l.code) AS lost
             FROM jsonb_to_recordset(lost) AS l(code text, district_code text, agent_code text, cause text)
             GROUP BY l.district_code ORDER BY l.district_code LOOP
        PERFORM raise_district_alert(g.district_code, g.causes, g.villages, g.agents, g.lost::integer);
    END LOOP;
    RETURN NULL;
END
"""

FUNCTIONS = {
    "coverage_alert_district_share": "() RETURNS float8 LANGUAGE sql IMMUTABLE AS $$ SELECT 0.5::float8 $$",
    # One alert, or the open one of the same kind, district and causes absorbs it (a digest).
    "raise_coverage_alert": """(kind text, district text, causes text[], villages text[], agents text[],
                               share_before float8, share_after float8) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    alert_id bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('perisai coverage alert ' || district));
    UPDATE coverage_alert a SET
        village_codes = ARRAY(SELECT DISTINCT unnest(a.village_codes || villages) ORDER BY 1),
        agent_codes = ARRAY(SELECT DISTINCT unnest(a.agent_codes || agents) ORDER BY 1),
        covered_share_after = coalesce(share_after, a.covered_share_after),
        changes = a.changes + 1, updated_at = clock_timestamp()
    WHERE a.kind = raise_coverage_alert.kind AND a.district_code = district AND a.causes = raise_coverage_alert.causes
      AND a.updated_at > clock_timestamp() - interval '10 minutes'
    RETURNING a.id INTO alert_id;
    IF alert_id IS NULL THEN
        INSERT INTO coverage_alert (kind, district_code, causes, village_codes, agent_codes,
                                    covered_share_before, covered_share_after)
        VALUES (kind, district, causes, villages, agents, share_before, share_after)
        RETURNING id INTO alert_id;
    END IF;
    UPDATE coverage_alert a SET informal_workers = (
        SELECT coalesce(sum(v.informal_workers), 0) FROM village v WHERE v.code = ANY (a.village_codes))
    WHERE a.id = alert_id;
    PERFORM pg_notify('perisai_events', json_build_object('kind', 'alert', 'id', alert_id, 'region', district)::text);
END $$""",
    # The district's covered share now, and before the statement (its lost villages were covered).
    "raise_district_alert": """(district text, causes text[], villages text[], agents text[], lost integer)
                               RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    total integer;
    covered integer;
BEGIN
    SELECT count(*), count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM agent_reach r JOIN agent a ON a.id = r.agent_id
               WHERE r.village_code = v.code AND a.status = 'active'))
    INTO total, covered FROM village v WHERE v.district_code = district;
    IF total > 0 AND (covered + lost)::float8 / total >= coverage_alert_district_share()
                 AND covered::float8 / total < coverage_alert_district_share() THEN
        PERFORM raise_coverage_alert('district_below_threshold', district, causes, villages, agents,
                                     (covered + lost)::float8 / total, covered::float8 / total);
    END IF;
END $$""",
    "coverage_alerts_after_agent_update": "() RETURNS trigger LANGUAGE plpgsql AS $$" + _RAISE.format(lost=_UPDATED) + "$$",
    "coverage_alerts_after_agent_delete": "() RETURNS trigger LANGUAGE plpgsql AS $$" + _RAISE.format(lost=_DELETED) + "$$",
}
TRIGGERS = [
    ("agent_zz_coverage_alerts_after_update", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
     "coverage_alerts_after_agent_update"),
    ("agent_zz_coverage_alerts_after_delete", "DELETE", "REFERENCING OLD TABLE AS old_rows",
     "coverage_alerts_after_agent_delete"),
]


def upgrade() -> None:
    op.execute("""
        CREATE TABLE coverage_alert (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('villages_unreached', 'district_below_threshold')),
            district_code varchar(13) NOT NULL,
            causes text[] NOT NULL,
            village_codes text[] NOT NULL,
            agent_codes text[] NOT NULL,
            informal_workers integer NOT NULL DEFAULT 0,
            covered_share_before float8,
            covered_share_after float8,
            changes integer NOT NULL DEFAULT 1,
            raised_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )
    """)
    op.execute("CREATE INDEX coverage_alert_district_idx ON coverage_alert (district_code text_pattern_ops, id)")
    for name, definition in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}{definition}")
    for name, event, referencing, function in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON agent {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    for name, _, _, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON agent")
    for name in reversed(list(FUNCTIONS)):
        op.execute(f"DROP FUNCTION {name}")
    op.execute("DROP TABLE coverage_alert")
