"""The one error write functions raise: refused for a reason the client can act on."""

from __future__ import annotations


class WriteRefused(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.field = code, field  # the API error code; the input field at fault
