"""RFC 9457 problem documents for every error the service returns."""

from __future__ import annotations

import json
import logging
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


class Problem(Exception):
    """An error answer raised from a view, rendered as a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers or {}
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
        return problem_response(
            error.status,
            PROBLEM_BASE + error.slug,
            error.title,
            error.detail,
            error.headers,
            **error.extensions,
        )

    @app.errorhandler(ValidationError)
    def on_validation_error(error: ValidationError) -> Response:
        return problem_response(
            400,
            PROBLEM_BASE + "validation-error",
            "Invalid request",
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
        return problem_response(
            503,
            PROBLEM_BASE + "storage-unavailable",
            "Service Unavailable",
            "Storage is not answering right now; retry shortly.",
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

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
