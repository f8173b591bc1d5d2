"""Read a CSV file against a declared set of columns, collecting every bad cell with its row number.

Row numbers are those a spreadsheet shows: the header is row 1, the first record row 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from db.errors import ImportRejected, Problem
from db.regions import Level

Parser = Callable[[str], Any]


class CellError(ValueError):
    """Raised by a parser with a reason a planner understands."""


@dataclass(frozen=True)
class Column:
    name: str
    parse: Parser
    required: bool = True
    default: Any = None


RowCheck = Callable[[list[dict[str, Any]]], list[Problem]]


def read_csv(path: Path, columns: list[Column], check: RowCheck | None = None) -> list[dict[str, Any]]:
    """Parse every row, then run `check` over the rows whose cells all parsed; raise
    ImportRejected listing every problem found (nothing is loaded)."""
    text = _read_text(path)
    delimiter = _delimiter(text)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c.name for c in columns if c.required and c.name not in header]
    if missing:
        raise ImportRejected(
            f"{path} lacks the column(s) {', '.join(missing)}. Its header, read as {_NAMES[delimiter]}-separated, "
            f"is: {', '.join(header) or '(empty)'}. See the README's data formats section."
        )
    # Spreadsheets in Indonesian (and most European) locales save `;`-separated files with decimal
    # commas: "110,3651" is then a number, as the person who typed it meant.
    decimal_comma = delimiter == ";"
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for number, raw in enumerate(reader, start=2):
        if None in raw:
            problems.append(Problem(f"row {number}", None, "has more cells than the header"))
            continue
        row: dict[str, Any] = {"_row": number}
        cell_problems = len(problems)
        for column in columns:
            cell = (raw.get(column.name) or "").strip()
            if not cell:
                if column.required:
                    problems.append(Problem(f"row {number}", column.name, "is empty"))
                row[column.name] = column.default
                continue
            try:
                row[column.name] = _parse(column, cell, decimal_comma)
            except CellError as exc:
                problems.append(Problem(f"row {number}", column.name, f"{cell!r}: {exc}"))
        if len(problems) == cell_problems:
            rows.append(row)
    if check:
        problems += check(rows)
    if problems:
        problems.sort(key=lambda p: p.row)
        raise ImportRejected(f"{path} has {len(problems)} problem(s) and was not imported:", problems, rows=rows)
    if not rows:
        raise ImportRejected(f"{path} has a header but no rows; nothing to import.")
    return rows


_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
_DECIMAL_COMMA = re.compile(r"-?[0-9]+,[0-9]+")


def _delimiter(text: str) -> str:
    """The header line's separator: a comma, or the semicolon or tab a spreadsheet saved instead."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in _NAMES}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _parse(column: Column, cell: str, decimal_comma: bool) -> Any:
    try:
        return column.parse(cell)
    except CellError:
        if decimal_comma and _DECIMAL_COMMA.fullmatch(cell):
            return column.parse(cell.replace(",", "."))
        raise


def _read_text(path: Path) -> str:
    if not path.exists():
        raise ImportRejected(f"File not found: {path}. Check the path and try again.")
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except OSError:
            raise ImportRejected(f"{path} ends in .gz but is not gzip-compressed.") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected(
            f"{path} is not a UTF-8 text CSV file. Save it from your spreadsheet as "
            "'CSV UTF-8 (comma delimited)' and try again."
        ) from None


def duplicates(rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], what: str) -> list[Problem]:
    """One problem per row whose key was already seen on an earlier row."""
    seen: dict[Any, int] = {}
    problems = []
    for row in rows:
        k = key(row)
        if k in seen:
            problems.append(Problem(f"row {row['_row']}", what, f"repeats row {seen[k]}"))
        else:
            seen[k] = row["_row"]
    return problems


# -- parsers ----------------------------------------------------------------------------------

def text_value(cell: str) -> str:
    return cell


def _ranged(convert: Callable[[str], float], not_a_number: str, low: float | None, high: float | None) -> Parser:
    def parse(cell: str) -> float:
        try:
            value = convert(cell)
        except ValueError:
            raise CellError(not_a_number) from None
        if low is not None and high is not None and not low <= value <= high:
            raise CellError(f"must be between {low:,} and {high:,}")
        return value

    return parse


def integer(low: int, high: int) -> Parser:
    return _ranged(lambda cell: int(cell.replace("_", "")), "is not a whole number", low, high)


def number(low: float | None = None, high: float | None = None) -> Parser:
    return _ranged(float, "is not a number (use a dot for decimals)", low, high)


def past_date(cell: str) -> dt.date:
    try:
        value = dt.date.fromisoformat(cell)
    except ValueError:
        raise CellError("is not a date in YYYY-MM-DD form") from None
    if value > dt.date.today():
        raise CellError("is in the future")
    return value


def choice(*allowed: str) -> Parser:
    def parse(cell: str) -> str:
        value = cell.lower()
        if value not in allowed:
            raise CellError(f"must be one of {', '.join(allowed)}")
        return value

    return parse


def region_code(level: Level) -> Parser:
    def parse(cell: str) -> str:
        if not level.pattern.fullmatch(cell):
            raise CellError(f"is not a {level.value} code like {level.example}")
        return cell

    return parse
