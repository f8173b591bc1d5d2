"""Generate and load the demo: region (or real boundaries), estimates, agents and enrollments.

Everything is drawn from one seeded generator, so the same seed gives the same data; enrollment
dates are relative to the day of generation so that "recent activity" stays meaningful. Loading
goes through the same functions as the CSV and boundary importers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.importers.boundaries import import_boundaries
from db.importers.bulk import Progress, no_progress
from db.importers.gisfile import BoundaryFile, read_boundary_file
from db.importers.tables import load_agents, load_enrollments, load_estimates
from db.regions import PROVINCE_NAMES, Level
from demo.names import OCCUPATIONS, person_names
from demo.region import generate_region

AGENTS_PER_VILLAGE = 0.24  # 20,000 agents for the country's 84,000 villages
ENROLLMENTS_PER_VILLAGE = 24  # 2,000,000 enrollments nationally
SHARE_WITHOUT_ESTIMATE = 0.03
DEMO_PROVINCE_NAME = "Nusa Perisai (demo)"


@dataclass(frozen=True)
class DemoSummary:
    villages: int
    agents: int
    enrollments: int

    def lines(self) -> list[str]:
        return [f"Demo loaded: {self.villages} villages, {self.agents} agents, {self.enrollments} enrollments."]


async def build_demo(
    engine: AsyncEngine,
    *,
    villages: int = 400,
    seed: int = 7,
    boundaries: Path | None = None,
    nik_key: bytes,
    agents: int | None = None,
    enrollments: int | None = None,
    progress: Progress = no_progress,
) -> DemoSummary:
    rng = np.random.default_rng(seed)
    if boundaries is None:
        await _load_synthetic_region(engine, villages, rng, progress)
        prefix, codes = "99", None
    else:
        data = read_boundary_file(boundaries, Level.VILLAGE)
        await import_boundaries(engine, data, progress)
        prefix, codes = None, set(data.codes)
    places = await _villages(engine, prefix, codes)
    density = places["density"]
    await load_estimates(engine, _estimates(places, rng), progress)
    n_agents = agents if agents is not None else max(5, round(len(places["code"]) * AGENTS_PER_VILLAGE))
    agent_rows = _agents(places, n_agents, rng)
    await load_agents(engine, agent_rows, progress)
    n_enrollments = enrollments if enrollments is not None else len(places["code"]) * ENROLLMENTS_PER_VILLAGE
    pairs = await _reach_pairs(engine, [r["code"] for r in agent_rows])
    rows = _enrollments(pairs, places, density, n_enrollments, rng)
    await load_enrollments(engine, rows, nik_key, progress)
    return DemoSummary(len(places["code"]), n_agents, len(rows))


async def _load_synthetic_region(engine: AsyncEngine, n: int, rng: np.random.Generator, progress: Progress) -> None:
    region = generate_region(n, rng)
    demo = Path("<demo>")
    levels = [
        (Level.PROVINCE, ["99"], [DEMO_PROVINCE_NAME], [region.outline]),
        (Level.REGENCY, region.regency_codes, region.regency_names, region.regencies),
        (Level.DISTRICT, region.district_codes, region.district_names, region.districts),
        (Level.VILLAGE, region.village_codes, region.village_names, list(region.villages)),
    ]
    for level, codes, names, geoms in levels:
        wkb = list(shapely.to_wkb(np.asarray(geoms, dtype=object)))
        await import_boundaries(engine, BoundaryFile(demo, level, codes, list(names), wkb, None), progress)


async def _villages(engine: AsyncEngine, prefix: str | None, codes: set[str] | None) -> dict[str, np.ndarray]:
    """Code, label point, area and a density proxy of the demo's villages."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("""
            SELECT code, ST_X(label_point) AS lng, ST_Y(label_point) AS lat, area_km2
            FROM village WHERE label_point IS NOT NULL AND area_km2 > 0
              AND (CAST(:prefix AS text) IS NULL OR code LIKE :prefix || '.%')
            ORDER BY code
        """), {"prefix": prefix})).all()
    rows = [r for r in rows if codes is None or r.code in codes]
    area = np.array([r.area_km2 for r in rows])
    # Small villages are where people crowd: density ~ 1 / area, scaled to people per km².
    density = np.clip(2500.0 / np.maximum(area, 0.05), 40, 20000)
    return {
        "code": np.array([r.code for r in rows]),
        "lng": np.array([r.lng for r in rows]),
        "lat": np.array([r.lat for r in rows]),
        "area": area,
        "density": density,
    }


def _estimates(places: dict[str, np.ndarray], rng: np.random.Generator) -> list[dict[str, Any]]:
    n = len(places["code"])
    population = np.round(places["density"] * places["area"] * rng.lognormal(0, 0.3, n)).astype(int)
    urban = np.array([c.split(".")[3].startswith("1") for c in places["code"]])
    share = np.where(urban, rng.uniform(0.12, 0.25, n), rng.uniform(0.25, 0.45, n))
    informal = np.round(population * share).astype(int)
    missing = rng.uniform(0, 1, n) < SHARE_WITHOUT_ESTIMATE
    year = dt.date.today().year - 1
    return [
        {"_row": i + 2, "village_code": places["code"][i], "population": int(population[i]),
         "informal_workers": int(informal[i]), "source": f"Synthetic demo estimate {year}", "year": year}
        for i in range(n) if not missing[i]
    ]


def _agents(places: dict[str, np.ndarray], count: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Agents live where people are: weight = density², so sparse hills get few or none."""
    weight = np.minimum(1.0, places["density"] / 600.0) ** 2 * places["density"] * places["area"]
    homes = rng.choice(len(places["code"]), size=count, p=weight / weight.sum())
    offset_km = np.minimum(np.abs(rng.normal(0, 1.5, count)), 4.0)
    bearing = rng.uniform(0, 2 * np.pi, count)
    lat = places["lat"][homes] + offset_km / 111.32 * np.sin(bearing)
    lng = places["lng"][homes] + offset_km / (111.32 * np.cos(np.radians(lat))) * np.cos(bearing)
    names = person_names(rng, count)
    reach = (rng.integers(4, 21, count) * 500).astype(int)  # 2 to 10 km in 500 m steps
    active = rng.uniform(0, 1, count) < 0.88
    joined_days = rng.integers(0, 3000, count)
    return [
        {"_row": i + 2, "code": f"AG-{i + 1:06d}", "name": names[i], "phone": f"+628{rng.integers(10**8, 10**9)}",
         "home_village_code": places["code"][homes[i]], "lng": float(lng[i]), "lat": float(lat[i]),
         "reach_m": int(reach[i]), "status": "active" if active[i] else "inactive",
         "joined_on": min(dt.date(2017, 1, 1) + dt.timedelta(days=int(joined_days[i])), dt.date.today())}
        for i in range(count)
    ]


