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
hidden with it. The rule, top-down from Indonesia, in each group (the children of one region):
1. a cell with 1 <= count < k is hidden (zeros are shown: they identify no one);
2. when a group has a hidden cell, or its parent is hidden, the shortest prefix of its children in
   the order (hidden first, then smallest positive, then zeros; ties by code) with at least two
   cells and a capped sum of at least max(k, cells + 1) is hidden — the whole group when none is.
So every group has none or at least two hidden cells (none can be had by subtraction from the
parent), and every hidden region has at least two hidden children (none can be had by adding up
its children); a sum of at least cells + 1 keeps a group of ones from being pinned to 1 each.

Maintenance: a statement that moves villages' capped counts recomputes the groups on their chains
(Indonesia's provinces, the province's regencies, the regency's districts, the district's
villages) top-down, and the whole subtree of any region whose status flips; more than
`_MANY` villages at once (a bulk import) or a change of regions recomputes everything (~0.6 s
for 83,000 villages). One advisory lock serialises the recomputations, so under READ COMMITTED
the last one sees every committed count. k lives in `small_count_rule` (one per database);
`set_small_count_k` changes it and recomputes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_MANY = 200  # villages in one statement above which recomputing everything is cheaper

_TABLES = [
    """CREATE TABLE small_count_rule (
           only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
           k integer NOT NULL CHECK (k BETWEEN 2 AND 100)
       )""",
    "INSERT INTO small_count_rule (k) VALUES (5)",
    'CREATE TABLE hidden_enrollment_cell (code varchar(13) COLLATE "C" PRIMARY KEY)',
    """CREATE FUNCTION small_count_k() RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE AS $$
           SELECT k FROM small_count_rule
       $$""",
]

# A region's active enrollments, capped at k: reading stops at its first k villages with
# enrollments (each has at least one). Exact below k, which is all the rule reads.
_CAPPED = """
CREATE FUNCTION enrollments_capped(region text, k integer) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT least(k, coalesce(CASE WHEN length(region) = 13
        THEN (SELECT ve.active FROM village_enrollments ve WHERE ve.village_code = region)
        ELSE (SELECT sum(x.active) FROM (
                  SELECT ve.active FROM village_enrollments ve
                  WHERE ve.village_code ~>=~ CASE WHEN region = '' THEN '0' ELSE region || '.' END
                    AND ve.village_code ~<~ CASE WHEN region = '' THEN ':' ELSE region || '/' END
                    AND ve.active > 0
                  LIMIT k) x) END, 0))::integer  -- (least() would skip a NULL)
$$;
"""

# One level: the children (of `child_table`, code width `width`) of `parent`, or (parent NULL) of
# every region of the level above with codes in [lo, hi); returns the hidden ones.
_GROUP = """
CREATE FUNCTION hidden_children(child_table text, parent_column text, width integer, parent text,
                                parents_hidden text[], k integer, lo text, hi text) RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    hidden text[];
BEGIN
    -- Sets are joined, not scanned with = ANY(array): O(n) for 83,000 villages.
    EXECUTE format($q$
        WITH kids AS (
            SELECT c.code, %2$s AS parent, %3$s AS n
            FROM %1$I c %4$s
            WHERE CASE WHEN $2 IS NULL THEN c.code ~>=~ $5 AND c.code ~<~ $6 ELSE %2$s = $2 END
        ),
        ordered AS (
            SELECT k.*, row_number() OVER g AS pos, sum(k.n) OVER g AS running,
                   count(*) FILTER (WHERE k.n > 0 AND k.n < $4) OVER (PARTITION BY k.parent) AS small,
                   count(*) OVER (PARTITION BY k.parent) AS size
            FROM kids k
            WINDOW g AS (PARTITION BY k.parent ORDER BY (k.n > 0 AND k.n < $4) DESC, k.n = 0, k.n, k.code
                         ROWS UNBOUNDED PRECEDING)
        ),
        prefix AS (
            SELECT o.*, coalesce(min(o.pos) FILTER (WHERE o.pos >= o.small AND o.pos >= 2
                                                     AND o.running >= greatest($4, o.pos + 1))
                                 OVER (PARTITION BY o.parent), o.size) AS hide_to
            FROM ordered o
        )
        SELECT coalesce(array_agg(p.code), '{}') FROM prefix p
        WHERE (p.small > 0 OR p.parent IN (SELECT unnest($3))) AND p.pos <= p.hide_to  -- a hashed set
    $q$, child_table, parent_column,
        CASE WHEN width = 13 THEN 'least(coalesce(ve.active, 0), $4)' ELSE 'enrollments_capped(c.code, $4)' END,
        CASE WHEN width = 13 THEN 'LEFT JOIN village_enrollments ve ON ve.village_code = c.code' ELSE '' END)
    INTO hidden
    USING width, parent, parents_hidden, k, lo, hi;
    RETURN hidden;
END
$$;
"""

