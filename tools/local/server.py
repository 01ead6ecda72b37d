"""The real server, started as `make run` starts it, on a free port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tools.local.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [str(ROOT / ".venv" / "bin" / "hello-birthday"), "serve"]


@dataclass
class Reply:
    """A response as the tests need it."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        """The body parsed as JSON."""
        return json.loads(self.body)


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> Reply:
    """One HTTP request; error statuses are returned, not raised."""
    outgoing = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(outgoing, timeout=timeout) as reply:
            headers = {k.lower(): v for k, v in reply.headers.items()}
            return Reply(reply.status, headers, reply.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


class ServerProcess:
    """`hello-birthday serve` in a child process, its output kept in a log file."""

    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self._env = {**os.environ, **env, "HELLO_PORT": str(self.port)}
        self._env.setdefault("HELLO_WORKERS", "2")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The supervisor's process id."""
        assert self._process is not None
        return self._process.pid

    def start(self, timeout: float = 20) -> ServerProcess:
        """Start and wait for /readyz to answer 200."""
        # Logs are JSON on stdout; stderr is kept apart for anything that is not a log line.
        with (
            self.log_path.open("ab") as log,
            self.log_path.with_suffix(".stderr").open("ab") as err,
        ):
            self._process = subprocess.Popen(
                COMMAND, env=self._env, stdout=log, stderr=err, cwd=ROOT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.output()}")
            try:
                if request(self.url + "/readyz", timeout=1).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server not ready in {timeout}s:\n{self.output()}")

    def signal(self, signum: int) -> None:
        """Send a signal to the supervisor."""
        assert self._process is not None
        self._process.send_signal(signum)

    def kill_hard(self) -> None:
        """SIGKILL the supervisor and granian's whole process group, like a crash."""
        assert self._process is not None
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        for child in children:
            # granian runs in its own session, so its group id is its pid.
            os.killpg(int(child), signal.SIGKILL)
        self._process.kill()
        self._process.wait()

    def wait(self, timeout: float) -> int:
        """Wait for exit and return the exit code."""
        assert self._process is not None
        return self._process.wait(timeout=timeout)

    def stop(self) -> None:
        """Stop gracefully if still running."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def output(self) -> str:
        """Everything the server wrote, for failure messages."""
        return self.log_path.read_text() + self.log_path.with_suffix(".stderr").read_text()

    def log_lines(self) -> list[dict[str, object]]:
        """Every JSON line the server wrote."""
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]
