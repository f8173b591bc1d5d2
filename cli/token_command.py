"""`perisai token`: print a signed bearer token (for development, scripts and tests)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from auth.tokens import issue, key_id, parse_duration
from cli.runtime import console, friendly_errors, settings
from db.access import Role


@friendly_errors
def token(
    role: Annotated[Role, typer.Option(metavar="admin|planner|manager|agent", help="What the token may do.")],
    scope: Annotated[
        list[str] | None, typer.Option(metavar="CODE", help="Region code a manager may see (repeat for several), e.g. 34.71.")
    ] = None,
    agent: Annotated[str | None, typer.Option(metavar="CODE", help="The agent's code, for --role agent.")] = None,
    subject: Annotated[str | None, typer.Option(metavar="NAME", help="Who the token is for (default: the role).")] = None,
    ttl: Annotated[str, typer.Option(metavar="DURATION", help="Lifetime: 30m, 8h, 7d.")] = "8h",
) -> None:
    """Print a token signed with PERISAI_JWT_SECRET. Send it as `Authorization: Bearer <token>`."""
    config = settings()
    secret = config.secret("jwt_secret")  # a bad setting is reported by friendly_errors
    try:
        lifetime = parse_duration(ttl)
        signed = issue(
            secret, subject=subject or agent or role.value, role=role,
            scope=tuple(code.strip() for code in scope or ()), agent_code=agent, ttl=lifetime,
        )
    except ValueError as exc:
        console.print(f"[bold red]Error:[/] {exc}")
        raise typer.Exit(2) from exc
    print(signed)
    # On stderr, so `TOKEN=$(perisai token …)` still captures the token alone.
    print(f"signed with key {key_id(secret)} ({config.secret_source('jwt_secret')})", file=sys.stderr)
