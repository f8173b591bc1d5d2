"""Persisted queries: Apollo's automatic persisted queries (APQ) and an allow-list of documents.

APQ (what Apollo Client's persisted-queries link sends): a request may carry
`extensions.persistedQuery = {version: 1, sha256Hash}` and no query text; a server that knows the
hash runs the document, otherwise it answers PERSISTED_QUERY_NOT_FOUND and the client sends text
and hash together once, which the server remembers (per process, bounded in bytes). Phones then
send a 64-character hash instead of the document, and GET requests become short enough to cache.

Registered documents (`PERISAI_PERSISTED_QUERIES`, an Apollo persisted-query manifest or a flat
`{hash: document}` map) are always known. With `PERISAI_PERSISTED_QUERIES_ONLY=true` they are the
only documents accepted: an arbitrary (or arbitrarily expensive) document is refused before
parsing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

from graphql import GraphQLError, parse

from resolvers.errors import BadUserInput, PersistedQueryNotAllowed, PersistedQueryNotFound
from schema.registered import NOT_REGISTERED

REMEMBERED_BYTES = 8_000_000  # documents learnt through APQ, per process; the oldest go first
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_registered(path: Path) -> dict[str, str]:
    """{sha256: document} from an Apollo manifest or a flat map; ValueError naming the bad entry."""
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the persisted queries ({exc})") from exc
    if isinstance(content, dict) and content.get("format") == "apollo-persisted-query-manifest":
        operations = content.get("operations")
        if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
            raise ValueError(f"{path}: `operations` must be a list of objects with id, name and body")
        entries = [(str(op.get("id", "")), op.get("body"), op.get("name") or f"operation {i + 1}")
                   for i, op in enumerate(operations)]
    elif isinstance(content, dict):
        entries = [(key, body, key) for key, body in content.items()]
    else:
        raise ValueError(f"{path}: expected an Apollo persisted-query manifest or an object {{hash: document}}")
    registered = {}
    for given, body, name in entries:
        if not isinstance(body, str):
            raise ValueError(f"{path}: {name}: the document must be a string")
        try:
            parse(body)
        except GraphQLError as exc:
            raise ValueError(f"{path}: {name}: not a GraphQL document ({exc.message})") from exc
        if _SHA256.fullmatch(given) and given.lower() != digest(body):
            raise ValueError(f"{path}: {name}: its id is not the SHA-256 of its document (expected {digest(body)})")
        registered[digest(body)] = body
    return registered


class PersistedQueries:
    def __init__(self, registered: dict[str, str] | None = None, only_registered: bool = False) -> None:
        self.registered = registered or {}
        self.only_registered = only_registered
        self.remembered: OrderedDict[str, str] = OrderedDict()
        self.remembered_bytes = 0

    def document(self, text: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The document to run (None: the request has none); an ApiError when it may not run."""
        wanted = self._hash(extensions)
        if text is None:
            if wanted is None:
                return None
            known = self.registered.get(wanted) or (None if self.only_registered else self._recall(wanted))
            if known is None:
                raise PersistedQueryNotFound("PersistedQueryNotFound")
            return known
        actual = digest(text)
        if wanted is not None and wanted != actual:
            raise BadUserInput("provided sha does not match query: sha256Hash must be the SHA-256 of the query text "
                               "in hexadecimal", field="extensions.persistedQuery.sha256Hash")
        if self.only_registered and actual not in self.registered:
            raise PersistedQueryNotAllowed(NOT_REGISTERED)
        if wanted is not None and actual not in self.registered:
            self._remember(actual, text)
        return text

    @staticmethod
    def _hash(extensions: dict[str, Any] | None) -> str | None:
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return None
        if not isinstance(persisted, dict) or persisted.get("version") != 1 \
                or not isinstance(persisted.get("sha256Hash"), str) or not _SHA256.fullmatch(persisted["sha256Hash"]):
            raise BadUserInput('must be {"version": 1, "sha256Hash": "<64 hexadecimal digits>"}',
                               field="extensions.persistedQuery")
        return str(persisted["sha256Hash"]).lower()

    def _recall(self, key: str) -> str | None:
        text = self.remembered.get(key)
        if text is not None:
            self.remembered.move_to_end(key)
        return text

    def _remember(self, key: str, text: str) -> None:
        if key in self.remembered:
            return
        self.remembered[key] = text
        self.remembered_bytes += len(text)
        while self.remembered_bytes > REMEMBERED_BYTES:
            _, old = self.remembered.popitem(last=False)
            self.remembered_bytes -= len(old)
