"""Settings come from HELLO_* variables; a bad one stops startup naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from hello_birthday.__main__ import main
from hello_birthday.settings import Settings, SettingsError, StorageEngine, default_threads


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.storage == "sqlite"
    assert settings.sqlite_path == Path("var/hello.sqlite3")
    assert settings.timezone == "UTC"
    assert settings.workers >= 1


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "HELLO_HOST": "0.0.0.0",  # noqa: S104 - the container's bind address
            "HELLO_PORT": "9000",
            "HELLO_STORAGE": "DynamoDB",
            "HELLO_SQLITE_PATH": "/data/x.db",
            "HELLO_DYNAMODB_TABLE": "people",
            "AWS_REGION": "eu-west-1",
            "HELLO_TIMEZONE": "Europe/London",
            "HELLO_LOG_LEVEL": "debug",
            "HELLO_WORKERS": "3",
            "HELLO_THREADS": "16",
            "HELLO_DRAIN_SECONDS": "0",
            "HELLO_SHUTDOWN_TIMEOUT": "7.5",
            "HELLO_STORAGE_TIMEOUT": "0.5",
            "HELLO_KEEP_ALIVE_SECONDS": "45",
            "HELLO_BODY_TIMEOUT_SECONDS": "2.5",
            "HELLO_MAX_QUEUED_REQUESTS": "10",
            "HELLO_MAX_CONNECTIONS": "500",
            "HELLO_BACKLOG": "256",
        }
    )
    assert settings == Settings(
        host="0.0.0.0",  # noqa: S104
        port=9000,
        storage="dynamodb",
        sqlite_path=Path("/data/x.db"),
        dynamodb_table="people",
        aws_region="eu-west-1",
        timezone="Europe/London",
        log_level="DEBUG",
        workers=3,
        threads=16,
        drain_seconds=0.0,
        shutdown_timeout=7.5,
        storage_timeout=0.5,
        keep_alive_seconds=45.0,
        body_timeout=2.5,
        max_queued_requests=10,
        max_connections=500,
        backlog=256,
    )


def test_default_region_is_accepted() -> None:
    env = {"HELLO_STORAGE": "dynamodb", "AWS_DEFAULT_REGION": "us-west-2"}
    assert Settings.from_env(env).aws_region == "us-west-2"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"HELLO_PORT": "eighty"}, "HELLO_PORT"),
        ({"HELLO_PORT": "0"}, "HELLO_PORT"),
        ({"HELLO_PORT": "70000"}, "HELLO_PORT"),
        ({"HELLO_STORAGE": "postgres"}, "HELLO_STORAGE"),
        ({"HELLO_TIMEZONE": "Mars/Olympus"}, "HELLO_TIMEZONE"),
        ({"HELLO_TIMEZONE": "../../etc/passwd"}, "HELLO_TIMEZONE"),
        ({"HELLO_LOG_LEVEL": "LOUD"}, "HELLO_LOG_LEVEL"),
        ({"HELLO_WORKERS": "0"}, "HELLO_WORKERS"),
        ({"HELLO_THREADS": "1.5"}, "HELLO_THREADS"),
        ({"HELLO_DRAIN_SECONDS": "nan"}, "HELLO_DRAIN_SECONDS"),
        ({"HELLO_SHUTDOWN_TIMEOUT": "-1"}, "HELLO_SHUTDOWN_TIMEOUT"),
        ({"HELLO_STORAGE_TIMEOUT": "inf"}, "HELLO_STORAGE_TIMEOUT"),
        ({"HELLO_STORAGE": "dynamodb"}, "AWS_REGION"),
        ({"HELLO_BODY_TIMEOUT_SECONDS": "0"}, "HELLO_BODY_TIMEOUT_SECONDS"),
        ({"HELLO_MAX_QUEUED_REQUESTS": "-1"}, "HELLO_MAX_QUEUED_REQUESTS"),
        ({"HELLO_MAX_CONNECTIONS": "0"}, "HELLO_MAX_CONNECTIONS"),
        # The kernel would round a smaller accept queue up anyway; granian refuses it.
        ({"HELLO_BACKLOG": "64"}, "HELLO_BACKLOG"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=f"^{named}: "):
        Settings.from_env(env)


def test_cli_reports_a_bad_value_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HELLO_PORT", "eighty")
    assert main(["serve"]) == 2
    error = capsys.readouterr().err
    assert (
        error == "hello-birthday: configuration error: HELLO_PORT: 'eighty' is not a valid number\n"
    )


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_threads_default_by_engine() -> None:
    assert Settings.from_env({}).threads == 4
    assert Settings.from_env({"HELLO_STORAGE": "dynamodb", "AWS_REGION": "x"}).threads == 8
    env = {"HELLO_STORAGE": "dynamodb", "AWS_REGION": "x", "HELLO_THREADS": "2"}
    assert Settings.from_env(env).threads == 2


@pytest.mark.parametrize("engine", ["sqlite", "dynamodb"])
def test_the_thread_default_is_the_same_however_settings_are_made(engine: StorageEngine) -> None:
    from_env = Settings.from_env({"HELLO_STORAGE": engine, "AWS_REGION": "eu-west-1"})
    assert Settings(storage=engine).threads == from_env.threads == default_threads(engine)
