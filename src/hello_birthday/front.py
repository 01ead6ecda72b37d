"""The front granian serves: bodies are read on the event loop, then the WSGI app runs in a pool.

Served as WSGI, granian hands a request to a blocking thread at once and the application
reads the body there: a client that declares a body and never sends it held a thread with no
deadline, and a few such clients starved /healthz. Here granian speaks RSGI: each request's
body is read asynchronously, under one deadline, and only a request whose body is complete
waits for one of the pool's threads. A request that would wait behind too many others is
refused at once with 503 instead of queueing without bound (decision 0010).
"""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from flask import Flask

from hello_birthday.api import MAX_BODY_BYTES
from hello_birthday.app import create_app_from_env
from hello_birthday.observability import Metrics, ObservedApp
from hello_birthday.problems import (
    BODY_INCOMPLETE,
    BODY_TIMEOUT,
    OVERLOADED,
    PROBLEM_MEDIA_TYPE,
    problem_document,
)
from hello_birthday.services import services_of
from hello_birthday.settings import Settings

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Which of the front's own refusals a request met, for the refusal app and its metrics.
REFUSAL_ENVIRON_KEY = "hello_birthday.refusal"
HEALTH_PATH = "/healthz"
_BASE_ENVIRON: dict[str, Any] = {
    "GATEWAY_INTERFACE": "CGI/1.1",
    "SCRIPT_NAME": "",
    "SERVER_SOFTWARE": "hello-birthday",
    # The whole body is in wsgi.input: reading it to its end is safe without a length.
    "wsgi.input_terminated": True,
    "wsgi.multiprocess": True,
    "wsgi.multithread": True,
    "wsgi.run_once": False,
    "wsgi.version": (1, 0),
}
# How long a thread may keep the GIL while another waits for it. At Python's 5 ms, a thread
# back from SQLite, an fsync or a lock waits that long behind one that is parsing a request,
# and a group commit's leader holds the writer lock, which the other workers wait for, all the
# while. At 1 ms, PUT/s rose by about a fifth and GET did not change (issue 17's note).
GIL_SWITCH_SECONDS = 0.001
_HTTP_VERSIONS = {"1": "HTTP/1.0", "1.1": "HTTP/1.1", "2": "HTTP/2", "3": "HTTP/3"}


class _Headers(Protocol):
    def items(self) -> list[tuple[str, str]]: ...


class _Scope(Protocol):
    proto: str
    http_version: str
    server: str
    client: str
    scheme: str
    method: str
    path: str
    query_string: str

    @property
    def headers(self) -> _Headers: ...


class _Protocol(Protocol):
    def __aiter__(self) -> Any: ...

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None: ...


class BodyTooSlow(Exception):
    """The body did not arrive within the deadline."""


