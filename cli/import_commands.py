"""`perisai import boundaries | labels | agents | enrollments | estimates`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.runtime import (
    console,
    database_url,
    friendly_errors,
    progress_bar,
    run,
    settings,
)
from db.engine import create_engine
from db.errors import ImportRejected
from db.importers.boundaries import import_boundaries
from db.importers.gisfile import read_boundary_file
from db.importers.labels import load_labels, read_labels
from db.importers.tables import (
    load_agents,
    load_enrollments,
    load_estimates,
    read_agents,
    read_enrollments,
    read_estimates,
)
from db.regions import Level

app = typer.Typer(help="Import boundary files and CSV tables. Each import is one transaction.")

FileArg = Annotated[Path, typer.Argument(metavar="FILE", help="The file to import.", show_default=False)]


@app.command()
@friendly_errors
def boundaries(
    file: FileArg,
    level: Annotated[Level, typer.Option(metavar="|".join(level.value for level in Level),
                                         help="Administrative level of the features.")],
    code_field: Annotated[str, typer.Option(metavar="FIELD", help="Field holding the Kemendagri code.")] = "code",
    name_field: Annotated[str, typer.Option(metavar="FIELD", help="Field holding the name.")] = "name",
    parent_field: Annotated[
        str | None, typer.Option(metavar="FIELD", help="Field holding the parent's code (default: derived from the code).")
    ] = None,
    layer: Annotated[str | None, typer.Option(metavar="LAYER", help="Layer to read (GeoPackage); default the first.")] = None,
) -> None:
    """Import boundaries from GeoJSON (.geojson, .geojson.gz), GeoPackage, Shapefile or FlatGeobuf.

    Invalid polygons are repaired; re-importing the same file changes nothing. Parents missing
    from the database are created, named from the file's district_name / regency_name /
    province_name fields where it has them (provinces get their official name).
    """
    data = read_boundary_file(
        file, level, code_field=code_field, name_field=name_field, parent_field=parent_field, layer=layer
    )
    url = database_url(settings())

    async def go() -> list[str]:
        engine = create_engine(url)
        try:
            with progress_bar() as progress:
                return (await import_boundaries(engine, data, progress)).lines()
        finally:
            await engine.dispose()

    for line in run(go()):
        console.print(line)


def _load_table(read: Callable[[Path], list[dict[str, Any]]], load: Callable[..., Any], file: Path, *extra: Any) -> None:
    try:
        rows, earlier = read(file), []
    except ImportRejected as exc:
        if exc.rows is None:  # the file cannot be read at all (header, encoding)
            raise
        # Check what did read against the database as well, so one run lists every problem.
        rows, earlier = exc.rows, exc.problems
    config = settings()
    url = database_url(config)
    args = [config.secret(a) if a == "nik_key" else a for a in extra]

    async def go() -> list[str]:
        engine = create_engine(url)
        try:
            with progress_bar() as progress:
                return (await load(engine, rows, *args, progress=progress, earlier=earlier)).lines()
        finally:
            await engine.dispose()

    for line in run(go()):
        console.print(line)


@app.command()
@friendly_errors
def agents(file: FileArg) -> None:
    """Import agents: code, name, phone, home_village_code, lng, lat, reach_m, status, joined_on."""
    _load_table(read_agents, load_agents, file)


@app.command()
@friendly_errors
def estimates(file: FileArg) -> None:
    """Import village estimates: village_code, population, informal_workers, source, year."""
    _load_table(read_estimates, load_estimates, file)


@app.command()
@friendly_errors
def labels(file: FileArg) -> None:
    """Import official village label points: village_code, lng, lat (inside or on the village)."""
    _load_table(read_labels, load_labels, file)


@app.command()
@friendly_errors
def enrollments(file: FileArg) -> None:
    """Import enrollments: nik, name, occupation, village_code, agent_code, programmes,
    monthly_contribution_idr, enrolled_on, status, last_paid_on. NIKs are stored hashed."""
    _load_table(read_enrollments, load_enrollments, file, "nik_key")
