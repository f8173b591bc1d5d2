"""Where to recruit next: the maximal covering location problem (MCLP), greedy or exact.

Given candidate sites, demand points with weights (uncovered workers) and which demands each
candidate would reach, choose at most `count` sites reaching the most weight.

- `greedy` is the lazy greedy of Minoux (CELF): the covered weight is monotone submodular, so a
  candidate's gain can only fall as sites are added and a stale gain that still tops the heap is
  the true maximum. Within 1 - 1/e of optimal (Nemhauser, Wolsey & Fisher 1978).
- `exact` solves the integer program with HiGHS (highspy): binary x_j per candidate,
  y_i ∈ [0, 1] per demand, maximise Σ w_i y_i subject to y_i ≤ Σ_{j reaches i} x_j and
  Σ x_j ≤ count. y needs no integrality: at an optimum it equals min(1, Σ x_j) anyway.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np

MAX_EXACT_CANDIDATES = 5000


@dataclass(frozen=True, slots=True)
class Site:
    candidate: int  # index into the candidates
    gain: float  # weight newly reached by this site
    cumulative: float  # weight reached by this site and every site before it


class SitingTooLarge(ValueError):
    pass


class SitingTimedOut(RuntimeError):
    pass


def greedy(reaches: Sequence[Sequence[int]], weights: Sequence[float], count: int) -> list[Site]:
    """Up to `count` sites, each adding the most uncovered weight (ties: lowest candidate index)."""
    covered = np.zeros(len(weights), dtype=bool)
    w = np.asarray(weights, dtype=float)
    heap = [(-float(w[list(r)].sum()) if r else 0.0, j) for j, r in enumerate(reaches)]
    heapq.heapify(heap)
    sites: list[Site] = []
    total = 0.0
    while heap and len(sites) < count:
        stale, j = heapq.heappop(heap)
        idx = np.fromiter(reaches[j], dtype=int)
        gain = float(w[idx][~covered[idx]].sum()) if len(idx) else 0.0
        if heap and gain < -heap[0][0]:
            heapq.heappush(heap, (-gain, j))  # re-queue with its true, smaller gain
            continue
        if gain <= 0:
            break
        covered[idx] = True
        total += gain
        sites.append(Site(j, gain, total))
    return sites


def exact(
    reaches: Sequence[Sequence[int]], weights: Sequence[float], count: int, time_limit_s: float = 20.0
) -> list[Site]:
    """The optimal sites (ordered as greedy would add them, for a readable cumulative column)."""
    n, m = len(reaches), len(weights)
    if n > MAX_EXACT_CANDIDATES:
        raise SitingTooLarge(f"{n} candidate sites; the exact solver takes at most {MAX_EXACT_CANDIDATES}")
    if n == 0 or m == 0 or count <= 0:
        return []
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 0.0)
    inf = highspy.kHighsInf
    # Columns: x_0..x_{n-1} (binary sites), then y_0..y_{m-1} (reached share of each demand).
    costs = np.concatenate([np.zeros(n), np.asarray(weights, dtype=float)])
    h.addVars(n + m, np.zeros(n + m), np.ones(n + m))
    h.changeColsCost(n + m, np.arange(n + m, dtype=np.int32), costs)
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                            np.full(n, highspy.HighsVarType.kInteger))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    by_demand: list[list[int]] = [[] for _ in range(m)]
    for j, r in enumerate(reaches):
        for i in r:
            by_demand[i].append(j)
    starts: list[int] = []
    index: list[int] = []
    value: list[float] = []
    for i, sites in enumerate(by_demand):  # y_i - Σ x_j ≤ 0
        starts.append(len(index))
        index += [n + i, *sites]
        value += [1.0] + [-1.0] * len(sites)
    starts.append(len(index))  # Σ x_j ≤ count
    index += list(range(n))
    value += [1.0] * n
    lower = np.full(m + 1, -inf)
    upper = np.concatenate([np.zeros(m), [float(count)]])
    h.addRows(m + 1, lower, upper, len(index), np.array(starts, dtype=np.int32),
              np.array(index, dtype=np.int32), np.array(value))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise SitingTimedOut(f"no proven optimum within {time_limit_s:g} s ({h.modelStatusToString(h.getModelStatus())})")
    chosen = [j for j, x in enumerate(h.getSolution().col_value[:n]) if x > 0.5]
    picked = greedy([reaches[j] for j in chosen], weights, len(chosen))
    return [Site(chosen[s.candidate], s.gain, s.cumulative) for s in picked]
