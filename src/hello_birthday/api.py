"""The /hello API: HTTP concerns only; the rules live in the domain module."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from hello_birthday.domain import ValidationError, greeting, parse_date_of_birth, parse_username
from hello_birthday.problems import (
    MALFORMED_BODY,
    UNSUPPORTED_CONTENT_ENCODING,
    UNSUPPORTED_MEDIA_TYPE,
    USER_NOT_FOUND,
    Problem,
)
from hello_birthday.services import services

MAX_BODY_BYTES = 4096
HELLO_ROUTE = "/hello/<username>"
_BODY_FIELDS = frozenset({"dateOfBirth"})
_GREETING_HEADERS = (("Content-Type", "application/json"), ("Cache-Control", "no-store"))

bp = Blueprint("hello", __name__)


@bp.get(HELLO_ROUTE)
def get_greeting(username: str) -> Response:
    """Greet a stored user with the days left until their birthday."""
    wired = services()
    wired.gate.check_read()
    user = parse_username(username)
    repository = wired.repository
    born = repository.get(user.key)
    if born is None and user.legacy_key is not None:
        # Stored before keys folded width, and not written since (decision 0001).
        born = repository.get(user.legacy_key)
    if born is None:
        raise Problem(USER_NOT_FOUND, f"No date of birth is stored for {username!r}.")
    body = json.dumps({"message": greeting(user.display, born, wired.clock())}, ensure_ascii=False)
    # The answer changes at midnight in the service's zone: no cache may keep it.
    return Response(body, 200, _GREETING_HEADERS)


@bp.put(HELLO_ROUTE)
def put_date_of_birth(username: str) -> Response:
    """Save or replace a user's date of birth."""
    wired = services()
    gate = wired.gate
    # Anonymous clients learn nothing about the body's validity: the token is checked first.
    principal = gate.authenticate()
    user = parse_username(username)
    gate.authorize_write(principal, user.key)
    payload = _json_object_body()
    unknown = sorted(set(payload) - _BODY_FIELDS)
    if unknown:
        raise ValidationError(unknown[0], "is not a known field; the body takes only dateOfBirth")
    if "dateOfBirth" not in payload:
        raise ValidationError("dateOfBirth", "is required")
    born = parse_date_of_birth(payload["dateOfBirth"], wired.clock())
    wired.repository.save(user.key, born)
    response = Response(status=204)
    # A 204 has no body, so it has no media type either.
    del response.headers["Content-Type"]
    return response


def _json_object_body() -> dict[str, Any]:
    coding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if coding != "identity":
        # Decoding is not offered: a compressed body could expand far past the size limit, and
        # a body merely labelled gzip must not be stored as if it were plain.
        raise Problem(UNSUPPORTED_CONTENT_ENCODING, headers={"Accept-Encoding": "identity"})
    declared = request.headers.get("Content-Type")
    if declared is not None and not _is_json(request.mimetype):
        raise Problem(
            UNSUPPORTED_MEDIA_TYPE,
            f"The body must be application/json, not {request.mimetype or declared!r}.",
        )
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        # A body with no declared length (chunked, HTTP/2) is read up to one byte past the
        # limit (app.py), so that one too long is refused rather than cut and parsed.
        raise RequestEntityTooLarge()
    if not raw:
        raise _malformed("The request body is empty; send a JSON object with dateOfBirth.")
    try:
        payload = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_reject_duplicate_keys,
            parse_constant=_reject_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _malformed("The request body is not valid UTF-8 JSON.") from None
    if not isinstance(payload, dict):
        raise _malformed("The request body must be a JSON object with dateOfBirth.")
    return payload


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def _malformed(detail: str) -> Problem:
    return Problem(MALFORMED_BODY, detail)


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
