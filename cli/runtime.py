"""What every command shares: settings, the database URL, error reporting and progress bars."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from db.errors import PerisaiError
from db.migrate import upgrade
from embedded.cluster import ClusterError, resolve_database_url
from settings import MissingSecret, Settings

console = Console(stderr=True, highlight=False)
P = ParamSpec("P")
T = TypeVar("T")


def settings() -> Settings:
    return Settings()


def database_url(config: Settings, *, migrate: bool = True) -> str:
    """The database to use (the embedded cluster is started when DATABASE_URL is unset)."""
    url = resolve_database_url(config.database_url, config.data_dir, config.database_name)
    if migrate:
        upgrade(url)
    return url


def friendly_errors(command: Callable[P, T]) -> Callable[P, T]:
    """Report expected failures as one readable paragraph and exit 1, without a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except (ClusterError, PerisaiError, MissingSecret) as exc:
            console.print(f"[bold red]Error:[/] {exc}", soft_wrap=True, markup=True)
            sys.exit(1)
        except ValidationError as exc:  # a setting from the environment or .env
            for error in exc.errors():
                name = "PERISAI_" + "_".join(str(part) for part in error["loc"]).upper() if error["loc"] else ""
                reason = str(error["msg"]).removeprefix("Value error, ")
                console.print(f"[bold red]Error:[/] {escape(name + ': ' if name else '')}{escape(reason)}",
                              soft_wrap=True)
            sys.exit(1)
        except KeyboardInterrupt:
            console.print("Interrupted.")
            sys.exit(130)

    return wrapper


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A callback `(stage, done, total)` that drives one rich progress bar per stage."""
    bars = Progress(
        TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total)
        bars.update(tasks[stage], completed=done, total=total)

    with bars:
        yield update


class CommandRefused(PerisaiError):
    """A scheduled command's input refused (snapshot, alerts)."""


def day(text: str | None) -> dt.date:
    """--as-of as a date (default today)."""
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandRefused(f"--as-of: {text!r} is not a date like 2026-11-30") from exc
