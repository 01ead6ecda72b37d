"""/metrics is not reachable through the public load balancer; /docs and /openapi.json are.

The WAF rule must block every spelling of the path that the service itself routes to its metrics
(percent-encoded, doubled slashes, dot segments). The test runs the real app under the Flask test
client for each spelling, and applies the rule's match the way WAF documents its transformations
(URL_DECODE, then NORMALIZE_PATH), so a spelling the app serves but the rule lets through fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from flask.testing import FlaskClient

from hello_birthday.app import create_app
from hello_birthday.settings import Settings
from tests.infra.terraform import MODULES, blocks_of, one_block, resource, value

ALB = MODULES / "alb"
SPELLINGS = [
    "/metrics",
    "/metrics/",
    "/%6detrics",
    "/%6Detrics",
    "/metric%73",
    "//metrics",
    "/./metrics",
    "/docs/../metrics",
    "/metrics?x=1",
    "/metrics;x",
    "/metricsx",
    "/hello/metrics",
    "/METRICS",
]
PUBLIC = ["/docs", "/openapi.json", "/hello/alice", "/healthz", "/readyz"]


def _rule() -> dict[str, Any]:
    acl = resource(ALB, "aws_wafv2_web_acl", "this")
    (rule,) = [r for r in blocks_of(acl, "rule") if value(r, "name") == "metrics-not-public"]
    return rule


def _normalize_path(path: str) -> str:
    """WAF's NORMALIZE_PATH: no repeated slashes, no ./ and ../ segments (not at the start)."""
    path = re.sub(r"/{2,}", "/", path)
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == ".":
            continue
        if segment == ".." and len(segments) > 1:
            segments.pop()
            continue
        segments.append(segment)
    return "/".join(segments)


TRANSFORMATIONS: dict[str, Callable[[str], str]] = {
    "URL_DECODE": unquote,
    "NORMALIZE_PATH": _normalize_path,
}


def _blocked(path: str) -> bool:
    """Whether the rule's statement matches the URI path of `path` (query string excluded)."""
    uri_path = path.split("?", 1)[0]
    (either,) = blocks_of(one_block(_rule(), "statement"), "or_statement")
    for statement in blocks_of(either, "statement"):
        match = one_block(statement, "byte_match_statement")
        assert "uri_path" in one_block(match, "field_to_match")
        transformed = uri_path
        steps = sorted(blocks_of(match, "text_transformation"), key=lambda t: value(t, "priority"))
        for step in steps:
            transformed = TRANSFORMATIONS[value(step, "type")](transformed)
        needle = value(match, "search_string")
        constraint = value(match, "positional_constraint")
        if {"EXACTLY": transformed == needle, "STARTS_WITH": transformed.startswith(needle)}[
            constraint
        ]:
            return True
    return False


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    app = create_app(Settings(sqlite_path=tmp_path / "hello.sqlite3"))
    return app.test_client()


def _serves_metrics(client: FlaskClient, path: str) -> bool:
    response = client.get(path, follow_redirects=True)
    return response.status_code == 200 and "hello_http_requests_total" in response.get_data(
        as_text=True
    )


@pytest.mark.parametrize("path", SPELLINGS)
def test_every_spelling_the_service_serves_metrics_on_is_blocked(
    client: FlaskClient, path: str
) -> None:
    if _serves_metrics(client, path):
        assert _blocked(path), f"{path} reaches the service's metrics through the ALB"


def test_the_service_routes_encoded_spellings_an_alb_path_condition_would_miss(
    client: FlaskClient,
) -> None:
    # Why the rule is in the WAF: the service decodes before it routes.
    for path in ("/metrics", "/%6detrics", "/metric%73", "/metrics?x=1"):
        assert _serves_metrics(client, path), path
    assert not _serves_metrics(client, "/metricsx")


@pytest.mark.parametrize("path", PUBLIC)
def test_the_api_its_description_and_health_stay_public(path: str) -> None:
    assert not _blocked(path)


def test_the_block_answers_the_services_own_404_problem() -> None:
    custom = one_block(one_block(one_block(_rule(), "action"), "block"), "custom_response")
    assert value(custom, "response_code") == 404
    key = value(custom, "custom_response_body_key")
    acl = resource(ALB, "aws_wafv2_web_acl", "this")
    (body,) = [b for b in blocks_of(acl, "custom_response_body") if value(b, "key") == key]
    assert value(body, "content_type") == "APPLICATION_JSON"
    content = value(body, "content")
    document = json.loads(
        re.sub(r"^\$\{jsonencode\((.*)\)\}$", r"\1", content, flags=re.S).replace("'", '"')
    )
    assert document["status"] == 404
    assert document["type"] == "about:blank"
    assert document["title"] == "Not Found"
    # Counted and sampled like every other rule, so a scan for /metrics shows up.
    visibility = one_block(_rule(), "visibility_config")
    assert value(visibility, "cloudwatch_metrics_enabled") is True


def test_the_acl_is_in_front_of_the_load_balancer() -> None:
    association = resource(ALB, "aws_wafv2_web_acl_association", "this")
    assert value(association, "resource_arn") == "${aws_lb.this.arn}"
    assert value(association, "web_acl_arn") == "${aws_wafv2_web_acl.this.arn}"
