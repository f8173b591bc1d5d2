"""Small-count suppression: `hidden_enrollment_cells(root)` is the set of region codes whose active
enrollments must not be shown to callers without personal-data access (planners, public
dashboards): a count of 1 to k - 1 can identify a person in a small village (UU 27/2022).

Cells are regions at every level (provinces, regencies, districts, villages); a cell's count is
the sum of its villages' counters (`village_enrollments`, migration 0011), read only as far as
the rule needs (`enrollments_capped`). Parents' totals stay
exact, so hiding a small cell alone would not hide it (district total minus the other villages);
complementary cells are hidden with it. The rule, top-down from Indonesia, in each group (the
children of one region):
1. a cell with 1 <= count < k is hidden (zeros are shown: they identify no one);
2. when a group has a hidden cell, or its parent is hidden, the shortest prefix of its children in
   the order (hidden first, then smallest positive, then zeros; ties by code) with at least two
   cells and a sum of at least max(k, cells + 1) is hidden — the whole group when none is enough.
So every group has none or at least two hidden cells (none can be had by subtraction from the
parent), and every hidden region has at least two hidden children (none can be had by adding up
its children); a sum of at least cells + 1 keeps a group of ones from being pinned to 1 each.

The hidden set of a subtree depends on the groups above it, so `root` (a region code, or NULL for
Indonesia) asks for the groups on the path from Indonesia to it and everything below it.
k is `small_count_k()`: the `perisai.small_count_k` setting of the session (the server sets it
from PERISAI_SMALL_COUNT_K), 5 when unset.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_K = """
CREATE FUNCTION small_count_k() RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(current_setting('perisai.small_count_k', true), '')::integer, 5)
$$;
"""

# A region's active enrollments, capped: reading stops at its first k villages with enrollments
# (each has at least one, so the region is not small). Exact below k, which is all the rule needs:
# whether a cell is small, and an order among the others (any order keeps the guarantees).
_CAPPED = """
CREATE FUNCTION enrollments_capped(region text, k integer) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN length(region) = 13
        THEN (SELECT ve.active FROM village_enrollments ve WHERE ve.village_code = region)
        ELSE (SELECT sum(x.active) FROM (
                  SELECT ve.active FROM village_enrollments ve
                  WHERE ve.village_code ~>=~ (region || '.') AND ve.village_code ~<~ (region || '/') AND ve.active > 0
                  LIMIT k) x) END
$$;
"""

# One level: the children (of `child_table`, code width `width`) of the regions in `parents`, with
# their counts from the villages with codes in [lo, hi); returns the hidden ones.
_GROUP = """
CREATE FUNCTION hidden_children(child_table text, parent_column text, width integer, parent text,
                                parents_hidden text[], k integer, lo text, hi text) RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    hidden text[];
BEGIN
    -- The groups of `parent`'s children, or (parent NULL) of every region of the level above with
    -- codes in [lo, hi). Sets are joined, not scanned with = ANY(array): O(n) for 83,000 villages.
    EXECUTE format($q$
        WITH kids AS (
            SELECT c.code, %2$s AS parent, coalesce(%3$s, 0) AS n
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
        CASE WHEN width = 13 THEN 've.active' ELSE 'enrollments_capped(c.code, $4)' END,
        CASE WHEN width = 13 THEN 'LEFT JOIN village_enrollments ve ON ve.village_code = c.code' ELSE '' END)
    INTO hidden
    USING width, parent, parents_hidden, k, lo, hi;
    RETURN hidden;
END
$$;
"""

_CELLS = """
CREATE FUNCTION hidden_enrollment_cells(root text) RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    k integer := small_count_k();
    tables text[] := ARRAY['province', 'regency', 'district', 'village'];
    parent_columns text[] := ARRAY['''''', 'province_code', 'regency_code', 'district_code'];
    widths integer[] := ARRAY[2, 5, 8, 13];
    depth integer := CASE WHEN root IS NULL THEN 0 ELSE array_position(widths, length(root)) END;
    total bigint;
    hidden text[] := '{}';
    parent text;
    lo text;
    hi text;
BEGIN
    SELECT coalesce(sum(active), 0) INTO total FROM (SELECT active FROM village_enrollments WHERE active > 0 LIMIT k) x;
    IF total > 0 AND total < k THEN
        hidden := ARRAY[''];  -- Indonesia itself
    END IF;
    FOR level IN 1..4 LOOP
        IF level <= depth + 1 THEN  -- on the path to root, or root's children: one group
            parent := CASE WHEN level = 1 THEN '' ELSE left(coalesce(root, ''), widths[level - 1]) END;
            lo := CASE WHEN parent = '' THEN '0' ELSE parent || '.' END;
            hi := CASE WHEN parent = '' THEN ':' ELSE parent || '/' END;
        ELSE  -- deeper in root's subtree: the groups of every region of the level above
            parent := NULL;
            lo := coalesce(root || '.', '0');
            hi := coalesce(root || '/', ':');
        END IF;
        hidden := hidden || hidden_children(tables[level], parent_columns[level], widths[level], parent, hidden, k, lo, hi);
    END LOOP;
    RETURN hidden;
END
$$;
"""


# Region prefixes are matched with ~>=~ / ~<~ (any collation), as elsewhere: they need this index.
_INDEX = "CREATE INDEX village_enrollments_code_pattern ON village_enrollments (village_code text_pattern_ops) INCLUDE (active)"


def upgrade() -> None:
    op.execute(_INDEX)
    op.execute(_K)
    op.execute(_CAPPED)
    op.execute(_GROUP)
    op.execute(_CELLS)


def downgrade() -> None:
    op.execute("DROP FUNCTION hidden_enrollment_cells(text)")
    op.execute("DROP FUNCTION hidden_children(text, text, integer, text, text[], integer, text, text)")
    op.execute("DROP FUNCTION enrollments_capped(text, integer)")
    op.execute("DROP FUNCTION small_count_k()")
    op.execute("DROP INDEX village_enrollments_code_pattern")
