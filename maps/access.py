"""Who calls a data endpoint (tiles, OGC API features, exports): the sign-in the API uses, from a
bearer header or a map link's `?token=`, and never an agent's token (these are analytics)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from auth.tokens import MAP_LINK, InvalidToken, bearer
from db.access import Role, Viewer
from resolvers.context import read_after

T = TypeVar("T")


class Refusal(Exception):
    """A request refused before any data is read: its status, code and what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


async def analyst(request: Request, what: str) -> tuple[Viewer, str | None]:
    """The caller and the map link to carry on in links (None when the token came as a header)."""
    header = bearer(request.headers.get("authorization"))
    link = request.query_params.get("token")
    if not header and not link:
        raise Refusal(401, "UNAUTHENTICATED", "send Authorization: Bearer <token>, or use a map link's ?token=")
    try:
        viewer = (await request.app.state.sign_in.viewer(header, uses=(None, MAP_LINK)) if header
                  else await request.app.state.sign_in.viewer(str(link), uses=(MAP_LINK,)))
    except InvalidToken as exc:
        raise Refusal(401, "UNAUTHENTICATED", f"the token cannot be used: {exc}") from exc
    if viewer.role is Role.AGENT:
        raise Refusal(403, "FORBIDDEN", f"{what} are coverage analytics, for planners and managers")
    return viewer, None if header else str(link)


async def read(request: Request, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a session on a replica that has replayed the request's `X-Perisai-LSN` (if
    any) and is fresh enough, else on the primary (db/replicas.py); a malformed header is refused."""
    try:
        after = read_after(request.headers)
    except ValueError as exc:
        raise Refusal(400, "BAD_USER_INPUT", str(exc)) from exc

    async def in_session(_: object, sessions: async_sessionmaker[AsyncSession]) -> T:
        async with sessions() as session:
            return await work(session)

    result: T = await request.app.state.router.read(after, in_session)
    return result
