"""Errors a client can act on. Each carries the `extensions.code` the API reports."""

from __future__ import annotations

from typing import ClassVar

from db.engine import is_unavailable


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


class PersistedQueryNotFound(ApiError):
    """Apollo's protocol: the client sends the document again with its hash (message and code as Apollo's)."""

    code = "PERSISTED_QUERY_NOT_FOUND"


class PersistedQueryNotAllowed(ApiError):
    code = "PERSISTED_QUERY_NOT_ALLOWED"


class Rejected(ApiError):
    """A write refused for a reason the client can act on; the code comes from the write itself."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code  # type: ignore[misc]


class Unavailable(ApiError):
    """The database is unreachable, starting or restarting: retry after a short wait."""

    code = "UNAVAILABLE"


def unavailable(error: BaseException) -> Unavailable | None:
    """An Unavailable for a database outage somewhere in `error`'s causes, else None."""
    if is_unavailable(error):
        return Unavailable("the database is unreachable or restarting; retry in a few seconds")
    return None
