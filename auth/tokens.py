"""JWT bearer tokens (HS256, PyJWT) carrying a role and, for managers, a region scope."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from functools import lru_cache

import jwt

from db.access import Role, Viewer
from db.regions import Level

ALGORITHM = "HS256"
ISSUER = "perisai-coverage"
_DURATION = re.compile(r"^([0-9]+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class InvalidToken(Exception):
    """The token cannot be used; the message says why and what to do."""


class WrongSecret(InvalidToken):
    """Signed with another secret than the server's; says both key ids (see key_id)."""

    def __init__(self, token_key: str | None, server_key: str, server_source: str = "PERISAI_JWT_SECRET") -> None:
        self.token_key, self.server_key = token_key, server_key
        signed = f"key {token_key}" if token_key else "a key this server does not name"
        super().__init__(f"the token was signed with another secret ({signed}) than this server's (key {server_key}, "
                         f"{server_source}); mint it with the same secret: `perisai token` run with the server's "
                         "PERISAI_JWT_SECRET (in development both read it from the same file)")

    def from_source(self, source: str) -> WrongSecret:
        return WrongSecret(self.token_key, self.server_key, source)


def _signed_with(token: str) -> str | None:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        return None
    return kid[:16] if isinstance(kid, str) and kid.isalnum() else None


def parse_duration(text: str) -> dt.timedelta:
    """`90s`, `30m`, `8h`, `7d` → timedelta."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"duration {text!r} is not like 30m, 8h or 7d")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def check_claims(role: Role, scope: tuple[str, ...], agent_code: str | None) -> None:
    """Raise ValueError unless the role's required claims are present and well-formed."""
    for code in scope:
        if Level.of_code(code) is None:
            raise ValueError(f"scope {code!r} is not a region code like 34, 34.71, 34.71.01 or 34.71.01.1001")
    if role is Role.MANAGER and not scope:
        raise ValueError("a manager token needs at least one region code in its scope")
    if role is not Role.MANAGER and scope:
        raise ValueError(f"only manager tokens carry a scope, not {role.value}")
    if role is Role.AGENT and not agent_code:
        raise ValueError("an agent token needs the agent's code")
    if role is not Role.AGENT and agent_code:
        raise ValueError(f"only agent tokens name an agent, not {role.value}")


MAP_LINK = "maps"  # the `use` claim of tokens that only open map pages (links from `mapUrl`)
MAP_LINK_TTL = dt.timedelta(minutes=30)


def issue(
    secret: bytes, *, subject: str, role: Role, scope: tuple[str, ...] = (), agent_code: str | None = None,
    ttl: dt.timedelta = dt.timedelta(hours=8), now: dt.datetime | None = None, use: str | None = None,
) -> str:
    """A signed token; `use=MAP_LINK` makes one that opens map pages and nothing else."""
    check_claims(role, scope, agent_code)
    issued = now or dt.datetime.now(dt.UTC)
    claims: dict[str, object] = {
        "iss": ISSUER, "sub": subject, "role": role.value, "iat": issued, "exp": issued + ttl,
    }
    if scope:
        claims["scope"] = list(scope)
    if agent_code:
        claims["agent"] = agent_code
    if use:
        claims["use"] = use
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": key_id(secret)})


def key_id(secret: bytes) -> str:
    """A short name for a signing secret (not reversible): tokens carry it, so a refusal can say
    which secret signed the token and which one the server uses."""
    return hashlib.sha256(b"perisai-key-id:" + secret).hexdigest()[:8]


def map_link_token(secret: bytes, viewer: Viewer) -> str:
    """A short-lived token with the viewer's role and scope that only opens map pages."""
    return issue(secret, subject=viewer.subject, role=viewer.role, scope=viewer.scope,
                 agent_code=viewer.agent_code, ttl=MAP_LINK_TTL, use=MAP_LINK)


def viewer_from_token(secret: bytes, token: str, *, uses: tuple[str | None, ...] = (None,)) -> Viewer:
    """Verify signature, expiry and issuer, then the role's claims; raise InvalidToken.

    `uses` lists the kinds of token accepted: None is an ordinary token; the GraphQL endpoint
    refuses map links, so a link copied out of a browser cannot query the API.
    """
    viewer, expires = _verified(secret, token, uses)
    if expires <= time.time():  # checked on every use; the signature only once per token
        raise InvalidToken("the token has expired; ask for a new one")
    return viewer


VERIFIED_TOKENS = 4096  # tokens whose signature and claims are remembered (per process)


@lru_cache(maxsize=VERIFIED_TOKENS)
def _verified(secret: bytes, token: str, uses: tuple[str | None, ...]) -> tuple[Viewer, float]:
    """The viewer of a well-signed token and when it expires. A token's content cannot change, so
    its HMAC (~110 µs, 7 % of a scoped read's server time) is checked once; a refusal is not
    cached and costs the same every time."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "sub", "role"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("the token has expired; ask for a new one") from exc
    except jwt.InvalidSignatureError as exc:
        raise WrongSecret(_signed_with(token), key_id(secret)) from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(f"the token is not valid ({exc}); send `Authorization: Bearer <token>`") from exc
    if claims.get("use") not in uses:
        raise InvalidToken("this is a map link token; it opens map pages only. Use a token from `perisai token`")
    try:
        role = Role(claims["role"])
        scope = tuple(str(code) for code in claims.get("scope", []))
        agent_code = claims.get("agent")
        check_claims(role, scope, agent_code)
    except (ValueError, TypeError) as exc:
        raise InvalidToken(f"the token's claims are not usable: {exc}") from exc
    return Viewer(str(claims["sub"]), role, scope, agent_code), float(claims["exp"])


def bearer(header: str | None) -> str | None:
    """The token in an `Authorization: Bearer …` header, or None."""
    if not header:
        return None
    kind, _, token = header.partition(" ")
    return token.strip() if kind.lower() == "bearer" and token.strip() else None