class Front:
    """An RSGI application around a WSGI one."""

    def __init__(
        self,
        app: WSGIApplication,
        metrics: Metrics,
        *,
        threads: int,
        body_timeout: float,
        max_queued: int,
    ) -> None:
        self._app = app
        self._pool = _Pool(threads)
        self._body_timeout = body_timeout
        # Requests running or waiting for a thread; past this many a new one is refused.
        self._admission_limit = threads + max_queued
        self._admitted = 0
        self._refusals = ObservedApp(_refusal_app(metrics), metrics)

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Nothing to prepare: the pool starts its threads on first use."""

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        """The worker stops: let running requests finish, then the threads end."""
        self._pool.shutdown()

    async def __rsgi__(self, scope: _Scope, protocol: _Protocol) -> None:
        """Serve one HTTP request."""
        environ = _environ(scope)
        if _has_body(scope, environ):
            try:
                # A deadline on this task, not wait_for: that wraps the read in a task of its own,
                # a measurable part of every PUT.
                async with asyncio.timeout(self._body_timeout):
                    body = await _read_body(protocol)
            except TimeoutError:
                environ[REFUSAL_ENVIRON_KEY] = BODY_TIMEOUT.slug
                self._respond(protocol, self._refusals, environ)
                return
            declared = environ.get("CONTENT_LENGTH")
            if declared is not None and len(body) != int(declared):
                # granian ends the body early, without an error, when the client breaks it off:
                # what arrived is not what was sent, and must not be acted on.
                environ[REFUSAL_ENVIRON_KEY] = BODY_INCOMPLETE.slug
                self._respond(protocol, self._refusals, environ)
                return
            environ["wsgi.input"] = _Input(body)
        if self._admitted >= self._admission_limit and environ["PATH_INFO"] != HEALTH_PATH:
            # /healthz is the load balancer asking whether the process answers: it does,
            # after the requests ahead of it, and it is cheap.
            environ[REFUSAL_ENVIRON_KEY] = OVERLOADED.slug
            self._respond(protocol, self._refusals, environ)
            return
        self._admitted += 1
        try:
            status, headers, payload = await self._pool.run(self._app, environ)
        finally:
            self._admitted -= 1
        protocol.response_bytes(status, headers, payload)

    @staticmethod
    def _respond(protocol: _Protocol, app: WSGIApplication, environ: WSGIEnvironment) -> None:
        protocol.response_bytes(*_call(app, environ))


_Outcome = tuple[int, list[tuple[str, str]], bytes]


class _Pool:
    """Threads that run WSGI calls and hand each answer back to the event loop.

    Leaner than loop.run_in_executor, which wraps every call in two futures: this is on the
    path of every request (decision 0010 measures what the front costs).
    """

    def __init__(self, threads: int) -> None:
        self._jobs: queue.SimpleQueue[
            tuple[asyncio.AbstractEventLoop, asyncio.Future[_Outcome], WSGIApplication, Any] | None
        ] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"request-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def run(self, app: WSGIApplication, environ: WSGIEnvironment) -> asyncio.Future[_Outcome]:
        """Queue one call; the future is settled on the calling loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Outcome] = loop.create_future()
        self._jobs.put((loop, future, app, environ))
        return future

    def shutdown(self) -> None:
        """Finish the queued calls, then end the threads."""
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            loop, future, app, environ = job
            try:
                outcome = _call(app, environ)
            except BaseException as error:
                loop.call_soon_threadsafe(_fail, future, error)
            else:
                loop.call_soon_threadsafe(_succeed, future, outcome)


def _succeed(future: asyncio.Future[_Outcome], outcome: _Outcome) -> None:
    if not future.cancelled():
        future.set_result(outcome)


