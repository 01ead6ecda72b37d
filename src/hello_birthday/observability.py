"""JSON logs, request ids and Prometheus metrics for every request."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import re
import select
import sys
import threading
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
# The ALB's header, e.g. Root=1-67891233-abcdef012345678912345678;Self=1-...: a client can send
# its own, so only these characters (none needs escaping in JSON) and a bounded length.
_SANE_TRACE_ID = re.compile(r"[A-Za-z0-9=;.:\-]{1,256}")
# Label values must stay few: an arbitrary method from a client would be a new time series.
_KNOWN_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"})
ROUTE_ENVIRON_KEY = "hello_birthday.route"
UNMATCHED_ROUTE = "<unmatched>"

# 0.3 is the latency SLO's threshold (docs/slo.md): the alerts count requests at or under it.
_LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# json.dumps with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)
ACCESS_LOGGER = "hello_birthday.access"
# The second a log time was last formatted in, and its text: most lines share one.
_second_text: tuple[int, str] = (0, "")


def format_log_time(created: float) -> str:
    """ISO 8601 in UTC to the millisecond, as datetime.isoformat(timespec="milliseconds")."""
    global _second_text
    # The fraction rounded to whole microseconds first, as datetime.fromtimestamp does.
    fraction, whole = math.modf(created)
    second, micro = divmod(int(whole) * 1_000_000 + round(fraction * 1_000_000), 1_000_000)
    cached_second, text = _second_text
    if second != cached_second:
        text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _second_text = (second, text)
    return f"{text}.{micro // 1000:03d}+00:00"


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": format_log_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)


def configure_logging(level: str) -> None:
    """Send every logger, ours and the libraries', through one JSON handler on stdout."""
    handler = logging.StreamHandler(_stdout_for_logs())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for previous in root.handlers:
        with contextlib.suppress(OSError, ValueError):
            previous.flush()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # botocore's INFO/DEBUG lines are about credentials and retries, not our requests.
    logging.getLogger("botocore").setLevel(max(logging.WARNING, root.level))


def _stdout_for_logs() -> io.TextIOBase | TextIO:
    """stdout as log lines should be written to it: buffered, in whole lines.

    Container images usually set PYTHONUNBUFFERED, and then every write is a system call; log
    records are flushed by the handler one by one and request lines by _Flusher, so nothing
    waits long. A stream without a file descriptor (a test's capture) is used as it is.
    """
    stream = sys.stdout
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return stream
    stream.flush()
    return WholeLineWriter(fd)


# What POSIX guarantees a pipe writes at once: a container's stdout is a pipe shared by every
# worker, and a larger write to a full pipe can be split around another worker's write.
_ATOMIC_BYTES = getattr(select, "PIPE_BUF", 512)


class WholeLineWriter(io.TextIOBase):
    """A text stream whose flush writes whole lines, in pieces of at most PIPE_BUF bytes.

    io.BufferedWriter writes its buffer when it is full, wherever that falls, and a write to a
    pipe larger than PIPE_BUF is not atomic: with a slow reader, two workers' lines interleave
    mid-line. Here each system call carries whole lines and fits the pipe's atomic size, so a
    line is never split or interleaved, whatever the reader's speed. Only one line longer than
    PIPE_BUF (a long traceback) goes out in one larger write, which the kernel may split.
    """

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._pending: list[str] = []
        self._pending_chars = 0
        self._lock = threading.Lock()

    def writable(self) -> bool:
        """Always."""
        return True

    def fileno(self) -> int:
        """The descriptor written to."""
        return self._fd

    def isatty(self) -> bool:
        """Whether that is a terminal."""
        return os.isatty(self._fd)

    def write(self, text: str) -> int:
        """Buffer text; a large backlog is written at once rather than held."""
        with self._lock:
            self._pending.append(text)
            self._pending_chars += len(text)
            full = self._pending_chars >= 65536
        if full:
            self.flush()
        return len(text)

    def flush(self) -> None:
        """Write what is buffered, whole lines per system call."""
        with self._lock:
            data = "".join(self._pending).encode("utf-8", "backslashreplace")
            self._pending.clear()
            self._pending_chars = 0
            start = 0
            while start < len(data):
                end = start + _ATOMIC_BYTES
                if end < len(data):
                    cut = data.rfind(b"\n", start, end)
                    if cut < 0:  # one line longer than the atomic size: as a whole
                        cut = data.find(b"\n", end)
                        cut = len(data) - 1 if cut < 0 else cut
                    end = cut + 1
                view = memoryview(data)[start:end]
                while view:
                    view = view[os.write(self._fd, view) :]
                start = end


