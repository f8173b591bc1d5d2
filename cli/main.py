"""The `perisai` command."""

from __future__ import annotations

import typer

from cli import (
    check_command,
    db_commands,
    demo_command,
    import_commands,
    map_command,
    serve_command,
    token_command,
)

app = typer.Typer(
    help="perisai-coverage: where Perisai agents reach informal workers, and where they do not.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(check_command.app, name="check")
app.add_typer(db_commands.app, name="db")
app.add_typer(import_commands.app, name="import")
app.add_typer(map_command.app, name="map")
app.command()(demo_command.demo)
app.command()(serve_command.serve)
app.command()(token_command.token)

if __name__ == "__main__":
    app()
