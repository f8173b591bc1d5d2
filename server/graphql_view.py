"""The GraphQL HTTP and WebSocket endpoint: Strawberry's ASGI view with our front-door checks.

Before Strawberry parses anything: the body's size, that it is a JSON object, the caller's token
and the query's size. A refused request costs time linear in its bytes and never reaches the
parser; every refusal is a GraphQL-shaped JSON error with a code (never a plain-text 4xx or a 500).
"""

from __future__ import annotations

import hashlib
import logging
import time
from contextvars import ContextVar
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import process_result
from strawberry.http.typevars import RootValue
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

import metrics
from auth.signin import SignIn
from auth.tokens import InvalidToken, bearer
from db.access import Role, Viewer
from resolvers.context import POSITION_HEADER, Context, build_context
from resolvers.errors import ApiError, QueryTooComplex, Unauthenticated
from schema import Schema
from schema.admitted import Admitted, answer_admitted
from schema.limits import Limits
from server.graphiql import graphiql_html
from server.persisted import PersistedQueries

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


def _unavailable(result: ExecutionResult) -> bool:
    return any((e.extensions or {}).get("code") == "UNAVAILABLE" for e in result.errors or ())


def _plain_request(body: dict[str, Any]) -> bool:
    """A body of a query text with optional variables and operation name, and no persisted-query hash."""
    extensions = body.get("extensions")
    return (isinstance(body.get("query"), str) and isinstance(body.get("variables"), (dict, type(None)))
            and isinstance(body.get("operationName"), (str, type(None)))
            and (extensions is None or (isinstance(extensions, dict) and "persistedQuery" not in extensions)))


CACHE_MAX_AGE_S = 60  # how long a cacheable answer (a planner's GET) may be reused
_IF_NONE_MATCH: ContextVar[str] = ContextVar("if_none_match", default="")


def cache_headers(request: Request, caller: Viewer | None, result: ExecutionResult, sub_response: Response) -> None:
    """Only a planner's GET answers may be cached: aggregates, never personal data (which planners
    cannot see). Without a token (the public dashboard) any cache may keep them; with one, only
    the browser's. Everything else — POSTs, errors, other roles — is `no-store`."""
    if request.method == "GET" and not result.errors and caller is not None and caller.role is Role.PLANNER:
        shared = "authorization" not in request.headers
        sub_response.headers["Cache-Control"] = f"{'public' if shared else 'private'}, max-age={CACHE_MAX_AGE_S}"
        sub_response.headers["Vary"] = f"Authorization, {POSITION_HEADER}"  # a cache must not answer a read-your-writes
        _IF_NONE_MATCH.set(request.headers.get("if-none-match", ""))
    else:
        sub_response.headers["Cache-Control"] = "no-store"