# The rule over all of Indonesia, from nothing: what the table must equal.
_CELLS = """
CREATE FUNCTION hidden_enrollment_cells() RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    k integer := small_count_k();
    tables text[] := ARRAY['province', 'regency', 'district', 'village'];
    parent_columns text[] := ARRAY['''''', 'province_code', 'regency_code', 'district_code'];
    widths integer[] := ARRAY[2, 5, 8, 13];
    total integer := enrollments_capped('', k);
    hidden text[] := CASE WHEN total > 0 AND total < k THEN ARRAY[''] ELSE '{}' END;
BEGIN
    FOR level IN 1..4 LOOP
        hidden := hidden || hidden_children(tables[level], parent_columns[level], widths[level],
                                            CASE WHEN level = 1 THEN '' END, hidden, k, '0', ':');
    END LOOP;
    RETURN hidden;
END
$$;
"""

_LOCK = "PERFORM pg_advisory_xact_lock(hashtext('perisai hidden enrollment cells'));"

_REFRESH_ALL = f"""
CREATE FUNCTION refresh_hidden_cells() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    fresh text[];
BEGIN
    {_LOCK}
    fresh := hidden_enrollment_cells();
    DELETE FROM hidden_enrollment_cell h WHERE NOT EXISTS (SELECT 1 FROM unnest(fresh) f(code) WHERE f.code = h.code);
    INSERT INTO hidden_enrollment_cell (code) SELECT unnest(fresh) ON CONFLICT DO NOTHING;
END
$$;
"""

# The group of `parent`'s children ('' for the provinces) against the table; a child that flips
# changes its own children's group, which is recomputed in turn. The caller holds the lock.
_REFRESH_GROUP = """
CREATE FUNCTION refresh_hidden_group(parent text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    widths integer[] := ARRAY[0, 2, 5, 8, 13];
    level integer := array_position(widths, length(parent));
    width integer := widths[level + 1];
    lo text := CASE WHEN parent = '' THEN '0' ELSE parent || '.' END;
    hi text := CASE WHEN parent = '' THEN ':' ELSE parent || '/' END;
    fresh text[];
    flipped text[];
    child text;
BEGIN
    fresh := hidden_children((ARRAY['province', 'regency', 'district', 'village'])[level],
                             (ARRAY['''''', 'province_code', 'regency_code', 'district_code'])[level], width, parent,
                             CASE WHEN EXISTS (SELECT 1 FROM hidden_enrollment_cell h WHERE h.code = parent)
                                  THEN ARRAY[parent] ELSE '{}' END,
                             small_count_k(), lo, hi);
    WITH stale AS (
        DELETE FROM hidden_enrollment_cell h
        WHERE h.code >= lo AND h.code < hi AND length(h.code) = width AND h.code <> ALL(fresh)
        RETURNING h.code
    ), added AS (
        INSERT INTO hidden_enrollment_cell (code) SELECT unnest(fresh) ON CONFLICT DO NOTHING RETURNING code
    )
    SELECT coalesce(array_agg(code), '{}') INTO flipped FROM (SELECT code FROM stale UNION ALL SELECT code FROM added) x;
    IF width < 13 THEN
        FOREACH child IN ARRAY flipped LOOP
            PERFORM refresh_hidden_group(child);
        END LOOP;
    END IF;
END
$$;
"""

_REFRESH_VILLAGES = f"""
CREATE FUNCTION refresh_hidden_cells_for(villages text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    k integer;
    total integer;
    parent text;
BEGIN
    IF cardinality(villages) > {_MANY} THEN
        PERFORM refresh_hidden_cells();
        RETURN;
    END IF;
    {_LOCK}
    k := small_count_k();
    total := enrollments_capped('', k);
    IF total > 0 AND total < k THEN
        INSERT INTO hidden_enrollment_cell (code) VALUES ('') ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM hidden_enrollment_cell WHERE code = '';
    END IF;
    -- Top-down: a group reads its parent's status, settled by the level above.
    FOR parent IN
        SELECT g.p FROM (SELECT DISTINCT p FROM unnest(villages) v, unnest(ARRAY['', left(v, 2), left(v, 5), left(v, 8)]) p) g
        ORDER BY g.p COLLATE "C"  -- a prefix sorts before what extends it
    LOOP
        PERFORM refresh_hidden_group(parent);
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


def upgrade() -> None:
    # Region prefixes are matched with ~>=~ / ~<~ (any collation), as elsewhere: they need this index.
    op.execute("CREATE INDEX village_enrollments_code_pattern ON village_enrollments (village_code text_pattern_ops) INCLUDE (active)")
    for sql in (*_TABLES, _CAPPED, _GROUP, _CELLS, _REFRESH_ALL, _REFRESH_GROUP, _REFRESH_VILLAGES, _REGIONS_CHANGED, _SET_K):
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
                     "refresh_hidden_group(text)", "refresh_hidden_cells()", "hidden_enrollment_cells()",
                     "hidden_children(text, text, integer, text, text[], integer, text, text)",
                     "enrollments_capped(text, integer)", "small_count_k()"):
        op.execute(f"DROP FUNCTION {function}")
    op.execute("DROP TABLE hidden_enrollment_cell")
    op.execute("DROP TABLE small_count_rule")
    op.execute("DROP INDEX village_enrollments_code_pattern")
