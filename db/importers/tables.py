"""Import agents, village estimates and enrollments from CSV (parsed rows in, COPY + upsert out).

Each `load_*` function takes already-validated records, so the demo generator uses the same path
as the CSV importers. Everything runs in one transaction: a row the database rejects (an unknown
village or agent code, an enrollment clashing with an active one) fails the whole file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.errors import ImportRejected, Problem
from db.importers.bulk import Progress, copy_to_staging, no_progress
from db.importers.csvfile import (
    CellError,
    Column,
    choice,
    duplicates,
    integer,
    number,
    past_date,
    read_csv,
    region_code,
    text_value,
)
from db.nik import nik_hash, nik_last4, nik_problem, normalise
from db.regions import Level
from db.rules import (
    DEFAULT_REACH_M,
    MAX_MONTHLY_CONTRIBUTION_IDR,
    MAX_REACH_M,
    MIN_MONTHLY_CONTRIBUTION_IDR,
)
from geo.extent import BBox, coordinate_problem


@dataclass(frozen=True)
class TableImport:
    what: str
    rows: int
    inserted: int
    updated: int

    def lines(self) -> list[str]:
        unchanged = self.rows - self.inserted - self.updated
        return [f"{self.rows} {self.what}: {self.inserted} new, {self.updated} updated, {unchanged} unchanged."]


def _phone(cell: str) -> str:
    if not re.fullmatch(r"\+?[0-9][0-9 -]{6,18}", cell):
        raise CellError("is not a phone number (digits, optional leading +)")
    return re.sub(r"[ -]", "", cell)


def _nik(cell: str) -> str:
    if problem := nik_problem(cell):
        raise CellError(problem)  # never echo the NIK itself beyond what the caller typed
    return normalise(cell)


def _programmes(cell: str) -> list[str]:
    values = [p.upper() for p in re.split(r"[;,| ]+", cell) if p]
    unknown = sorted(set(values) - {"JKK", "JKM", "JHT"})
    if unknown:
        raise CellError(f"unknown programme {', '.join(unknown)}; use JKK, JKM, JHT separated by ;")
    return sorted(set(values), key=["JKK", "JKM", "JHT"].index)


AGENT_COLUMNS = [
    Column("code", text_value),
    Column("name", text_value),
    Column("phone", _phone, required=False),
    Column("home_village_code", region_code(Level.VILLAGE)),
    # Ranges are checked together below, so that swapped columns get their own message.
    Column("lng", number()),
    Column("lat", number()),
    Column("reach_m", integer(1, MAX_REACH_M), required=False, default=DEFAULT_REACH_M),
    Column("status", choice("active", "inactive"), required=False, default="active"),
    Column("joined_on", past_date, required=False),
]
ESTIMATE_COLUMNS = [
    Column("village_code", region_code(Level.VILLAGE)),
    Column("population", integer(0, 10_000_000), required=False),
    Column("informal_workers", integer(0, 10_000_000), required=False),
    Column("source", text_value),
    Column("year", integer(1960, dt.date.today().year)),
]
ENROLLMENT_COLUMNS = [
    Column("nik", _nik),
    Column("name", text_value),
    Column("occupation", text_value, required=False),
    Column("village_code", region_code(Level.VILLAGE)),
    Column("agent_code", text_value),
    Column("programmes", _programmes),
    Column("monthly_contribution_idr", integer(MIN_MONTHLY_CONTRIBUTION_IDR, MAX_MONTHLY_CONTRIBUTION_IDR)),
    Column("enrolled_on", past_date),
    Column("status", choice("active", "lapsed"), required=False, default="active"),
    Column("last_paid_on", past_date, required=False),
]


# -- agents -----------------------------------------------------------------------------------

def read_agents(path: Path) -> list[dict[str, Any]]:
    return read_csv(path, AGENT_COLUMNS, _check_agents)


def _check_agents(rows: list[dict[str, Any]]) -> list[Problem]:
    return unique_located_rows(rows, "code")


def unique_located_rows(rows: list[dict[str, Any]], key: str) -> list[Problem]:
    """Rows repeating a `key`, and rows whose lng/lat lies outside Indonesia (or looks swapped)."""
    problems = duplicates(rows, lambda r: r[key], key)
    for row in rows:
        if reason := coordinate_problem(BBox(row["lng"], row["lat"], row["lng"], row["lat"])):
            problems.append(Problem(f"row {row['_row']}", "lng/lat", reason))
    return problems


async def load_agents(engine: AsyncEngine, rows: list[dict[str, Any]], progress: Progress = no_progress,
                      earlier: Sequence[Problem] = ()) -> TableImport:
    """Upsert agents by code. `earlier`: problems already found in the file (read_csv's), refused
    together with the database's so that one run lists them all."""
    columns = ("n", "code", "name", "phone", "home_village_code", "lng", "lat", "reach_m", "status", "joined_on")
    async with engine.begin() as conn:
        await copy_to_staging(
            conn, "agent_stage",
            "n int, code text, name text, phone text, home_village_code text, lng float8, lat float8, "
            "reach_m int, status text, joined_on date",
            columns, ([r["_row"], *(r[c] for c in columns[1:])] for r in rows),
        )
        progress("loading", len(rows), len(rows))
        refuse([*earlier, *await unknown(conn, "agent_stage", "home_village_code", "village", "code")])
        result = await conn.execute(text(_UPSERT_AGENTS))
        inserted = result.scalars().all()
    return TableImport("agents", len(rows), sum(inserted), len(inserted) - sum(inserted))


# A blank joined_on keeps the date already stored (or today, for a new agent).
_UPSERT_AGENTS = """
INSERT INTO agent AS t (code, name, phone, home_village_code, location, reach_m, status, joined_on)
SELECT s.code, s.name, s.phone, s.home_village_code, ST_SetSRID(ST_MakePoint(s.lng, s.lat), 4326),
       s.reach_m, s.status::agent_status, coalesce(s.joined_on, old.joined_on, CURRENT_DATE)
FROM agent_stage s LEFT JOIN agent old ON old.code = s.code
ON CONFLICT (code) DO UPDATE SET
    name = EXCLUDED.name, phone = EXCLUDED.phone, home_village_code = EXCLUDED.home_village_code,
    location = EXCLUDED.location, reach_m = EXCLUDED.reach_m, status = EXCLUDED.status,
    joined_on = EXCLUDED.joined_on
WHERE (t.name, t.phone, t.home_village_code, t.location, t.reach_m, t.status, t.joined_on)
      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.phone, EXCLUDED.home_village_code,
                        EXCLUDED.location, EXCLUDED.reach_m, EXCLUDED.status, EXCLUDED.joined_on)
RETURNING (xmax = 0)
"""


# -- estimates --------------------------------------------------------------------------------

def read_estimates(path: Path) -> list[dict[str, Any]]:
    return read_csv(path, ESTIMATE_COLUMNS, _check_estimates)


def _check_estimates(rows: list[dict[str, Any]]) -> list[Problem]:
    problems = duplicates(rows, lambda r: r["village_code"], "village_code")
    for row in rows:
        where = f"row {row['_row']}"
        if row["population"] is None and row["informal_workers"] is None:
            problems.append(Problem(where, "population/informal_workers", "give at least one of the two"))
        elif None not in (row["population"], row["informal_workers"]) and row["informal_workers"] > row["population"]:
            problems.append(Problem(where, "informal_workers", "is larger than the population"))
    return problems


async def load_estimates(engine: AsyncEngine, rows: list[dict[str, Any]], progress: Progress = no_progress,
                         earlier: Sequence[Problem] = ()) -> TableImport:
    columns = ("n", "village_code", "population", "informal_workers", "source", "year")
    async with engine.begin() as conn:
        await copy_to_staging(
            conn, "estimate_stage",
            "n int, village_code text, population int, informal_workers int, source text, year int",
            columns, ([r["_row"], *(r[c] for c in columns[1:])] for r in rows),
        )
        progress("loading", len(rows), len(rows))
        refuse([*earlier, *await unknown(conn, "estimate_stage", "village_code", "village", "code")])
        result = await conn.execute(text("""
            UPDATE village v SET population = s.population, informal_workers = s.informal_workers,
                                 estimate_source = s.source, estimate_year = s.year
            FROM estimate_stage s
            WHERE v.code = s.village_code
              AND (v.population, v.informal_workers, v.estimate_source, v.estimate_year)
                  IS DISTINCT FROM (s.population, s.informal_workers, s.source, s.year)
        """))
    return TableImport("village estimates", len(rows), 0, result.rowcount)


# -- enrollments ------------------------------------------------------------------------------

def read_enrollments(path: Path) -> list[dict[str, Any]]:
    return read_csv(path, ENROLLMENT_COLUMNS, _check_enrollments)


def _check_enrollments(rows: list[dict[str, Any]]) -> list[Problem]:
    problems = duplicates(rows, lambda r: (r["nik"], r["enrolled_on"]), "nik/enrolled_on")
    problems += duplicates(
        [r for r in rows if r["status"] == "active"], lambda r: r["nik"], "nik (a second active enrollment)"
    )
    for row in rows:
        if row["last_paid_on"] and row["last_paid_on"] < row["enrolled_on"]:
            problems.append(Problem(f"row {row['_row']}", "last_paid_on", "is before enrolled_on"))
    return problems


async def load_enrollments(
    engine: AsyncEngine, rows: list[dict[str, Any]], nik_key: bytes, progress: Progress = no_progress,
    earlier: Sequence[Problem] = (),
) -> TableImport:
    """Upsert participants (by NIK hash) and their enrollments (by participant and date)."""
    columns = ("n", "nik_hash", "nik_last4", "name", "occupation", "village_code", "agent_code",
               "programmes", "monthly_contribution_idr", "enrolled_on", "status", "last_paid_on")

    def records() -> Any:
        for i, r in enumerate(rows):
            if i % 20000 == 0:
                progress("hashing", i, len(rows))
            yield (r["_row"], nik_hash(r["nik"], nik_key), nik_last4(r["nik"]), r["name"], r["occupation"],
                   r["village_code"], r["agent_code"], r["programmes"], r["monthly_contribution_idr"],
                   r["enrolled_on"], r["status"], r["last_paid_on"])
        progress("hashing", len(rows), len(rows))

    async with engine.begin() as conn:
        await copy_to_staging(
            conn, "enrollment_stage",
            "n int, nik_hash bytea, nik_last4 text, name text, occupation text, village_code text, "
            "agent_code text, programmes text[], monthly_contribution_idr int, enrolled_on date, "
            "status text, last_paid_on date",
            columns, records(),
        )
        refuse([*earlier, *await unknown(conn, "enrollment_stage", "village_code", "village", "code"),
                *await unknown(conn, "enrollment_stage", "agent_code", "agent", "code"), *await _active_clashes(conn)])
        progress("saving", 0, 2)
        await conn.execute(text(_UPSERT_PARTICIPANTS))
        progress("saving", 1, 2)
        inserted = (await conn.execute(text(_UPSERT_ENROLLMENTS))).scalars().all()
        progress("saving", 2, 2)
    return TableImport("enrollments", len(rows), sum(inserted), len(inserted) - sum(inserted))


# The newest row of a participant in the file gives their name, village and occupation.
_UPSERT_PARTICIPANTS = """
INSERT INTO participant AS t (nik_hash, nik_last4, name, village_code, occupation)
SELECT DISTINCT ON (nik_hash) nik_hash, nik_last4, name, village_code, occupation
FROM enrollment_stage ORDER BY nik_hash, enrolled_on DESC
ON CONFLICT (nik_hash) DO UPDATE SET
    name = EXCLUDED.name, village_code = EXCLUDED.village_code, occupation = EXCLUDED.occupation
WHERE (t.name, t.village_code, t.occupation)
      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.village_code, EXCLUDED.occupation)
"""

# Lapsed rows go first (ORDER BY) so that a file lapsing one enrollment and opening another for
# the same participant never has two active at once.
_UPSERT_ENROLLMENTS = """
INSERT INTO enrollment AS t (participant_id, agent_id, village_code, programmes,
                             monthly_contribution_idr, enrolled_on, status, last_paid_on)
SELECT p.id, a.id, s.village_code, s.programmes::programme[], s.monthly_contribution_idr,
       s.enrolled_on, s.status::enrollment_status, s.last_paid_on
FROM enrollment_stage s
JOIN participant p ON p.nik_hash = s.nik_hash
JOIN agent a ON a.code = s.agent_code
ORDER BY s.status = 'active', s.n
ON CONFLICT (participant_id, enrolled_on) DO UPDATE SET
    agent_id = EXCLUDED.agent_id, village_code = EXCLUDED.village_code,
    programmes = EXCLUDED.programmes, monthly_contribution_idr = EXCLUDED.monthly_contribution_idr,
    status = EXCLUDED.status, last_paid_on = EXCLUDED.last_paid_on
WHERE (t.agent_id, t.village_code, t.programmes, t.monthly_contribution_idr, t.status, t.last_paid_on)
      IS DISTINCT FROM (EXCLUDED.agent_id, EXCLUDED.village_code, EXCLUDED.programmes,
                        EXCLUDED.monthly_contribution_idr, EXCLUDED.status, EXCLUDED.last_paid_on)
RETURNING (xmax = 0)
"""


async def _active_clashes(conn: AsyncConnection) -> list[Problem]:
    """An active row for a participant who already has another active enrollment (not in this file)."""
    clashes = (await conn.execute(text("""
        SELECT s.n, e.id, e.enrolled_on
        FROM enrollment_stage s
        JOIN participant p ON p.nik_hash = s.nik_hash
        JOIN enrollment e ON e.participant_id = p.id AND e.status = 'active' AND e.enrolled_on <> s.enrolled_on
        WHERE s.status = 'active'
          AND NOT EXISTS (SELECT 1 FROM enrollment_stage o
                          WHERE o.nik_hash = s.nik_hash AND o.enrolled_on = e.enrolled_on AND o.status = 'lapsed')
        ORDER BY s.n
    """))).all()
    return [Problem(f"row {n}", "nik", f"this participant already has active enrollment #{eid} "
                    f"(enrolled {on}); lapse it first or mark this row lapsed") for n, eid, on in clashes]


async def unknown(conn: AsyncConnection, stage: str, column: str, table: str, key: str) -> list[Problem]:
    """Rows of the staged file naming a `table` row that does not exist."""
    missing = (await conn.execute(text(
        f"SELECT n, {column} FROM {stage} s WHERE NOT EXISTS "
        f"(SELECT 1 FROM {table} t WHERE t.{key} = s.{column}) ORDER BY n"
    ))).all()
    return [Problem(f"row {n}", column, f"no {table} with code {value!r}; import it first or fix the code")
            for n, value in missing]


def refuse(problems: list[Problem]) -> None:
    """Raise ImportRejected with every problem found, the file's and the database's, in row order."""
    if problems:
        problems = sorted(problems, key=lambda p: p.row)
        raise ImportRejected(f"The file has {len(problems)} problem(s) and was not imported:", problems)
