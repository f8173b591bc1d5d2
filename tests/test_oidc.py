"""Sign-in with an OpenID Connect provider's access tokens, over HTTP, against a local issuer.

The issuer is a real HTTP server in the test (discovery document + JWKS) whose keys are made here
with `cryptography`; the API server is a real subprocess configured with its URL. Keys rotate and
are revoked by changing what the issuer publishes.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.conftest import data, error_codes, post, running_server

AUDIENCE = "perisai-coverage"
CACHE_S = 3  # the server's JWKS cache: a revoked key is refused after it
REFETCH_S = 1


class Issuer:
    """A local OpenID provider: what it publishes can change during the test."""

    def __init__(self) -> None:
        self.published: dict[str, Any] = {}  # kid → public JWK
        self.jwks_requests = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path == "/realms/bpjs/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/protocol/openid-connect/certs"}
                elif self.path == "/realms/bpjs/protocol/openid-connect/certs":
                    issuer.jwks_requests += 1
                    body = {"keys": list(issuer.published.values())}
                else:
                    self.send_error(404)
                    return
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/realms/bpjs"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def publish(self, kid: str, private_key: Any) -> None:
        public = private_key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk, alg = RSAAlgorithm.to_jwk(public, as_dict=True), "RS256"
        else:
            jwk, alg = ECAlgorithm.to_jwk(public, as_dict=True), "ES256"
        self.published[kid] = {**jwk, "kid": kid, "alg": alg, "use": "sig"}

    def token(self, kid: str, private_key: Any, *, issuer: str | None = None, audience: str = AUDIENCE,
              lifetime: dt.timedelta = dt.timedelta(minutes=5), not_before: dt.timedelta | None = None,
              **claims: Any) -> str:
        now = dt.datetime.now(dt.UTC)
        body = {"iss": issuer or self.url, "aud": audience, "sub": "user-7", "iat": now, "exp": now + lifetime, **claims}
        if not_before is not None:
            body["nbf"] = now + not_before
        alg = "RS256" if isinstance(private_key, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(body, private_key, algorithm=alg, headers={"kid": kid})


RSA_1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_1 = ec.generate_private_key(ec.SECP256R1())
MANAGER = {"realm_access": {"roles": ["offline_access", "perisai-manager"]}, "perisai_scope": "99.01.01 99.01.02"}


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    provider = Issuer()
    provider.publish("rsa-1", RSA_1)
    provider.publish("ec-1", EC_1)
    yield provider
    provider.http.shutdown()


@pytest.fixture(scope="module")
def oidc_server(shared_demo_db: str, issuer: Issuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(shared_demo_db, tmp_path_factory.mktemp("oidc"), PERISAI_OIDC_ISSUER=issuer.url,
                        PERISAI_OIDC_AUDIENCE=AUDIENCE, PERISAI_OIDC_ROLE_CLAIM="realm_access.roles",
                        PERISAI_OIDC_JWKS_CACHE_S=str(CACHE_S), PERISAI_OIDC_JWKS_REFETCH_S=str(REFETCH_S)) as base:
        yield base


ME = "{ me { subject role scope agentCode } }"


def test_a_providers_token_signs_in_with_the_role_and_scope_its_claims_map_to(oidc_server: str, issuer: Issuer) -> None:
    token = issuer.token("rsa-1", RSA_1, **MANAGER)
    assert data(oidc_server, ME, auth=token)["me"] == {
        "subject": "user-7", "role": "manager", "scope": ["99.01.01", "99.01.02"], "agentCode": None}
    inside, outside = '{ district(code: "99.01.02") { code } }', '{ district(code: "99.01.03") { code } }'
    assert data(oidc_server, outside)["district"] == {"code": "99.01.03"}  # it exists (admin)
    assert data(oidc_server, inside, auth=token)["district"] == {"code": "99.01.02"}
    assert error_codes(post(oidc_server, outside, auth=token)) == ["NOT_FOUND"]  # the scope applies
    agent = issuer.token("ec-1", EC_1, realm_access={"roles": ["agent"]}, perisai_agent="AG-0001",
                         perisai_scope="99")  # a scope on an agent's token does not widen or narrow anything
    assert data(oidc_server, ME, auth=agent)["me"] == {
        "subject": "user-7", "role": "agent", "scope": [], "agentCode": "AG-0001"}
    # Our own HS256 tokens keep working beside the provider's.
    assert data(oidc_server, ME)["me"]["role"] == "admin"


def test_a_rotated_key_is_fetched_and_a_revoked_one_refused(oidc_server: str, issuer: Issuer) -> None:
    assert data(oidc_server, ME, auth=issuer.token("rsa-1", RSA_1, **MANAGER))["me"]["role"] == "manager"
    rotated = issuer.token("rsa-2", RSA_2, **MANAGER)
    assert error_codes(post(oidc_server, ME, auth=rotated)) == ["UNAUTHENTICATED"]  # not published yet
    issuer.publish("rsa-2", RSA_2)  # the provider rotates: a new key beside the current one
    time.sleep(REFETCH_S + 0.2)
    assert data(oidc_server, ME, auth=rotated)["me"]["role"] == "manager"  # fetched on first sight
    del issuer.published["rsa-2"]  # ... and revokes it
    time.sleep(CACHE_S + 0.2)
    body = post(oidc_server, ME, auth=rotated)
    assert error_codes(body) == ["UNAUTHENTICATED"] and "does not publish" in body["errors"][0]["message"]
    assert data(oidc_server, ME, auth=issuer.token("rsa-1", RSA_1, **MANAGER))["me"]["role"] == "manager"


def test_unknown_key_ids_do_not_make_the_server_hammer_the_provider(oidc_server: str, issuer: Issuer) -> None:
    time.sleep(REFETCH_S + 0.2)
    before = issuer.jwks_requests
    for i in range(20):
        assert error_codes(post(oidc_server, ME, auth=issuer.token(f"made-up-{i}", RSA_1, **MANAGER))) == ["UNAUTHENTICATED"]
    assert issuer.jwks_requests - before <= 2  # 20 requests in well under 2 refetch intervals


@pytest.mark.parametrize("case", ["other issuer", "other audience", "expired", "not yet valid", "hs256 with the public key",
                                  "alg none", "no role", "two roles", "manager without scope", "bad scope code"])
def test_tokens_the_provider_did_not_issue_for_us_are_unauthenticated(oidc_server: str, issuer: Issuer, case: str) -> None:
    public_pem = RSA_1.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    now = dt.datetime.now(dt.UTC)
    token = {
        "other issuer": lambda: issuer.token("rsa-1", RSA_1, issuer=issuer.url.replace("bpjs", "other"), **MANAGER),
        "other audience": lambda: issuer.token("rsa-1", RSA_1, audience="another-app", **MANAGER),
        "expired": lambda: issuer.token("rsa-1", RSA_1, lifetime=dt.timedelta(minutes=-2), **MANAGER),
        "not yet valid": lambda: issuer.token("rsa-1", RSA_1, not_before=dt.timedelta(minutes=10), **MANAGER),
        # The classic confusion: the provider's public key used as an HMAC secret.
        "hs256 with the public key": lambda: _hs256(public_pem, issuer.url),
        "alg none": lambda: jwt.encode({"iss": issuer.url, "aud": AUDIENCE, "sub": "x",
                                        "exp": now + dt.timedelta(minutes=5), **MANAGER}, None, algorithm="none"),
        "no role": lambda: issuer.token("rsa-1", RSA_1, realm_access={"roles": ["offline_access"]}),
        "two roles": lambda: issuer.token("rsa-1", RSA_1, realm_access={"roles": ["admin", "perisai-planner"]}),
        "manager without scope": lambda: issuer.token("rsa-1", RSA_1, realm_access={"roles": ["manager"]}),
        "bad scope code": lambda: issuer.token("rsa-1", RSA_1, realm_access={"roles": ["manager"]}, perisai_scope=["34.7"]),
    }[case]()
    body = post(oidc_server, ME, auth=token)
    assert body["data"] is None and error_codes(body) == ["UNAUTHENTICATED"], body
    assert REASONS[case] in body["errors"][0]["message"]  # refused for that reason, not another


REASONS = {
    "other issuer": "issued by", "other audience": "Audience doesn't match", "expired": "expired",
    "not yet valid": "not yet valid", "hs256 with the public key": "RS256 or ES256, not HS256",
    "alg none": "RS256 or ES256, not none", "no role": "names no role", "two roles": "several roles (admin, planner)",
    "manager without scope": "needs at least one region code", "bad scope code": "scope '34.7' is not a region code",
}


def _hs256(secret: bytes, issuer_url: str) -> str:
    """A token signed HS256 with `secret`, written by hand: PyJWT refuses to use a PEM key as an
    HMAC secret, which is exactly the attack (an attacker does not use PyJWT's safeguards)."""
    import base64
    import hashlib
    import hmac

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    claims = b64(json.dumps({"iss": issuer_url, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 300,
                             **MANAGER}).encode())
    signature = hmac.new(secret, f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(signature)}"


def test_a_small_clock_skew_is_tolerated(oidc_server: str, issuer: Issuer) -> None:
    early = issuer.token("rsa-1", RSA_1, not_before=dt.timedelta(seconds=30), **MANAGER)  # within 60 s leeway
    assert data(oidc_server, ME, auth=early)["me"]["role"] == "manager"


def test_the_provider_settings_must_come_together(tmp_path: Path) -> None:
    from settings import Settings

    with pytest.raises(ValueError, match="PERISAI_OIDC_AUDIENCE"):
        Settings(oidc_issuer="https://idp.example/realms/bpjs", data_dir=tmp_path)
