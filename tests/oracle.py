"""Independent coverage computations (pyproj Geod, Shapely) that tests compare PostGIS against.

Nothing here imports the project's query code: inputs are raw rows read with plain SQL (asyncpg).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer

from tests.conftest import fetch

GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class OAgent:
    id: int
    lng: float
    lat: float
    reach_m: int
    active: bool


@dataclass(frozen=True)
class OVillage:
    code: str
    lng: float | None
    lat: float | None
    informal_workers: int | None
    active_enrollments: int


def distances(lng: float, lat: float, agents: list[OAgent]) -> np.ndarray:
    """Geodesic metres from one point to every agent (WGS84 ellipsoid)."""
    if not agents:
        return np.zeros(0)
    _, _, d = GEOD.inv(np.full(len(agents), lng), np.full(len(agents), lat),
                       np.array([a.lng for a in agents]), np.array([a.lat for a in agents]))
    return np.asarray(d)


def reach_pairs(villages: list[OVillage], agents: list[OAgent]) -> dict[tuple[int, str], float]:
    """(agent id, village code) → distance, for every agent (any status) reaching a label point."""
    pairs = {}
    for v in villages:
        if v.lng is None:
            continue
        d = distances(v.lng, v.lat, agents)
        for a, dist in zip(agents, d, strict=True):
            if dist <= a.reach_m:
                pairs[(a.id, v.code)] = float(dist)
    return pairs


@dataclass(frozen=True)
class OVillageCoverage:
    covered: bool
    agent_count: int
    any_agent: bool
    nearest_id: int | None
    nearest_m: float | None
    uncovered_workers: int | None
    penetration: float | None


def village_coverage(v: OVillage, agents: list[OAgent]) -> OVillageCoverage:
    active = [a for a in agents if a.active]
    if v.lng is None:
        near_id = near_m = None
        count, anyone = 0, False
    else:
        d_all = distances(v.lng, v.lat, agents)
        anyone = bool(any(d <= a.reach_m for a, d in zip(agents, d_all, strict=True)))
        d = distances(v.lng, v.lat, active)
        count = int(sum(1 for a, x in zip(active, d, strict=True) if x <= a.reach_m))
        best = int(np.argmin(d)) if len(d) else None
        near_id = active[best].id if best is not None else None
        near_m = float(d[best]) if best is not None else None
    iw = v.informal_workers
    return OVillageCoverage(
        count > 0, count, anyone, near_id, near_m,
        None if iw is None else max(0, iw - v.active_enrollments),
        None if not iw else v.active_enrollments / iw,
    )


def active_agent_ids(statuses: dict[int, bool], enrollments: list[tuple[int, dt.date]],
                     days: int | None, as_of: dt.date) -> set[int]:
    if days is None:
        return {a for a, active in statuses.items() if active}
    recent = {a for a, on in enrollments if as_of - dt.timedelta(days=days) < on <= as_of}
    return {a for a, active in statuses.items() if active and a in recent}


def covered_fraction(village: shapely.Geometry, circles: list[tuple[float, float, float]]) -> float:
    """Share of the village's area inside the union of geodesic circles (lng, lat, radius_m).

    Each circle is drawn by Geod.fwd (geodesic bearings, 720 vertices) and everything is measured
    in a Lambert azimuthal equal-area projection centred on the village.
    """
    c = village.centroid
    laea = CRS.from_proj4(f"+proj=laea +lat_0={c.y} +lon_0={c.x} +datum=WGS84 +units=m")
    transformer = Transformer.from_crs("EPSG:4326", laea, always_xy=True)

    def to_laea(geom: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))

    area = to_laea(village)
    shapes = []
    for lng, lat, r in circles:
        az = np.linspace(0, 360, 720, endpoint=False)
        xs, ys, _ = GEOD.fwd(np.full(720, lng), np.full(720, lat), az, np.full(720, r))
        shapes.append(to_laea(shapely.Polygon(zip(xs, ys, strict=True))))
    if not shapes:
        return 0.0
    return float(area.intersection(shapely.union_all(shapes)).area / area.area)


class World:
    """Raw demo rows and the oracle's answers for one activity rule."""

    def __init__(self, url: str, days: int | None = None, as_of: dt.date | None = None) -> None:
        as_of = as_of or dt.date.today()
        statuses = {r["id"]: r["s"] == "active" for r in fetch(url, "SELECT id, status::text s FROM agent")}
        enrollments = [(r["agent_id"], r["enrolled_on"]) for r in fetch(url, "SELECT agent_id, enrolled_on FROM enrollment")]
        counting = active_agent_ids(statuses, enrollments, days, as_of)
        rows = fetch(url, "SELECT id, code, home_village_code h, ST_X(location) x, ST_Y(location) y, reach_m FROM agent")
        self.code_of = {r["id"]: r["code"] for r in rows}
        self.home = {r["id"]: r["h"] for r in rows}
        self.agents = [OAgent(r["id"], r["x"], r["y"], r["reach_m"], r["id"] in counting) for r in rows]
        active = Counter(r["village_code"] for r in fetch(url, "SELECT village_code FROM enrollment WHERE status = 'active'"))
        self.villages = [
            OVillage(r["code"], r["x"], r["y"], r["iw"], active.get(r["code"], 0))
            for r in fetch(url, "SELECT code, ST_X(label_point) x, ST_Y(label_point) y, informal_workers iw FROM village")
        ]
        self.coverage: dict[str, OVillageCoverage] = {v.code: village_coverage(v, self.agents) for v in self.villages}
        self.counting = counting
