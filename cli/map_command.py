"""`perisai map province|regency|district CODE -o DIR`: the server's map pages as a folder that opens
from disk, with every map below the region and the vendored assets (see maps/export.py).

With `--basemap none` (the default here) the folder needs no server and no internet; `osm` draws
tiles from the internet when there is one.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from cli.runtime import console, database_url, friendly_errors, run, settings
from db.access import Role, Viewer
from db.engine import create_engine, create_sessionmaker
from db.errors import PerisaiError
from db.regions import Level
from maps.classes import CLASSIFICATIONS, METRICS
from maps.export import EXPORTABLE, export_pages
from maps.i18n import DEFAULT, LANGUAGES
from maps.page import PageOptions
from web_assets import folders, missing

app = typer.Typer(help="Write coverage maps to a folder that opens from disk.", no_args_is_help=True)

Code = Annotated[str, typer.Argument(metavar="CODE", help="Kemendagri code of the region, e.g. 34.71.",
                                      show_default=False)]
Output = Annotated[Path, typer.Option("-o", "--output", metavar="DIR",
                                      help="The folder to write (created, or replaced when it holds an earlier export).")]
Metric = Annotated[str, typer.Option(metavar="|".join(METRICS), help="What colours the map: " + " or ".join(METRICS) + ".")]
Basemap = Annotated[str, typer.Option(metavar="osm|none", help="osm (tiles from the internet) or none (fully offline).")]
Classification = Annotated[str, typer.Option(metavar="KIND", help="fixed (the same classes on every map) or a data-driven "
                                                  "scheme: " + ", ".join(CLASSIFICATIONS[1:]) + ".")]
Lang = Annotated[str, typer.Option("--lang", metavar="|".join(LANGUAGES), help="Language of the pages: " + " or ".join(LANGUAGES) + ".")]

CLI_VIEWER = Viewer("cli", Role.ADMIN)  # whoever can run the CLI can read the database itself
MARKER = ".perisai-maps"  # marks a folder as an export we may replace


class MapProblem(PerisaiError):
    pass


def _options(metric: str, basemap: str, classification: str, lang: str) -> PageOptions:
    try:
        return PageOptions(metric, basemap, classification, lang)
    except ValueError as exc:
        raise MapProblem(f"{exc} (--metric, --basemap, --classification, --lang).") from exc


def _write(level: Level, code: str, output: Path, options: PageOptions) -> str:
    if Level.of_code(code) is not level:
        raise MapProblem(f"{code!r} is not a {level.value} code like {level.example}.")
    if missing():
        raise MapProblem("the map assets are missing; run `python -m web_assets` (scripts/bootstrap does).")
    _check_target(output)
    url = database_url(settings())

    async def pages() -> dict[str, str]:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as session:
                return {path: page async for path, page in export_pages(session, level, code, CLI_VIEWER, options)}
        finally:
            await engine.dispose()

    written = run(pages())
    if "index.html" not in written:
        raise MapProblem(f"there is no {level.value} with code {code} in the database; nothing was written.")
    _export(written, output)
    size = sum(len(p.encode()) for p in written.values()) / 1024
    return f"Wrote {len(written) - 1} map page(s) ({size:,.0f} KB) and their assets to {output}/; open {output / 'index.html'}."


def _check_target(output: Path) -> None:
    if output.is_symlink():
        raise MapProblem(f"{output} is a symbolic link; choose another output folder (nothing was written).")
    if output.exists() and not output.is_dir():
        raise MapProblem(f"{output} exists and is not a folder; choose another output folder (nothing was written).")
    if output.is_dir() and any(output.iterdir()) and not (output / MARKER).exists():
        raise MapProblem(f"{output} is a folder with other files in it; choose an empty or new folder (nothing was written).")


def _export(pages: dict[str, str], output: Path) -> None:
    """Write the pages and a fresh copy of the assets into a new folder beside `output`, then swap
    it into place: a full disk leaves no half-written export, and nothing is written through a
    symbolic link someone planted inside an earlier export (it could point anywhere, as root too)."""
    staging = old = None
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}-"))
        for folder in folders("maps"):
            shutil.copytree(folder, staging / "assets" / folder.name, symlinks=False)
        for path, page in pages.items():
            (staging / path).parent.mkdir(parents=True, exist_ok=True)
            (staging / path).write_text(page, encoding="utf-8")
        (staging / MARKER).write_text("written by perisai map; replaced by the next export to this folder\n")
        if output.exists():
            old = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}-old-"))
            output.rename(old / "previous")
        try:
            staging.rename(output)
        except OSError:
            if old is not None:
                (old / "previous").rename(output)  # put the earlier export back
            raise
        staging = None
    except OSError as exc:
        raise MapProblem(f"could not write the maps to {output}: {exc.strerror or exc}. Nothing was left half-written.") from exc
    finally:
        for leftover in (staging, old):
            if leftover is not None:
                shutil.rmtree(leftover, ignore_errors=True)


def _command(level: Level) -> None:
    @app.command(name=level.value, help=f"The {level.value}'s map and every map below it, as a folder.")
    @friendly_errors
    def command(code: Code, output: Output, metric: Metric = "coverage", basemap: Basemap = "none",
                classification: Classification = "fixed", lang: Lang = DEFAULT) -> None:
        console.print(_write(level, code, output, _options(metric, basemap, classification, lang)))


for _level in EXPORTABLE:
    _command(_level)
