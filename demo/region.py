"""A synthetic province that looks like a real one: nested Voronoi tessellation over a population field.

Village seeds are drawn where people are (dense towns, sparse hills), so town villages are small
and rural ones large, as in real data. Village cells are Voronoi cells clipped to the province
outline; a district is the union of the villages nearest its seed and a regency the union of its
districts, so the levels nest exactly. The province sits in the Banda Sea, with code 99, so it
never collides with real codes or boundaries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from demo.names import place_names

CENTER = (128.0, -6.5)  # lng, lat: the Banda Sea
KM_PER_DEG = 111.32
MEAN_VILLAGE_KM2 = 7.0  # DI Yogyakarta: 3,170 km² over 438 villages
VILLAGES_PER_DISTRICT = 12
DISTRICTS_PER_REGENCY = 14


@dataclass(frozen=True)
class Towns:
    """Population density (people per km²) as a rural base plus Gaussian towns."""

    x: np.ndarray
    y: np.ndarray
    sigma_deg: np.ndarray
    peak: np.ndarray
    base: float = 120.0

    def density(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.full(len(x), self.base, dtype=np.float64)
        for start in range(0, len(x), 4096):
            px, py = x[start:start + 4096, None], y[start:start + 4096, None]
            d2 = (px - self.x) ** 2 + (py - self.y) ** 2
            out[start:start + 4096] += (self.peak * np.exp(-d2 / (2 * self.sigma_deg**2))).sum(axis=1)
        return out


@dataclass(frozen=True)
class Region:
    outline: Polygon
    towns: Towns
    regency_codes: list[str]
    regency_names: list[str]
    regencies: list[shapely.Geometry]
    district_codes: list[str]
    district_names: list[str]
    districts: list[shapely.Geometry]
    village_codes: list[str]
    village_names: list[str]
    villages: np.ndarray  # Shapely polygons
    village_density: np.ndarray  # people per km² at the village seed


def km_to_deg(km: float) -> float:
    return km / (KM_PER_DEG * math.cos(math.radians(CENTER[1])))


def generate_region(n_villages: int, rng: np.random.Generator) -> Region:
    radius_km = math.sqrt(n_villages * MEAN_VILLAGE_KM2 / math.pi)
    outline = _outline(radius_km, rng)
    towns = _towns(outline, max(3, n_villages // 60), radius_km, rng)
    # Province 99 holds at most 99 regencies of 99 districts: big runs get bigger districts.
    n_districts = max(3, min(round(n_villages / VILLAGES_PER_DISTRICT), 60 * 99))
    n_regencies = max(2, min(99, math.ceil(n_districts / DISTRICTS_PER_REGENCY)))
    village_xy = _sample(outline, n_villages, towns, rng)
    district_xy = _sample(outline, n_districts, towns, rng)
    regency_xy = _sample(outline, n_regencies, towns, rng)

    cells = _voronoi(village_xy, outline)
    village_district = _nearest(village_xy, district_xy)
    district_regency = _nearest_with_room(district_xy, regency_xy, room=99)
    density = towns.density(village_xy[:, 0], village_xy[:, 1])
    return _assemble(outline, towns, cells, density, village_district, district_regency, rng)


def _assemble(
    outline: Polygon, towns: Towns, cells: np.ndarray, density: np.ndarray,
    village_district: np.ndarray, district_regency: np.ndarray, rng: np.random.Generator,
) -> Region:
    """Number the levels in Kemendagri style and union the cells into districts and regencies."""
    used_regencies = sorted(set(district_regency[np.unique(village_district)]))
    regency_density = {r: density[district_regency[village_district] == r].mean() for r in used_regencies}
    urban_cut = np.quantile(list(regency_density.values()), 0.85)
    urban_village = density >= np.quantile(density, 0.8)
    names = iter(place_names(rng, 200_000))
    r_codes, r_names, r_geoms, d_codes, d_names, d_geoms = [], [], [], [], [], []
    v_codes: list[str] = [""] * len(cells)
    v_names: list[str] = [""] * len(cells)
    cities = {r for r in used_regencies if regency_density[r] >= urban_cut}
    # Kabupaten are numbered from 01 and kota from 71, unless there are so many kabupaten that
    # the kota must start after them (at most 99 codes in all).
    kabupaten, kota = 1, max(71, len(used_regencies) - len(cities) + 1)
    for r in used_regencies:
        is_city = r in cities
        number = kota if is_city else kabupaten
        kota, kabupaten = (kota + 1, kabupaten) if is_city else (kota, kabupaten + 1)
        r_code = f"99.{number:02d}"
        r_codes.append(r_code)
        r_names.append(("Kota " if is_city else "Kabupaten ") + next(names))
        district_parts = []
        districts = [d for d in np.flatnonzero(district_regency == r) if (village_district == d).any()]
        for d_index, d in enumerate(districts[:99], start=1):
            d_code = f"{r_code}.{d_index:02d}"
            members = np.flatnonzero(village_district == d)
            d_geom = shapely.union_all(cells[members])
            d_codes.append(d_code)
            d_names.append(next(names))
            d_geoms.append(d_geom)
            district_parts.append(d_geom)
            for v_index, v in enumerate(members, start=1):
                kind = 1 if urban_village[v] else 2  # 1xxx kelurahan (urban), 2xxx desa
                v_codes[v] = f"{d_code}.{kind}{v_index:03d}"
                v_names[v] = next(names)
        r_geoms.append(shapely.union_all(district_parts))
    keep = np.array([bool(c) for c in v_codes])
    return Region(
        outline, towns, r_codes, r_names, r_geoms, d_codes, d_names, d_geoms,
        [c for c in v_codes if c], [n for n, k in zip(v_names, keep, strict=True) if k], cells[keep], density[keep],
    )


def _outline(radius_km: float, rng: np.random.Generator) -> Polygon:
    """An irregular island: a circle whose radius wobbles with a few random harmonics."""
    angles = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    wobble = sum(
        rng.uniform(0.03, 0.12) / k * np.sin(k * angles + rng.uniform(0, 2 * np.pi)) for k in range(2, 9)
    )
    r_lng = km_to_deg(radius_km) * (1 + wobble)
    r_lat = radius_km / KM_PER_DEG * (1 + wobble)
    return Polygon(np.column_stack([CENTER[0] + r_lng * np.cos(angles), CENTER[1] + r_lat * np.sin(angles)]))


def _towns(outline: Polygon, count: int, radius_km: float, rng: np.random.Generator) -> Towns:
    xy = _uniform_inside(outline, count, rng)
    sigma_km = rng.uniform(1.5, 5.0, count) * min(1.0, max(0.4, radius_km / 60))
    peak = rng.lognormal(np.log(1500), 0.9, count)
    return Towns(xy[:, 0], xy[:, 1], np.array([km_to_deg(s) for s in sigma_km]), peak)


def _uniform_inside(outline: Polygon, count: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = outline.bounds
    found: list[np.ndarray] = []
    total = 0
    while total < count:
        xy = np.column_stack([rng.uniform(minx, maxx, count * 2), rng.uniform(miny, maxy, count * 2)])
        xy = xy[shapely.contains_xy(outline, xy[:, 0], xy[:, 1])]
        found.append(xy)
        total += len(xy)
    return np.concatenate(found)[:count]


def _sample(outline: Polygon, count: int, towns: Towns, rng: np.random.Generator) -> np.ndarray:
    """Points inside `outline` with probability proportional to sqrt(density): towns get more,
    smaller villages without emptying the countryside."""
    weight_max = math.sqrt(towns.base + towns.peak.sum())
    found: list[np.ndarray] = []
    total = 0
    while total < count:
        xy = _uniform_inside(outline, count * 3, rng)
        w = np.sqrt(towns.density(xy[:, 0], xy[:, 1])) / weight_max
        xy = xy[rng.uniform(0, 1, len(xy)) < np.minimum(1.0, w * 8)]
        found.append(xy)
        total += len(xy)
    return np.concatenate(found)[:count]


def _voronoi(xy: np.ndarray, outline: Polygon) -> np.ndarray:
    cells = shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=outline, ordered=True)
    return shapely.make_valid(shapely.intersection(np.asarray(cells.geoms), outline))


def _nearest(points: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Index of the nearest seed for each point."""
    tree = shapely.STRtree(shapely.points(seeds))
    pairs = tree.query_nearest(shapely.points(points), all_matches=False)
    nearest = np.empty(len(points), dtype=np.int64)
    nearest[pairs[0]] = pairs[1]
    return nearest


def _nearest_with_room(points: np.ndarray, seeds: np.ndarray, room: int) -> np.ndarray:
    """Nearest seed for each point, but no seed takes more than `room` points (codes have 2 digits).

    Points closest to a seed choose first; a point whose nearest seed is full takes the next one.
    """
    d2 = ((points[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
    preference = np.argsort(d2, axis=1)
    taken = np.zeros(len(seeds), dtype=np.int64)
    chosen = np.empty(len(points), dtype=np.int64)
    for p in np.argsort(d2.min(axis=1)):
        seed = next(s for s in preference[p] if taken[s] < room)
        chosen[p] = seed
        taken[seed] += 1
    return chosen
