"""The WSGI middleware: request id, in-flight gauge, RED metrics and the access line per request."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from flask import Request
from werkzeug.routing import Rule

from hello_birthday.observability.access_log import AccessLog
from hello_birthday.observability.logs import request_id_var
from hello_birthday.observability.metrics import Metrics

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
# The ALB's header, e.g. Root=1-67891233-abcdef012345678912345678;Self=1-...: a client can send
# its own, so only these characters (none needs escaping in JSON) and a bounded length.
_SANE_TRACE_ID = re.compile(r"[A-Za-z0-9=;.:\-]{1,256}")
# Label values must stay few: an arbitrary method from a client would be a new time series.
_KNOWN_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"})
ROUTE_ENVIRON_KEY = "hello_birthday.route"
UNMATCHED_ROUTE = "<unmatched>"


class ObservedApp:
    """WSGI middleware: request id, in-flight gauge, RED metrics and one access log line."""

    def __init__(self, app: WSGIApplication, metrics: Metrics) -> None:
        # Public so a measurement can call the app without this layer (tools/bench/breakdown.py).
        self.wrapped = app
        self._tally = metrics.tally
        self._access_log = AccessLog()

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
        tally = self._tally
        tally.request_started()
        try:
            return self.wrapped(environ, tagged_start_response)
        finally:
            elapsed = time.perf_counter() - started
            method = environ.get("REQUEST_METHOD", "")
            method = method if method in _KNOWN_METHODS else "OTHER"
            route = environ.get(ROUTE_ENVIRON_KEY, UNMATCHED_ROUTE)
            tally.request_finished(method, route, status, elapsed)
            trace_id = environ.get("HTTP_X_AMZN_TRACE_ID")
            if trace_id is not None and not _SANE_TRACE_ID.fullmatch(trace_id):
                trace_id = None
            self._access_log.write(request_id, method, route, int(status), elapsed, trace_id)
            request_id_var.reset(token)


class RoutedRequest(Request):
    """A request that hands its route template to the middleware once routing has matched it.

    The template, never the raw path, labels metrics and logs: usernames stay out. ObservedApp,
    above, reads it. Set here rather than in a before_request hook, which cost more on every
    request.
    """

    _rule: Rule | None = None

    @property
    def url_rule(self) -> Rule | None:
        """The matched rule, as Flask's Request has it."""
        return self._rule

    @url_rule.setter
    def url_rule(self, rule: Rule | None) -> None:
        self._rule = rule
        if rule is not None:
            self.environ[ROUTE_ENVIRON_KEY] = rule.rule
