"""Small-count suppression: `hidden_enrollment_cell` holds the region codes whose active enrollments
must not be shown to callers without personal-data access (planners, public dashboards): a count
of 1 to k - 1 can identify a person in a small village (UU 27/2022). Reads probe it by key; the
triggers below keep it equal to `hidden_enrollment_cells()`, the rule, in the transaction of
every change.

Cells are regions at every level ('' is Indonesia); a cell's count is the sum of its villages'
counters (`village_enrollments`, migration 0011), capped at k: the rule sees only min(count, k),
so a change matters only when it moves a village's count below k or from below it, and the cells
hidden alongside a small one stay put while counts above k change (a complement that moved with
every enrollment would let snapshots be subtracted). Parents' totals stay exact, so hiding a small
cell alone would not hide it (district total minus the other villages); complementary cells are
hidden with it.

What an analyst can do with what is shown: every parent = Σ children, and the belief that a hidden
cell holds at least one enrollment (zeros are usually shown). Under that belief a hidden village
is at least 1, and a hidden region at least its shown children plus one per hidden child. A
cell's *slack* is how far its count exceeds that floor: count - 1 for a village, the sum of its
hidden children's slacks for a region. A set of hidden cells whose slacks add up to 0 or less is
pinned (each at its floor), so the rule keeps every hidden set's slack at 1 or more. Top-down from
Indonesia, in each group (the children of one region):
1. a cell with 1 <= count < k is small, and so is a region with enrollments whose children, hidden,
   would have no slack (all ones, say: its total would pin each of them);
2. a group with a small cell, or under a hidden parent, hides the shortest prefix of its children
   in the order (small first, then smallest positive, then zeros; ties by code) that holds every
   small cell, at least two cells, a capped sum of at least k and a slack of at least 1 — the
   whole group when none does (its parent then has no slack, and is small by 1).
So every group has none or at least two hidden cells (none can be had by subtraction from the
parent) and no hidden set is pinned by its floors. A region's state — capped count, and the slack
of the children it would hide — is computed from its children's, bottom-up
(`region_enrollment_state`); the hidden set then top-down from the states.

Maintenance, in the transaction of the change: a statement that moves villages' capped counts
recomputes their ancestors' states bottom-up, then, top-down, the groups holding a cell whose
state changed and the groups of regions whose status flipped (most writes move no village across
k and do nothing). More than `_MANY` villages at once, or regions added or removed (at commit,
once), recompute everything. One advisory lock serialises the recomputations, so under READ
COMMITTED the last one sees every committed count. k lives in `small_count_rule` (one per
database); `set_small_count_k` changes it and recomputes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Villages in one statement above which recomputing everything is cheaper. On the national bench
# data: 1,000 villages' chains 17 ms, everything 1.1 s.
_MANY = 20_000

_TABLES = [
    """CREATE TABLE small_count_rule (
           only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
           k integer NOT NULL CHECK (k BETWEEN 2 AND 100)
       )""",
    "INSERT INTO small_count_rule (k) VALUES (5)",
    'CREATE TABLE hidden_enrollment_cell (code varchar(13) COLLATE "C" PRIMARY KEY)',
    # Each region's ('' is Indonesia) capped count and the slack of the children it would hide.
    """CREATE TABLE region_enrollment_state (
           code varchar(13) COLLATE "C" PRIMARY KEY,
           capped integer NOT NULL,
           slack integer NOT NULL
       )""",
    """CREATE FUNCTION small_count_k() RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE AS $$
           SELECT k FROM small_count_rule
       $$""",
]

# One level (1 provinces … 4 villages): the children of `parents` ('' is Indonesia; NULL: of every
# region of the level above), grouped by parent, each with its capped count and slack, whether it
# is in the set the group hides when it hides any (`member`) and whether it is hidden now (its
# group has a small cell or its parent is in `parents_hidden`). Regions' counts and slacks are
# read from region_enrollment_state, villages' from their counters.
_GROUP = """
CREATE FUNCTION hidden_children(level integer, parents text[], parents_hidden text[], k integer)
RETURNS TABLE (parent text, code text, n integer, slack integer, member boolean, hidden boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    village boolean := level = 4;
BEGIN
    -- Dynamic so that each call is planned for its parents (an index probe each, or one scan for
    -- all); sets are joined, not scanned with = ANY(array): O(n) for 83,000 villages.
    RETURN QUERY EXECUTE format($q$
        WITH kids AS (
            SELECT c.code, %2$s AS parent, %3$s AS n, %4$s AS slack
            FROM %1$I c %5$s
            WHERE $1 IS NULL OR %2$s = ANY($1)
        ),
        cells AS (SELECT k.*, k.n > 0 AND (k.n < $3 OR k.slack <= 0) AS small FROM kids k),
        ordered AS (
            SELECT k.*, row_number() OVER g AS pos, sum(k.n) OVER g AS running, sum(k.slack) OVER g AS running_slack,
                   count(*) FILTER (WHERE k.small) OVER (PARTITION BY k.parent) AS smalls,
                   count(*) OVER (PARTITION BY k.parent) AS size
            FROM cells k
            WINDOW g AS (PARTITION BY k.parent ORDER BY k.small DESC, k.n = 0, k.n, k.code ROWS UNBOUNDED PRECEDING)
        ),
        prefix AS (
            SELECT o.*, coalesce(min(o.pos) FILTER (WHERE o.pos >= o.smalls AND o.pos >= 2 AND o.running >= $3
                                                     AND o.running_slack >= 1)
                                 OVER (PARTITION BY o.parent), o.size) AS hide_to
            FROM ordered o
        )
        SELECT p.parent::text, p.code::text, p.n::integer, p.slack::integer, p.pos <= p.hide_to,
               (p.smalls > 0 OR p.parent IN (SELECT unnest($2))) AND p.pos <= p.hide_to  -- a hashed set
        FROM prefix p
    $q$, (ARRAY['province', 'regency', 'district', 'village'])[level],
        (ARRAY['''''', 'c.province_code', 'c.regency_code', 'c.district_code'])[level],
        CASE WHEN village THEN 'least(coalesce(ve.active, 0), $3)' ELSE 'coalesce(s.capped, 0)' END,
        CASE WHEN village THEN 'least(coalesce(ve.active, 0), $3) - 1' ELSE 'coalesce(s.slack, 0)' END,
        CASE WHEN village THEN 'LEFT JOIN village_enrollments ve ON ve.village_code = c.code'
             ELSE 'LEFT JOIN region_enrollment_state s ON s.code = c.code' END)
    USING parents, parents_hidden, k;
END
$$;
"""

# The states of `parents` (all of one level's parents; NULL: every region of it) from their
# children's (level `level`): written where they changed; returns the regions whose state changed.
_STATES = """
CREATE FUNCTION refresh_region_states(level integer, parents text[]) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    k integer := small_count_k();
    changed text[];
BEGIN
    WITH fresh AS (
        SELECT p.code, coalesce(least(k, sum(c.n)), 0)::integer AS capped,
               coalesce(sum(c.slack) FILTER (WHERE c.member), 0)::integer AS slack
        FROM (SELECT DISTINCT x.code FROM unnest(parents) x(code)) p
        LEFT JOIN hidden_children(level, parents, '{}', k) c ON c.parent = p.code
        GROUP BY p.code
    ), written AS (
        INSERT INTO region_enrollment_state AS t (code, capped, slack) SELECT * FROM fresh
        ON CONFLICT (code) DO UPDATE SET capped = EXCLUDED.capped, slack = EXCLUDED.slack
        WHERE (t.capped, t.slack) IS DISTINCT FROM (EXCLUDED.capped, EXCLUDED.slack)
        RETURNING t.code
    )
    SELECT coalesce(array_agg(w.code), '{}') INTO changed FROM written w;
    RETURN changed;
END
$$;
"""

# A region's (or Indonesia's, NULL) enrollments are small on their own: the first rule above.
_SMALL = """
CREATE FUNCTION region_enrollments_small(region text, k integer) RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (SELECT FROM region_enrollment_state s WHERE s.code = coalesce(region, '')
                   AND s.capped > 0 AND (s.capped < k OR s.slack <= 0))
$$;
"""

# The rule over all of Indonesia, from the regions' states: what the table must equal.
_CELLS = """
CREATE FUNCTION hidden_enrollment_cells() RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    k integer := small_count_k();
    hidden text[] := CASE WHEN region_enrollments_small(NULL, k) THEN ARRAY[''] ELSE '{}' END;
BEGIN
    FOR level IN 1..4 LOOP
        hidden := hidden || ARRAY(SELECT c.code FROM hidden_children(level, NULL, hidden, k) c WHERE c.hidden);
    END LOOP;
    RETURN hidden;
END
$$;
"""

_LOCK = "PERFORM pg_advisory_xact_lock(hashtext('perisai hidden enrollment cells'));"

# Everything from the counters: the states bottom-up (districts from their villages, … Indonesia
# from its provinces), then the hidden cells.
_REFRESH_ALL = f"""
CREATE FUNCTION refresh_hidden_cells() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    fresh text[];
BEGIN
    {_LOCK}
    DELETE FROM region_enrollment_state;
    PERFORM refresh_region_states(4, ARRAY(SELECT code FROM district));
    PERFORM refresh_region_states(3, ARRAY(SELECT code FROM regency));
    PERFORM refresh_region_states(2, ARRAY(SELECT code FROM province));
    PERFORM refresh_region_states(1, ARRAY['']);
    fresh := hidden_enrollment_cells();
    DELETE FROM hidden_enrollment_cell h WHERE NOT EXISTS (SELECT 1 FROM unnest(fresh) f(code) WHERE f.code = h.code);
    INSERT INTO hidden_enrollment_cell (code) SELECT unnest(fresh) ON CONFLICT DO NOTHING;
END
$$;
"""

# One level's groups, those of `parents`, against the table; returns the children that flipped
# (whose own groups change with them). The caller holds the lock.
_REFRESH_LEVEL = """
CREATE FUNCTION refresh_hidden_level(level integer, parents text[]) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    flipped text[];
BEGIN
    WITH kids AS (
        SELECT * FROM hidden_children(level, parents, ARRAY(SELECT h.code FROM hidden_enrollment_cell h WHERE h.code = ANY(parents)),
                                      small_count_k())
    ), stale AS (
        DELETE FROM hidden_enrollment_cell h USING kids c WHERE h.code = c.code AND NOT c.hidden RETURNING h.code
    ), added AS (
        INSERT INTO hidden_enrollment_cell (code) SELECT c.code FROM kids c WHERE c.hidden ON CONFLICT DO NOTHING RETURNING code
    )
    SELECT coalesce(array_agg(x.code), '{}') INTO flipped FROM (SELECT code FROM stale UNION ALL SELECT code FROM added) x;
    RETURN flipped;
END
$$;
"""

# The chains of `villages` (whose capped counts moved): their ancestors' states bottom-up, then
# the groups holding a cell whose state or parent changed, top-down.
_REFRESH_VILLAGES = f"""
CREATE FUNCTION refresh_hidden_cells_for(villages text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    k integer;
    widths integer[] := ARRAY[0, 2, 5, 8];  -- the parents' code widths of levels 1 … 4
    changed text[];
    groups text[];  -- regions whose children's group must be recomputed
    flipped text[] := '{{}}';
    parents text[];
    was_hidden boolean;
BEGIN
    IF cardinality(villages) > {_MANY} THEN
        PERFORM refresh_hidden_cells();
        RETURN;
    END IF;
    {_LOCK}
    k := small_count_k();
    changed := villages;
    groups := '{{}}';
    FOR level IN REVERSE 4..1 LOOP  -- a parent's state from its children's, just settled
        parents := ARRAY(SELECT DISTINCT left(c, widths[level]) FROM unnest(changed) c);
        groups := groups || parents;
        changed := refresh_region_states(level, parents);
    END LOOP;
    was_hidden := EXISTS (SELECT FROM hidden_enrollment_cell WHERE code = '');
    IF region_enrollments_small(NULL, k) <> was_hidden THEN
        IF was_hidden THEN
            DELETE FROM hidden_enrollment_cell WHERE code = '';
        ELSE
            INSERT INTO hidden_enrollment_cell (code) VALUES ('');
        END IF;
    END IF;
    -- Top-down: a group reads its parent's status, settled by the level above.
    FOR level IN 1..4 LOOP
        parents := ARRAY(SELECT DISTINCT g FROM unnest(groups || flipped) g WHERE length(g) = widths[level]);
        flipped := CASE WHEN cardinality(parents) > 0 THEN refresh_hidden_level(level, parents) ELSE '{{}}' END;
    END LOOP;
END
$$;
"""

# Counters moved by one statement, kept to the villages whose capped count changed: most writes
# (villages at or above k) take no lock and recompute nothing.
_CHANGED = {
    "hidden_cells_after_insert": "SELECT n.village_code FROM new_rows n WHERE least(n.active, small_count_k()) <> 0",
    "hidden_cells_after_update": """SELECT n.village_code FROM new_rows n JOIN old_rows o USING (village_code)
                                    WHERE least(n.active, small_count_k()) <> least(o.active, small_count_k())""",
    "hidden_cells_after_delete": "SELECT o.village_code FROM old_rows o WHERE least(o.active, small_count_k()) <> 0",
}
_COUNTER_TRIGGERS = [
    ("hidden_cells_after_insert", "INSERT", "REFERENCING NEW TABLE AS new_rows"),
    ("hidden_cells_after_update", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("hidden_cells_after_delete", "DELETE", "REFERENCING OLD TABLE AS old_rows"),
]

# Regions added or removed change groups (a new village is a zero in its group): everything is
# recomputed once, at commit, however many rows the import wrote.
_REGIONS_CHANGED = """
CREATE FUNCTION hidden_cells_after_regions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('perisai.hidden_cells_recomputed', true) IS DISTINCT FROM 'on' THEN
        PERFORM refresh_hidden_cells();
        PERFORM set_config('perisai.hidden_cells_recomputed', 'on', true);
    END IF;
    RETURN NULL;
END
$$;
"""
_REGION_TABLES = ["province", "regency", "district", "village"]

_SET_K = """
CREATE FUNCTION set_small_count_k(new_k integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE small_count_rule SET k = new_k WHERE k <> new_k;
    IF FOUND THEN
        PERFORM refresh_hidden_cells();
    END IF;
END
$$;
"""


# Snapshots keep the hidden cells of their day (coverageChanges and coverageTrend show their
# figures); one taken before this migration kept none, and hides every enrollment figure instead.
_SNAPSHOTS = [
    "ALTER TABLE coverage_snapshot ADD COLUMN small_counts_kept boolean NOT NULL DEFAULT false",
    """CREATE TABLE snapshot_hidden_cell (
           snapshot_id bigint NOT NULL REFERENCES coverage_snapshot (id) ON DELETE CASCADE,
           code varchar(13) COLLATE "C" NOT NULL,
           PRIMARY KEY (snapshot_id, code)
       )""",
    # A region's or village's enrollments hidden in snapshot `snapshot` (NULL: today); region NULL: Indonesia.
    """CREATE FUNCTION enrollments_hidden_in(snapshot bigint, region text) RETURNS boolean
       LANGUAGE sql STABLE PARALLEL SAFE AS $$
           SELECT CASE WHEN snapshot IS NULL
               THEN EXISTS (SELECT FROM hidden_enrollment_cell h WHERE h.code = coalesce(region, ''))
               ELSE EXISTS (SELECT FROM coverage_snapshot s WHERE s.id = snapshot AND (NOT s.small_counts_kept OR EXISTS (
                                SELECT FROM snapshot_hidden_cell h WHERE h.snapshot_id = s.id AND h.code = coalesce(region, ''))))
               END
       $$""",
]


def upgrade() -> None:
    for sql in (*_TABLES, *_SNAPSHOTS, _GROUP, _STATES, _SMALL, _CELLS, _REFRESH_ALL, _REFRESH_LEVEL, _REFRESH_VILLAGES,
                _REGIONS_CHANGED, _SET_K):
        op.execute(sql)
    for name, changed in _CHANGED.items():
        op.execute(f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE villages text[] := ARRAY({changed});
            BEGIN
                IF cardinality(villages) > 0 THEN
                    PERFORM refresh_hidden_cells_for(villages);
                END IF;
                RETURN NULL;
            END $$""")
    for name, event, referencing in _COUNTER_TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON village_enrollments {referencing} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
    for table in _REGION_TABLES:
        op.execute(f"CREATE CONSTRAINT TRIGGER hidden_cells_after_{table} AFTER INSERT OR DELETE ON {table} "
                   "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hidden_cells_after_regions()")
    op.execute("SELECT refresh_hidden_cells()")


def downgrade() -> None:
    for table in _REGION_TABLES:
        op.execute(f"DROP TRIGGER hidden_cells_after_{table} ON {table}")
    for name, _, _ in _COUNTER_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON village_enrollments")
        op.execute(f"DROP FUNCTION {name}()")
    for function in ("set_small_count_k(integer)", "hidden_cells_after_regions()", "refresh_hidden_cells_for(text[])",
                     "refresh_hidden_level(integer, text[])", "refresh_hidden_cells()", "hidden_enrollment_cells()",
                     "region_enrollments_small(text, integer)", "refresh_region_states(integer, text[])",
                     "hidden_children(integer, text[], text[], integer)", "small_count_k()"):
        op.execute(f"DROP FUNCTION {function}")
    op.execute("DROP FUNCTION enrollments_hidden_in(bigint, text)")
    op.execute("DROP TABLE snapshot_hidden_cell")
    op.execute("ALTER TABLE coverage_snapshot DROP COLUMN small_counts_kept")
    op.execute("DROP TABLE region_enrollment_state")
    op.execute("DROP TABLE hidden_enrollment_cell")
    op.execute("DROP TABLE small_count_rule")
