"""What `create_app` builds for the views, in one typed object under one `app.extensions` key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from hello_birthday.auth import Gate
    from hello_birthday.observability import Metrics
    from hello_birthday.ops import Readiness
    from hello_birthday.storage import Repository

EXTENSION_KEY = "hello_birthday"
Clock = Callable[[], date]


@dataclass(frozen=True, slots=True)
class Services:
    """The app's collaborators; views reach them through `services()`."""

    # What requests call: the outer end of the storage chain.
    repository: Repository
    gate: Gate
    clock: Clock
    metrics: Metrics
    readiness: Readiness
    openapi_document: bytes


def install(app: Flask, wired: Services) -> None:
    """Give the app its services (create_app does; the benchmark swaps layers this way)."""
    app.extensions[EXTENSION_KEY] = wired


def services_of(app: Flask) -> Services:
    """An app's services, outside a request."""
    wired: Services = app.extensions[EXTENSION_KEY]
    return wired


def services() -> Services:
    """The current app's services, inside a request or app context."""
    wired: Services = current_app.extensions[EXTENSION_KEY]
    return wired
