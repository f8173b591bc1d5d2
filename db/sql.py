"""Parameters of a hand-written statement sent with asyncpg (`$1`, `$2`, …).

Statements assembled from fragments (the compiled reads) collect their values here, so every
value is a bind parameter and the text of a statement depends only on its shape: asyncpg then
prepares it once per connection and reuses the plan.
"""

from __future__ import annotations

import re
from typing import Any

_PLACEHOLDER = re.compile(r"\$(\d+)\b")


class Params:
    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any, cast: str | None = None) -> str:
        """The placeholder of a new parameter, with a cast when its type must be stated (a value
        PostgreSQL cannot type from context, such as a NULL or a bare literal in a SELECT list)."""
        self.values.append(value)
        placeholder = f"${len(self.values)}"
        return f"CAST({placeholder} AS {cast})" if cast else placeholder

    def finish(self, sql: str) -> tuple[str, list[Any]]:
        """The statement and its values, without parameters its text does not use (PostgreSQL
        cannot type a parameter that appears nowhere): a fragment built and then left out, such
        as a list whose arguments turned out wrong, leaves its values behind."""
        statement, used = self.finish_indexes(sql)
        return statement, [self.values[i] for i in used]

    def finish_indexes(self, sql: str) -> tuple[str, tuple[int, ...]]:
        """As `finish`, with the indexes in `values` of the parameters kept instead of their values."""
        used = sorted({int(n) for n in _PLACEHOLDER.findall(sql)})
        if len(used) == len(self.values):
            return sql, tuple(range(len(self.values)))
        renumbered = {old: new for new, old in enumerate(used, start=1)}
        return _PLACEHOLDER.sub(lambda m: f"${renumbered[int(m.group(1))]}", sql), tuple(n - 1 for n in used)


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def substituted(sql: str, expressions: dict[str, str]) -> str:
    """`sql` (a statement with `:name` parameters) with the named ones replaced by SQL expressions
    (parenthesised): a shared statement evaluated over rows of the caller's choosing."""
    return _NAMED.sub(lambda m: f"({expressions[m.group(1)]})" if m.group(1) in expressions else m.group(0), sql)
