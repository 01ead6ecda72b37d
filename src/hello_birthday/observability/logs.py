"""Logging: one JSON line per record on stdout, each line written whole."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import select
import sys
import threading
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

# Set by the middleware for each request; every log line of the request carries it.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# json.dumps with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)
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
