"""ECS's canary deployment, scaled down: weighted HAProxy, a deploy controller, and its alarms.

One HAProxy backend holds the two revisions as servers `blue` and `green`: their weights stand in
for the production listener rule's target group weights, which ECS changes during a canary. The
alarm reads HAProxy's Prometheus exporter per server (per target group in AWS terms) and fires on
the error ratio and latency thresholds the CloudWatch alarms use (docs/slo.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tools.local.ports import free_port
from tools.rehearsal.haproxy import runtime_command, start_haproxy, stop_haproxy
from tools.rehearsal.slowproxy import LoopbackProxy

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scripts" / "smoke"
SLOTS = ("blue", "green")
# The 5xx-rate alarm's threshold (docs/slo.md): more than 5 % of requests failing.
ERROR_RATIO_THRESHOLD = 0.05
# The p99-latency alarm's threshold; HAProxy exports a running average, which is lower than the
# p99, so this is the stricter reading of the same number.
LATENCY_THRESHOLD_SECONDS = 1.0
# Too few requests say nothing about a ratio: the alarm waits for this many in its window.
MIN_REQUESTS = 10
SAMPLE = re.compile(r'^(haproxy_server_\w+)\{proxy="app",server="(\w+)"(?:,code="(\w+)")?\} (\S+)$')


@dataclass
class WeightedBalancer:
    """HAProxy with the two revisions' slots, weights set through the runtime API."""

    workdir: Path
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where clients connect."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def socket_path(self) -> Path:
        """The runtime API socket."""
        return self.workdir / "haproxy.sock"

    def config(self) -> str:
        """No retries, as an ALB does not retry; health checks as the ALB target group's."""
        servers = "".join(
            f"    server {slot} 127.0.0.1:9 disabled check weight 0\n" for slot in SLOTS
        )
        return f"""global
    stats socket {self.socket_path} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check 1s
    retries 0

frontend web
    bind 127.0.0.1:{self.port}
    default_backend app

frontend metrics
    bind 127.0.0.1:{self.metrics_port}
    http-request use-service prometheus-exporter if {{ path /metrics }}

backend app
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
    http-response set-header X-Served-By %s
{servers}"""

    def start(self) -> WeightedBalancer:
        """Start HAProxy and wait for its runtime API."""
        self._process = start_haproxy(self.workdir, self.config(), self.socket_path)
        return self

    def stop(self) -> None:
        """Stop HAProxy."""
        stop_haproxy(self._process)

    def command(self, line: str) -> str:
        """One runtime API command; its answer."""
        return runtime_command(self.socket_path, line)

    def register(self, slot: str, port: int) -> None:
        """Point a slot at a revision with no traffic share; health checks start."""
        self.command(f"set server app/{slot} addr 127.0.0.1 port {port}")
        self.command(f"set server app/{slot} weight 0")
        self.command(f"set server app/{slot} state ready")

    def deregister(self, slot: str) -> None:
        """Take a slot out."""
        self.command(f"set server app/{slot} state maint")

    def weights(self, **shares: int) -> None:
        """Set traffic shares, e.g. weights(blue=90, green=10), as ECS changes the rule."""
        for slot, share in shares.items():
            self.command(f"set server app/{slot} weight {share}")

    def healthy(self, slot: str, timeout: float) -> bool:
        """Wait until the slot passes its health checks."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.command("show stat").splitlines():
                fields = line.split(",")
                if fields[:2] == ["app", slot] and fields[17] == "UP":
                    return True
            time.sleep(0.05)
        return False

    def scrape(self) -> dict[str, dict[str, float]]:
        """Per slot: `total` and `5xx` responses, `latency` (average response time, s)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics") as reply:
            text = reply.read().decode()
        found: dict[str, dict[str, float]] = {slot: {"total": 0.0, "5xx": 0.0} for slot in SLOTS}
        for line in text.splitlines():
            match = SAMPLE.match(line)
            if not match or match[2] not in found:
                continue
            metric, slot, code, value = match[1], match[2], match[3], float(match[4])
            if metric == "haproxy_server_http_responses_total":
                found[slot]["total"] += value
                if code == "5xx":
                    found[slot]["5xx"] += value
            elif metric == "haproxy_server_response_time_average_seconds":
                found[slot]["latency"] = value
        return found


@dataclass
class Alarm:
    """The deployment alarms, evaluated over a sliding window of exporter scrapes."""

    balancer: WeightedBalancer
    # At a 10 % share the canary sees few requests a second: a window of several seconds holds
    # enough of them for MIN_REQUESTS even when the machine is busy.
    window: float = 6.0
    history: list[tuple[float, dict[str, dict[str, float]]]] = field(default_factory=list)

    def breached(self) -> str | None:
        """Why the alarm is in ALARM for some slot, or None."""
        now = time.monotonic()
        self.history.append((now, self.balancer.scrape()))
        self.history = [(at, sample) for at, sample in self.history if at >= now - self.window]
        first, last = self.history[0][1], self.history[-1][1]
        for slot in SLOTS:
            requests = last[slot]["total"] - first[slot]["total"]
            if requests < MIN_REQUESTS:
                continue
            ratio = (last[slot]["5xx"] - first[slot]["5xx"]) / requests
            if ratio > ERROR_RATIO_THRESHOLD:
                return f"{slot}: {ratio:.0%} of {requests:.0f} responses 5xx"
            latency = last[slot].get("latency", 0.0)
            if latency > LATENCY_THRESHOLD_SECONDS:
                return f"{slot}: average response time {latency:.2f} s"
        return None


