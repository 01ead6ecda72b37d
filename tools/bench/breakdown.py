"""Where a GET's CPU goes: the apps called in-process, no HTTP server, our extras added one by one.

Run as its own process (`python -m tools.bench.breakdown DATABASE WORKDIR USERS [--quick]`):
Prometheus picks its multiprocess mode when first imported, so PROMETHEUS_MULTIPROC_DIR is set
before that.
Prints one JSON object: microseconds of CPU per request for each step. `--quick` runs each step
briefly, for the test that keeps this module working (tests/unit/test_bench_breakdown.py).
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

REQUESTS = 5000
LAYERS = {
    "InstrumentedRepository": "storage latency histogram",
    "CircuitBreaker": "circuit breaker",
}
REQUEST_METRICS = "+ request id, in-flight gauge, request counter and histogram"
ACCESS_LOG = "+ JSON access log line (= ours as served)"
ROUNDS = 5


def _environ(path: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8080",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def cpu_per_request(
    app: WSGIApplication, paths: list[str], requests: int = REQUESTS, rounds: int = ROUNDS
) -> float:
    """Best of `rounds`: microseconds of this process's CPU per request."""
    statuses: list[str] = []

    def start_response(status: str, _headers: Iterable[tuple[str, str]], _exc: Any = None) -> Any:
        statuses.append(status)
        return None

    def serve(count: int) -> None:
        for index in range(count):
            body = app(_environ(paths[index % len(paths)]), start_response)
            b"".join(body)
        if not all(status.startswith("200") for status in statuses):
            raise RuntimeError(f"unexpected answers: {sorted(set(statuses))}")
        statuses.clear()

    serve(min(500, requests))
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        serve(requests)
        best = min(best, (time.process_time() - started) / requests * 1e6)
    return round(best, 1)


def main() -> None:
    """Measure each step and print the JSON."""
    database, workdir, users = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    requests, rounds = (50, 1) if "--quick" in sys.argv[4:] else (REQUESTS, ROUNDS)
    runtime = workdir / "breakdown-runtime"
    (runtime / "metrics").mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(runtime / "metrics")
    os.environ["BENCH_SQLITE_PATH"] = str(database)

    from hello_birthday.app import create_app
    from hello_birthday.observability import ObservedApp, configure_logging
    from hello_birthday.runtime import RuntimeDir
    from hello_birthday.services import install, services_of
    from hello_birthday.settings import Settings
    from hello_birthday.storage import open_repository
    from hello_birthday.storage.chain import build_chain
    from tools.bench.harness import USER_PREFIX
    from tools.bench.reference_flask import app as flask_app
    from tools.bench.reference_wsgi import application
    from tools.local.processes import username

    paths = [f"/hello/{username(USER_PREFIX, index)}" for index in range(min(users, 1000))]
    settings = Settings(sqlite_path=database)
    # The access log goes to a file, as a worker's stdout does when the supervisor's is one.
    log = (workdir / "breakdown-access.log").open("w")
    configure_logging(settings.log_level)
    handler = logging.getLogger().handlers[0]
    if not isinstance(handler, logging.StreamHandler):
        raise RuntimeError("configure_logging no longer installs a StreamHandler")
    handler.setStream(log)
    access = logging.getLogger("hello_birthday.access")
    ours = create_app(settings, runtime=RuntimeDir(runtime))
    wired = services_of(ours)
    observed = ours.wsgi_app
    if not isinstance(observed, ObservedApp):
        raise RuntimeError("create_app no longer wraps the app in ObservedApp")
    # The same chain create_app builds, on an engine of its own, so each layer can be the one
    # requests call.
    layers = build_chain(open_repository(settings), settings, wired.metrics).layers()

    def measure(app: WSGIApplication) -> float:
        return cpu_per_request(app, paths, requests, rounds)

    steps: dict[str, float] = {}
    steps["bare WSGI callable"] = measure(application)
    steps["least Flask app"] = measure(flask_app)
    ours.wsgi_app = observed.wrapped  # type: ignore[method-assign,assignment]
    install(ours, dataclasses.replace(wired, repository=layers[-1]))
    steps["ours: no storage decorators, no metrics, no log, no request id"] = measure(ours)
    for layer in reversed(layers[:-1]):
        install(ours, dataclasses.replace(wired, repository=layer))
        label = LAYERS.get(type(layer).__name__, type(layer).__name__)
        steps[f"+ {label}"] = measure(ours)
    ours.wsgi_app = observed  # type: ignore[method-assign]
    access.setLevel(logging.WARNING)
    steps[REQUEST_METRICS] = measure(ours)
    access.setLevel(logging.NOTSET)
    steps[ACCESS_LOG] = measure(ours)
    log.close()
    print(json.dumps(steps))


if __name__ == "__main__":
    main()
