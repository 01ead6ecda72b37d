"""The rehearsal's own parts, checked quickly so `make test` notices when they break."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections import Counter

import pytest
from tools.local.ports import free_port
from tools.local.processes import process_tree, username
from tools.rehearsal.fleet import alive
from tools.rehearsal.load import Outcome, classify, exchange
from tools.rehearsal.measure import Result, Timeline, is_clean_503, percentile
from tools.rehearsal.scenarios import Readback, RollRun, judge_roll
from tools.rehearsal.scenarios_keepalive import KeepAliveRun, judge_keepalive
from tools.rehearsal.slowproxy import DelayProxy, LatencyProxy


def test_usernames_are_unique_and_letters_only() -> None:
    names = [username("roll", index) for index in range(20_000)]
    assert len(set(names)) == len(names)
    assert all(name.isalpha() for name in names)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 0.5) == 50.0
    assert percentile([7.0], 0.99) == 7.0


def test_a_counter_case_that_sees_no_errors_fails() -> None:
    result = Result("broken roll", "", counter_case=True)
    result.expect("failed requests > 0", False, "0")
    assert not result.passed
    assert result.verdict == "NOT DETECTED (FAIL)"


def test_only_a_problem_document_with_retry_after_is_a_clean_503() -> None:
    def outcome(content_type: str | None, retry_after: str | None) -> Outcome:
        return Outcome(0, "GET", "a", None, 0, 1, 503, None, content_type, retry_after, None)

    assert is_clean_503(outcome("application/problem+json", "1"))
    assert not is_clean_503(outcome("text/html", None))
    assert not is_clean_503(outcome("application/problem+json", None))


def test_a_refused_connection_is_recorded_as_refused() -> None:
    with pytest.raises(ConnectionRefusedError) as caught:
        asyncio.run(exchange("127.0.0.1", free_port(), "GET", "/"))
    assert classify(caught.value) == "refused"


def test_the_delay_proxy_holds_answers_back() -> None:
    with socket.socket() as upstream:
        upstream.bind(("127.0.0.1", 0))
        upstream.listen()
        proxy = DelayProxy(upstream.getsockname()[1]).start()
        try:
            proxy.delay = 0.3
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as client:
                server_side, _ = upstream.accept()
                with server_side:
                    client.sendall(b"ping")
                    assert server_side.recv(4) == b"ping"
                    started = time.monotonic()
                    server_side.sendall(b"pong")
                    assert client.recv(4) == b"pong"
                    assert time.monotonic() - started >= 0.3
        finally:
            proxy.stop()


def test_the_latency_proxy_delays_both_ways_and_the_close_too() -> None:
    with socket.socket() as upstream:
        upstream.bind(("127.0.0.1", 0))
        upstream.listen()
        proxy = LatencyProxy(upstream.getsockname()[1], delay=0.2).start()
        try:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as client:
                server_side, _ = upstream.accept()
                with server_side:
                    sent = time.monotonic()
                    client.sendall(b"ping")
                    assert server_side.recv(4) == b"ping"
                    assert time.monotonic() - sent >= 0.2
                    server_side.sendall(b"pong")
                    assert client.recv(4) == b"pong"
                    closed = time.monotonic()
                # The target's close reaches the client as late as its data would.
                assert client.recv(4) == b""
                assert time.monotonic() - closed >= 0.2
        finally:
            proxy.stop()


def test_process_tree_finds_grandchildren() -> None:
    shell = subprocess.Popen(["sh", "-c", "sleep 30 & wait"])
    try:
        deadline = time.monotonic() + 5
        while len(process_tree(shell.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        tree = list(process_tree(shell.pid))
        assert tree[0] == shell.pid
        assert len(tree) == 2
    finally:
        for pid in reversed(process_tree(shell.pid)):
            subprocess.run(["kill", "-9", str(pid)], check=False)
        shell.wait()
    assert not alive(shell.pid)


def _roll(statuses: list[int]) -> RollRun:
    """A recorded roll whose requests got these answers, one every half second from t=0."""
    outcomes = [
        Outcome(i, "GET", "alice", None, i * 0.5, i * 0.5 + 0.01, status, None, None, None, "s1")
        for i, status in enumerate(statuses)
    ]
    return RollRun(
        env={},
        outcomes=outcomes,
        timeline=Timeline(),
        load_started=-0.1,
        roll_start=0.6,
        roll_end=1.2,
        exits=[("instance-1", 0, 0.4)],
        dead=[],
        readback=Readback("through the balancer", 3, []),
    )


def test_a_roll_is_judged_from_its_record_alone() -> None:
    assert judge_roll(_roll([200, 200, 200, 200]), "sqlite", 100, graceful=True).passed
    assert not judge_roll(_roll([200, 502, 200, 200]), "sqlite", 100, graceful=True).passed
    broken = judge_roll(_roll([200, 502, 200, 200]), "sqlite", 100, graceful=False)
    assert broken.verdict == "DETECTED"
    assert judge_roll(_roll([200] * 4), "sqlite", 100, graceful=False).verdict != "DETECTED"


def test_the_reversed_keep_alive_case_must_see_502s() -> None:
    def judged(answers: dict[str, int], *, ordered: bool) -> str:
        run = KeepAliveRun(1.0, 204, Counter(answers), 5, 25)
        return judge_keepalive(run, ordered=ordered).verdict

    assert judged({"200": 22, "502": 8}, ordered=False) == "DETECTED"
    assert judged({"200": 30}, ordered=False) == "NOT DETECTED (FAIL)"
    assert judged({"200": 30}, ordered=True) == "PASS"
    assert judged({"200": 29, "502": 1}, ordered=True) == "FAIL"
