"""Colour classes of the choropleths: fixed breaks a manager learns once, data-driven ones on request.

Shares are fractions (0–1) here as in the API; labels show them as percentages. The fixed classes
are the same on every map and at every level, so "orange" means the same in Bantul and in Papua.
Data-driven classes (`classification=quantiles|equal_interval|natural_breaks`) rank regions against
each other; they are built over distinct values, so ties never land in different classes, there are
never more classes than distinct values, and the largest value is always in the top class.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import mapclassify
import numpy as np

NO_DATA = "#bdbdbd"
# Red → green (ColorBrewer RdYlGn, 5 classes). Nothing else on a map uses these colours.
SCALE = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
METRICS = ("coverage", "penetration")
# natural_breaks is Fisher-Jenks: optimal and deterministic (mapclassify's NaturalBreaks is k-means,
# random, and fails on values closer than its tolerance).
DATA_DRIVEN = {"quantiles": mapclassify.Quantiles, "equal_interval": mapclassify.EqualInterval,
               "natural_breaks": mapclassify.FisherJenks}
CLASSIFICATIONS = ("fixed", *DATA_DRIVEN)

Percent = Callable[[float], str]  # a fraction as a percentage number, no sign ("2,5"), in the page's language


@dataclass(frozen=True)
class Band:
    """Values from `low` (included; None: no bound) to `high` (excluded, or included when
    `closed`; None: no bound). low == high: exactly that value."""

    low: float | None
    high: float | None
    colour: str
    closed: bool = False

    def holds(self, value: float) -> bool:
        above = self.low is None or value >= self.low
        below = self.high is None or value < self.high or (value == self.high and (self.closed or self.low == self.high))
        return above and below

    def label(self, percent: Percent) -> str:
        """"0 %", "< 50 %", "50 – < 80 %", "≥ 10 %"; data-driven classes "43 – 92 %"."""
        if self.low is not None and self.low == self.high:
            return f"{percent(self.low)} %"
        if self.low is None:
            return f"< {percent(self.high)} %"  # type: ignore[arg-type]
        if self.high is None:
            return f"≥ {percent(self.low)} %"
        return f"{percent(self.low)} – {'' if self.closed else '< '}{percent(self.high)} %"


@dataclass(frozen=True)
class Classes:
    bands: tuple[Band, ...]  # low → high, non-overlapping, covering every value
    relative: bool  # data-driven: colours rank these regions, they are not fixed thresholds

    def colour(self, value: float | None) -> str:
        if value is None:
            return NO_DATA
        return next((b.colour for b in self.bands if b.holds(value)), self.bands[-1].colour)


# Coverage: share of villages reached by at least one active agent. 0 % and 100 % are classes of
# their own: "no village is reached" and "every village is reached" are what a manager acts on.
COVERAGE = Classes((
    Band(0.0, 0.0, SCALE[0]),
    Band(None, 0.5, SCALE[1]),  # above 0 (the band before takes 0)
    Band(0.5, 0.8, SCALE[2]),
    Band(0.8, 1.0, SCALE[3]),
    Band(1.0, 1.0, SCALE[4]),
), relative=False)
# Penetration: active enrollments ÷ informal workers. National BPU penetration was about 2–3 % in
# 2018; 10 % is where coverageGaps stops calling a village LOW_PENETRATION.
PENETRATION = Classes((
    Band(None, 0.01, SCALE[0]),
    Band(0.01, 0.025, SCALE[1]),
    Band(0.025, 0.05, SCALE[2]),
    Band(0.05, 0.10, SCALE[3]),
    Band(0.10, None, SCALE[4]),
), relative=False)
FIXED = {"coverage": COVERAGE, "penetration": PENETRATION}


def classify(values: Sequence[float | None], metric: str, method: str = "fixed", k: int = 5) -> Classes:
    """The fixed classes of `metric`, or data-driven classes of the known values (`method`)."""
    if method == "fixed":
        return FIXED[metric]
    distinct = np.unique(np.array([v for v in values if v is not None], dtype=float))
    if len(distinct) < 2 or distinct[-1] - distinct[0] < 1e-9:
        return FIXED[metric]  # nothing to rank (one value, or a spread below 1e-7 %): coloured by what it is
    with warnings.catch_warnings():  # "Numba not installed": pure Python is quick for one map's few dozen regions
        warnings.simplefilter("ignore", UserWarning)
        bins = DATA_DRIVEN[method](distinct, k=min(k, len(distinct))).bins
    # Each class is labelled with the smallest and largest value in it; empty classes are dropped.
    # (Bins sorted and cuts made unique: Fisher-Jenks can return unsorted bins for values closer
    # than float precision, and unsorted cuts would make overlapping groups.)
    cuts = np.unique(np.searchsorted(distinct, np.sort(bins)[:-1], side="right"))
    groups = [g for g in np.split(distinct, cuts) if len(g)]
    colours = _spread(len(groups))
    return Classes(tuple(Band(float(g[0]), float(g[-1]), c, closed=True) for g, c in zip(groups, colours, strict=True)),
                   relative=True)


def _spread(n: int) -> list[str]:
    """n colours of the scale, from its worst to its best, evenly spaced."""
    if n == 1:
        return [SCALE[-1]]
    return [SCALE[round(i * (len(SCALE) - 1) / (n - 1))] for i in range(n)]
