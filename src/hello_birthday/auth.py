"""Optional bearer-token authentication: JWTs signed by keys from a JWKS (e.g. Amazon Cognito).

Verification is PyJWT's; this module decides which keys, algorithms and claims are acceptable
and turns every outcome into an HTTP answer: 401 (no or bad token), 403 (someone else's user)
or 503 (the keys cannot be fetched, so no token can be judged).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from flask import request

from hello_birthday.domain import ValidationError, parse_username
from hello_birthday.observability import Metrics
from hello_birthday.problems import RETRY_AFTER_SECONDS, Problem
from hello_birthday.settings import Settings

if TYPE_CHECKING:
    # PyJWT and `cryptography` cost ~10 MB and ~0.14 s per worker: imported only with auth on.
    import jwt

REALM = "hello-birthday"
# Asymmetric only: with HS* the public JWKS would be the signing secret.
ALGORITHMS = ("RS256", "ES256")
JWKS_TIMEOUT_SECONDS = 2.0
# A JWKS is a few keys; anything much larger is not one.
MAX_JWKS_BYTES = 256 * 1024
# Without a floor, tokens naming random kids would turn every request into a JWKS download.
UNKNOWN_KID_REFRESH_SECONDS = 10.0
# After a failed download, answer 503 at once for this long instead of waiting on it again.
FAILED_FETCH_BACKOFF_SECONDS = float(RETRY_AFTER_SECONDS)

_log = logging.getLogger(__name__)


class AuthUnavailable(Exception):
    """The signing keys cannot be fetched now, so no token can be verified."""


class AuthFailure(Exception):
    """A token was refused; reason is a metric label, description goes to the client."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified token speaks for."""

    username_key: str | None
    admin: bool

    def may_write(self, key: str) -> bool:
        """Everyone may set their own date of birth; an admin may set anyone's."""
        return self.admin or self.username_key == key


