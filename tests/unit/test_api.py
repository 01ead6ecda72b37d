"""The HTTP contract through the Flask test client: statuses, bodies, headers, no side effects."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient

from hello_birthday.storage.sqlite import SQLiteRepository

PROBLEM = "application/problem+json"


def put(client: FlaskClient, name: str, body: Any, **kwargs: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    kwargs.setdefault("content_type", "application/json")
    return client.put(f"/hello/{name}", data=data, **kwargs)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def test_put_then_get_greets_with_days(client: FlaskClient) -> None:
    response = put(client, "alice", {"dateOfBirth": "1990-12-03"})
    assert response.status_code == 204
    assert response.data == b""
    assert "Content-Type" not in response.headers
    reply = client.get("/hello/alice")
    assert reply.status_code == 200
    assert reply.mimetype == "application/json"
    assert reply.get_json() == {"message": "Hello, alice! Your birthday is in 5 day(s)"}
    assert reply.headers["Cache-Control"] == "no-store"


def test_happy_birthday_today(client: FlaskClient) -> None:
    put(client, "bob", {"dateOfBirth": "2000-11-28"})
    assert client.get("/hello/bob").get_json() == {"message": "Hello, bob! Happy birthday!"}


def test_put_replaces_and_is_idempotent(client: FlaskClient, repository: SQLiteRepository) -> None:
    for _ in range(2):
        assert put(client, "carol", {"dateOfBirth": "1990-01-01"}).status_code == 204
    assert put(client, "CAROL", {"dateOfBirth": "1991-11-29"}).status_code == 204
    assert repository.get("carol") == date(1991, 11, 29)
    assert client.get("/hello/Carol").get_json() == {
        "message": "Hello, Carol! Your birthday is in 1 day(s)"
    }


def test_names_are_case_insensitive_and_echoed_as_written(client: FlaskClient) -> None:
    put(client, "Zo%C3%AB", {"dateOfBirth": "1990-11-29"})  # composed ë
    reply = client.get("/hello/ZOE%CC%88")  # decomposed Ë
    # Echoed exactly as written in the path: still decomposed.
    assert reply.get_json() == {"message": "Hello, ZOE\u0308! Your birthday is in 1 day(s)"}


def test_unknown_user_is_404(client: FlaskClient) -> None:
    body = assert_problem(client.get("/hello/nobody"), 404)
    assert body["type"].endswith("user-not-found")


@pytest.mark.parametrize(
    "name", ["bob1", "bob_", "bob-x", "bob.x", "bob%20x", "bob%F0%9F%98%80", "a" * 65, "%FF"]
)
def test_invalid_names_are_400_on_get_and_put(
    client: FlaskClient, repository: SQLiteRepository, name: str
) -> None:
    body = assert_problem(client.get(f"/hello/{name}"), 400)
    assert body["errors"][0]["field"] == "username"
    assert_problem(put(client, name, {"dateOfBirth": "1990-01-01"}), 400)
    assert repository.get(name.lower()) is None


@pytest.mark.parametrize(
    "body",
    [
        {"dateOfBirth": "19900101"},
        {"dateOfBirth": "1990-W01-1"},
        {"dateOfBirth": "1990-02-30"},
        {"dateOfBirth": "2026-11-28"},
        {"dateOfBirth": "2030-01-01"},
        {"dateOfBirth": 19900101},
        {"dateOfBirth": None},
        {"dateOfBirth": ["1990-01-01"]},
        {"dateOfBirth": {"y": 1990}},
        {},
        {"dateofbirth": "1990-01-01"},
        {"dateOfBirth": "1990-01-01", "extra": 1},
    ],
)
def test_invalid_bodies_are_400_and_store_nothing(
    client: FlaskClient, repository: SQLiteRepository, body: dict[str, Any]
) -> None:
    problem = assert_problem(put(client, "dave", body), 400)
    assert problem["errors"][0]["field"] in ("dateOfBirth", "dateofbirth", "extra")
    assert repository.get("dave") is None


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[]",
        b'"1990-01-01"',
        b"null",
        b"{",
        b'{"dateOfBirth": NaN}',
        b'{"dateOfBirth": "1990-01-01", "dateOfBirth": "1991-01-01"}',
        b"\xff\xfe",
        b"[" * 2000 + b"]" * 2000,  # deeper than the parser's recursion limit, under 4 KiB
    ],
    ids=lambda raw: repr(raw[:24]),
)
def test_malformed_bodies_are_400_and_store_nothing(
    client: FlaskClient, repository: SQLiteRepository, raw: bytes
) -> None:
    problem = assert_problem(put(client, "erin", raw), 400)
    assert problem["type"].endswith("malformed-body")
    assert repository.get("erin") is None


def test_missing_content_type_is_read_as_json(client: FlaskClient) -> None:
    response = client.put("/hello/fred", data=b'{"dateOfBirth": "1990-01-01"}')
    assert response.status_code == 204


def test_json_suffix_types_are_json(client: FlaskClient) -> None:
    response = put(
        client, "gina", {"dateOfBirth": "1990-01-01"}, content_type="application/merge+json"
    )
    assert response.status_code == 204


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_non_json_content_type_is_415(
    client: FlaskClient, repository: SQLiteRepository, content_type: str
) -> None:
    response = put(client, "hank", {"dateOfBirth": "1990-01-01"}, content_type=content_type)
    assert_problem(response, 415)
    assert repository.get("hank") is None


def test_oversized_body_is_413(client: FlaskClient, repository: SQLiteRepository) -> None:
    body = json.dumps({"dateOfBirth": "1990-01-01", "pad": "x" * 5000})
    assert_problem(put(client, "ivan", body), 413)
    assert repository.get("ivan") is None


def test_other_methods_are_405_with_allow(client: FlaskClient) -> None:
    for method in ("post", "delete", "patch"):
        response = getattr(client, method)("/hello/alice")
        assert_problem(response, 405)
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "PUT"}


@pytest.mark.parametrize("path", ["/", "/hello", "/hello/", "/hello/a/b", "/nope"])
def test_unknown_routes_are_problem_404(client: FlaskClient, path: str) -> None:
    assert_problem(client.get(path), 404)


def test_request_id_is_honoured_or_generated(client: FlaskClient) -> None:
    sent = client.get("/hello/nobody", headers={"X-Request-ID": "abc-123"})
    assert sent.headers["X-Request-ID"] == "abc-123"
    assert sent.get_json(force=True)["requestId"] == "abc-123"
    for insane in ("", "x" * 200, "a b", "<script>"):
        generated = client.get("/healthz", headers={"X-Request-ID": insane})
        assert generated.headers["X-Request-ID"] != insane
        assert len(generated.headers["X-Request-ID"]) == 32
