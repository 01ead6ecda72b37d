"""The application factory."""

from __future__ import annotations

import os
from datetime import datetime

from flask import Flask, Request, Response
from werkzeug.routing import MapAdapter

from hello_birthday import api, auth, openapi, ops
from hello_birthday.observability import Metrics, ObservedApp, RoutedRequest, configure_logging
from hello_birthday.problems import register_problem_handlers
from hello_birthday.runtime import RuntimeDir
from hello_birthday.services import Clock, Services, install
from hello_birthday.settings import Settings
from hello_birthday.storage import Repository, open_repository
from hello_birthday.storage.chain import build_chain


class _Service(Flask):
    """Flask, with the answers the API documents where Flask's defaults differ."""

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Route an `Upgrade: websocket` request as the plain HTTP request it also is.

        Werkzeug matches such a request only against websocket rules, and there are none, so
        a GET answered 405 without GET in Allow. The service speaks no WebSocket and may
        ignore an Upgrade (RFC 9110 section 7.8): it answers in HTTP/1.1 as it always does.
        """
        adapter = super().create_url_adapter(request)
        if adapter is not None and request is not None:
            adapter.websocket = False
            adapter.url_scheme = request.scheme
        return adapter

    def make_default_options_response(self) -> Response:
        """OPTIONS: 204 with Allow, no body and so no media type (Flask sends empty HTML)."""
        response = super().make_default_options_response()
        response.status_code = 204
        del response.headers["Content-Type"]
        del response.headers["Content-Length"]
        allowed = response.headers.get("Allow", "")
        response.headers["Allow"] = ", ".join(sorted(allowed.split(", ")))
        return response


def create_app(
    settings: Settings,
    *,
    repository: Repository | None = None,
    clock: Clock | None = None,
    runtime: RuntimeDir | None = None,
) -> Flask:
    """Build the service from settings; tests may inject a repository or a clock.

    `runtime` is the supervisor's shared directory; without one, metrics stay in the process
    and nothing drains.

    Nothing outside the app changes: logging is the entry points' to configure.
    """
    app = _Service(__name__)
    app.request_class = RoutedRequest
    # One byte past the body limit: a body without a declared length is cut at this many bytes
    # (Werkzeug cannot tell a cut one from a complete one), and api refuses any over the limit.
    app.config["MAX_CONTENT_LENGTH"] = api.MAX_BODY_BYTES + 1
    # `/hello//alice` would otherwise be a redirect to a URL built from the client's Host
    # header; a path that is not a route is a 404 problem. No rule ends in a slash, so strict
    # slashes never redirect either.
    app.url_map.merge_slashes = False
    metrics = Metrics(runtime.metrics if runtime else None)
    chain = build_chain(repository or open_repository(settings), settings, metrics)
    metrics.threads.set(settings.workers * settings.threads)
    zone = settings.zone
    # Readiness asks storage itself, past the breaker: a refusal is not an outage.
    readiness = ops.Readiness(chain.instrumented, runtime.drain_marker if runtime else None)
    install(
        app,
        Services(
            repository=chain.guarded,
            gate=auth.build_gate(settings, metrics),
            clock=clock or (lambda: datetime.now(zone).date()),
            metrics=metrics,
            readiness=readiness,
            openapi_document=openapi.encoded_document(settings.auth),
        ),
    )

    @app.after_request
    def reconnect_elsewhere_while_draining(response: Response) -> Response:
        # A keep-alive client would send its next request on this connection just as granian
        # closes it at the stop; told to close, it opens a new one, which the balancer routes
        # to a target that is not draining.
        if readiness.draining():
            response.headers["Connection"] = "close"
        return response

    register_problem_handlers(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(ops.bp)
    app.register_blueprint(openapi.bp)
    app.wsgi_app = ObservedApp(app.wsgi_app, metrics)  # type: ignore[method-assign]
    return app


def create_app_from_env() -> Flask:
    """Entry point for granian and the flask CLI: settings from the environment."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_app(settings, runtime=RuntimeDir.from_env(os.environ))
