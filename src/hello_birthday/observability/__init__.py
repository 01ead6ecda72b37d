"""What the service tells its operators: JSON logs, Prometheus metrics, one line per request.

`logs` configures logging, `metrics` holds the instruments, `access_log` writes the per-request
line, and `middleware` ties them to each request (and labels it with its route).
"""

from __future__ import annotations

from hello_birthday.observability.logs import (
    JsonFormatter,
    configure_logging,
    format_log_time,
    request_id_var,
)
from hello_birthday.observability.metrics import Metrics
from hello_birthday.observability.middleware import ObservedApp, RoutedRequest

__all__ = [
    "JsonFormatter",
    "Metrics",
    "ObservedApp",
    "RoutedRequest",
    "configure_logging",
    "format_log_time",
    "request_id_var",
]
