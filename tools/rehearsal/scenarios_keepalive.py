"""Keep-alive ordering: the balancer reuses idle connections to a target; who closes them first.

An ALB keeps idle connections to its targets for its idle timeout (50 s here) and sends any
client's next request on one of them. A target that closes an idle connection sooner races the
balancer: its FIN is still in flight while the balancer writes a request on that connection, and
the client gets a 502. Production keeps the target's keep-alive (60 s) longer than the balancer's
idle timeout, so the target never closes first (docs/decisions/0006-first-deploy.md).

HAProxy stands in for the ALB with `http-reuse always` (idle server connections are shared by
all clients, as the ALB's are). Over loopback HAProxy sees a FIN within microseconds, which
hides the race; a proxy adding a network's one-way latency between balancer and target gives the
FIN the time in flight it has in a VPC. Requests come one at a time, after idle gaps around the
reversed case's server keep-alive, so every reuse lands near the moment a too-short keep-alive
ends; the ordered case sends the same requests to a target that keeps the production setting.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tools.local.server import ServerProcess, request
from tools.rehearsal.haproxy import Balancer
from tools.rehearsal.measure import Result
from tools.rehearsal.scenarios import CHECK, Profile, base_env
from tools.rehearsal.slowproxy import LatencyProxy

# One-way latency between balancer and target: more than a VPC's, so a few dozen requests are
# enough to see the race, and far below every timeout in play.
NETWORK_LATENCY = 0.05
# The reversed case: the target drops idle connections after one second, long before the
# balancer does (HAProxy keeps its idle server connections while they are reused this often).
SHORT_KEEP_ALIVE = 1.0
# Idle gaps between requests, as shares of SHORT_KEEP_ALIVE: a reuse fails when its gap falls in
# the last 2 x NETWORK_LATENCY before the target's close (about a third of this range).
GAP_RANGE = (0.75, 1.05)
REQUESTS = 30
USER = "keepalive"


@dataclass(frozen=True)
class KeepAliveRun:
    """The answers the GETs got, and the balancer's connection counters for the target."""

    server_keep_alive: float
    stored: int
    answers: Counter[str]
    connections_opened: int
    reused: int


def run_keepalive(workdir: Path, server_keep_alive: float) -> KeepAliveRun:
    """GETs one at a time through a balancer reusing its idle connection to one target."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **base_env(workdir),
        "HELLO_SQLITE_PATH": str(workdir / "hello.sqlite3"),
        "HELLO_KEEP_ALIVE_SECONDS": str(server_keep_alive),
    }
    with contextlib.ExitStack() as stack:
        server = ServerProcess(env, workdir / "instance.log").start()
        stack.callback(server.stop)
        network = LatencyProxy(server.port, NETWORK_LATENCY).start()
        stack.callback(network.stop)
        balancer = Balancer(workdir, CHECK, slots=1, reuse="always").start()
        stack.callback(balancer.stop)
        (slot,) = balancer.slot_names()
        balancer.register(slot, network.port)
        balancer.wait_for(slot, "UP", timeout=15)
        stored = request(
            f"{balancer.url}/hello/{USER}",
            "PUT",
            b'{"dateOfBirth": "1990-04-01"}',
            {"Content-Type": "application/json"},
        )
        answers = Counter(_get_after_gaps(balancer.port, random.Random(REQUESTS)))
        counters = balancer.server_counters(slot)
    return KeepAliveRun(
        server_keep_alive, stored.status, answers, int(counters["connect"]), int(counters["reuse"])
    )


def judge_keepalive(run: KeepAliveRun, *, ordered: bool) -> Result:
    """Ordered: no reuse fails. Reversed: the race shows as 502s, or the rehearsal is blind."""
    title = "Keep-alive: the target outlives the balancer's idle reuse" + (
        "" if ordered else " — counter-case: target closes first"
    )
    story = (
        f"One instance behind HAProxy with `http-reuse always` (as the ALB shares idle "
        f"connections to a target between clients) and {NETWORK_LATENCY * 1000:.0f} ms of "
        f"one-way latency between them. {REQUESTS} GETs, one at a time, each on a new client "
        f"connection, after idle gaps of {GAP_RANGE[0] * SHORT_KEEP_ALIVE:.2f} to "
        f"{GAP_RANGE[1] * SHORT_KEEP_ALIVE:.2f} s; the balancer sends each on its idle "
        f"connection to the target. The target keeps idle connections for "
        f"HELLO_KEEP_ALIVE_SECONDS={run.server_keep_alive:g}"
    )
    story += (
        " (production's setting), longer than the balancer holds them: no request may fail."
        if ordered
        else ", shorter than the balancer holds them, as with the ALB's 60 s default in front of "
        "a 30 s server: this run must show 502s, or the rehearsal cannot see the race."
    )
    result = Result(title, story, counter_case=not ordered)
    answers = run.answers
    failed = sum(n for answer, n in answers.items() if answer != "200")
    result.number("PUT before the GETs", run.stored)
    result.number("answers", ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())))
    result.number(
        "balancer to target: connections opened / requests on a reused idle connection",
        f"{run.connections_opened} / {run.reused}",
    )
    if ordered:
        result.expect(
            "every GET reusing an idle connection is answered 200", failed == 0, f"{failed} failed"
        )
    else:
        result.expect(
            "reused connections the target had just closed fail (502)",
            answers.get("502", 0) > 0,
            f"{answers.get('502', 0)}/{REQUESTS} answered 502",
        )
    return result


def keepalive(workdir: Path, profile: Profile, *, ordered: bool) -> Result:
    """Run the keep-alive case with production's setting or the reversed one, then judge it."""
    began = time.monotonic()
    run = run_keepalive(workdir, 60.0 if ordered else SHORT_KEEP_ALIVE)
    result = judge_keepalive(run, ordered=ordered)
    result.seconds = time.monotonic() - began
    return result


def _get_after_gaps(port: int, rng: random.Random) -> list[str]:
    """Each GET's status (or the error's name), each after an idle gap drawn from GAP_RANGE."""
    answers = []
    for _ in range(REQUESTS):
        time.sleep(rng.uniform(*GAP_RANGE) * SHORT_KEEP_ALIVE)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", f"/hello/{USER}", headers={"Connection": "close"})
            answers.append(str(connection.getresponse().status))
        except OSError as error:
            answers.append(type(error).__name__)
        finally:
            connection.close()
    return answers


KEEPALIVE_SCENARIOS = {
    "keepalive-ordered": lambda work, profile: keepalive(work, profile, ordered=True),
    "keepalive-reversed": lambda work, profile: keepalive(work, profile, ordered=False),
}
