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
    auth = settings.auth
    if auth.mode != "jwt":
        return Gate(None, metrics, reads_required=False)
    # Loaded while the worker starts, so the first request with a token does not wait for it.
    import jwt  # noqa: F401

    keys = JwksCache(auth.jwks_url, ttl=auth.jwks_cache_seconds)
    verifier = JwtVerifier(
        keys,
        issuer=auth.issuer,
        audience=auth.audience,
        username_claim=auth.username_claim,
        admin_scope=auth.admin_scope or None,
        leeway=auth.leeway_seconds,
    )
    return Gate(verifier, metrics, reads_required=auth.reads == "required")