def _fail(future: asyncio.Future[_Outcome], error: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(error)


def _has_body(scope: _Scope, environ: WSGIEnvironment) -> bool:
    """Whether a body may follow; in HTTP/1 only a length or a transfer coding announces one."""
    declared = environ.get("CONTENT_LENGTH")
    if declared is not None:
        # One declared over the limit is refused from the header alone (413), unread.
        return declared.isdigit() and 0 < int(declared) <= MAX_BODY_BYTES + 1
    return scope.http_version not in ("1", "1.1") or "HTTP_TRANSFER_ENCODING" in environ


async def _read_body(protocol: _Protocol) -> bytes:
    """The body, or its first MAX_BODY_BYTES + 1 bytes: enough for the API to refuse it."""
    received = bytearray()
    async for chunk in protocol:
        received += chunk
        if len(received) > MAX_BODY_BYTES:
            del received[MAX_BODY_BYTES + 1 :]
            break
    return bytes(received)


class _Input:
    """wsgi.input over bytes already read."""

    __slots__ = ("_data", "_position")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0

    def read(self, size: int | None = -1) -> bytes:
        start = self._position
        end = len(self._data) if size is None or size < 0 else min(len(self._data), start + size)
        self._position = end
        return self._data[start:end]

    def readline(self, size: int | None = -1) -> bytes:
        start = self._position
        end = self._data.find(b"\n", start) + 1 or len(self._data)
        if size is not None and size >= 0:
            end = min(end, start + size)
        self._position = end
        return self._data[start:end]

    def __iter__(self) -> _Input:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


_EMPTY_INPUT = _Input(b"")


def _environ(scope: _Scope) -> WSGIEnvironment:
    """The WSGI environ granian's own WSGI server would build for this request."""
    server_host, _, server_port = scope.server.rpartition(":")
    environ: WSGIEnvironment = dict(_BASE_ENVIRON)
    environ.update(
        {
            "REQUEST_METHOD": scope.method,
            # RSGI gives the path percent-decoded as UTF-8; WSGI wants its bytes as latin-1.
            "PATH_INFO": scope.path.encode("utf-8").decode("latin-1"),
            "QUERY_STRING": scope.query_string,
            "SERVER_NAME": server_host.strip("[]"),
            "SERVER_PORT": server_port,
            "SERVER_PROTOCOL": _HTTP_VERSIONS.get(scope.http_version, "HTTP/1.1"),
            "REMOTE_ADDR": scope.client.rpartition(":")[0].strip("[]"),
            "wsgi.url_scheme": scope.scheme,
            "wsgi.input": _EMPTY_INPUT,
            "wsgi.errors": sys.stderr,
        }
    )
    for name, value in scope.headers.items():
        if name == "content-type":
            key = "CONTENT_TYPE"
        elif name == "content-length":
            key = "CONTENT_LENGTH"
        else:
            key = "HTTP_" + name.upper().replace("-", "_")
        previous = environ.get(key)
        if previous is None:
            environ[key] = value
        else:
            # Repeated fields are one comma-separated list, except cookies (RFC 6265).
            environ[key] = f"{previous}{'; ' if key == 'HTTP_COOKIE' else ','}{value}"
    if "HTTP_HOST" not in environ:
        environ["HTTP_HOST"] = environ["SERVER_NAME"]
    return environ


def _call(app: WSGIApplication, environ: WSGIEnvironment) -> _Outcome:
    """Run the WSGI app to the end of its response, in the calling thread."""
    started: list[Any] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
    ) -> Callable[[bytes], object]:
        started[:] = (status, headers)
        return _no_write

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started
    return int(status[:3]), headers, body


def _no_write(data: bytes) -> object:
    raise NotImplementedError("the service never uses the WSGI write callable")


# The front's own refusals by reason (the metric label is the problem type's slug).
_REFUSALS = {kind.slug: kind for kind in (BODY_TIMEOUT, BODY_INCOMPLETE, OVERLOADED)}


def _refusal_app(metrics: Metrics) -> WSGIApplication:
    """The WSGI app that answers the front's own refusals, counted by reason."""

    def refuse(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        reason = environ[REFUSAL_ENVIRON_KEY]
        kind = _REFUSALS[reason]
        metrics.http_refusals.labels(reason).inc()
        headers = [
            ("Content-Type", PROBLEM_MEDIA_TYPE),
            ("Cache-Control", "no-store"),
            # The connection may hold the rest of a body nobody will read: it is not reused.
            ("Connection", "close"),
        ]
        headers.extend(kind.headers().items())
        body = problem_document(
            kind.status, kind.type_uri, kind.title, kind.detail, environ.get("PATH_INFO", "")
        )
        start_response(f"{kind.status} {kind.title}", headers)
        return [body]

    return refuse


def create_front(settings: Settings, app: Flask) -> Front:
    """The front for these settings, around the service."""
    return Front(
        app.wsgi_app,
        services_of(app).metrics,
        threads=settings.threads,
        body_timeout=settings.body_timeout,
        max_queued=settings.max_queued_requests,
    )


def create_front_from_env() -> Front:
    """Entry point for granian: settings from the environment, as create_app_from_env.

    It runs once in each worker process, which is why it may set the interpreter's GIL
    switch interval for the whole process.
    """
    settings = Settings.from_env()
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    return create_front(settings, create_app_from_env())
