"""The served OpenAPI document names a bearer token exactly where the running service wants one."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from hello_birthday.app import create_app
from hello_birthday.settings import AuthSettings, Settings
from hello_birthday.storage.sqlite import SQLiteRepository
from tests.support.tokens import AUDIENCE, ISSUER


def served(settings: Settings, repository: SQLiteRepository) -> dict[str, Any]:
    client = create_app(settings, repository=repository).test_client()
    document: dict[str, Any] = json.loads(client.get("/openapi.json").data)
    return document


@pytest.fixture
def jwt_settings(tmp_path: Path) -> Settings:
    return Settings(
        sqlite_path=tmp_path / "unused.sqlite3",
        auth=AuthSettings(
            mode="jwt", jwks_url=str(tmp_path / "jwks.json"), issuer=ISSUER, audience=AUDIENCE
        ),
    )


def test_without_auth_the_document_mentions_no_token(
    repository: SQLiteRepository, tmp_path: Path
) -> None:
    document = served(Settings(sqlite_path=tmp_path / "unused.sqlite3"), repository)
    text = json.dumps(document)
    assert "securitySchemes" not in document["components"]
    assert '"security"' not in text
    assert '"401"' not in text
    assert '"403"' not in text


def test_with_jwt_writes_need_a_bearer_token(
    repository: SQLiteRepository, jwt_settings: Settings
) -> None:
    document = served(jwt_settings, repository)
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert scheme["bearerFormat"] == "JWT"
    put = document["paths"]["/hello/{username}"]["put"]
    get = document["paths"]["/hello/{username}"]["get"]
    assert put["security"] == [{"bearerAuth": []}]
    assert {"401", "403", "503"} <= put["responses"].keys()
    assert "WWW-Authenticate" in put["responses"]["401"]["headers"]
    assert put["responses"]["401"]["content"]["application/problem+json"]["example"]["type"] == (
        "urn:hello-birthday:problem:unauthorized"
    )
    assert "security" not in get
    assert "401" not in get["responses"]
    assert "signing keys" not in get["responses"]["503"]["description"]


def test_with_required_reads_greetings_need_a_token_too(
    repository: SQLiteRepository, jwt_settings: Settings
) -> None:
    document = served(
        dataclasses.replace(
            jwt_settings, auth=dataclasses.replace(jwt_settings.auth, reads="required")
        ),
        repository,
    )
    get = document["paths"]["/hello/{username}"]["get"]
    assert get["security"] == [{"bearerAuth": []}]
    assert "401" in get["responses"]
    # Anyone with a valid token may read, so a read is never forbidden.
    assert "403" not in get["responses"]
