"""The issuer's signing keys: a JWKS fetched over HTTP(S) or from a file, cached by kid."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from hello_birthday.problems import RETRY_AFTER_SECONDS

if TYPE_CHECKING:
    # PyJWT and `cryptography` cost ~10 MB and ~0.14 s per worker: imported only with auth on.
    import jwt

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
