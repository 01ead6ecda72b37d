"""ECS deployment lifecycle hook: smoke-test the new revision before production traffic reaches it.

ECS invokes this Lambda function at POST_TEST_TRAFFIC_SHIFT of a canary (or blue/green)
deployment: the new revision's tasks are running and receive 100 % of the test traffic, the old
revision still receives all production traffic. The function runs the checks of scripts/smoke
(scripts/smoke_checks.py) through the load balancer's test listener rule and answers with the
hookStatus ECS expects:

  SUCCEEDED    every check passed; ECS goes on to shift the canary share of production traffic.
  IN_PROGRESS  a check failed but attempts are left (the rule's weights may still be settling on
               the load balancer nodes); ECS invokes the function again after callBackDelay
               seconds and hands back the hookDetails returned here (the attempt count).
  FAILED       the checks failed on the last attempt; ECS rolls the deployment back and the new
               revision never serves production traffic.

Configuration (environment variables of the function):
  SMOKE_URL           base URL of the test listener, e.g. https://hello.example.com
  SMOKE_HEADER_NAME   header the test listener rule matches on (the rule forwards to the new
  SMOKE_HEADER_VALUE  revision only requests carrying it; everything else reaches production)
  SMOKE_TIMEOUT       per request, seconds (default 5)
  SMOKE_ATTEMPTS      invocations before FAILED (default 3)
  SMOKE_RETRY_SECONDS callBackDelay between attempts (default 20)
  HELLO_TIMEZONE      the service's time zone, for the expected greeting (default UTC)
  HELLO_BEARER_TOKEN  admin token when the service runs with HELLO_AUTH=jwt (see scripts/smoke)

A configuration error (no SMOKE_URL, a non-HTTP URL) is FAILED at once: retrying cannot fix it,
and a deployment that cannot be tested must not go ahead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from smoke_checks import Client, SmokeFailure, is_http_url, run, timezone

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
IN_PROGRESS = "IN_PROGRESS"


def _attempt(event: Mapping[str, Any]) -> int:
    """Which invocation this is: 1, or one more than the count the last IN_PROGRESS handed back.

    The payload's documentation does not say at which level ECS hands hookDetails back, so both
    the top level and executionDetails are read.
    """
    for scope in (event, event.get("executionDetails")):
        details = scope.get("hookDetails") if isinstance(scope, Mapping) else None
        if isinstance(details, Mapping):
            previous = details.get("smokeAttempt")
            if isinstance(previous, int) and previous >= 1:
                return previous + 1
    return 1


def _revision(event: Mapping[str, Any]) -> str:
    """The service revision under test, for the log line (the payload nests it or not)."""
    for scope in (event.get("executionDetails"), event):
        if isinstance(scope, Mapping) and isinstance(scope.get("targetServiceRevisionArn"), str):
            return str(scope["targetServiceRevisionArn"])
    return "unknown revision"


def handler(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """Lambda entry point (handler name smoke_hook.handler)."""
    env = os.environ
    url = env.get("SMOKE_URL", "")
    revision = _revision(event)
    if not is_http_url(url):
        print(f"SMOKE HOOK FAILED for {revision}: SMOKE_URL {url!r} is not an http(s) URL")
        return {"hookStatus": FAILED}

    headers = {}
    if env.get("SMOKE_HEADER_NAME"):
        headers[env["SMOKE_HEADER_NAME"]] = env.get("SMOKE_HEADER_VALUE", "")
    client = Client(
        url, float(env.get("SMOKE_TIMEOUT", "5")), env.get("HELLO_BEARER_TOKEN"), headers
    )
    attempt, attempts = _attempt(event), int(env.get("SMOKE_ATTEMPTS", "3"))
    print(f"smoke test of {revision} through {client.base_url}, attempt {attempt} of {attempts}")
    try:
        run(client, timezone(env.get("HELLO_TIMEZONE", "UTC")), [])
    except SmokeFailure as failure:
        if attempt < attempts:
            print(f"smoke test attempt {attempt} failed, retrying: {failure}")
            return {
                "hookStatus": IN_PROGRESS,
                "callBackDelay": int(env.get("SMOKE_RETRY_SECONDS", "20")),
                "hookDetails": {"smokeAttempt": attempt},
            }
        print(f"SMOKE HOOK FAILED for {revision} after {attempt} attempts: {failure}")
        return {"hookStatus": FAILED}
    print(f"smoke test passed for {revision}")
    return {"hookStatus": SUCCEEDED}
