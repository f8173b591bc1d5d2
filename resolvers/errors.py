"""Errors a client can act on. Each carries the `extensions.code` the API reports."""

from __future__ import annotations

from typing import ClassVar


class ApiError(Exception):
    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


class NotFound(ApiError):
    code = "NOT_FOUND"


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class QueryTooComplex(ApiError):
    code = "QUERY_TOO_COMPLEX"


class Rejected(ApiError):
    """A write refused for a reason the client can act on; the code comes from the write itself."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code  # type: ignore[misc]
