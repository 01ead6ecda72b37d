"""HELLO_AUTH=jwt through the Flask test client: who may write, what every refusal looks like."""

from __future__ import annotations

import dataclasses
import json
import time
import unicodedata
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from flask import Flask
from flask.testing import FlaskClient

from hello_birthday.app import create_app
from hello_birthday.observability import configure_logging
from hello_birthday.settings import AuthSettings, Settings
from hello_birthday.storage.sqlite import SQLiteRepository
from tests.support import tokens
from tests.support.tokens import ADMIN_GROUP, AUDIENCE, ISSUER, Keyring, SigningKey

BORN = "1990-07-14"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def rsa(keyring: Keyring) -> SigningKey:
    return keyring.rsa


@pytest.fixture
def ec(keyring: Keyring) -> SigningKey:
    return keyring.ec


@pytest.fixture
def jwks_file(tmp_path: Path, keyring: Keyring) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(keyring.jwks()))
    return path


@pytest.fixture
def jwt_settings(tmp_path: Path, jwks_file: Path) -> Settings:
    return Settings(
        sqlite_path=tmp_path / "unused.sqlite3",
        auth=AuthSettings(
            mode="jwt",
            jwks_url=str(jwks_file),
            issuer=ISSUER,
            audience=AUDIENCE,
            admin_scope=ADMIN_GROUP,
        ),
    )


AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(repository: SQLiteRepository, jwt_settings: Settings) -> AppFactory:
    def make(**auth_changes: Any) -> Flask:
        auth = dataclasses.replace(jwt_settings.auth, **auth_changes)
        settings = dataclasses.replace(jwt_settings, auth=auth)
        return create_app(settings, repository=repository, clock=date.today)

    return make


@pytest.fixture
def client(make_app: AppFactory) -> FlaskClient:
    return make_app().test_client()


def put(
    client: FlaskClient, name: str, token: str | None, body: object = None, **kwargs: Any
) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    data = json.dumps({"dateOfBirth": BORN} if body is None else body)
    return client.put(
        f"/hello/{name}", data=data, content_type="application/json", headers=headers, **kwargs
    )


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status
    return body


def failures(client: FlaskClient, reason: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    prefix = f'hello_auth_failures_total{{reason="{reason}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0


def test_own_token_sets_own_date_of_birth(
    client: FlaskClient, repository: SQLiteRepository, rsa: SigningKey
) -> None:
    assert put(client, "alice", rsa.sign(tokens.claims("alice"))).status_code == 204
    assert repository.get("alice") == date.fromisoformat(BORN)


def test_es256_tokens_are_accepted(
    client: FlaskClient, repository: SQLiteRepository, ec: SigningKey
) -> None:
    assert put(client, "alice", ec.sign(tokens.claims("alice"))).status_code == 204
    assert repository.get("alice") is not None


def test_username_claim_matches_as_usernames_do(
    client: FlaskClient, repository: SQLiteRepository, rsa: SigningKey
) -> None:
    # Decomposed "Zoë" in the token, composed and upper-cased in the path: the same user.
    token = rsa.sign(tokens.claims(unicodedata.normalize("NFD", "Zoë")))
    assert put(client, "ZOË", token).status_code == 204
    assert repository.get("zoë") is not None


def test_missing_token_is_a_bare_challenge(
    client: FlaskClient, repository: SQLiteRepository
) -> None:
    response = put(client, "alice", None)
    body = problem(response, 401)
    assert body["type"] == "urn:hello-birthday:problem:unauthorized"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="hello-birthday"'
    assert repository.get("alice") is None
    assert failures(client, "missing_token") == 1


def test_other_schemes_count_as_no_token(client: FlaskClient) -> None:
    response = client.put(
        "/hello/alice", json={"dateOfBirth": BORN}, headers={"Authorization": "Basic YTpi"}
    )
    problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="hello-birthday"'


def test_anonymous_clients_learn_nothing_about_the_body(client: FlaskClient) -> None:
    assert put(client, "alice", None, body={"dateOfBirth": "not a date"}).status_code == 401
    response = client.put("/hello/alice", data="x", content_type="text/plain")
    assert response.status_code == 401
    assert client.put("/hello/4lice").status_code == 401
    oversized = client.put("/hello/alice", data="x" * 5000, content_type="application/json")
    assert oversized.status_code == 401


def test_valid_tokens_still_get_validation_answers(client: FlaskClient, rsa: SigningKey) -> None:
    token = rsa.sign(tokens.claims("alice"))
    problem(put(client, "alice", token, body={"dateOfBirth": "14/07/1990"}), 400)
    problem(put(client, "al1ce", token), 400)


@pytest.mark.parametrize("case", tokens.BAD_TOKEN_CASES)
def test_bad_tokens_are_refused_and_nothing_is_stored(
    client: FlaskClient, repository: SQLiteRepository, keyring: Keyring, case: str
) -> None:
    token, reason = tokens.bad_tokens(keyring)[case]
    response = put(client, "alice", token)
    body = problem(response, 401)
    assert body["type"] == "urn:hello-birthday:problem:unauthorized"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="hello-birthday", error="invalid_token", ')
    assert f'error_description="{body["detail"]}"' in challenge
    assert repository.get("alice") is None
    assert failures(client, reason) == 1


# Signing with the short key is the point; PyJWT's warning about it is expected.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_short_rsa_keys_are_refused(
    make_app: AppFactory, repository: SQLiteRepository, tmp_path: Path
) -> None:
    weak = SigningKey("weak", "RS256", generate_private_key(65537, 1024))  # noqa: S505 - on purpose
    published = tmp_path / "weak-jwks.json"
    published.write_text(json.dumps(tokens.jwks(weak)))
    client = make_app(jwks_url=str(published)).test_client()
    problem(put(client, "alice", weak.sign(tokens.claims("alice"))), 401)
    assert repository.get("alice") is None
    assert failures(client, "signature") == 1


