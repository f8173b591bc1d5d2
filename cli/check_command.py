"""`perisai check niks`: participants that may be one person recorded twice (see db/queries/nik_aliases.py)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from cli.runtime import console, database_url, friendly_errors, run, settings
from db.engine import create_engine, create_sessionmaker
from db.errors import PerisaiError
from db.queries.nik_aliases import Alias, candidates, from_raw_niks

app = typer.Typer(help="Consistency checks on the stored data.", no_args_is_help=True)


class CheckProblem(PerisaiError):
    pass


def _read_niks(path: Path) -> list[str]:
    """NIKs from a CSV with a `nik` column, or from a text file with one NIK per line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckProblem(f"cannot read {path}: {exc}") from exc
    lines = text.splitlines()
    header = [c.strip().lower() for c in next(csv.reader(lines[:1]), [])]
    if "nik" in header:
        column = header.index("nik")
        return [row[column].strip() for row in csv.reader(lines[1:]) if len(row) > column and row[column].strip()]
    return [line.strip() for line in lines if line.strip()]


@app.command()
@friendly_errors
def niks(
    raw: Annotated[list[Path] | None, typer.Option("--from", metavar="FILE", help="A file of raw NIKs (a CSV with a nik column, or "
                                                   "one per line) to find aliases exactly.")] = None,
) -> None:
    """List participants that may be one person keyed twice by NIKs typed in other forms of digits."""
    config = settings()
    niks = [n for path in raw or [] for n in _read_niks(path)]
    url = database_url(config)

    async def go() -> list[Alias]:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as session:
                if niks:
                    return await from_raw_niks(session, niks, config.secret("nik_key"))
                return await candidates(session)
        finally:
            await engine.dispose()

    found = run(go())
    kind = "aliases found from the raw NIKs" if niks else "possible duplicates (same last 4 digits and name)"
    console.print(f"{len(found)} {kind}.")
    for alias in found:
        keep = f"participant {alias.participant_id}" if alias.participant_id else "no participant yet"
        print(f"…{alias.nik_last4}\t{keep}\talias participant {alias.alias_id}")
    if found and not niks:
        console.print("Confirm with --from FILE (the raw NIKs), then merge each alias into its participant.")
