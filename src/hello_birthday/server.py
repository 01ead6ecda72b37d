"""The production server: granian WSGI workers under a supervisor that drains before stopping."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from prometheus_client import multiprocess

from hello_birthday.observability import configure_logging
from hello_birthday.runtime import RuntimeDir
from hello_birthday.settings import Settings
from hello_birthday.storage import StorageUnavailable, prepare_storage

_log = logging.getLogger("hello_birthday.server")
_KILL_MARGIN_SECONDS = 5.0
# How soon granian replaces a worker that died (OOM kill, a crash in a C extension): the other
# workers serve meanwhile, so a short pause is enough to keep a crash loop from eating the CPU.
_RESPAWN_SECONDS = 1.0


def granian_command(settings: Settings, log_config: Path) -> list[str]:
    """The granian invocation for these settings."""
    return [
        sys.executable,
        "-m",
        "granian",
        # RSGI, not WSGI: the front reads each body on the event loop, under a deadline,
        # before the request takes one of its threads (hello_birthday.front).
        "--interface",
        "rsgi",
        "--no-ws",
        # uvloop: the front hands every request between the loop and a thread, and uvloop's
        # wake-ups cost less than asyncio's (decision 0010 has the numbers).
        "--loop",
        "uvloop",
        "--factory",
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--workers",
        str(settings.workers),
        # Connections per worker: past them a connection waits in the backlog, unserved; the
        # front refuses excess requests long before (decision 0010).
        "--backpressure",
        str(settings.max_connections),
        "--backlog",
        str(settings.backlog),
        # No --workers-kill-timeout: past the shutdown timeout the supervisor kills the workers
        # itself, so it knows it did and can exit non-zero (granian exits 0 after its own kill).
        "--respawn-failed-workers",
        "--respawn-interval",
        str(_RESPAWN_SECONDS),
        # hyper's header-read timeout is also how long an idle keep-alive connection is kept;
        # it must outlast the ALB's idle timeout, or the ALB reuses a connection being closed.
        "--http1-header-read-timeout",
        str(round(settings.keep_alive_seconds * 1000)),
        "--log-config",
        str(log_config),
        "--no-access-log",
        "hello_birthday.front:create_front_from_env",
    ]


def _stop_with_parent() -> None:
    """Ask Linux to send SIGTERM to granian if this supervisor dies, even by SIGKILL."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _write_log_config(path: Path, level: str) -> None:
    """Make granian's own log lines JSON too, through the same formatter."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "hello_birthday.observability.logs.JsonFormatter"}},
        "handlers": {"stdout": handler},
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {"_granian": {"handlers": ["stdout"], "level": level, "propagate": False}},
    }
    path.write_text(json.dumps(config))


def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT, then drain and stop; the exit code is 0 on a clean stop."""
    configure_logging(settings.log_level)
    try:
        prepare_storage(settings)
    except StorageUnavailable as error:
        _log.error("cannot open storage", extra={"error": str(error)})
        return 1
    stop_requested = threading.Event()
    signals_seen = 0

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal signals_seen
        signals_seen += 1
        stop_requested.set()

    runtime = RuntimeDir.create()
    try:
        _write_log_config(runtime.log_config, settings.log_level)
        env = {**os.environ, **runtime.environment()}
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        # The command is built from validated settings and our own interpreter path.
        child = subprocess.Popen(  # noqa: S603
            granian_command(settings, runtime.log_config),
            env=env,
            # Its own session: a Ctrl+C or a signal to our process group must not reach granian
            # before the drain is over; only this supervisor tells it when to stop.
            start_new_session=True,
            preexec_fn=_stop_with_parent,
        )
        _log.info(
            "server starting",
            extra={
                "host": settings.host,
                "port": settings.port,
                "workers": settings.workers,
                "storage": settings.storage,
            },
        )
        workers = _Workers(child.pid, runtime.metrics)
        while not stop_requested.wait(0.2):
            if child.poll() is not None:
                _log.error("server exited unexpectedly", extra={"exit_code": child.returncode})
                return child.returncode or 1
            workers.retire_dead()
        return _drain_and_stop(child, runtime, settings, lambda: signals_seen > 1)
    finally:
        runtime.remove()


_PID_FILE = re.compile(r"_(\d+)\.db$")


class _Workers:
    """granian's worker processes, watched so a dead one's metric files can be retired.

    granian replaces a worker that dies; its in-flight gauge file would still count the
    requests it was serving when it died, so it is removed. Its counter and histogram files
    stay: they hold what it served, and totals must not go backwards. Lines it had buffered
    for stdout (at most ACCESS_LOG_FLUSH_SECONDS of access lines) die with it.
    """

    def __init__(self, granian_pid: int, metrics_dir: Path) -> None:
        self._children = Path(f"/proc/{granian_pid}/task/{granian_pid}/children")
        self._metrics_dir = metrics_dir
        self._known: set[int] = set()
        self._retired: set[int] = set()

    def _current(self) -> set[int] | None:
        try:
            return {int(pid) for pid in self._children.read_text().split()}
        except OSError:
            return None

    def _with_files(self) -> set[int]:
        # A worker that died between two looks at granian's children was never seen alive;
        # its metric files (named <kind>_<pid>.db) still say it ran.
        return {
            int(m.group(1)) for p in self._metrics_dir.iterdir() if (m := _PID_FILE.search(p.name))
        }

    def retire_dead(self) -> None:
        """Retire the metric files of workers that are gone since the last call."""
        current = self._current()
        if current is None:
            return  # granian itself is gone; the supervisor's loop sees it exit
        for pid in sorted((self._known | self._with_files()) - current - self._retired):
            _log.error("worker died; granian replaces it", extra={"pid": pid})
            multiprocess.mark_process_dead(pid, str(self._metrics_dir))  # type: ignore[no-untyped-call]
            self._retired.add(pid)
        self._known = current


def _drain_and_stop(
    child: subprocess.Popen[bytes],
    runtime: RuntimeDir,
    settings: Settings,
    hurried: Callable[[], bool],
) -> int:
    # Readiness turns 503 at once; connections are still accepted during the drain so requests
    # the load balancer sends before it notices are served, not refused.
    runtime.drain_marker.touch()
    _log.info("draining", extra={"drain_seconds": settings.drain_seconds})
    deadline = time.monotonic() + settings.drain_seconds
    while time.monotonic() < deadline and child.poll() is None:
        if hurried():
            break
        time.sleep(0.05)
    _log.info("stopping", extra={"shutdown_timeout": settings.shutdown_timeout})
    child.send_signal(signal.SIGTERM)
    try:
        code = child.wait(timeout=settings.shutdown_timeout + _KILL_MARGIN_SECONDS)
    except subprocess.TimeoutExpired:
        _log.error("in-flight requests did not finish in time; killing the server")
        # granian runs in its own session: its process group holds every worker.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        return 1
    _log.info("stopped", extra={"exit_code": code})
    return 0 if code in (0, -signal.SIGTERM) else code
