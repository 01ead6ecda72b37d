"""RFC 9457 problem documents for every error the service returns."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from hello_birthday.domain import ValidationError
from hello_birthday.observability import request_id_var
from hello_birthday.storage import StorageUnavailable
from hello_birthday.storage.port import CallRefused

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "urn:hello-birthday:problem:"
RETRY_AFTER_SECONDS = 1

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProblemType:
    """One kind of error answer: status, the slug of its type URI, title and standard detail.

    Each is written once, here; the handlers, /readyz, the front's refusals and the OpenAPI
    document all take them from this catalogue.
    """

    status: int
    slug: str
    title: str
    detail: str
    # A 503 tells clients when to come back.
    retry_after: bool = False

    @property
    def type_uri(self) -> str:
        """The problem document's `type`."""
        return PROBLEM_BASE + self.slug

    def headers(self) -> dict[str, str]:
        """The headers every answer of this kind carries."""
        return {"Retry-After": str(RETRY_AFTER_SECONDS)} if self.retry_after else {}


UNAVAILABLE = "Service Unavailable"
VALIDATION_ERROR = ProblemType(
    400, "validation-error", "Invalid request", "The request does not meet the API's rules."
)
MALFORMED_BODY = ProblemType(
    400, "malformed-body", "Malformed request body", "The body is not a JSON object."
)
BODY_INCOMPLETE = ProblemType(
    400, "body-incomplete", "Bad Request", "The request body ended before it was complete."
)
UNAUTHORIZED = ProblemType(401, "unauthorized", "Unauthorized", "A bearer token is required.")
FORBIDDEN = ProblemType(
    403, "forbidden", "Forbidden", "The token does not allow setting this user's date of birth."
)
USER_NOT_FOUND = ProblemType(
    404, "user-not-found", "Not Found", "No date of birth is stored for this user."
)
BODY_TIMEOUT = ProblemType(
    408,
    "body-timeout",
    "Request Timeout",
    "The request body did not arrive in time; send it whole, without pauses.",
)
UNSUPPORTED_MEDIA_TYPE = ProblemType(
    415, "unsupported-media-type", "Unsupported Media Type", "The body must be application/json."
)
UNSUPPORTED_CONTENT_ENCODING = ProblemType(
    415,
    "unsupported-content-encoding",
    "Unsupported Media Type",
    "The body must not be content-coded; send it as identity (uncompressed).",
)
STORAGE_UNAVAILABLE = ProblemType(
    503,
    "storage-unavailable",
    UNAVAILABLE,
    "Storage is not answering right now; retry shortly.",
    retry_after=True,
)
AUTH_UNAVAILABLE = ProblemType(
    503,
    "auth-unavailable",
    UNAVAILABLE,
    "The token signing keys cannot be fetched right now; retry shortly.",
    retry_after=True,
)
NOT_READY = ProblemType(
    503, "not-ready", UNAVAILABLE, "The server is not ready to serve requests.", retry_after=True
)
OVERLOADED = ProblemType(
    503,
    "overloaded",
    UNAVAILABLE,
    "The server has more requests than it can serve in time; retry shortly.",
    retry_after=True,
)


class Problem(Exception):
    """An error answer raised from a view: a catalogue entry, with a detail of its own or not."""

    def __init__(
        self,
        kind: ProblemType,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or kind.detail)
        self.kind = kind
        self.detail = detail or kind.detail
        self.headers = kind.headers() | (headers or {})
        self.extensions = extensions


def problem_document(
    status: int, type_: str, title: str, detail: str, instance: str, **extensions: Any
) -> bytes:
    """The problem+json body; never includes a stack trace or stored data."""
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extensions,
    }
    request_id = request_id_var.get()
    if request_id is not None:
        body["requestId"] = request_id
    text = json.dumps(body, ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        # A detail can echo what the client sent, and JSON's \u escapes let a client send a
        # lone surrogate, which UTF-8 cannot carry; escaped, it is valid JSON again.
        return json.dumps(body).encode()


def problem_response(
    status: int,
    type_: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """Build the problem+json response for the request being served."""
    encoded = problem_document(status, type_, title, detail, request.path, **extensions)
    response = Response(encoded, status=status, mimetype=PROBLEM_MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_problem_handlers(app: Flask) -> None:
    """Route every error, the framework's included, through problem_response."""

    @app.errorhandler(Problem)
    def on_problem(error: Problem) -> Response:
        kind = error.kind
        return problem_response(
            kind.status, kind.type_uri, kind.title, error.detail, error.headers, **error.extensions
        )

    @app.errorhandler(ValidationError)
    def on_validation_error(error: ValidationError) -> Response:
        kind = VALIDATION_ERROR
        return problem_response(
            kind.status,
            kind.type_uri,
            kind.title,
            f"{error.field} {error.detail}",
            errors=[{"field": error.field, "message": error.detail}],
        )

    @app.errorhandler(StorageUnavailable)
    def on_storage_unavailable(error: StorageUnavailable) -> Response:
        # Refusals are the breaker shedding or holding off, not storage failing this call:
        # the operator must be able to tell the two apart.
        if isinstance(error, CallRefused):
            _log.warning(
                "storage call refused", extra={"reason": error.reason, "error": str(error)}
            )
        else:
            _log.warning("storage unavailable", extra={"error": str(error)})
        kind = STORAGE_UNAVAILABLE
        return problem_response(kind.status, kind.type_uri, kind.title, kind.detail, kind.headers())

    @app.errorhandler(HTTPException)
    def on_http_exception(error: HTTPException) -> Response:
        status = error.code or 500
        headers: dict[str, str] = {}
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return problem_response(
            status, "about:blank", error.name, error.description or error.name, headers
        )

    @app.errorhandler(Exception)
    def on_unexpected(error: Exception) -> Response:
        _log.exception("unhandled error")
        return problem_response(
            500,
            "about:blank",
            "Internal Server Error",
            "The server failed to answer; the request id identifies it in the logs.",
        )
