"""The per-request access line, written without a LogRecord and flushed a moment later."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from typing import Any

from hello_birthday.observability.logs import JsonFormatter, format_log_time
from hello_birthday.observability.worker_pid import current_pid

ACCESS_LOGGER = "hello_birthday.access"
# A route template as a JSON string, encoded once per template.
_ROUTE_ENCODER = json.JSONEncoder(ensure_ascii=False)


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
        if handler in self._pending and self._running_in_pid == current_pid():
            return
        with self._lock:
            self._pending.add(handler)
            # A forked worker inherits the object but not the thread.
            if self._running_in_pid != current_pid():
                self._running_in_pid = current_pid()
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
                encoded_route = self._routes[route] = _ROUTE_ENCODER.encode(route)
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