def smoke(url: str, log: Path) -> bool:
    """scripts/smoke against the new revision directly, as the lifecycle hook runs it."""
    with log.open("wb") as out:
        code = subprocess.run(
            [sys.executable, str(SMOKE), url, "--timeout", "5"],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=60,
        ).returncode
    return code == 0


@dataclass(frozen=True)
class Steps:
    """ECS's canary configuration, scaled down."""

    canary_percent: int
    canary_bake: float
    deployment_bake: float


@dataclass
class Outcome:
    """What the controller did, with the moments that matter."""

    status: str
    reason: str = ""
    events: list[tuple[float, str]] = field(default_factory=list)
    first_traffic: float | None = None
    rolled_back: float | None = None

    def mark(self, what: str) -> float:
        """Note an event now."""
        now = time.monotonic()
        self.events.append((now, what))
        return now


def canary_deploy(
    balancer: WeightedBalancer,
    start_new: Callable[[], str],
    stop_old: Callable[[], None],
    stop_new: Callable[[], None],
    steps: Steps,
    workdir: Path,
) -> Outcome:
    """Blue runs at weight 100; deploy green as ECS's CANARY strategy does, or roll back."""
    outcome = Outcome("IN_PROGRESS")
    url = start_new()
    outcome.mark("new revision started and ready (/readyz 200)")
    if not balancer.healthy("green", timeout=15):
        stop_new()
        outcome.status, outcome.reason = "FAILED", "new revision never became healthy"
        return outcome
    outcome.mark("new revision healthy in its target group, weight 0")
    if not smoke(url, workdir / "smoke.log"):
        outcome.mark("lifecycle hook: smoke test FAILED")
        stop_new()
        balancer.deregister("green")
        outcome.status, outcome.reason = "ROLLED_BACK", "smoke test failed before any traffic"
        return outcome
    outcome.mark("lifecycle hook: smoke test passed")
    alarm = Alarm(balancer)
    for share, bake, phase in (
        (steps.canary_percent, steps.canary_bake, "canary"),
        (100, steps.deployment_bake, "full shift"),
    ):
        balancer.weights(blue=100 - share, green=share)
        at = outcome.mark(f"{phase}: {share} % of traffic to the new revision")
        if outcome.first_traffic is None:
            outcome.first_traffic = at
        deadline = at + bake
        while time.monotonic() < deadline:
            reason = alarm.breached()
            if reason is not None:
                balancer.weights(blue=100, green=0)
                outcome.rolled_back = outcome.mark(f"alarm: {reason}; all traffic back to old")
                stop_new()
                balancer.deregister("green")
                outcome.status, outcome.reason = "ROLLED_BACK", f"alarm during {phase}: {reason}"
                return outcome
            time.sleep(0.5)
        outcome.mark(f"{phase} bake over, alarms OK")
    balancer.deregister("blue")
    stop_old()
    outcome.mark("old revision stopped")
    outcome.status = "COMPLETED"
    return outcome


class ThrottlingStorage(LoopbackProxy):
    """A proxy in front of dynalite that throttles writes as a table with tiny capacity does.

    Reads pass; PutItem beyond `writes_per_second` is answered with DynamoDB's
    ProvisionedThroughputExceededException. One write now and then succeeds, so readiness and a
    smoke test pass; real traffic does not.
    """

    def __init__(self, target_port: int, writes_per_second: float) -> None:
        super().__init__(target_port)
        self.rate = writes_per_second
        self.tokens = 1.0 if writes_per_second > 0 else 0.0
        self.refilled = time.monotonic()
        self.throttled = 0

    def _allow_write(self) -> bool:
        now = time.monotonic()
        self.tokens = min(1.0, self.tokens + (now - self.refilled) * self.rate)
        self.refilled = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        self.throttled += 1
        return False

    async def _handle(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            while True:
                head, body = await _message(client_in)
                if b"dynamodb_20120810.putitem" in head.lower() and not self._allow_write():
                    payload = (
                        b'{"__type":"com.amazonaws.dynamodb.v20120810#'
                        b'ProvisionedThroughputExceededException","message":"The level of '
                        b'configured provisioned throughput for the table was exceeded."}'
                    )
                    client_out.write(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0"
                        b"\r\nContent-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload
                    )
                    await client_out.drain()
                    continue
                if upstream is None:
                    upstream = await asyncio.open_connection("127.0.0.1", self.target_port)
                upstream[1].write(head + body)
                await upstream[1].drain()
                reply_head, reply_body = await _message(upstream[0])
                client_out.write(reply_head + reply_body)
                await client_out.drain()
        client_out.close()
        if upstream is not None:
            upstream[1].close()


async def _message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    body = await reader.readexactly(int(match[1])) if match else b""
    return head, body
