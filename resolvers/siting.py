"""Where new agents should go: the limits of a siting request and its solution, shared by
`recommendAgentSites` (compiled read) and `createScenarioFromSites` (a write)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from db.queries.siting import SitingData
from db.rules import DEFAULT_REACH_M, MAX_REACH_M
from geo.siting import SitingTimedOut, SitingTooLarge, exact, greedy
from resolvers.errors import BadUserInput

MAX_SITES = 200
MIN_SITE_REACH_M = 100
EXACT_TIME_LIMIT_S = 20.0
DEFAULT_SITE_REACH_M = float(DEFAULT_REACH_M)


def check_siting(count: int, reach_m: float) -> None:
    """BAD_USER_INPUT for a count or reach outside the limits."""
    if not 1 <= count <= MAX_SITES:
        raise BadUserInput(f"must be between 1 and {MAX_SITES}", field="count")
    if not (math.isfinite(reach_m) and MIN_SITE_REACH_M <= reach_m <= MAX_REACH_M):
        raise BadUserInput(f"must be between {MIN_SITE_REACH_M} and {MAX_REACH_M:,} m", field="reachM")


@dataclass(frozen=True)
class Site:
    rank: int
    village_code: str
    lng: float
    lat: float
    newly_reached_workers: int
    cumulative_workers: int
    newly_reached_villages: int


def solve_sites(data: SitingData, count: int, use_exact: bool) -> list[Site]:
    """The ranked sites: greedy, or exact within EXACT_TIME_LIMIT_S (BAD_USER_INPUT when too large or slow)."""
    weights = [float(w) for _, w in data.demand]
    try:
        sites = (exact(data.reaches, weights, count, EXACT_TIME_LIMIT_S) if use_exact
                 else greedy(data.reaches, weights, count))
    except (SitingTooLarge, SitingTimedOut) as exc:
        raise BadUserInput(f"{exc}; use the greedy solver (exact: false) or a smaller region", field="exact") from exc
    covered: set[int] = set()
    result = []
    for rank, site in enumerate(sites, start=1):
        new = set(data.reaches[site.candidate]) - covered
        covered |= new
        village, lng, lat = data.candidates[site.candidate]
        result.append(Site(rank, village, lng, lat, round(site.gain), round(site.cumulative), len(new)))
    return result
