"""Auth settings: off by default, and HELLO_AUTH=jwt refuses to start half-configured."""

from __future__ import annotations

import pytest

from hello_birthday.settings import Settings, SettingsError

JWT = {
    "HELLO_AUTH": "jwt",
    "HELLO_JWT_JWKS_URL": "https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json",
    "HELLO_JWT_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/pool",
    "HELLO_JWT_AUDIENCE": "client",
}


def test_auth_is_off_by_default() -> None:
    settings = Settings.from_env({})
    assert settings.auth.mode == "none"
    assert settings.auth.reads == "optional"
    assert settings.auth.username_claim == "username"
    assert settings.auth.leeway_seconds == 30
    assert settings.auth.jwks_cache_seconds == 300


def test_every_auth_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            **JWT,
            "HELLO_AUTH": "JWT",
            "HELLO_AUTH_READS": "required",
            "HELLO_JWT_USERNAME_CLAIM": "cognito:username",
            "HELLO_JWT_ADMIN_SCOPE": "hello-admins",
            "HELLO_JWT_LEEWAY_SECONDS": "5",
            "HELLO_JWKS_CACHE_SECONDS": "60",
        }
    )
    assert settings.auth.mode == "jwt"
    assert settings.auth.reads == "required"
    assert settings.auth.jwks_url == JWT["HELLO_JWT_JWKS_URL"]
    assert settings.auth.issuer == JWT["HELLO_JWT_ISSUER"]
    assert settings.auth.audience == "client"
    assert settings.auth.username_claim == "cognito:username"
    assert settings.auth.admin_scope == "hello-admins"
    assert settings.auth.leeway_seconds == 5
    assert settings.auth.jwks_cache_seconds == 60


@pytest.mark.parametrize(
    "missing", ["HELLO_JWT_JWKS_URL", "HELLO_JWT_ISSUER", "HELLO_JWT_AUDIENCE"]
)
def test_jwt_needs_keys_issuer_and_audience(missing: str) -> None:
    with pytest.raises(SettingsError, match=f"^{missing}: required when HELLO_AUTH=jwt"):
        Settings.from_env({**JWT, missing: ""})


@pytest.mark.parametrize(
    "url",
    [
        "https://idp.example/jwks.json",
        "http://127.0.0.1:9000/jwks.json",
        "http://localhost/jwks.json",
        "http://[::1]:8000/jwks.json",
        "file:///etc/hello/jwks.json",
        "/etc/hello/jwks.json",
    ],
)
def test_jwks_locations_accepted(url: str) -> None:
    assert Settings.from_env({**JWT, "HELLO_JWT_JWKS_URL": url}).auth.jwks_url == url


@pytest.mark.parametrize(
    "url", ["http://idp.example/jwks.json", "ftp://idp.example/jwks", "jwks.json"]
)
def test_jwks_locations_refused(url: str) -> None:
    # Keys fetched over plain HTTP from another host could be swapped on the way.
    with pytest.raises(SettingsError, match=r"^HELLO_JWT_JWKS_URL: must be an https://"):
        Settings.from_env({**JWT, "HELLO_JWT_JWKS_URL": url})


def test_cognito_self_service_scope_cannot_mark_admins() -> None:
    with pytest.raises(SettingsError, match=r"^HELLO_JWT_ADMIN_SCOPE: every Cognito user"):
        Settings.from_env({**JWT, "HELLO_JWT_ADMIN_SCOPE": "aws.cognito.signin.user.admin"})


def test_required_reads_need_jwt() -> None:
    with pytest.raises(SettingsError, match=r"^HELLO_AUTH_READS: required needs HELLO_AUTH=jwt"):
        Settings.from_env({"HELLO_AUTH_READS": "required"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HELLO_AUTH", "oauth"),
        ("HELLO_AUTH_READS", "sometimes"),
        ("HELLO_JWT_LEEWAY_SECONDS", "-1"),
        ("HELLO_JWT_LEEWAY_SECONDS", "3600"),
        ("HELLO_JWKS_CACHE_SECONDS", "0"),
    ],
)
def test_bad_auth_values_name_their_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name}: "):
        Settings.from_env({**JWT, name: value})
