"""The smoke hook's Lambda package, run as Lambda runs it, against the real server.

The package is built by scripts/build-smoke-hook, and each invocation is a fresh interpreter
with nothing on its path but that zip (-I: no user site, no environment paths; -S: no
site-packages), so a test passing here also shows the package is complete and needs only the
standard library. The server is the real one (`hello-birthday serve`); the bad release is the
rehearsal's smoke-fails one: its storage path (a proxy in front of dynalite) throttles every
write, which /readyz cannot see.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import uuid
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tools.local.dynalite import Dynalite
from tools.local.ports import free_port
from tools.local.server import ServerProcess, request
from tools.rehearsal.canary import ThrottlingStorage

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "scripts" / "build-smoke-hook"
HEADER = "X-Hello-Test-Traffic"
KEY = "test-key-" + uuid.uuid4().hex
# What ECS sends at POST_TEST_TRAFFIC_SHIFT (the fields the hook reads; others are ignored).
EVENT: dict[str, Any] = {
    "executionDetails": {
        "serviceArn": "arn:aws:ecs:eu-west-1:123456789012:service/hb/hb",
        "targetServiceRevisionArn": "arn:aws:ecs:eu-west-1:123456789012:service-revision/hb/hb/7",
    }
}


def build(output: Path) -> Path:
    subprocess.run([sys.executable, str(BUILD), str(output)], check=True, capture_output=True)
    return output


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("hook") / "smoke-hook.zip")


def invoke(package: Path, event: dict[str, Any], **env: str) -> dict[str, Any]:
    """handler(event) in a bare interpreter that sees only the package; its JSON answer."""
    program = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import smoke_hook; "
        "print('RESULT ' + json.dumps(smoke_hook.handler(json.loads(sys.argv[2]))))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", program, str(package), json.dumps(event)],
        env={"PATH": "/usr/bin:/bin", "SMOKE_TIMEOUT": "5", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    result["log"] = done.stdout
    return result


class KeyedRule:
    """Stands in for the listener's test rule: only requests with the key reach the revision.

    Everything else gets what the production target group would answer, here a 503, so a hook
    that forgot the header fails instead of silently testing production.
    """

    def __init__(self, upstream_port: int) -> None:
        upstream = upstream_port

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.headers.get(HEADER) != KEY:
                    status, ctype, payload = 503, "text/plain", b"production, not the canary"
                else:
                    reply = request(
                        f"http://127.0.0.1:{upstream}{self.path}",
                        method=self.command,
                        body=body,
                        headers={
                            k: v
                            for k, v in self.headers.items()
                            if k.lower() in {"content-type", "accept", "authorization"}
                        },
                    )
                    status, payload = reply.status, reply.body
                    ctype = reply.headers.get("content-type", "")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_PUT = do_GET  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> KeyedRule:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dynalite]:
    db = Dynalite(data_dir=tmp_path_factory.mktemp("hook-dynalite")).start()
    db.create_table("hello")
    yield db
    db.stop()


@pytest.fixture(scope="module")
def good(storage: Dynalite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("hook-good") / "server.log"
    server = ServerProcess(storage.environment("hello"), log).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bad(storage: Dynalite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The same server whose writes are all throttled: ready, but refusing every PUT."""
    proxy = ThrottlingStorage(storage.port, 0.0).start()
    env = storage.environment("hello") | {"AWS_ENDPOINT_URL_DYNAMODB": proxy.endpoint}
    log = tmp_path_factory.mktemp("hook-bad") / "server.log"
    server = ServerProcess(env, log).start()
    yield server
    server.stop()
    proxy.stop()


def through_rule(rule: KeyedRule) -> dict[str, str]:
    return {"SMOKE_URL": rule.url, "SMOKE_HEADER_NAME": HEADER, "SMOKE_HEADER_VALUE": KEY}


def test_a_good_revision_succeeds(package: Path, good: ServerProcess) -> None:
    with KeyedRule(good.port) as rule:
        result = invoke(package, EVENT, **through_rule(rule))
    assert result["hookStatus"] == "SUCCEEDED", result["log"]
    assert "service-revision/hb/hb/7" in result["log"]
    assert "ok   GET of an unknown user -> 404 problem+json" in result["log"]


@pytest.mark.parametrize("nested", [False, True], ids=["top-level", "in-executionDetails"])
def test_a_revision_whose_storage_refuses_writes_is_retried_then_failed(
    package: Path, bad: ServerProcess, nested: bool
) -> None:
    assert request(f"{bad.url}/readyz").status == 200, "the fault must be invisible to readiness"
    with KeyedRule(bad.port) as rule:
        first = invoke(package, EVENT, **through_rule(rule), SMOKE_ATTEMPTS="2")
        assert first["hookStatus"] == "IN_PROGRESS", first["log"]
        assert first["hookDetails"] == {"smokeAttempt": 1}
        assert first["callBackDelay"] == 20
        # ECS hands the hookDetails of an IN_PROGRESS answer back on the next invocation.
        handed_back = (
            {"executionDetails": EVENT["executionDetails"] | {"hookDetails": first["hookDetails"]}}
            if nested
            else EVENT | {"hookDetails": first["hookDetails"]}
        )
        last = invoke(
            package,
            handed_back,
            **through_rule(rule),
            SMOKE_ATTEMPTS="2",
        )
    assert last["hookStatus"] == "FAILED", last["log"]
    assert "SMOKE HOOK FAILED" in last["log"]
    assert "PUT /hello/" in last["log"]


def test_the_key_header_is_what_reaches_the_new_revision(
    package: Path, good: ServerProcess
) -> None:
    with KeyedRule(good.port) as rule:
        result = invoke(package, EVENT, SMOKE_URL=rule.url, SMOKE_ATTEMPTS="1")
    assert result["hookStatus"] == "FAILED", result["log"]
    assert "GET /healthz: expected HTTP 200, got 503" in result["log"]


@pytest.mark.parametrize("url", ["", "file:///etc/passwd", "ftp://example.com"])
def test_a_hook_without_a_usable_url_fails_at_once(package: Path, url: str) -> None:
    result = invoke(package, EVENT, SMOKE_URL=url)
    assert result["hookStatus"] == "FAILED"
    assert "is not an http(s) URL" in result["log"]


def test_the_package_is_reproducible_and_holds_exactly_the_hook(
    package: Path, tmp_path: Path
) -> None:
    again = build(tmp_path / "again.zip")
    assert (
        hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(package.read_bytes()).digest()
    )
    with zipfile.ZipFile(package) as archive:
        assert sorted(archive.namelist()) == ["smoke_checks.py", "smoke_hook.py"]
        for name in archive.namelist():
            source = (ROOT / "scripts" / name).read_bytes()
            assert archive.read(name) == source
