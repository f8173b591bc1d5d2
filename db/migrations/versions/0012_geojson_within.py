"""Byte budgets for boundaries: `geojson_within(shape, max_bytes, max_digits)` is the most detailed
topology-preserving simplification of `shape` whose GeoJSON text fits in `max_bytes` (a boundary:
a simplified one is kept a MultiPolygon, as geometry(simplifyM) keeps it).

Detail is searched, not guessed: full detail first; else a bisection of the tolerance in
log-space between 1 cm and the shape's extent (14 steps: within 0.2 % of the finest tolerance
whose text fits), then upwards from there (×1.25) to the first candidate that, read back as the
client will read it, is a valid geometry: rounding can make a thin ring cross itself at one
tolerance and not at the next, so validity cannot steer a bisection. Coordinates keep only the
digits the tolerance leaves meaningful (a point moves by at most a tenth of the tolerance), so a
coarse outline does not spend bytes on centimetres. Nothing fits (a region of many islands under
a tiny budget, every part being kept) or no valid candidate: the function returns nulls.

PostGIS has no byte-budgeted simplification (ST_Simplify* take a tolerance), hence this function.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_DIGITS = """
CREATE FUNCTION geojson_digits(tolerance float8, max_digits integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN tolerance = 0 THEN max_digits
                ELSE least(max_digits, greatest(0, ceil(log(10 / tolerance))::integer)) END
$$;
"""
_RENDER = """
CREATE FUNCTION geojson_simplified(shape geometry, tolerance float8, max_digits integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_AsGeoJSON(
        CASE WHEN tolerance = 0 THEN shape ELSE ST_Multi(ST_SimplifyPreserveTopology(shape, tolerance)) END,
        geojson_digits(tolerance, max_digits))
$$;
"""

_FIT = """
CREATE FUNCTION geojson_within(shape geometry, max_bytes integer, max_digits integer,
                               OUT geojson text, OUT tolerance float8, OUT digits integer)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    lo float8 := 1e-7;  -- degrees, about 1 cm
    hi float8;
    extent float8;
    candidate text;
BEGIN
    IF shape IS NULL THEN
        RETURN;
    END IF;
    candidate := geojson_simplified(shape, 0, max_digits);
    IF octet_length(candidate) <= max_bytes THEN
        geojson := candidate;
        tolerance := 0;
        digits := max_digits;
        RETURN;
    END IF;
    extent := greatest(ST_XMax(shape) - ST_XMin(shape), ST_YMax(shape) - ST_YMin(shape), 2e-7);
    IF octet_length(geojson_simplified(shape, extent, max_digits)) > max_bytes THEN
        RETURN;  -- even the coarsest outline (every part kept) is too large
    END IF;
    -- The finest tolerance whose text fits (size falls as the tolerance grows) ...
    hi := extent;
    FOR step IN 1..14 LOOP
        IF octet_length(geojson_simplified(shape, sqrt(lo * hi), max_digits)) <= max_bytes THEN
            hi := sqrt(lo * hi);
        ELSE
            lo := sqrt(lo * hi);
        END IF;
    END LOOP;
    -- ... then, from there up, the first whose text reads back valid (validity is not monotone:
    -- a thin ring rounded to few digits may cross itself at one tolerance and not at the next).
    FOR step IN 1..40 LOOP
        candidate := geojson_simplified(shape, hi, max_digits);
        IF octet_length(candidate) <= max_bytes AND ST_IsValid(ST_GeomFromGeoJSON(candidate)) THEN
            geojson := candidate;
            tolerance := hi;
            digits := geojson_digits(hi, max_digits);
            RETURN;
        END IF;
        -- the same outline with every digit asked for, in case the rounding was what broke it
        candidate := ST_AsGeoJSON(ST_Multi(ST_SimplifyPreserveTopology(shape, hi)), max_digits);
        IF octet_length(candidate) <= max_bytes AND ST_IsValid(ST_GeomFromGeoJSON(candidate)) THEN
            geojson := candidate;
            tolerance := hi;
            digits := max_digits;
            RETURN;
        END IF;
        EXIT WHEN hi >= extent;
        hi := least(hi * 1.25, extent);
    END LOOP;
END
$$;
"""

# Hausdorff distance in metres between two shapes, in the UTM zone of the first one's centroid
# (Indonesia spans zones 46-54, north and south): the distortion within a zone is under 0.1 %.
_HAUSDORFF = """
CREATE FUNCTION hausdorff_m(a geometry, b geometry) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_HausdorffDistance(ST_Transform(a, zone), ST_Transform(b, zone))
    FROM (SELECT CASE WHEN ST_Y(c) < 0 THEN 32700 ELSE 32600 END
                 + least(60, floor((ST_X(c) + 180) / 6)::integer + 1) AS zone
          FROM ST_Centroid(a) c) z
$$;
"""


def upgrade() -> None:
    op.execute(_DIGITS)
    op.execute(_RENDER)
    op.execute(_FIT)
    op.execute(_HAUSDORFF)


def downgrade() -> None:
    op.execute("DROP FUNCTION hausdorff_m(geometry, geometry)")
    op.execute("DROP FUNCTION geojson_within(geometry, integer, integer)")
    op.execute("DROP FUNCTION geojson_simplified(geometry, float8, integer)")
    op.execute("DROP FUNCTION geojson_digits(float8, integer)")