async def _reach_pairs(engine: AsyncEngine, agent_codes: list[str]) -> list[tuple[str, str]]:
    """(agent code, village code) for every active agent and village label point in its reach."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("""
            SELECT a.code, v.code FROM agent a JOIN village v
              ON ST_DWithin(v.label_point::geography, a.location::geography, a.reach_m)
            WHERE a.status = 'active' AND a.code = ANY(:codes)
            ORDER BY a.code, v.code
        """), {"codes": agent_codes})).all()
    return [(r[0], r[1]) for r in rows]


def _enrollments(
    pairs: list[tuple[str, str]], places: dict[str, np.ndarray], density: np.ndarray, count: int,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """95 % through (active agent, village in reach) pairs, the rest anywhere an agent travelled."""
    if not pairs:
        return []
    index = {code: i for i, code in enumerate(places["code"])}
    village_weight = density * places["area"]
    agents = sorted({a for a, _ in pairs})
    productivity = dict(zip(agents, rng.lognormal(0, 0.8, len(agents)), strict=True))
    weight = np.array([village_weight[index[v]] * productivity[a] for a, v in pairs])
    picks = rng.choice(len(pairs), size=count, p=weight / weight.sum())
    stray = rng.uniform(0, 1, count) < 0.05
    anywhere = rng.choice(len(places["code"]), size=count, p=village_weight / village_weight.sum())
    names = person_names(rng, count)
    occupations = rng.choice(OCCUPATIONS, count)
    provinces = rng.choice(sorted(PROVINCE_NAMES), count)
    birth = rng.integers(0, 365 * 45, count)
    age_days = rng.integers(1, 365 * 3, count)
    lapsed = rng.uniform(0, 1, count) < 0.2
    today = dt.date.today()
    rows = []
    for i in range(count):
        agent, village = pairs[picks[i]]
        if stray[i]:
            village = places["code"][anywhere[i]]
        enrolled = today - dt.timedelta(days=int(age_days[i]))
        paid = min(today, enrolled + dt.timedelta(days=int(age_days[i] * (0.3 if lapsed[i] else 0.95))))
        rows.append({
            "_row": i + 2, "nik": _synthetic_nik(i, provinces[i], int(birth[i]), female=i % 2 == 0),
            "name": names[i], "occupation": str(occupations[i]), "village_code": str(village),
            "agent_code": agent, "programmes": ["JKK", "JKM"] if i % 3 else ["JKK", "JKM", "JHT"],
            "monthly_contribution_idr": 16_800 if i % 3 else 36_800, "enrolled_on": enrolled,
            "status": "lapsed" if lapsed[i] else "active", "last_paid_on": paid,
        })
    return rows


def _synthetic_nik(i: int, province: str, birth_offset: int, *, female: bool) -> str:
    """A well-formed NIK, unique per `i` (regency, district and serial parts count up)."""
    serial = i % 9999 + 1
    block = i // 9999
    district, regency = block % 99 + 1, (block // 99) % 99 + 1
    born = dt.date(1960, 1, 1) + dt.timedelta(days=birth_offset)
    day = born.day + (40 if female else 0)
    return f"{province}{regency:02d}{district:02d}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"
