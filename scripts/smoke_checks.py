"""The smoke test's checks, shared by scripts/smoke and the deployment's smoke hook.

One copy of the checks, so that what the pipeline runs against the public URL and what ECS's
lifecycle hook (scripts/smoke_hook.py, a Lambda function) runs against the new revision behind
the test listener rule cannot drift apart. Standard library only: the hook's package is this file
and the handler, and scripts/smoke runs on any runner without installing anything.

Checks, in order: liveness, readiness, a PUT/GET round trip for a fresh test user with the
exact greeting, and that invalid requests are answered with application/problem+json. The first
check that does not hold raises SmokeFailure with the reason.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import secrets
import string
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

PROBLEM_JSON = "application/problem+json"
# Far enough from today that the expected greeting is "in N days" whichever calendar
# day the server is on, and never the 29th of February.
DAYS_AHEAD = 10


class SmokeFailure(Exception):
    """A check did not hold; the message says which and why."""


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    elapsed_ms: float

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise SmokeFailure(f"body is not JSON: {self.body[:200]!r}") from exc


class Client:
    def __init__(
        self,
        base_url: str,
        timeout: float,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token = token
        # Sent with every request: the deploy hook's key for the load balancer's test rule.
        self.headers = dict(headers or {})

    def request(self, method: str, path: str, body: Any = None) -> Response:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Accept", "application/json, application/problem+json")
        req.add_header("User-Agent", "hello-birthday-smoke")
        for name, value in self.headers.items():
            req.add_header(name, value)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        start = time.perf_counter()
        try:
            # Callers let only http:// and https:// base URLs through, hence the B310 exemption.
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # nosec B310
                payload = resp.read()
                status, ctype = resp.status, resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as err:
            payload = err.read()
            status, ctype = err.code, err.headers.get("Content-Type", "")
        except (OSError, http.client.HTTPException) as err:
            raise SmokeFailure(f"{method} {self.base_url}{path}: no response ({err})") from err
        elapsed = (time.perf_counter() - start) * 1000
        return Response(status, ctype.split(";")[0].strip().lower(), payload, elapsed)


def expect_status(resp: Response, expected: int, what: str) -> None:
    if resp.status != expected:
        raise SmokeFailure(
            f"{what}: expected HTTP {expected}, got {resp.status}: {resp.body[:300]!r}"
        )


def expect_problem(resp: Response, status: int, what: str) -> None:
    expect_status(resp, status, what)
    if resp.content_type != PROBLEM_JSON:
        raise SmokeFailure(
            f"{what}: expected Content-Type {PROBLEM_JSON}, got {resp.content_type!r}"
        )
    problem = resp.json()
    if not isinstance(problem, dict) or problem.get("status") != status or not problem.get("title"):
        raise SmokeFailure(f"{what}: not an RFC 9457 problem with status {status}: {problem!r}")


def birthday_ahead(today: dt.date) -> dt.date:
    """A date of birth whose next birthday is about DAYS_AHEAD days after today."""
    target = today + dt.timedelta(days=DAYS_AHEAD)
    if (target.month, target.day) == (2, 29):
        target += dt.timedelta(days=1)
    return target.replace(year=target.year - 30)


def greeting(username: str, today: dt.date, date_of_birth: dt.date) -> str:
    next_birthday = date_of_birth.replace(year=today.year)
    if next_birthday < today:
        next_birthday = next_birthday.replace(year=today.year + 1)
    days = (next_birthday - today).days
    return f"Hello, {username}! Your birthday is in {days} day(s)"


def unique_username() -> str:
    return "smoke" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(12))


def run(client: Client, zone: dt.tzinfo, log: list[str]) -> None:
    def ok(resp: Response, what: str) -> None:
        log.append(f"ok   {what} ({resp.elapsed_ms:.0f} ms)")
        print(log[-1], flush=True)

    resp = client.request("GET", "/healthz")
    expect_status(resp, 200, "GET /healthz")
    ok(resp, "GET /healthz -> 200")

    resp = client.request("GET", "/readyz")
    expect_status(resp, 200, "GET /readyz")
    ok(resp, "GET /readyz -> 200")

    username = unique_username()
    before = dt.datetime.now(zone).date()
    dob = birthday_ahead(before)
    resp = client.request("PUT", f"/hello/{username}", {"dateOfBirth": dob.isoformat()})
    expect_status(resp, 204, f"PUT /hello/{username}")
    ok(resp, f"PUT /hello/{username} dateOfBirth={dob.isoformat()} -> 204")

    resp = client.request("GET", f"/hello/{username}")
    after = dt.datetime.now(zone).date()
    expect_status(resp, 200, f"GET /hello/{username}")
    body = resp.json()
    message = body.get("message") if isinstance(body, dict) else None
    # The calendar day may turn over between the PUT and the GET; either day is right.
    expected = {greeting(username, day, dob) for day in (before, after)}
    if message not in expected:
        raise SmokeFailure(
            f"GET /hello/{username}: expected message {sorted(expected)!r}, got {body!r}"
        )
    ok(resp, f"GET /hello/{username} -> {message!r}")

    resp = client.request("PUT", f"/hello/{username}", {"dateOfBirth": "not-a-date"})
    expect_problem(resp, 400, "PUT with an invalid dateOfBirth")
    ok(resp, "PUT with an invalid dateOfBirth -> 400 problem+json")

    resp = client.request("GET", f"/hello/{unique_username()}")
    expect_problem(resp, 404, "GET of an unknown user")
    ok(resp, "GET of an unknown user -> 404 problem+json")


def wait_until_live(client: Client, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if client.request("GET", "/healthz").status == 200:
                return
        except SmokeFailure:
            pass
        if time.monotonic() >= deadline:
            return
        time.sleep(1)


def is_http_url(url: str) -> bool:
    """Only http:// and https:// base URLs are requested (no file:// or other schemes)."""
    return url.startswith(("http://", "https://"))


def timezone(name: str) -> dt.tzinfo:
    """The service's HELLO_TIMEZONE; UTC needs no tz database (Lambda's image may lack one)."""
    return dt.UTC if name == "UTC" else ZoneInfo(name)
