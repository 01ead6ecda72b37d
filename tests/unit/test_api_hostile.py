"""Inputs an attacker would send: none may cause a 5xx, a redirect or an HTML answer."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hello_birthday.storage.sqlite import SQLiteRepository
from tests.unit.test_api import PROBLEM, assert_problem, put

# Every code point, lone surrogates included and made common: hypothesis leaves category Cs
# out unless told, and they are what JSON's \u escapes let a client smuggle in.
# (st.text would merge the two alphabets and make surrogates as rare as they are in Unicode.)
any_text = st.lists(
    st.characters(exclude_categories=[]) | st.characters(categories=["Cs"]), max_size=20
).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
# The parser's interesting cases: dateOfBirth present or not, beside arbitrary other keys.
bodies = st.dictionaries(any_text, json_values, max_size=4) | st.builds(
    lambda extra, born: {**extra, "dateOfBirth": born},
    st.dictionaries(any_text, json_values, max_size=3),
    json_values | st.dates().map(str),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(body=bodies | json_values)
def test_any_json_body_is_answered_without_a_5xx(client: FlaskClient, body: Any) -> None:
    response = put(client, "zed", json.dumps(body))  # ASCII escapes: surrogates get through
    assert response.status_code < 500
    if response.status_code != 204:
        problem = assert_problem(response, response.status_code)
        assert problem["instance"] == "/hello/zed"


def test_lone_surrogate_key_is_400_naming_it(client: FlaskClient) -> None:
    response = put(client, "zed", '{"\\ud800": 1, "dateOfBirth": "1990-01-01"}')
    body = assert_problem(response, 400)
    assert body["errors"] == [{"field": "\ud800", "message": body["errors"][0]["message"]}]


def test_merged_slashes_are_a_404_not_a_redirect(client: FlaskClient) -> None:
    for method in ("get", "put"):
        response = getattr(client, method)("/hello//alice", headers={"Host": "evil.example"})
        assert_problem(response, 404)
        assert "Location" not in response.headers


def test_options_is_204_with_allow_and_no_body(client: FlaskClient) -> None:
    response = client.options("/hello/alice")
    assert response.status_code == 204
    assert response.data == b""
    assert "Content-Type" not in response.headers
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS, PUT"
    assert client.options("/healthz").headers["Allow"] == "GET, HEAD, OPTIONS"


def test_websocket_upgrade_is_ignored_and_the_get_served(client: FlaskClient) -> None:
    put(client, "alice", {"dateOfBirth": "1990-12-03"})
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade"}
    response = client.get("/hello/alice", headers=upgrade)
    assert response.status_code == 200
    assert response.get_json() == {"message": "Hello, alice! Your birthday is in 5 day(s)"}
    refused = client.delete("/hello/alice", headers=upgrade)
    assert_problem(refused, 405)
    assert refused.headers["Allow"] == "GET, HEAD, OPTIONS, PUT"


def test_a_content_coding_is_415_and_nothing_is_stored(
    client: FlaskClient, repository: SQLiteRepository
) -> None:
    for coding in ("gzip", "br, identity", "x-unknown"):
        response = put(
            client, "bob", {"dateOfBirth": "1990-01-01"}, headers={"Content-Encoding": coding}
        )
        problem = assert_problem(response, 415)
        assert problem["type"] == "urn:hello-birthday:problem:unsupported-content-encoding"
        assert response.headers["Accept-Encoding"] == "identity"
    assert repository.get("bob") is None
    identity = {"Content-Encoding": "Identity"}
    assert put(client, "bob", {"dateOfBirth": "1990-01-01"}, headers=identity).status_code == 204


def test_problem_mimetype_is_the_problem_one(client: FlaskClient) -> None:
    assert client.get("/hello//x").mimetype == PROBLEM


def test_width_variants_are_one_user(client: FlaskClient, repository: SQLiteRepository) -> None:
    assert (
        put(client, "\uff41\uff4c\uff49\uff43\uff45", {"dateOfBirth": "1990-12-03"}).status_code
        == 204
    )
    assert client.get("/hello/alice").get_json() == {
        "message": "Hello, alice! Your birthday is in 5 day(s)"
    }
    assert put(client, "राम", {"dateOfBirth": "1990-12-03"}).status_code == 204


def test_a_row_under_its_old_key_is_still_found(
    client: FlaskClient, repository: SQLiteRepository
) -> None:
    # Before issue 16 the key was the NFC casefold: a full-width name kept its width.
    repository.save("\uff42\uff4f\uff42", date(1990, 12, 3))
    assert client.get("/hello/\uff42\uff4f\uff42").status_code == 200
    put(client, "\uff42\uff4f\uff42", {"dateOfBirth": "1990-12-04"})
    assert repository.get("bob") == date(1990, 12, 4)
    assert client.get("/hello/\uff42\uff4f\uff42").get_json() == {
        "message": "Hello, \uff42\uff4f\uff42! Your birthday is in 6 day(s)"
    }
