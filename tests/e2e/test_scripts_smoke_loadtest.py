"""scripts/smoke and scripts/loadtest against the real server, and against broken versions of it.

The broken versions are the real server behind a small proxy that spoils one thing at a time,
so each test shows that the script notices exactly that defect.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tools.local.ports import free_port
from tools.local.server import ServerProcess, request

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scripts" / "smoke"
LOADTEST = ROOT / "scripts" / "loadtest"

Headers = dict[str, str]
# (method, path, status, headers, body) -> the same, possibly spoiled
Fault = Callable[[str, str, int, Headers, bytes], tuple[int, Headers, bytes]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("scripts-server")
    process = ServerProcess(
        env={"HELLO_STORAGE": "sqlite", "HELLO_SQLITE_PATH": str(workdir / "hello.sqlite3")},
        log_path=workdir / "server.log",
    ).start()
    yield process
    process.stop()


class FaultyProxy:
    """Forwards to the real server; `fault` may change what comes back."""

    def __init__(self, upstream: str, fault: Fault | None) -> None:
        self.upstream = urlsplit(upstream)
        self.fault = fault
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection(
                    proxy.upstream.hostname or "127.0.0.1", proxy.upstream.port, timeout=10
                )
                forward = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request(self.command, self.path, body=body, headers=forward)
                reply = conn.getresponse()
                status, payload = reply.status, reply.read()
                headers = {
                    k: v
                    for k, v in reply.getheaders()
                    if k.lower() in {"content-type", "retry-after"}
                }
                conn.close()
                if proxy.fault is not None:
                    status, headers, payload = proxy.fault(
                        self.command, self.path, status, headers, payload
                    )
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = _forward  # noqa: N815 - http.server's naming

            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FaultyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def run_script(script: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# ------------------------------------------------------------------------------------- smoke


def test_smoke_passes_against_the_real_service(server: ServerProcess) -> None:
    result = run_script(SMOKE, server.url)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke test passed: 6 checks" in result.stdout
    # The round trip really went through storage: the user it created is there.
    created = re.search(r"PUT /hello/(smoke[a-z]+) ", result.stdout)
    assert created is not None
    reply = request(f"{server.url}/hello/{created.group(1)}")
    assert reply.status == 200
    assert "Your birthday is in" in json.loads(reply.body)["message"]


def test_smoke_passes_through_a_transparent_proxy(server: ServerProcess) -> None:
    with FaultyProxy(server.url, fault=None) as proxy:
        result = run_script(SMOKE, proxy.url + "/")

    assert result.returncode == 0, result.stdout + result.stderr


def wrong_day_count(
    method: str, path: str, status: int, headers: Headers, body: bytes
) -> tuple[int, Headers, bytes]:
    return status, headers, re.sub(rb"in \d+ day", b"in 11 day", body)


def not_ready(
    method: str, path: str, status: int, headers: Headers, body: bytes
) -> tuple[int, Headers, bytes]:
    if path == "/readyz":
        return 503, {"Content-Type": "application/problem+json"}, b'{"status": 503}'
    return status, headers, body


def errors_as_plain_json(
    method: str, path: str, status: int, headers: Headers, body: bytes
) -> tuple[int, Headers, bytes]:
    if status >= 400:
        return status, {"Content-Type": "application/json"}, body
    return status, headers, body


def invalid_input_accepted(
    method: str, path: str, status: int, headers: Headers, body: bytes
) -> tuple[int, Headers, bytes]:
    if method == "PUT" and status == 400:
        return 204, {}, b""
    return status, headers, body


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (wrong_day_count, "expected message"),
        (not_ready, "GET /readyz: expected HTTP 200, got 503"),
        (errors_as_plain_json, "expected Content-Type application/problem+json"),
        (invalid_input_accepted, "invalid dateOfBirth: expected HTTP 400, got 204"),
    ],
)
def test_smoke_fails_on_a_broken_service(server: ServerProcess, fault: Fault, reason: str) -> None:
    with FaultyProxy(server.url, fault=fault) as proxy:
        result = run_script(SMOKE, proxy.url)

    assert result.returncode == 1
    assert "SMOKE TEST FAILED" in result.stderr
    assert reason in result.stderr


def test_smoke_fails_when_nothing_listens() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    result = run_script(SMOKE, url, "--timeout", "2")

    assert result.returncode == 1
    assert f"SMOKE TEST FAILED against {url}: GET {url}/healthz: no response" in result.stderr


def test_smoke_rejects_a_url_without_scheme() -> None:
    result = run_script(SMOKE, "localhost:8080")

    assert result.returncode == 2
    assert "must start with http:// or https://" in result.stderr


# ---------------------------------------------------------------------------------- loadtest


def test_loadtest_passes_with_small_numbers(server: ServerProcess, tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"

    result = run_script(
        LOADTEST, server.url, "--rate", "20", "--duration", "2", "--users", "5",
        "--max-p99-ms", "1000", "--summary-json", str(summary_path),
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["requests"] == 40
    assert summary["errors"] == 0
    assert summary["passed"] is True
    assert 0 < summary["p50_ms"] <= summary["p99_ms"] <= summary["max_ms"]
    # Open loop: 40 requests scheduled over 2 s. The rate counts until the last answer, so a
    # busy machine lowers it a little, but it can never exceed what was asked.
    assert 10 <= summary["achieved_rps"] <= 21
    assert "load test passed" in result.stdout


def test_loadtest_fails_on_the_error_rate(server: ServerProcess, tmp_path: Path) -> None:
    seen = 0
    lock = threading.Lock()

    def every_fourth_get_fails(
        method: str, path: str, status: int, headers: Headers, body: bytes
    ) -> tuple[int, Headers, bytes]:
        nonlocal seen
        if method != "GET":
            return status, headers, body
        with lock:
            seen += 1
            failing = seen % 4 == 0
        if failing:
            return 500, {"Content-Type": "application/problem+json"}, b'{"status": 500}'
        return status, headers, body

    summary_path = tmp_path / "summary.json"
    with FaultyProxy(server.url, fault=every_fourth_get_fails) as proxy:
        result = run_script(
            LOADTEST, proxy.url, "--rate", "20", "--duration", "2", "--read-ratio", "1",
            "--users", "3", "--max-p99-ms", "1000", "--summary-json", str(summary_path),
        )  # fmt: skip

    assert result.returncode == 1
    summary = json.loads(summary_path.read_text())
    assert summary["errors"] == 10
    assert summary["error_kinds"] == {"GET HTTP 500": 10}
    assert "LOAD TEST FAILED" in result.stderr
    assert "error rate 25.00% > 1.00%" in result.stderr


def test_loadtest_fails_on_p99(server: ServerProcess) -> None:
    result = run_script(
        LOADTEST, server.url, "--rate", "10", "--duration", "1", "--users", "2",
        "--max-p99-ms", "0.001",
    )  # fmt: skip

    assert result.returncode == 1
    assert re.search(r"p99 [\d.]+ ms > 0.001 ms", result.stderr)


def test_loadtest_fails_when_seeding_fails(server: ServerProcess) -> None:
    result = run_script(LOADTEST, server.url + "/not-the-api", "--rate", "5", "--duration", "1")

    assert result.returncode == 1
    assert "LOAD TEST FAILED: seeding" in result.stderr
    assert "HTTP 404" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "0", "--duration", "1"], "--rate must be in"),
        (["--rate", "5000", "--duration", "1"], "--rate must be in"),
        (["--rate", "5", "--duration", "3600"], "--duration must be in"),
        (["--rate", "5", "--duration", "1", "--max-error-rate", "2"], "must be in [0, 1]"),
    ],
)
def test_loadtest_refuses_unbounded_or_invalid_parameters(args: list[str], message: str) -> None:
    result = run_script(LOADTEST, "http://127.0.0.1:9", *args)

    assert result.returncode == 2
    assert message in result.stderr
