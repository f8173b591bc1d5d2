"""Districts, regencies and provinces framed by their villages: `villages_outline` = the union of
the village boundaries below them (less sliver holes, see SPECK_DEG2).

Maps draw regions with it (falling back to the region's own boundary): the village file is the
finest the agency has, a district file is often coarser (slivers and gaps between districts on a
regency map, villages sticking out of their district) or missing (a villages-only import), and
provinces have no file at all.

Kept exact by statement-level triggers on `village`, in the same transaction as the change, like
`agent_reach`: the districts whose villages were added, removed, re-drawn or moved to another
district are recomputed, then their regencies (from the districts' outlines), then their
provinces. Updates of anything else (names, estimates, label points) find no changed row by the
set difference and touch no region. (`UPDATE OF geom, district_code` would skip the trigger
altogether, but PostgreSQL allows no column list on triggers with transition tables.)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LEVELS = ("district", "regency", "province")

# Holes smaller than this (square degrees; about 1.2 ha) are dropped from the union: they are
# slivers where neighbouring village polygons do not quite meet (DIY's file has a few dozen, up to
# 0.3 ha), which a map draws as stray lines inside a district. A real enclave is far larger.
SPECK_DEG2 = 1e-6

WITHOUT_SPECKS = f"""
CREATE FUNCTION without_specks(g geometry) RETURNS geometry LANGUAGE sql IMMUTABLE AS $$
    SELECT ST_Multi(ST_Collect(ARRAY(
        SELECT ST_MakePolygon(ST_ExteriorRing(p.geom), ARRAY(
            SELECT ST_ExteriorRing(r.geom) FROM ST_DumpRings(p.geom) r
            WHERE r.path[1] > 0 AND ST_Area(r.geom) >= {SPECK_DEG2}))
        FROM ST_Dump(g) p)))
$$
"""

# The union of the children's polygons, polygonal parts only, without specks; NULL when no child
# has a boundary.
_UNION = "without_specks(ST_CollectionExtract(ST_Union({column}), 3))"

# What a map one level up draws, precomputed because the whole of Indonesia is 540,000 points in
# 19,000 island parts: the outline without parts smaller than tolerance² (under a pixel on that
# map; the largest part is always kept) and simplified to `tolerance` degrees. Provinces are drawn
# on the national map (~0.03° per step of its 1,500), regencies on province maps (0.0005-0.007°).
MAP_TOLERANCE = {"regency": 0.001, "province": 0.01}

MAP_SHAPE = """
CREATE FUNCTION map_shape(g geometry, tolerance float8) RETURNS geometry LANGUAGE sql IMMUTABLE AS $$
    SELECT ST_Multi(ST_SimplifyPreserveTopology(ST_Collect(ARRAY(
        SELECT d.geom FROM ST_Dump(g) d
        WHERE ST_Area(d.geom) >= least(tolerance * tolerance, (SELECT max(ST_Area(x.geom)) FROM ST_Dump(g) x)))),
        tolerance))
$$
"""

REFRESH = f"""
CREATE FUNCTION refresh_villages_outline(districts text[]) RETURNS void LANGUAGE sql AS $$
    UPDATE district d SET villages_outline = (
        SELECT {_UNION.format(column="v.geom")} FROM village v WHERE v.district_code = d.code AND v.geom IS NOT NULL)
    WHERE d.code = ANY(districts);
    UPDATE regency r SET villages_outline = u.g, map_outline = map_shape(u.g, {MAP_TOLERANCE["regency"]})
    FROM (SELECT r2.code, (SELECT {_UNION.format(column="d.villages_outline")} FROM district d
                           WHERE d.regency_code = r2.code) AS g
          FROM regency r2 WHERE r2.code IN (SELECT DISTINCT left(c, 5) FROM unnest(districts) c)) u
    WHERE r.code = u.code;
    UPDATE province p SET villages_outline = u.g, map_outline = map_shape(u.g, {MAP_TOLERANCE["province"]})
    FROM (SELECT p2.code, (SELECT {_UNION.format(column="r.villages_outline")} FROM regency r
                           WHERE r.province_code = p2.code) AS g
          FROM province p2 WHERE p2.code IN (SELECT DISTINCT left(c, 2) FROM unnest(districts) c)) u
    WHERE p.code = u.code;
$$
"""

# Changed rows by set difference, never by joining the transition tables (see 0006).
FUNCTIONS = {
    "villages_outline_inserted": "PERFORM refresh_villages_outline(ARRAY(SELECT DISTINCT district_code FROM new_rows "
                                 "WHERE geom IS NOT NULL));",
    "villages_outline_deleted": "PERFORM refresh_villages_outline(ARRAY(SELECT DISTINCT district_code FROM old_rows "
                                "WHERE geom IS NOT NULL));",
    "villages_outline_updated": """PERFORM refresh_villages_outline(ARRAY(
        SELECT DISTINCT district_code FROM (
            (SELECT code, district_code, ST_AsEWKB(geom) FROM new_rows
             EXCEPT SELECT code, district_code, ST_AsEWKB(geom) FROM old_rows)
            UNION ALL
            (SELECT code, district_code, ST_AsEWKB(geom) FROM old_rows
             EXCEPT SELECT code, district_code, ST_AsEWKB(geom) FROM new_rows)) changed));""",
}
TRIGGERS = [
    ("villages_outline_after_insert", "INSERT", "REFERENCING NEW TABLE AS new_rows", "villages_outline_inserted"),
    ("villages_outline_after_update", "UPDATE",
     "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows", "villages_outline_updated"),
    ("villages_outline_after_delete", "DELETE", "REFERENCING OLD TABLE AS old_rows", "villages_outline_deleted"),
]


def upgrade() -> None:
    for level in LEVELS:
        op.execute(f"ALTER TABLE {level} ADD COLUMN villages_outline geometry(MultiPolygon, 4326)")
        # Maps find neighbours and extents on the shape they draw (db/queries/maps.py _shape).
        op.execute(f"CREATE INDEX {level}_shape_idx ON {level} USING gist ((coalesce(villages_outline, geom)))")
    for level in MAP_TOLERANCE:
        op.execute(f"ALTER TABLE {level} ADD COLUMN map_outline geometry(MultiPolygon, 4326)")
    op.execute(WITHOUT_SPECKS)
    op.execute(MAP_SHAPE)
    op.execute(REFRESH)
    for name, body in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$")
    for name, event, referencing, function in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON village {referencing} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    op.execute("SELECT refresh_villages_outline(ARRAY(SELECT code FROM district))")


def downgrade() -> None:
    for name, _, _, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON village")
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
    op.execute("DROP FUNCTION refresh_villages_outline(text[])")
    op.execute("DROP FUNCTION without_specks(geometry)")
    op.execute("DROP FUNCTION map_shape(geometry, float8)")
    for level in MAP_TOLERANCE:
        op.execute(f"ALTER TABLE {level} DROP COLUMN map_outline")
    for level in LEVELS:
        op.execute(f"ALTER TABLE {level} DROP COLUMN villages_outline")
