"""The OpenAPI document is built from the code's own rules and lists every route it serves."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from hello_birthday import domain
from hello_birthday.api import MAX_BODY_BYTES
from hello_birthday.openapi import build_document

# Served for people and tools, not part of the API contract.
UNDOCUMENTED = {
    "/openapi.json",
    "/docs",
    "/docs/init.js",
    "/docs/<asset>",
    "/static/<path:filename>",
}


def test_every_route_is_documented_and_every_documented_path_exists(app: Flask) -> None:
    served = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()}
    served -= {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path) for path in UNDOCUMENTED}
    assert served == set(build_document()["paths"])


def test_documented_methods_match_the_routes(app: Flask) -> None:
    served: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        served.setdefault(path, set()).update(set(rule.methods or ()) - {"HEAD", "OPTIONS"})
    for path, operations in build_document()["paths"].items():
        assert {m.upper() for m in operations if m != "parameters"} == served[path]


def test_rules_come_from_the_domain() -> None:
    document = build_document()
    parameter: dict[str, Any] = document["paths"]["/hello/{username}"]["parameters"][0]
    assert parameter["schema"]["pattern"] == domain.USERNAME_PATTERN
    assert parameter["schema"]["maxLength"] == domain.USERNAME_MAX_LENGTH
    body = document["components"]["schemas"]["DateOfBirth"]["properties"]["dateOfBirth"]
    assert body["pattern"] == domain.DATE_PATTERN
    put = document["paths"]["/hello/{username}"]["put"]
    assert str(MAX_BODY_BYTES) in put["requestBody"]["description"]


def test_the_username_pattern_agrees_with_the_rule_on_nfc_text() -> None:
    pattern = re.compile(domain.USERNAME_PATTERN)
    for name in ("alice", "Zoë", "李小龙", "ǅemal"):
        assert pattern.fullmatch(name)
    for name in ("bob1", "bob_", "a b", "😀", ""):
        assert not pattern.fullmatch(name)


def test_served_document_is_the_built_one(client: FlaskClient) -> None:
    reply = client.get("/openapi.json")
    assert reply.status_code == 200
    assert reply.get_json() == build_document()


def test_swagger_ui_is_served_locally(client: FlaskClient) -> None:
    page = client.get("/docs").get_data(as_text=True)
    assert "http" not in page.replace("http-equiv", "")  # no CDN, no absolute URLs
    for asset in re.findall(r'(?:src|href)="(docs/[^"]+)"', page):
        assert client.get("/" + asset).status_code == 200, asset
    assert client.get("/docs/../pyproject.toml").status_code == 404
    assert client.get("/docs/swagger-ui.js.map").status_code == 404
