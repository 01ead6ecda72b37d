"""The OpenAPI 3.1 document, built in one pass from the constants the code enforces."""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

from hello_birthday.api import MAX_BODY_BYTES
from hello_birthday.domain import DATE_PATTERN, USERNAME_MAX_LENGTH, username_pattern
from hello_birthday.problems import (
    FORBIDDEN,
    NOT_READY,
    PROBLEM_MEDIA_TYPE,
    STORAGE_UNAVAILABLE,
    UNAUTHORIZED,
    UNSUPPORTED_MEDIA_TYPE,
    USER_NOT_FOUND,
    VALIDATION_ERROR,
    ProblemType,
)
from hello_birthday.settings import AuthSettings


def _problem(kind: ProblemType, detail: str | None = None) -> dict[str, Any]:
    """A response of one catalogue kind, with an example of its document."""
    return _response(kind.status, kind.type_uri, kind.title, detail or kind.detail)


def _response(status: int, example_type: str, title: str, detail: str) -> dict[str, Any]:
    return {
        "description": title,
        "content": {
            PROBLEM_MEDIA_TYPE: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": {
                    "type": example_type,
                    "title": title,
                    "status": status,
                    "detail": detail,
                    "instance": "/hello/alice",
                    "requestId": "3f2a0c6de1b44a0e9d6f1a2b3c4d5e6f",
                },
            }
        },
    }


def _retry_after() -> dict[str, Any]:
    return {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "string"},
        }
    }


def build_document(auth: AuthSettings | None = None) -> dict[str, Any]:
    """The whole OpenAPI document; with JWT auth on, the operations that demand a token say so."""
    username = {
        "name": "username",
        "in": "path",
        "required": True,
        "description": (
            f"1 to {USERNAME_MAX_LENGTH} letters, counted in code points after NFC "
            "normalisation, where a letter is a Unicode letter (general category L) optionally "
            "followed by combining marks (category M); it starts with a letter. Case- and "
            "width-insensitive: the key is the NFKC casefold, so full-width alice is alice; the "
            "greeting echoes the name as written in the path."
        ),
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": USERNAME_MAX_LENGTH,
            "pattern": username_pattern(),
        },
        "example": "alice",
    }
    bad_request = _problem(VALIDATION_ERROR, "username must contain only letters")
    unavailable = _problem(STORAGE_UNAVAILABLE)
    unavailable["headers"] = _retry_after()
    not_allowed = _response(
        405, "about:blank", "Method Not Allowed", "The method is not allowed for the URL."
    )
    not_allowed["headers"] = {
        "Allow": {"description": "The methods the URL accepts.", "schema": {"type": "string"}}
    }
    get = {
        "operationId": "getGreeting",
        "summary": "Greet a user with the days left until their birthday",
        "responses": {
            "200": {
                "description": "The greeting",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/Greeting"},
                        "examples": {
                            "days": {
                                "value": {"message": ("Hello, alice! Your birthday is in 5 day(s)")}
                            },
                            "today": {"value": {"message": "Hello, alice! Happy birthday!"}},
                        },
                    }
                },
            },
            "400": bad_request,
            "404": _problem(USER_NOT_FOUND, "No date of birth is stored for 'alice'."),
            "405": not_allowed,
            "503": unavailable,
        },
    }
    put = {
        "operationId": "putDateOfBirth",
        "summary": "Save or replace a user's date of birth",
        "requestBody": {
            "required": True,
            "description": f"At most {MAX_BODY_BYTES} bytes.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/DateOfBirth"}}
            },
        },
        "responses": {
            "204": {"description": "Saved"},
            "400": bad_request,
            "405": not_allowed,
            "413": _response(
                413,
                "about:blank",
                "Request Entity Too Large",
                "The data value transmitted exceeds the capacity limit.",
            ),
            "415": _problem(
                UNSUPPORTED_MEDIA_TYPE, "The body must be application/json, not 'text/plain'."
            )
            | {
                "description": (
                    "The body declares a media type other than JSON, or a "
                    "Content-Encoding other than identity"
                )
            },
            "503": unavailable,
        },
    }
    tokens = auth is not None and auth.mode == "jwt"
    if tokens:
        put = _needs_token(put, writes=True)
    if tokens and auth is not None and auth.reads == "required":
        get = _needs_token(get, writes=False)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hello Birthday",
            "version": version("hello-birthday"),
            "description": (
                "Stores dates of birth and greets people. Every error is an RFC 9457 problem "
                "document (application/problem+json). OPTIONS on any path answers 204 with "
                "no body and the path's methods in Allow."
            ),
        },
        "paths": {
            "/hello/{username}": {
                "parameters": [username],
                "get": get,
                "put": put,
            },
            "/healthz": {
                "get": {
                    "operationId": "liveness",
                    "summary": "Liveness: the process answers",
                    "responses": {"200": _status_response("ok")},
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "readiness",
                    "summary": "Readiness: storage answers and the process is not draining",
                    "responses": {
                        "200": _status_response("ready"),
                        "503": _problem(NOT_READY, "The server is shutting down.")
                        | {"headers": _retry_after()},
                    },
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics, merged across worker processes",
                    "responses": {
                        "200": {
                            "description": "Prometheus text exposition format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {
            **({"securitySchemes": {"bearerAuth": _BEARER_SCHEME}} if tokens else {}),
            "schemas": {
                "DateOfBirth": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["dateOfBirth"],
                    "properties": {
                        "dateOfBirth": {
                            "type": "string",
                            "format": "date",
                            "pattern": DATE_PATTERN,
                            "description": "A real calendar date strictly before today.",
                            "examples": ["1990-07-14"],
                        }
                    },
                },
                "Greeting": {
                    "type": "object",
                    "required": ["message"],
                    "properties": {"message": {"type": "string"}},
                },
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "instance": {"type": "string"},
                        "requestId": {"type": "string"},
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["field", "message"],
                                "properties": {
                                    "field": {"type": "string"},
                                    "message": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    }


def _status_response(status: str) -> dict[str, Any]:
    return {
        "description": f"Status {status}",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"type": "string", "const": status}},
                }
            }
        },
    }


def encoded_document(auth: AuthSettings | None = None) -> bytes:
    """The document serialised once, as it is served."""
    return json.dumps(build_document(auth), ensure_ascii=False, indent=2).encode()


_BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": (
        "An RS256 or ES256 JWT from the configured issuer (e.g. an Amazon Cognito ID or "
        "access token). Its username claim must name the path's user unless it carries "
        "the admin group or scope."
    ),
}
_CHALLENGE = {
    "WWW-Authenticate": {
        "description": "The RFC 6750 Bearer challenge, with the error when there is one.",
        "schema": {"type": "string"},
    }
}


def _needs_token(operation: dict[str, Any], *, writes: bool) -> dict[str, Any]:
    """An operation that demands a bearer token: its security and the refusals that come with it."""
    responses = dict(operation["responses"])
    responses["401"] = _problem(UNAUTHORIZED, "The token has expired.") | {"headers": _CHALLENGE}
    if writes:
        responses["403"] = _problem(FORBIDDEN) | {"headers": _CHALLENGE}
    responses["503"] = responses["503"] | {
        "description": "Storage, or the issuer's signing keys, cannot be reached"
    }
    return operation | {"security": [{"bearerAuth": []}], "responses": responses}
