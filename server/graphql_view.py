"""The GraphQL HTTP and WebSocket endpoint: Strawberry's ASGI view with our front-door checks.

Before Strawberry parses anything: the body's size, that it is a JSON object, the caller's token
and the query's size. A refused request costs time linear in its bytes and never reaches the
parser; every refusal is a GraphQL-shaped JSON error with a code (never a plain-text 4xx or a 500).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.typevars import RootValue
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from auth.tokens import InvalidToken, bearer, viewer_from_token
from db.access import Viewer
from resolvers.context import Context, build_context
from resolvers.errors import ApiError, QueryTooComplex, Unauthenticated
from schema.limits import Limits
from server.graphiql import graphiql_html

log = logging.getLogger("perisai.api")

RETRY_AFTER_S = 2  # what a client should wait after UNAVAILABLE (the database restarting)
_STATUS_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE",
                 415: "UNSUPPORTED_MEDIA_TYPE"}


def error_response(status: int, message: str, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """A GraphQL-shaped error body with an HTTP status, for refusals before execution."""
    code = code or _STATUS_CODES.get(status, "BAD_REQUEST")
    log.info("refused %s (HTTP %s): %s", code, status, message)
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status,
                        headers=headers)


def _refusal(error: ApiError) -> ExecutionResult:
    log.info("refused %s: %s", error.code, error)
    return ExecutionResult(data=None, errors=[GraphQLError(str(error), original_error=error,
                                                           extensions={"code": error.code})])


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, *args: Any, jwt_secret: bytes, nik_key: bytes, anonymous: Viewer | None,
                 limits: Limits, max_body_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.jwt_secret = jwt_secret
        self.nik_key = nik_key
        self.anonymous = anonymous
        self.limits = limits
        self.max_body_bytes = max_body_bytes

    @property
    def graphql_ide_html(self) -> str:
        return graphiql_html()  # assets from /assets/, not a CDN

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)  # several times faster than json.dumps on GeoJSON-heavy responses

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # request bodies: json.loads was 5 % of a compiled read's time

    def parse_json(self, data: str | bytes) -> Any:
        value = super().parse_json(data)
        if not isinstance(value, (dict, list)):  # lists are batches, which Strawberry refuses itself
            raise HTTPException(400, 'the request body must be a JSON object like {"query": "{ provinces { totalCount } }"}')
        return value

    async def run(self, request: Request | WebSocket, context: Context = UNSET,  # type: ignore[override]
                  root_value: RootValue | None = UNSET) -> Response:
        try:
            if isinstance(request, Request) and request.method == "POST":
                await self._read_body(request)
            return await super().run(request, context, root_value)  # type: ignore[return-value]
        except HTTPException as exc:
            return error_response(exc.status_code, exc.reason)

    async def _read_body(self, request: Request) -> None:
        """Read the body with a ceiling, so a huge upload is refused before it fills memory."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise HTTPException(413, f"the request body is larger than {self.max_body_bytes:,} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise HTTPException(413, f"the request body is larger than {self.max_body_bytes:,} bytes")
        request._body = bytes(body)  # Starlette's cache of the body: what Strawberry then reads

    async def get_context(self, request: Any, response: Any) -> Context:
        state = request.app.state
        return build_context(request, state.sessions, self.jwt_secret, self.nik_key, self.anonymous, state.pool)

    async def execute_single(self, request: Request, request_adapter: Any, sub_response: Response,  # type: ignore[override]
                             context: Context, root_value: Any, request_data: Any) -> ExecutionResult:
        # Sign-in first: a caller without a valid token costs nothing beyond its bytes.
        if context.caller is None:
            return _refusal(Unauthenticated(context.auth_problem))
        query = request_data.query
        if isinstance(query, str) and len(query) > self.limits.max_bytes // 4 \
                and len(query.encode()) > self.limits.max_bytes:
            return _refusal(QueryTooComplex(f"the query text is larger than {self.limits.max_bytes:,} bytes; "
                                            "send large values (geometries) as variables"))
        result = await super().execute_single(request, request_adapter, sub_response, context, root_value, request_data)
        if any((e.extensions or {}).get("code") == "UNAVAILABLE" for e in result.errors or ()):
            sub_response.status_code = 503
            sub_response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return result

    async def on_ws_connect(self, context: Context) -> None:
        """Browsers cannot set WebSocket headers: the token may come in connection_init instead."""
        params = context.connection_params or {}
        token = bearer(str(params.get("authorization") or params.get("Authorization") or "")) or params.get("token")
        if context.caller is None and isinstance(token, str):
            try:
                context.caller = viewer_from_token(self.jwt_secret, token)
            except InvalidToken as exc:
                raise ConnectionRejectionError({"message": str(exc)}) from exc
        if context.caller is None:
            raise ConnectionRejectionError({"message": context.auth_problem})