def test_small_clock_skew_is_forgiven(
    client: FlaskClient, repository: SQLiteRepository, rsa: SigningKey
) -> None:
    now = int(time.time())
    late = rsa.sign(tokens.claims(iat=now - 300, exp=now - 10))
    early = rsa.sign(tokens.claims("bob", iat=now + 10, nbf=now + 10))
    assert put(client, "alice", late).status_code == 204
    assert put(client, "bob", early).status_code == 204


def test_without_leeway_a_just_expired_token_is_refused(
    make_app: AppFactory, repository: SQLiteRepository, rsa: SigningKey
) -> None:
    client = make_app(leeway_seconds=0).test_client()
    now = int(time.time())
    problem(put(client, "alice", rsa.sign(tokens.claims(iat=now - 300, exp=now - 10))), 401)
    assert repository.get("alice") is None


def test_cognito_access_tokens_carry_client_id_instead_of_aud(
    client: FlaskClient, repository: SQLiteRepository, rsa: SigningKey
) -> None:
    payload = tokens.claims()
    del payload["aud"]
    token = rsa.sign({**payload, "client_id": AUDIENCE, "token_use": "access"})
    assert put(client, "alice", token).status_code == 204
    assert repository.get("alice") is not None


def test_a_listed_audience_is_enough(client: FlaskClient, rsa: SigningKey) -> None:
    token = rsa.sign(tokens.claims(aud=["other", AUDIENCE]))
    assert put(client, "alice", token).status_code == 204


def test_another_users_token_is_forbidden_and_nothing_is_stored(
    client: FlaskClient, repository: SQLiteRepository, rsa: SigningKey
) -> None:
    response = put(client, "bob", rsa.sign(tokens.claims("alice")))
    body = problem(response, 403)
    assert body["type"] == "urn:hello-birthday:problem:forbidden"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert repository.get("bob") is None
    assert repository.get("alice") is None
    assert failures(client, "forbidden") == 1


@pytest.mark.parametrize(
    "username_claim",
    [None, 42, "4lice"],
    ids=["absent", "not a string", "not a username"],
)
def test_tokens_naming_no_valid_user_may_write_nothing(
    client: FlaskClient,
    repository: SQLiteRepository,
    rsa: SigningKey,
    username_claim: object,
) -> None:
    payload = {**tokens.claims(), "username": username_claim}
    if username_claim is None:
        del payload["username"]
    problem(put(client, "alice", rsa.sign(payload)), 403)
    assert repository.get("alice") is None


def test_the_username_claim_is_configurable(
    make_app: AppFactory, repository: SQLiteRepository, rsa: SigningKey
) -> None:
    client = make_app(username_claim="cognito:username").test_client()
    token = rsa.sign(tokens.claims("mallory", **{"cognito:username": "alice"}))
    assert put(client, "alice", token).status_code == 204
    assert put(client, "mallory", token).status_code == 403


