"""Optional bearer-token authentication: JWTs signed by keys from a JWKS (e.g. Amazon Cognito).

`jwks` fetches and caches the keys, `tokens` holds the rules a token must meet, `gate` answers
for the HTTP side; `build_gate` wires them from the settings.
"""

from __future__ import annotations

from hello_birthday.auth.gate import Gate
from hello_birthday.auth.jwks import AuthUnavailable, JwksCache
from hello_birthday.auth.tokens import AuthFailure, JwtVerifier, Principal
from hello_birthday.observability import Metrics
from hello_birthday.settings import Settings

__all__ = [
    "AuthFailure",
    "AuthUnavailable",
    "Gate",
    "JwksCache",
    "JwtVerifier",
    "Principal",
    "build_gate",
]


def build_gate(settings: Settings, metrics: Metrics) -> Gate:
    """The gate the settings describe."""
    if settings.auth != "jwt":
        return Gate(None, metrics, reads_required=False)
    # Loaded while the worker starts, so the first request with a token does not wait for it.
    import jwt  # noqa: F401

    keys = JwksCache(settings.jwt_jwks_url, ttl=settings.jwks_cache_seconds)
    verifier = JwtVerifier(
        keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        username_claim=settings.jwt_username_claim,
        admin_scope=settings.jwt_admin_scope or None,
        leeway=settings.jwt_leeway_seconds,
    )
    return Gate(verifier, metrics, reads_required=settings.auth_reads == "required")
