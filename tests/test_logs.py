"""The JSON log lines themselves: every record becomes one parseable line, whatever its text."""

from __future__ import annotations

import io
import json
import logging

from server.logs import configure_logging


def _lines_of(message: str, *args: object) -> list[str]:
    configure_logging()
    handler = next(h for h in logging.getLogger("perisai").handlers if getattr(h, "perisai", False))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        logging.getLogger("perisai.test").info(message, *args)
    finally:
        handler.setStream(previous)  # type: ignore[arg-type]
    return stream.getvalue().splitlines()


def test_hostile_text_is_one_json_line_with_the_text_kept() -> None:
    # A lone surrogate (what surrogateescape makes of a file name's bad bytes) is refused by
    # orjson; the line must still be written, escaped, not dropped with a logging traceback.
    for text in ("name \ud800 here", "NUL\x00 and\nnewline", "١٢٣ <script>", "plain"):
        lines = _lines_of("refused %s: %s", "BAD_USER_INPUT", text)
        assert len(lines) == 1, lines
        record = json.loads(lines[0])
        assert record["message"] == f"refused BAD_USER_INPUT: {text}"
        assert record["level"] == "INFO" and record["name"] == "perisai.test" and record["request_id"] == "-"