class JwksCache:
    """Signing keys by kid: fetched on first use, kept for a TTL, refetched once for a new kid."""

    def __init__(
        self,
        source: str,
        *,
        ttl: float,
        timeout: float = JWKS_TIMEOUT_SECONDS,
        unknown_kid_refresh: float = UNKNOWN_KID_REFRESH_SECONDS,
        failure_backoff: float = FAILED_FETCH_BACKOFF_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._ttl = ttl
        self._timeout = timeout
        self._unknown_kid_refresh = unknown_kid_refresh
        self._failure_backoff = failure_backoff
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] | None = None
        self._fetched_at = float("-inf")
        self._failed_at = float("-inf")
        self._kid_refreshed_at = float("-inf")

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The key with this kid, or None; raises AuthUnavailable when the JWKS cannot be had."""
        with self._lock:
            keys = self._keys
            if keys is None or self._clock() - self._fetched_at >= self._ttl:
                return self._refresh().get(kid)
            found = keys.get(kid)
            if found is not None:
                return found
            if self._clock() - self._kid_refreshed_at < self._unknown_kid_refresh:
                return None
            # An unknown kid is how a key the issuer has just rotated in first shows up.
            self._kid_refreshed_at = self._clock()
            return self._refresh().get(kid)

    def _refresh(self) -> dict[str, jwt.PyJWK]:
        if self._clock() - self._failed_at < self._failure_backoff:
            raise AuthUnavailable("the last JWKS fetch failed moments ago")
        try:
            keys = parse_jwks(self._download())
        except (OSError, ValueError) as error:
            self._failed_at = self._clock()
            _log.warning("jwks fetch failed", extra={"jwks": self._source, "error": str(error)})
            raise AuthUnavailable(str(error)) from None
        self._keys = keys
        self._fetched_at = self._clock()
        _log.info("jwks fetched", extra={"jwks": self._source, "kids": sorted(keys)})
        return keys

    def _download(self) -> bytes:
        location = urlsplit(self._source)
        if location.scheme in ("http", "https"):
            outgoing = urllib.request.Request(  # noqa: S310 - the scheme is checked just above
                self._source, headers={"Accept": "application/json"}
            )
            with urllib.request.urlopen(outgoing, timeout=self._timeout) as reply:  # noqa: S310
                body: bytes = reply.read(MAX_JWKS_BYTES + 1)
        else:
            path = Path(unquote(location.path) if location.scheme == "file" else self._source)
            with path.open("rb") as file:
                body = file.read(MAX_JWKS_BYTES + 1)
        if len(body) > MAX_JWKS_BYTES:
            raise ValueError(f"the JWKS is larger than {MAX_JWKS_BYTES} bytes")
        return body


def parse_jwks(body: bytes) -> dict[str, jwt.PyJWK]:
    """The usable signing keys of a JWKS document by kid; ValueError if there are none."""
    import jwt

    document = json.loads(body)
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("the JWKS has no keys list")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        kid = entry.get("kid")
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue
        # The key, not the token, fixes the algorithm, so an RSA key never verifies an ES256
        # token and no key verifies HS*.
        if isinstance(kid, str) and key.algorithm_name in ALGORITHMS:
            keys[kid] = key
    if not keys:
        raise ValueError("the JWKS has no RS256 or ES256 signing key with a kid")
    return keys


class JwtVerifier:
    """Checks a token's signature, issuer, audience and lifetime, and reads who it names."""

    def __init__(
        self,
        keys: JwksCache,
        *,
        issuer: str,
        audience: str,
        username_claim: str,
        admin_scope: str | None,
        leeway: float,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._username_claim = username_claim
        self._admin_scope = admin_scope
        self._leeway = leeway

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; AuthFailure or AuthUnavailable otherwise."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthFailure("malformed", "The token is not a well-formed JWT.") from None
        if header.get("alg") not in ALGORITHMS:
            raise AuthFailure("algorithm", "The token's signing algorithm is not accepted.")
        kid = header.get("kid")
        key = self._keys.key(kid) if isinstance(kid, str) else None
        if key is None:
            raise AuthFailure("unknown_key", "The token is not signed by a known key.")
        claims = self._decode(token, key)
        if not self._audience_matches(claims):
            raise AuthFailure("audience", "The token is not meant for this service.")
        return Principal(username_key=self._username_key(claims), admin=self._is_admin(claims))

    def _decode(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        import jwt

        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                issuer=self._issuer,
                leeway=self._leeway,
                # The audience rule below also takes Cognito access tokens, which have none.
                options={
                    "require": ["exp", "iss"],
                    "verify_aud": False,
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.ExpiredSignatureError:
            raise AuthFailure("expired", "The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise AuthFailure("not_yet_valid", "The token is not valid yet.") from None
        except jwt.InvalidIssuerError:
            raise AuthFailure("issuer", "The token is not from the accepted issuer.") from None
        except jwt.InvalidAlgorithmError:
            raise AuthFailure(
                "algorithm", "The token's signing algorithm is not accepted."
            ) from None
        except (jwt.InvalidSignatureError, jwt.InvalidKeyError):
            raise AuthFailure("signature", "The token's signature does not verify.") from None
        except jwt.PyJWTError:
            raise AuthFailure("malformed", "The token's claims are malformed.") from None
        return claims

    def _audience_matches(self, claims: Mapping[str, Any]) -> bool:
        if "aud" in claims:
            audience = claims["aud"]
            listed = [audience] if isinstance(audience, str) else audience
            return isinstance(listed, list) and self._audience in listed
        # Cognito access tokens name their app client in client_id and carry no aud.
        return claims.get("client_id") == self._audience and claims.get("token_use") == "access"

    def _username_key(self, claims: Mapping[str, Any]) -> str | None:
        named = claims.get(self._username_claim)
        if not isinstance(named, str):
            return None
        try:
            return parse_username(named).key
        except ValidationError:
            # Not a name the API accepts, so it can match no path.
            return None

    def _is_admin(self, claims: Mapping[str, Any]) -> bool:
        if self._admin_scope is None:
            return False
        scope = claims.get("scope")
        groups = claims.get("cognito:groups")
        return (isinstance(scope, str) and self._admin_scope in scope.split()) or (
            isinstance(groups, list) and self._admin_scope in groups
        )


class Gate:
    """What the API asks before it reads or writes; with auth off, every answer is yes."""

    def __init__(
        self, verifier: JwtVerifier | None, metrics: Metrics, *, reads_required: bool
    ) -> None:
        self._verifier = verifier
        self._metrics = metrics
        self._reads_required = reads_required

    def check_read(self) -> None:
        """Raise a 401/503 problem unless reads are public or the request has a valid token."""
        if self._reads_required:
            self.authenticate()

    def authenticate(self) -> Principal | None:
        """The request's principal; None when auth is off. Raises a 401 or 503 problem."""
        if self._verifier is None:
            return None
        token = _bearer_token(request.headers.get("Authorization"))
        if token is None:
            raise self._unauthorized("missing_token", "A bearer token is required.", None)
        try:
            return self._verifier.verify(token)
        except AuthFailure as failure:
            raise self._unauthorized(failure.reason, failure.description, "invalid_token") from None
        except AuthUnavailable:
            self._metrics.auth_failures.labels("jwks_unavailable").inc()
            raise Problem(
                503,
                "auth-unavailable",
                "Service Unavailable",
                "The token signing keys cannot be fetched right now; retry shortly.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None

    def authorize_write(self, principal: Principal | None, key: str) -> None:
        """Raise a 403 problem unless the principal may set the date of birth under key."""
        if principal is None or principal.may_write(key):
            return
        self._metrics.auth_failures.labels("forbidden").inc()
        _log.info("authorisation refused", extra={"reason": "forbidden"})
        raise Problem(
            403,
            "forbidden",
            "Forbidden",
            "The token does not allow setting this user's date of birth.",
            headers={
                "WWW-Authenticate": _challenge(
                    "insufficient_scope", "The token may only set its own user's date of birth."
                )
            },
        )

    def _unauthorized(self, reason: str, description: str, error: str | None) -> Problem:
        self._metrics.auth_failures.labels(reason).inc()
        # The reason and our own description only: the token itself is never logged.
        _log.info("authentication refused", extra={"reason": reason})
        return Problem(
            401,
            "unauthorized",
            "Unauthorized",
            description,
            headers={"WWW-Authenticate": _challenge(error, description)},
        )


def _bearer_token(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        # Another scheme is no bearer token at all: RFC 6750 says challenge without an error.
        return None
    return token.strip()


def _challenge(error: str | None, description: str) -> str:
    if error is None:
        return f'Bearer realm="{REALM}"'
    return f'Bearer realm="{REALM}", error="{error}", error_description="{description}"'


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
