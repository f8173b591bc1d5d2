"""The SDL in schema.graphql is the schema the server builds, so every API change shows in review."""

from __future__ import annotations

import doctest
from pathlib import Path

import geo.extent
import geo.geojson
from schema import build_schema

SDL = Path(__file__).resolve().parents[1] / "schema.graphql"


def test_schema_file_is_up_to_date() -> None:
    current = build_schema(production=False).as_str() + "\n"
    assert SDL.read_text() == current, "schema.graphql is out of date: run `make schema` and commit it"


def test_geo_doctests() -> None:
    for module in (geo.extent, geo.geojson):
        assert doctest.testmod(module).failed == 0, module.__name__
