"""The MCLP solvers against brute force on small random instances."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from geo.siting import SitingTooLarge, exact, greedy


def _instance(seed: int, candidates: int = 12, demands: int = 30) -> tuple[list[list[int]], list[float]]:
    rng = np.random.default_rng(seed)
    reaches = [sorted(set(rng.choice(demands, size=rng.integers(0, 8), replace=False).tolist()))
               for _ in range(candidates)]
    return reaches, rng.integers(1, 500, demands).astype(float).tolist()


def _reached(reaches: list[list[int]], weights: list[float], chosen: tuple[int, ...]) -> float:
    return sum(weights[i] for i in set().union(*(reaches[j] for j in chosen))) if chosen else 0.0


def _best(reaches: list[list[int]], weights: list[float], count: int) -> float:
    return max(_reached(reaches, weights, c) for c in itertools.combinations(range(len(reaches)), count))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_exact_is_optimal_and_greedy_within_one_minus_one_over_e(seed: int, count: int) -> None:
    reaches, weights = _instance(seed)
    optimum = _best(reaches, weights, count)
    best, quick = exact(reaches, weights, count), greedy(reaches, weights, count)
    exact_total = best[-1].cumulative if best else 0.0
    greedy_total = quick[-1].cumulative if quick else 0.0
    assert exact_total == pytest.approx(optimum)
    assert exact_total >= greedy_total - 1e-9
    assert greedy_total >= (1 - 1 / math.e) * exact_total
    # The cumulative column is what the chosen sites really reach, and gains add up to it.
    for sites in (best, quick):
        assert len(sites) <= count and len({s.candidate for s in sites}) == len(sites)
        chosen = tuple(s.candidate for s in sites)
        assert (sites[-1].cumulative if sites else 0.0) == pytest.approx(_reached(reaches, weights, chosen))
        assert sum(s.gain for s in sites) == pytest.approx(sites[-1].cumulative if sites else 0.0)


def test_greedy_takes_the_largest_gain_first_and_stops_when_nothing_is_left() -> None:
    reaches = [[0], [0, 1], [2], [1]]
    weights = [10.0, 5.0, 1.0]
    sites = greedy(reaches, weights, 10)
    assert [s.candidate for s in sites] == [1, 2]
    assert [s.gain for s in sites] == [15.0, 1.0]


def test_exact_refuses_instances_beyond_its_size_limit() -> None:
    with pytest.raises(SitingTooLarge, match="at most"):
        exact([[0]] * 5001, [1.0], 1)
