"""The `perisai` command."""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

import typer

from cli import (
    alerts_command,
    check_command,
    db_commands,
    demo_command,
    export_command,
    import_commands,
    map_command,
    serve_command,
    snapshot_command,
    token_command,
)

app = typer.Typer(
    help="perisai-coverage: where Perisai agents reach informal workers, and where they do not.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(show: bool) -> None:
    if show:
        print(f"perisai-coverage {version('perisai-coverage')}")
        raise typer.Exit()


@app.callback()
def main(show_version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Print the version and exit.")] = False) -> None:
    """perisai-coverage: where Perisai agents reach informal workers, and where they do not."""


app.add_typer(check_command.app, name="check")
app.add_typer(db_commands.app, name="db")
app.add_typer(import_commands.app, name="import")
app.add_typer(map_command.app, name="map")
app.command()(demo_command.demo)
app.command()(serve_command.serve)
app.command()(snapshot_command.snapshot)
app.command()(alerts_command.alerts)
app.command()(export_command.export)
app.command()(token_command.token)

if __name__ == "__main__":
    app()