@pytest.mark.parametrize(
    "grant",
    [{"cognito:groups": ["staff", ADMIN_GROUP]}, {"scope": f"openid {ADMIN_GROUP}"}],
    ids=["cognito group", "scope"],
)
def test_admins_may_set_anyones_date_of_birth(
    client: FlaskClient, repository: SQLiteRepository, rsa: SigningKey, grant: dict[str, Any]
) -> None:
    assert put(client, "bob", rsa.sign(tokens.claims("root", **grant))).status_code == 204
    assert repository.get("bob") is not None


@pytest.mark.parametrize(
    "grant",
    [{"cognito:groups": "hello-admins"}, {"scope": "hello-admins-lite"}, {"cognito:groups": []}],
    ids=["groups not a list", "scope prefix", "no groups"],
)
def test_near_misses_are_not_admins(
    client: FlaskClient, repository: SQLiteRepository, rsa: SigningKey, grant: dict[str, Any]
) -> None:
    problem(put(client, "bob", rsa.sign(tokens.claims("root", **grant))), 403)
    assert repository.get("bob") is None


def test_without_an_admin_scope_nobody_is_admin(
    make_app: AppFactory, repository: SQLiteRepository, rsa: SigningKey
) -> None:
    client = make_app(admin_scope="").test_client()
    token = rsa.sign(tokens.claims("root", **{"cognito:groups": [ADMIN_GROUP]}))
    problem(put(client, "bob", token), 403)
    assert repository.get("bob") is None


def test_reads_stay_public_by_default(
    client: FlaskClient, repository: SQLiteRepository, rsa: SigningKey
) -> None:
    put(client, "alice", rsa.sign(tokens.claims("alice")))
    assert client.get("/hello/alice").status_code == 200


def test_required_reads_need_a_valid_token_of_anyone(
    make_app: AppFactory, repository: SQLiteRepository, rsa: SigningKey
) -> None:
    client = make_app(reads="required").test_client()
    put(client, "alice", rsa.sign(tokens.claims("alice")))
    response = client.get("/hello/alice")
    problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="hello-birthday"'
    expired = rsa.sign(tokens.claims("bob", iat=0, exp=1))
    problem(client.get("/hello/alice", headers={"Authorization": f"Bearer {expired}"}), 401)
    bob = rsa.sign(tokens.claims("bob"))
    reply = client.get("/hello/alice", headers={"Authorization": f"Bearer {bob}"})
    assert reply.status_code == 200


def test_unreachable_keys_answer_503_and_store_nothing(
    make_app: AppFactory, repository: SQLiteRepository, rsa: SigningKey, tmp_path: Path
) -> None:
    client = make_app(jwks_url=str(tmp_path / "missing.json")).test_client()
    response = put(client, "alice", rsa.sign(tokens.claims("alice")))
    body = problem(response, 503)
    assert body["type"] == "urn:hello-birthday:problem:auth-unavailable"
    assert response.headers["Retry-After"] == "1"
    assert repository.get("alice") is None
    assert failures(client, "jwks_unavailable") == 1
    # Reads that need no token do not depend on the keys.
    assert client.get("/hello/alice").status_code == 404


def test_tokens_never_reach_the_logs(
    capsys: pytest.CaptureFixture[str], make_app: AppFactory, rsa: SigningKey
) -> None:
    configure_logging("INFO")  # as the entry points do; create_app does not
    # Built after capsys so the service's log handler writes into the capture.
    client = make_app().test_client()
    good = rsa.sign(tokens.claims("alice"))
    bad = tokens.tampered(good, username="bob")
    put(client, "alice", good)
    put(client, "bob", bad)
    put(client, "bob", good)
    logged = capsys.readouterr().out
    refusals = [json.loads(line) for line in logged.splitlines() if "refused" in line]
    assert [entry["reason"] for entry in refusals] == ["signature", "forbidden"]
    for part in (*good.split("."), *bad.split(".")):
        assert part not in logged


def test_with_auth_off_authorization_is_ignored(
    make_app: AppFactory, repository: SQLiteRepository
) -> None:
    client = make_app(mode="none").test_client()
    response = client.put(
        "/hello/alice", json={"dateOfBirth": BORN}, headers={"Authorization": "Bearer junk"}
    )
    assert response.status_code == 204
    assert repository.get("alice") is not None
