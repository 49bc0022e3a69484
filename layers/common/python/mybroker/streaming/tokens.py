"""Verifying a Cognito access token the way API Gateway's JWT authorizer does (``local_runtime/http_api.py``
``JwtAuthorizer`` does the same for the HTTP API): RS256 signature against the pool's JWKS, issuer, the app
client (``client_id`` on access tokens, ``aud`` on ID tokens), ``token_use`` = ``access``, ``exp``, ``nbf``."""

from __future__ import annotations

from typing import Any

import jwt

JWKS_LIFESPAN_S = 300


def issuer_of(region: str, user_pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


class CognitoVerifier:
    def __init__(self, issuer: str, client_id: str, jwks_url: str) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=JWKS_LIFESPAN_S, timeout=5)

    def claims(self, token: str | None) -> dict[str, Any] | None:
        """The token's claims when it is a valid, current access token of this pool and client; else None."""
        if not token or len(token) > 8192:
            return None
        try:
            key = self.jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(token, key.key, algorithms=["RS256"], issuer=self.issuer,
                                                options={"verify_aud": False, "require": ["exp", "iss", "sub"]})
        except (jwt.PyJWTError, OSError, ValueError):
            return None
        audience = claims.get("client_id", claims.get("aud"))
        audiences = set(audience) if isinstance(audience, list) else {audience}
        if self.client_id not in audiences or claims.get("token_use", "access") != "access":
            return None
        return claims


def token_from(query: dict[str, str] | None, headers: dict[str, str] | None, protocol: str) -> str | None:
    """The token of a WebSocket handshake: ``?token=`` or the subprotocol offered after ``protocol``."""
    if query and query.get("token"):
        return query["token"]
    offered = next((v for k, v in (headers or {}).items() if k.lower() == "sec-websocket-protocol"), None)
    if offered:
        parts = [p.strip() for p in offered.split(",") if p.strip()]
        if len(parts) >= 2 and parts[0] == protocol:
            return parts[1]
    return None
