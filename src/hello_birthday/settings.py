"""Configuration: read once from HELLO_* environment variables into a frozen object."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

T = TypeVar("T")

StorageEngine = Literal["sqlite", "dynamodb"]
AuthMode = Literal["none", "jwt"]
AuthReads = Literal["optional", "required"]
# Every Cognito user's access token carries this scope, so it cannot mark administrators.
_COGNITO_SELF_SERVICE_SCOPE = "aws.cognito.signin.user.admin"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Bearer-token authentication: off, or JWTs from one issuer verified with its JWKS."""

    mode: AuthMode = "none"
    reads: AuthReads = "optional"
    jwks_url: str = ""
    issuer: str = ""
    audience: str = ""
    username_claim: str = "username"
    admin_scope: str = ""
    leeway_seconds: float = 30.0
    jwks_cache_seconds: float = 300.0


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service can be told by its environment."""

    host: str = "127.0.0.1"
    port: int = 8080
    storage: StorageEngine = "sqlite"
    sqlite_path: Path = Path("var/hello.sqlite3")
    dynamodb_table: str = "hello-birthday"
    aws_region: str | None = None
    timezone: str = "UTC"
    log_level: str = "INFO"
    workers: int = field(default_factory=lambda: _cpu_count())
    # 0 stands for the storage engine's default (default_threads), resolved on construction.
    threads: int = 0
    drain_seconds: float = 5.0
    shutdown_timeout: float = 20.0
    storage_timeout: float = 2.0
    # Longer than the ALB's idle timeout (50 s, infra/terraform/modules/alb): the balancer, not
    # the target, must be the one to close an idle connection. 60 s is granian's maximum.
    keep_alive_seconds: float = 60.0
    # A request body must arrive whole this soon after the headers, or the answer is 408: the
    # body is read before a thread is taken, so a stalled one costs only a connection (0010).
    body_timeout: float = 5.0
    # Per worker: requests that may wait for a thread; one more is refused with 503 at once.
    max_queued_requests: int = 64
    # Per worker: connections served at once (granian's backpressure); more wait in the backlog.
    max_connections: int = 4096
    # The listening socket's accept queue (the kernel caps it at net.core.somaxconn).
    backlog: int = 1024
    auth: AuthSettings = field(default_factory=AuthSettings)

    def __post_init__(self) -> None:
        if self.threads == 0:
            object.__setattr__(self, "threads", default_threads(self.storage))

    @property
    def zone(self) -> ZoneInfo:
        """The zone whose calendar decides what "today" is."""
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse the environment, raising SettingsError with the variable's name on a bad value."""
        env = os.environ if environ is None else environ
        reader = _Reader(env)
        defaults = cls()
        storage = reader.choice("HELLO_STORAGE", ("sqlite", "dynamodb"), defaults.storage)
        settings = cls(
            host=reader.text("HELLO_HOST", defaults.host),
            port=reader.number("HELLO_PORT", int, defaults.port, minimum=1, maximum=65535),
            storage=storage,
            sqlite_path=Path(reader.text("HELLO_SQLITE_PATH", str(defaults.sqlite_path))),
            dynamodb_table=reader.text("HELLO_DYNAMODB_TABLE", defaults.dynamodb_table),
            aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            timezone=reader.text("HELLO_TIMEZONE", defaults.timezone),
            log_level=reader.text("HELLO_LOG_LEVEL", defaults.log_level).upper(),
            workers=reader.number("HELLO_WORKERS", int, defaults.workers, minimum=1, maximum=64),
            threads=reader.number("HELLO_THREADS", int, 0, minimum=1, maximum=256),
            drain_seconds=reader.number(
                "HELLO_DRAIN_SECONDS", float, defaults.drain_seconds, minimum=0, maximum=300
            ),
            shutdown_timeout=reader.number(
                "HELLO_SHUTDOWN_TIMEOUT", float, defaults.shutdown_timeout, minimum=1, maximum=600
            ),
            storage_timeout=reader.number(
                "HELLO_STORAGE_TIMEOUT", float, defaults.storage_timeout, minimum=0.05, maximum=60
            ),
            keep_alive_seconds=reader.number(
                "HELLO_KEEP_ALIVE_SECONDS",
                float,
                defaults.keep_alive_seconds,
                minimum=1,
                maximum=60,
            ),
            body_timeout=reader.number(
                "HELLO_BODY_TIMEOUT_SECONDS", float, defaults.body_timeout, minimum=0.1, maximum=60
            ),
            max_queued_requests=reader.number(
                "HELLO_MAX_QUEUED_REQUESTS",
                int,
                defaults.max_queued_requests,
                minimum=0,
                maximum=65536,
            ),
            max_connections=reader.number(
                "HELLO_MAX_CONNECTIONS", int, defaults.max_connections, minimum=1, maximum=60000
            ),
            backlog=reader.number(
                "HELLO_BACKLOG", int, defaults.backlog, minimum=128, maximum=65535
            ),
            auth=_auth_from(reader),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Check the values that cannot be checked one variable at a time."""
        try:
            self.zone  # noqa: B018 - resolving the zone is the check
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"HELLO_TIMEZONE: {self.timezone!r} is not an IANA time zone"
            ) from None
        if logging.getLevelName(self.log_level) == f"Level {self.log_level}":
            raise SettingsError(
                f"HELLO_LOG_LEVEL: {self.log_level!r} is not one of DEBUG, INFO, WARNING, ERROR"
            )
        if self.storage == "dynamodb" and not self.aws_region:
            raise SettingsError("AWS_REGION: required when HELLO_STORAGE=dynamodb")
        if not self.dynamodb_table:
            raise SettingsError("HELLO_DYNAMODB_TABLE: must not be empty")
        self._validate_auth()

    def _validate_auth(self) -> None:
        auth = self.auth
        if auth.mode != "jwt":
            if auth.reads == "required":
                raise SettingsError("HELLO_AUTH_READS: required needs HELLO_AUTH=jwt")
            return
        for name, value in (
            ("HELLO_JWT_JWKS_URL", auth.jwks_url),
            ("HELLO_JWT_ISSUER", auth.issuer),
            ("HELLO_JWT_AUDIENCE", auth.audience),
        ):
            if not value:
                raise SettingsError(f"{name}: required when HELLO_AUTH=jwt")
        location = urlsplit(auth.jwks_url)
        secure = location.scheme == "https" or (
            location.scheme == "http" and location.hostname in _LOOPBACK_HOSTS
        )
        local = location.scheme == "file" or Path(auth.jwks_url).is_absolute()
        if not (secure or local):
            raise SettingsError(
                "HELLO_JWT_JWKS_URL: must be an https:// URL (http:// only on loopback), "
                "a file:// URL or an absolute path"
            )
        if auth.admin_scope == _COGNITO_SELF_SERVICE_SCOPE:
            raise SettingsError(
                f"HELLO_JWT_ADMIN_SCOPE: every Cognito user has {_COGNITO_SELF_SERVICE_SCOPE}; "
                "name a Cognito group or a custom scope"
            )


def _auth_from(reader: _Reader) -> AuthSettings:
    defaults = AuthSettings()
    return AuthSettings(
        mode=reader.choice("HELLO_AUTH", ("none", "jwt"), defaults.mode),
        reads=reader.choice("HELLO_AUTH_READS", ("optional", "required"), defaults.reads),
        jwks_url=reader.text("HELLO_JWT_JWKS_URL", defaults.jwks_url),
        issuer=reader.text("HELLO_JWT_ISSUER", defaults.issuer),
        audience=reader.text("HELLO_JWT_AUDIENCE", defaults.audience),
        username_claim=reader.text("HELLO_JWT_USERNAME_CLAIM", defaults.username_claim),
        admin_scope=reader.text("HELLO_JWT_ADMIN_SCOPE", defaults.admin_scope),
        leeway_seconds=reader.number(
            "HELLO_JWT_LEEWAY_SECONDS", float, defaults.leeway_seconds, minimum=0, maximum=300
        ),
        jwks_cache_seconds=reader.number(
            "HELLO_JWKS_CACHE_SECONDS",
            float,
            defaults.jwks_cache_seconds,
            minimum=1,
            maximum=86400,
        ),
    )


def default_threads(storage: StorageEngine) -> int:
    """Blocking threads per worker when HELLO_THREADS is not set."""
    # A DynamoDB call waits on the network, so more threads buy concurrency; a SQLite call only
    # waits for the GIL, so they buy nothing and cost memory (docs/benchmarks.md).
    return 8 if storage == "dynamodb" else 4


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _Reader:
    """Reads one variable at a time and names it in every error."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str) -> str:
        value = self._env.get(name)
        return default if value is None or value == "" else value.strip()

    def choice(self, name: str, allowed: tuple[T, ...], default: T) -> T:
        value = self._env.get(name)
        if value is None or value == "":
            return default
        for option in allowed:
            if value.strip().lower() == option:
                return option
        raise SettingsError(f"{name}: {value!r} is not one of {', '.join(map(str, allowed))}")

    def number(
        self,
        name: str,
        kind: Callable[[str], T],
        default: T,
        *,
        minimum: float,
        maximum: float,
    ) -> T:
        raw = self._env.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = kind(raw.strip())
        except ValueError:
            raise SettingsError(f"{name}: {raw!r} is not a valid number") from None
        if not minimum <= value <= maximum:  # type: ignore[operator]
            raise SettingsError(f"{name}: {raw!r} must be between {minimum:g} and {maximum:g}")
        return value
