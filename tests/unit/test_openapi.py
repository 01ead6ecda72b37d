"""The OpenAPI document is built from the code's own rules and lists every route it serves."""

from __future__ import annotations

import itertools
import re
import sys
import unicodedata
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

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
    assert parameter["schema"]["pattern"] == domain.username_pattern()
    assert parameter["schema"]["maxLength"] == domain.USERNAME_MAX_LENGTH
    body = document["components"]["schemas"]["DateOfBirth"]["properties"]["dateOfBirth"]
    assert body["pattern"] == domain.DATE_PATTERN
    put = document["paths"]["/hello/{username}"]["put"]
    assert str(MAX_BODY_BYTES) in put["requestBody"]["description"]


def test_the_username_pattern_agrees_with_the_rule_on_nfc_text() -> None:
    pattern = re.compile(domain.username_pattern())
    for name in (
        "alice",
        "Zoë",
        "李小龙",
        "ǅemal",
        "राम",
        "مُحَمَّد",
        "\uff41\uff4c\uff49\uff43\uff45",
    ):
        assert pattern.fullmatch(name)
    for name in ("bob1", "bob_", "a b", "😀", "", "\u0301a", "a.b", "a\u00b2", "\u216b"):
        assert not pattern.fullmatch(name)


@given(st.text(min_size=1, max_size=70))
def test_the_username_pattern_is_the_rule(raw: str) -> None:
    normalised = unicodedata.normalize("NFC", raw)
    try:
        domain.parse_username(raw)
        accepted = True
    except domain.ValidationError:
        accepted = False
    matched = len(normalised) <= domain.USERNAME_MAX_LENGTH and bool(
        re.fullmatch(domain.username_pattern(), normalised)
    )
    assert accepted == matched


def test_marks_and_numbers_outside_the_scanned_planes_do_not_exist() -> None:
    skipped = itertools.chain(range(0x20000, 0xE0000), range(0xE1000, sys.maxunicode + 1))
    assert not [p for p in skipped if unicodedata.category(chr(p))[0] in "MN"]


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
