"""Endpoints for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST

from hello_birthday.problems import NOT_READY, problem_response
from hello_birthday.services import services
from hello_birthday.storage import Repository, StorageUnavailable

bp = Blueprint("ops", __name__)
# How stale the per-response answer to "draining?" may be: a drain lasts seconds, and a stat
# per response was a measurable part of a GET.
DRAIN_LOOK_SECONDS = 0.05


class Readiness:
    """Whether this process should get traffic: not draining, and storage answered recently."""

    def __init__(
        self,
        repository: Repository,
        drain_marker: Path | None,
        *,
        cache_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repository = repository
        self._drain_marker = drain_marker
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._storage_error: str | None = None
        # Once told to stop, a process never serves normally again.
        self._drained = False
        self._next_drain_look = float("-inf")

    def draining(self) -> bool:
        """True once the server has been told to stop, at most DRAIN_LOOK_SECONDS late."""
        if not self._drained and self._drain_marker is not None:
            now = self._clock()
            if now >= self._next_drain_look:
                self._next_drain_look = now + DRAIN_LOOK_SECONDS
                self._drained = self._drain_marker.exists()
        return self._drained

    def problem(self) -> str | None:
        """Why the process is not ready, or None when it is."""
        # A probe looks at the marker itself: the load balancer must hear of a drain at once.
        if not self._drained and self._drain_marker is not None:
            self._drained = self._drain_marker.exists()
        if self._drained:
            return "The server is shutting down."
        # One probe at a time per process, and at most one per cache period, so a burst of
        # health checks cannot become a burst of storage calls.
        with self._lock:
            now = self._clock()
            if now - self._checked_at >= self._cache_seconds:
                try:
                    self._repository.check()
                    self._storage_error = None
                except StorageUnavailable as error:
                    self._storage_error = f"Storage is not answering: {error}"
                self._checked_at = self._clock()
            return self._storage_error


def _json(body: dict[str, str], status: int = 200) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers; no dependency is consulted."""
    return _json({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: storage answers and the process is not draining."""
    reason = services().readiness.problem()
    if reason is None:
        return _json({"status": "ready"})
    return problem_response(
        NOT_READY.status, NOT_READY.type_uri, NOT_READY.title, reason, NOT_READY.headers()
    )


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition, merged across workers."""
    return Response(services().metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
