"""Access tokens from an OpenID Connect provider (Keycloak, Azure AD, …) mapped to our roles.

The provider signs with RS256 or ES256; its public keys come from its JWKS (the `jwks_uri` of its
discovery document unless configured), cached for `jwks_cache_s` and fetched again when a token
names a key we do not have (rotation) — at most once per `jwks_refetch_s`, so tokens with made-up
key ids cannot make us hammer the provider. A key the provider stops publishing is refused once
the cache expires. `iss`, `aud`, `exp` and `nbf` are checked with a bounded clock skew.

Claim mapping (names configurable, dotted paths reach into objects such as Keycloak's
`realm_access.roles`): the role claim is a string or a list in which exactly one of our roles
appears (`manager` or `perisai-manager`); the scope claim is a list of region codes or a string
of codes separated by spaces or commas; the agent claim is the agent's code.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK, PyJWKSet

from auth.tokens import InvalidToken, check_claims
from db.access import Role, Viewer

ALGORITHMS = ["RS256", "ES256"]  # never HS256: a public key must not be usable as an HMAC secret
FETCH_TIMEOUT_S = 5.0
_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    audience: str
    jwks_url: str | None = None  # default: the discovery document's jwks_uri
    role_claim: str = "perisai_role"
    scope_claim: str = "perisai_scope"
    agent_claim: str = "perisai_agent"
    leeway_s: int = 60
    jwks_cache_s: int = 300
    jwks_refetch_s: int = 10  # an unknown key id refetches the JWKS at most this often


def _fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response:  # noqa: S310 (configured URL)
        return json.loads(response.read())


class _KeySet:
    """The provider's signing keys by key id, refreshed on expiry and on an unknown id."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self.keys: dict[str, PyJWK] = {}
        self.fetched_at = self.tried_at = float("-inf")
        self.lock = threading.Lock()

    def key(self, kid: str) -> PyJWK:
        with self.lock:
            now = time.monotonic()
            stale = now - self.fetched_at > self.settings.jwks_cache_s
            if (stale or kid not in self.keys) and now - self.tried_at > self.settings.jwks_refetch_s:
                self._fetch(now)
            if kid not in self.keys:
                raise InvalidToken(f"the token is signed with key {kid[:64]!r}, which {self.settings.issuer} "
                                   "does not publish (revoked or unknown); sign in again")
            return self.keys[kid]

    def _fetch(self, now: float) -> None:
        self.tried_at = now
        url = self.settings.jwks_url
        try:
            if url is None:
                url = str(_fetch_json(self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration")["jwks_uri"])
            jwks = PyJWKSet.from_dict(_fetch_json(url))
        except (OSError, ValueError, KeyError, jwt.PyJWKSetError) as exc:
            if self.keys:  # the provider is unreachable: keep the keys we have, try again later
                return
            raise InvalidToken(f"cannot fetch the signing keys of {self.settings.issuer} ({exc}); try again later") from exc
        self.keys = {k.key_id: k for k in jwks.keys if k.key_id and k.algorithm_name in ALGORITHMS}
        self.fetched_at = now


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class OidcVerifier:
    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self.keys = _KeySet(settings)

    @staticmethod
    def claimed_issuer(token: str) -> str | None:
        """The `iss` a token claims (unverified: it only picks which check to run), or None."""
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.InvalidTokenError:
            return None
        return issuer if isinstance(issuer, str) else None

    def viewer(self, token: str) -> Viewer:
        """Verify a provider's token and map its claims; raise InvalidToken. May fetch keys (blocking)."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in ALGORITHMS:
                raise InvalidToken(f"the provider's tokens must be signed with {' or '.join(ALGORITHMS)}, "
                                   f"not {str(header.get('alg'))[:16]}")
            key = self.keys.key(str(header.get("kid") or ""))
            claims = jwt.decode(token, key, algorithms=ALGORITHMS, issuer=self.settings.issuer,
                                audience=self.settings.audience, leeway=self.settings.leeway_s,
                                options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("the token has expired; sign in again") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"the token is not valid ({exc}); sign in again") from exc
        return Viewer(str(claims["sub"]), *self._mapped(claims))

    def _mapped(self, claims: dict[str, Any]) -> tuple[Role, tuple[str, ...], str | None]:
        """Role, scope and agent code; a scope counts for managers only, an agent code for agents."""
        s = self.settings
        named = _claim(claims, s.role_claim)
        values = [v.removeprefix("perisai-") for v in (named if isinstance(named, list) else [named]) if isinstance(v, str)]
        roles = {Role(v) for v in values if v in Role._value2member_map_}
        if len(roles) != 1:
            found = "no role" if not roles else "several roles (" + ", ".join(sorted(r.value for r in roles)) + ")"
            raise InvalidToken(f"the token's claim {s.role_claim!r} names {found}; it must name one of "
                               "admin, planner, manager, agent (ask your administrator)")
        role = roles.pop()
        listed = _claim(claims, s.scope_claim)
        codes = _SEPARATORS.split(listed.strip()) if isinstance(listed, str) else listed if isinstance(listed, list) else []
        scope = tuple(str(c) for c in codes if c) if role is Role.MANAGER else ()
        agent = _claim(claims, s.agent_claim)
        agent_code = str(agent) if role is Role.AGENT and agent else None
        try:
            check_claims(role, scope, agent_code)
        except ValueError as exc:
            raise InvalidToken(f"the token's claims are not usable: {exc} (claims {s.scope_claim!r}, "
                               f"{s.agent_claim!r})") from exc
        return role, scope, agent_code
