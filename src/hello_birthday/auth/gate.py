"""The HTTP gate: every authentication outcome as an answer, 401, 403 or 503.

Verification is PyJWT's (in `tokens`); this module reads the bearer token from the request and
turns a refusal or an unavailable key set into a problem document with its challenge.
"""

from __future__ import annotations

import logging

from flask import request

from hello_birthday.auth.jwks import AuthUnavailable
from hello_birthday.auth.tokens import AuthFailure, JwtVerifier, Principal
from hello_birthday.observability import Metrics
from hello_birthday.problems import AUTH_UNAVAILABLE, FORBIDDEN, UNAUTHORIZED, Problem

REALM = "hello-birthday"

_log = logging.getLogger(__name__)


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
            raise Problem(AUTH_UNAVAILABLE) from None

    def authorize_write(self, principal: Principal | None, key: str) -> None:
        """Raise a 403 problem unless the principal may set the date of birth under key."""
        if principal is None or principal.may_write(key):
            return
        self._metrics.auth_failures.labels("forbidden").inc()
        _log.info("authorisation refused", extra={"reason": "forbidden"})
        raise Problem(
            FORBIDDEN,
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
            UNAUTHORIZED,
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