class Metrics:
    """The service's Prometheus instruments, shared by every worker process through files."""

    def __init__(self, multiprocess_dir: Path | None) -> None:
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "hello_http_requests",
            "HTTP requests served, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hello_http_request_duration_seconds",
            "Time to produce a response, by method and route template.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "hello_http_requests_in_flight",
            "Requests being served right now.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.storage_latency = Histogram(
            "hello_storage_operation_duration_seconds",
            "Time spent in storage calls, by engine and operation.",
            ["engine", "operation"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.storage_errors = Counter(
            "hello_storage_errors",
            "Storage calls that failed, by engine and operation.",
            ["engine", "operation"],
            registry=self.registry,
        )
        self.storage_refusals = Counter(
            "hello_storage_refusals",
            "Storage calls the breaker refused without trying, by reason: open after repeated "
            "failures, or shedding while storage is slow.",
            ["reason"],
            registry=self.registry,
        )
        self.threads = Gauge(
            "hello_http_threads",
            "Threads serving requests in all workers; requests in flight beyond this many queue.",
            registry=self.registry,
            # Every worker reports the same total, so a respawned worker is not counted twice.
            multiprocess_mode="max",
        )
        self.auth_failures = Counter(
            "hello_auth_failures",
            "Requests refused by authentication or authorisation, by reason.",
            ["reason"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The text format, merged across worker processes when there are several."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            merged, path=str(self.multiprocess_dir)
        )
        return generate_latest(merged)


ACCESS_LOG_FLUSH_SECONDS = 0.1


class _Flusher:
    """Flushes, a moment later, the streams that access lines were written to unflushed.

    One system call per request line was a tenth of a GET's CPU, and on a pipe (a container's
    stdout) it also wakes the reader every time. Every other log line still flushes at once,
    and the stream is shared, so lines keep their order; a worker that exits normally flushes
    its standard streams, so only a crash can lose lines, and at most this delay's worth.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: set[logging.StreamHandler[Any]] = set()
        self._running_in_pid = 0

    def later(self, handler: logging.StreamHandler[Any]) -> None:
        """Flush this handler's stream within ACCESS_LOG_FLUSH_SECONDS."""
        if handler in self._pending and self._running_in_pid == os.getpid():
            return
        with self._lock:
            self._pending.add(handler)
            # A forked worker inherits the object but not the thread.
            if self._running_in_pid != os.getpid():
                self._running_in_pid = os.getpid()
                threading.Thread(target=self._run, name="access-log-flush", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(ACCESS_LOG_FLUSH_SECONDS)
            with self._lock:
                pending, self._pending = self._pending, set()
            for handler in pending:
                with contextlib.suppress(OSError, ValueError):
                    handler.flush()


_flusher = _Flusher()


class AccessLog:
    """The per-request line: JsonFormatter's output, built without a LogRecord when it can be.

    A LogRecord and the generic formatter cost about a quarter of a GET's CPU. The access line's
    fields are known, and all but the route (encoded once per template) are printable in JSON
    as they are: a sane request id, a known method, digits. The line is flushed by _Flusher.
    """

    def __init__(self) -> None:
        self._logger = logging.getLogger(ACCESS_LOGGER)
        self._routes: dict[str, str] = {}

    def write(
        self,
        request_id: str,
        method: str,
        route: str,
        status: int,
        elapsed: float,
        trace_id: str | None = None,
    ) -> None:
        """Log one request at INFO; trace_id is the ALB's X-Amzn-Trace-Id, when sane."""
        logger = self._logger
        if not logger.isEnabledFor(logging.INFO):
            return
        duration_ms = round(elapsed * 1000, 3)
        handler = self._lone_json_handler()
        if handler is not None:
            encoded_route = self._routes.get(route)
            if encoded_route is None:
                encoded_route = self._routes[route] = _ENCODER.encode(route)
            trace = "" if trace_id is None else f'"trace_id": "{trace_id}", '
            line = (
                f'{{"time": "{format_log_time(time.time())}", "level": "INFO", '
                f'"logger": "{ACCESS_LOGGER}", "message": "request", '
                f'"request_id": "{request_id}", {trace}"method": "{method}", '
                f'"route": {encoded_route}, "status": {status}, "duration_ms": {duration_ms!r}}}\n'
            )
            with handler.lock or contextlib.nullcontext():
                try:
                    handler.stream.write(line)
                    _flusher.later(handler)
                    return
                except (OSError, ValueError):
                    pass  # Logged below, so logging's own error handling reports it.
        fields: dict[str, object] = {} if trace_id is None else {"trace_id": trace_id}
        fields.update(method=method, route=route, status=status, duration_ms=duration_ms)
        logger.info("request", extra=fields)

    def _lone_json_handler(self) -> logging.StreamHandler[Any] | None:
        """The handler a record would meet, when it is only configure_logging's one."""
        logger: logging.Logger | None = self._logger
        while logger is not None:
            if logger.filters or (logger.handlers and logger.parent is not None):
                return None
            if logger.parent is None:
                handlers = logger.handlers
                if len(handlers) != 1:
                    return None
                handler = handlers[0]
                if (
                    type(handler) is logging.StreamHandler
                    and type(handler.formatter) is JsonFormatter
                    and handler.level <= logging.INFO
                    and not handler.filters
                ):
                    return handler
                return None
            logger = logger.parent if logger.propagate else None
        return None


class ObservedApp:
    """WSGI middleware: request id, in-flight gauge, RED metrics and one access log line."""

    def __init__(self, app: WSGIApplication, metrics: Metrics) -> None:
        # Public so a measurement can call the app without this layer (bench/breakdown.py).
        self.wrapped = app
        self._metrics = metrics
        self._access_log = AccessLog()
        # Children by label values, resolved once: labels() validates and locks on every call.
        self._counted: dict[tuple[str, str, str], Counter] = {}
        self._timed: dict[tuple[str, str], Histogram] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        offered = environ.get("HTTP_X_REQUEST_ID")
        request_id = (
            offered
            if offered is not None and _SANE_REQUEST_ID.fullmatch(offered)
            # 128 random bits as 32 hex digits, like a uuid4's hex at a quarter of the CPU.
            else os.urandom(16).hex()
        )
        token = request_id_var.set(request_id)
        status = "500"
        header = ("X-Request-ID", request_id)

        def tagged_start_response(
            status_line: str,
            headers: list[tuple[str, str]],
            exc_info: OptExcInfo | None = None,
        ) -> Callable[[bytes], object]:
            nonlocal status
            status = status_line[:3]
            headers.append(header)
            return start_response(status_line, headers, exc_info)

        started = time.perf_counter()
        self._metrics.in_flight.inc()
        try:
            return self.wrapped(environ, tagged_start_response)
        finally:
            elapsed = time.perf_counter() - started
            self._metrics.in_flight.dec()
            method = environ.get("REQUEST_METHOD", "")
            method = method if method in _KNOWN_METHODS else "OTHER"
            route = environ.get(ROUTE_ENVIRON_KEY, UNMATCHED_ROUTE)
            counted = self._counted.get((method, route, status))
            if counted is None:
                counted = self._metrics.requests.labels(method, route, status)
                self._counted[method, route, status] = counted
            counted.inc()
            timed = self._timed.get((method, route))
            if timed is None:
                timed = self._timed[method, route] = self._metrics.latency.labels(method, route)
            timed.observe(elapsed)
            trace_id = environ.get("HTTP_X_AMZN_TRACE_ID")
            if trace_id is not None and not _SANE_TRACE_ID.fullmatch(trace_id):
                trace_id = None
            self._access_log.write(request_id, method, route, int(status), elapsed, trace_id)
            request_id_var.reset(token)
