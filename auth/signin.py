"""Who a bearer token signs in: our own HS256 tokens (development, service accounts, map links)
or, when an OpenID Connect provider is configured, the provider's access tokens."""

from __future__ import annotations

import asyncio

from auth.oidc import OidcVerifier
from auth.tokens import ISSUER, InvalidToken, WrongSecret, viewer_from_token
from db.access import Viewer


class SignIn:
    def __init__(self, secret: bytes, oidc: OidcVerifier | None = None, secret_source: str = "PERISAI_JWT_SECRET") -> None:
        self.secret = secret
        self.oidc = oidc
        self.secret_source = secret_source  # named in the refusal of a token signed with another secret

    async def viewer(self, token: str, *, uses: tuple[str | None, ...] = (None,)) -> Viewer:
        """The token's viewer; InvalidToken (with what to do) when it cannot sign in."""
        if self.oidc is not None and None in uses:
            issuer = self.oidc.claimed_issuer(token)
            if issuer == self.oidc.settings.issuer:
                # Off the event loop: a new or rotated key is fetched from the provider.
                return await asyncio.to_thread(self.oidc.viewer, token)
            if issuer not in (None, ISSUER):
                raise InvalidToken(f"the token was issued by {issuer[:200]!r}; this server accepts tokens from "
                                   f"{self.oidc.settings.issuer} and from `perisai token`")
        try:
            return viewer_from_token(self.secret, token, uses=uses)
        except WrongSecret as exc:
            raise exc.from_source(self.secret_source) from exc