def record(name: str | None, kind: str, result: ExecutionResult, seconds: float) -> None:
    """Metrics of one operation, refusals before parsing included (kind "unknown")."""
    codes = [str((e.extensions or {}).get("code", "INTERNAL_SERVER_ERROR")) for e in result.errors or ()]
    label = metrics.operation_label(name if isinstance(name, str) else None)
    metrics.child(metrics.operations, label, kind, codes[0] if codes else "ok").inc()
    metrics.child(metrics.operation_seconds, label, kind).observe(seconds)
    for code in codes:
        metrics.child(metrics.errors, code).inc()


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, *args: Any, sign_in: SignIn, nik_key: bytes, anonymous: Viewer | None,
                 limits: Limits, max_body_bytes: int, persisted: PersistedQueries | None = None,
                 admit_queries: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Off when operations are traced: the short path has no operation span (schema/tracing.py).
        self.admitted = Admitted() if admit_queries else None
        self.sign_in = sign_in
        self.persisted = persisted or PersistedQueries()
        self.nik_key = nik_key
        self.anonymous = anonymous
        self.limits = limits
        self.max_body_bytes = max_body_bytes

    @property
    def graphql_ide_html(self) -> str:
        return graphiql_html()  # assets from /assets/, not a CDN

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET with a persisted query's hash and no text is a query, not a person opening GraphiQL.
        return "extensions" not in request.query_params and super().should_render_graphql_ide(request)

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
                if self.admitted is not None and (response := await self._admitted_response(request)) is not None:
                    return response
            return await super().run(request, context, root_value)  # type: ignore[arg-type]
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

    async def _admitted_response(self, request: Request) -> Response | None:
        """The answer to a query whose text was admitted (schema/admitted.py), or None: anything
        else (another content type, streaming, persisted-query hashes, a text not admitted, no
        valid sign-in) takes Strawberry's full path, which refuses what must be refused."""
        if request.headers.get("content-type", "").partition(";")[0].strip().lower() != "application/json" \
                or any(kind in request.headers.get("accept", "") for kind in ("multipart/mixed", "text/event-stream")):
            return None
        try:
            body = orjson.loads(request._body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(body, dict) or not _plain_request(body):
            return None
        text, name, variables = body.get("query"), body.get("operationName"), body.get("variables") or {}
        assert self.admitted is not None and isinstance(text, str)
        query = self.admitted.get(text, name)
        if query is None:
            return None
        started = time.perf_counter()
        context = await self.get_context(request, None)
        if context.caller is None:
            return None
        schema = self.schema
        assert isinstance(schema, Schema)
        result = await answer_admitted(query, variables, context, schema._schema, schema.request_checks,
                                       schema.hide_suggestions)
        if result is None:
            return None
        record(context.operation_name, context.operation_kind, result, time.perf_counter() - started)
        metrics.admitted.inc()
        sub_response = await self.get_sub_response(request)
        self._headers(request, sub_response, context, result)
        return self.create_response(process_result(result), sub_response)

    async def get_context(self, request: Any, response: Any) -> Context:
        state = request.app.state
        try:
            return await build_context(request, state.sessions, self.sign_in, self.nik_key, self.anonymous, state.pool,
                                       state.router)
        except ValueError as exc:  # a malformed X-Perisai-LSN
            raise HTTPException(400, str(exc)) from exc

    async def execute_single(self, request: Request, request_adapter: Any, sub_response: Response,
                             context: Context, root_value: Any, request_data: Any) -> ExecutionResult:
        started = time.perf_counter()
        result = await self._answer(request, request_adapter, sub_response, context, root_value, request_data)
        record(context.operation_name, context.operation_kind, result, time.perf_counter() - started)
        return result

    async def _answer(self, request: Request, request_adapter: Any, sub_response: Response,
                      context: Context, root_value: Any, request_data: Any) -> ExecutionResult:
        sub_response.headers["Cache-Control"] = "no-store"  # unless cache_headers allows more
        # Sign-in first: a caller without a valid token costs nothing beyond its bytes.
        if context.caller is None:
            return _refusal(Unauthenticated(context.auth_problem))
        try:
            query = request_data.query = self.persisted.document(request_data.query, request_data.extensions)
        except ApiError as error:
            return _refusal(error)
        if isinstance(query, str) and len(query) > self.limits.max_bytes // 4 \
                and len(query.encode()) > self.limits.max_bytes:
            return _refusal(QueryTooComplex(f"the query text is larger than {self.limits.max_bytes:,} bytes; "
                                            "send large values (geometries) as variables"))
        result = await super().execute_single(request, request_adapter, sub_response, context, root_value, request_data)
        if self.admitted is not None and isinstance(query, str) and isinstance(request_data.operation_name, (str, type(None))):
            self.admitted.admit(query, request_data.operation_name, context)
        if context.operation_kind == "mutation" and not _unavailable(result):
            await self._position(request, sub_response)
        self._headers(request, sub_response, context, result)
        return result

    @staticmethod
    def _headers(request: Request, sub_response: Response, context: Context, result: ExecutionResult) -> None:
        """503 with Retry-After in an outage, and what may cache the answer."""
        if _unavailable(result):
            sub_response.status_code = 503
            sub_response.headers["Retry-After"] = str(RETRY_AFTER_S)
        cache_headers(request, context.caller, result, sub_response)

    async def _position(self, request: Request, sub_response: Response) -> None:
        """After a mutation, where the primary's WAL is: the client's reads sent with it see the write."""
        try:
            sub_response.headers[POSITION_HEADER] = await request.app.state.router.write_position()
        except Exception as exc:  # the write has committed: answer it, without the header (reads may then lag)
            log.warning("no WAL position after a mutation: %s", exc)

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        if "max-age" not in response.headers.get("cache-control", ""):
            return response
        tag = '"' + hashlib.blake2b(response.body, digest_size=16).hexdigest() + '"'
        response.headers["ETag"] = tag
        offered = {t.strip().removeprefix("W/") for t in _IF_NONE_MATCH.get().split(",")}
        if tag in offered or "*" in offered:
            return Response(status_code=304, headers={k: v for k, v in response.headers.items()
                                                       if k in ("etag", "cache-control", "vary", "x-request-id")})
        return response

    async def on_ws_connect(self, context: Context) -> None:
        """Browsers cannot set WebSocket headers: the token may come in connection_init instead."""
        params = context.connection_params or {}
        token = bearer(str(params.get("authorization") or params.get("Authorization") or "")) or params.get("token")
        if context.caller is None and isinstance(token, str):
            try:
                context.caller = await self.sign_in.viewer(token)
            except InvalidToken as exc:
                raise ConnectionRejectionError({"message": str(exc)}) from exc
        if context.caller is None:
            raise ConnectionRejectionError({"message": context.auth_problem})
