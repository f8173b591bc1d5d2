"""Map classes: fixed breaks mean the same everywhere; data-driven ones never mis-rank ties."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from maps.classes import COVERAGE, NO_DATA, PENETRATION, SCALE, classify
from maps.i18n import language


@pytest.mark.parametrize(("share", "colour"), [
    (0.0, SCALE[0]), (0.001, SCALE[1]), (0.43, SCALE[1]), (0.5, SCALE[2]), (0.79, SCALE[2]), (0.8, SCALE[3]),
    (0.92, SCALE[3]), (0.9999, SCALE[3]), (1.0, SCALE[4]), (None, NO_DATA),
])
def test_fixed_coverage_classes(share: float | None, colour: str) -> None:
    assert COVERAGE.colour(share) == colour


@pytest.mark.parametrize(("share", "colour"), [
    (0.0, SCALE[0]), (0.0099, SCALE[0]), (0.01, SCALE[1]), (0.03, SCALE[2]), (0.05, SCALE[3]), (0.0999, SCALE[3]),
    (0.1, SCALE[4]), (0.9, SCALE[4]), (None, NO_DATA),
])
def test_fixed_penetration_classes(share: float | None, colour: str) -> None:
    assert PENETRATION.colour(share) == colour


def test_every_fully_covered_region_is_in_the_top_class_whatever_the_scheme() -> None:
    """The Kota Yogyakarta bug: quantiles over tied 100 % values painted every district red."""
    for method in ("fixed", "quantiles", "equal_interval", "natural_breaks"):
        classes = classify([1.0] * 14, "coverage", method)
        assert {classes.colour(1.0)} == {SCALE[4]}, method
        mixed = classify([0.43, 0.92, 0.96, 1.0, 1.0, 1.0], "coverage", method)
        assert mixed.colour(1.0) == SCALE[4] and mixed.colour(0.43) != mixed.colour(0.96), method


@pytest.mark.parametrize("lang", ["id", "en"])
def test_legend_labels_are_rounded_percent_ranges(lang: str) -> None:
    p = language(lang).percent_number
    assert [b.label(p) for b in COVERAGE.bands] == ["0 %", "< 50 %", "50 – < 80 %", "80 – < 100 %", "100 %"]
    decimal = "2,5" if lang == "id" else "2.5"
    assert [b.label(p) for b in PENETRATION.bands] == ["< 1 %", f"1 – < {decimal} %", f"{decimal} – < 5 %", "5 – < 10 %", "≥ 10 %"]
    quantiles = classify([0.4321, 0.9234, 0.96, 1.0], "coverage", "quantiles")
    assert [b.label(p) for b in quantiles.bands] == ["43 %", "92 %", "96 %", "100 %"]  # one value per class
    spread = classify([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], "coverage", "equal_interval")
    assert [b.label(p) for b in spread.bands] == ["10 – 20 %", "30 – 40 %", "50 – 60 %", "70 – 80 %", "90 – 100 %"]


@given(st.lists(st.one_of(st.none(), st.floats(0, 1)), max_size=60),
       st.sampled_from(["quantiles", "equal_interval", "natural_breaks"]), st.sampled_from(["coverage", "penetration"]))
@example([0.0, 0.23828125, 0.2382915583731267], "natural_breaks", "coverage")  # Fisher-Jenks gave unsorted bins
@example([0.0, 5e-324], "equal_interval", "coverage")  # a spread too small to divide
@settings(max_examples=300, deadline=None, derandomize=True)  # the same 300 cases on every run
def test_data_driven_classes_rank_values_and_never_split_ties(values: list[float | None], method: str, metric: str) -> None:
    classes = classify(values, metric, method)
    known = sorted({v for v in values if v is not None})
    rank = {colour: i for i, colour in enumerate(SCALE)}
    if classes.relative:
        assert len(classes.bands) <= len(known)
        assert classes.colour(known[-1]) == SCALE[-1]  # the largest value is in the top class
        assert all(any(b.holds(v) for b in classes.bands) for v in known)  # every value has its class
    colours = [rank[classes.colour(v)] for v in known]
    assert colours == sorted(colours)  # larger values never get a worse colour
    assert classes.colour(None) == NO_DATA
