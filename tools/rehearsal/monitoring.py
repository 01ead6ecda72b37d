"""The production monitoring pipeline, run for real beside the rehearsal's instances.

Per instance a collector: Prometheus in agent mode with the task's deploy/prometheus/collector.yml.
They remote-write to a second Prometheus standing in for the Amazon Managed Service for
Prometheus workspace, which evaluates deploy/prometheus/rules.yml and sends to Alertmanager
with deploy/prometheus/alertmanager.yml, whose receiver here is a webhook that records every
notification. What differs from production, and nothing else:

- every duration (rule group intervals, `for`, range windows, scrape interval and timeout, the
  remote-write batch deadline, the alert manager's group and repeat timings, the evaluator's
  look-back and resend delay) is multiplied by one window scale, so an hour of production is
  two minutes here;
- the collector's scrape target is the instance's port and its remote-write URL the stand-in's;
  its `sigv4` block is removed, since nothing here holds AWS credentials or checks signatures;
- the alert manager's SNS receiver is a webhook (the workspace offers SNS only; SNS is not here);
- Debian's Prometheus is 2.42, where agent mode is `--enable-feature=agent`; the task's 2.54.1
  spells it `--agent`. The task also sets COLLECTOR_TASK from its metadata; here it is the
  instance's name.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import yaml

from tools.local.ports import free_port
from tools.rehearsal.measure import ROOT

PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "rules.yml"
COLLECTOR = PROMETHEUS_DIR / "collector.yml"
ALERTMANAGER = PROMETHEUS_DIR / "alertmanager.yml"
# One production hour is two rehearsal minutes. Shorter makes the scrape timeout (5 s x scale)
# too tight for a busy two-core machine; longer makes each verdict take minutes.
WINDOW_SCALE = Fraction(1, 30)

# Prometheus's duration syntax, largest unit first (model.ParseDuration).
_UNITS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000}
_UNITS |= {"m": 60_000, "s": 1_000, "ms": 1}
_DURATION = re.compile(r"(\d+)(ms|[ywdhms])")
# A string literal (left alone: a regex matcher may hold brackets) or a range / subquery.
_RANGE = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|\[(\w+)(?::(\w*))?\]""")
COLLECTOR_DURATIONS = frozenset(
    {"scrape_interval", "scrape_timeout", "evaluation_interval", "batch_send_deadline"}
    | {"remote_timeout", "min_backoff", "max_backoff"}
)
ALERTMANAGER_DURATIONS = frozenset(
    {"group_wait", "group_interval", "repeat_interval", "resolve_timeout"}
)
# Prometheus's own defaults that shape alert timing, as the workspace runs them.
LOOKBACK_DELTA_MS = 300_000
RESEND_DELAY_MS = 60_000


def duration_ms(text: str) -> int:
    """A Prometheus duration ("1h30m", "500ms") in milliseconds."""
    parts = _DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(number) * _UNITS[unit] for number, unit in parts)


def format_ms(milliseconds: int) -> str:
    """Milliseconds as a Prometheus duration, in whole seconds when exact."""
    return f"{milliseconds // 1000}s" if milliseconds % 1000 == 0 else f"{milliseconds}ms"


def scale_duration(text: str, scale: Fraction) -> str:
    """One duration multiplied by the scale, rounded to the millisecond (at least 1 ms)."""
    return format_ms(max(1, round(duration_ms(text) * scale)))


def scale_expr(expr: str, scale: Fraction) -> str:
    """Every range window and subquery step of a PromQL expression multiplied by the scale."""
    if re.search(r"\boffset\b|@", _RANGE.sub('""', expr)):
        # Not used by rules.yml; refuse rather than leave a production-length shift behind.
        raise ValueError(f"offset and @ are not scaled: {expr!r}")

    def one(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)
        window = scale_duration(match.group(1), scale)
        if match.group(2) is None:
            return f"[{window}]"
        step = scale_duration(match.group(2), scale) if match.group(2) else ""
        return f"[{window}:{step}]"

    return _RANGE.sub(one, expr)


def scale_rules(rules: dict[str, Any], scale: Fraction) -> dict[str, Any]:
    """A rules file with every group interval, `for` and range window multiplied by the scale."""
    scaled = copy.deepcopy(rules)
    for group in scaled["groups"]:
        if "interval" in group:
            group["interval"] = scale_duration(group["interval"], scale)
        for rule in group["rules"]:
            rule["expr"] = scale_expr(rule["expr"], scale)
            if "for" in rule:
                rule["for"] = scale_duration(rule["for"], scale)
    return scaled


def scale_keys(tree: Any, keys: frozenset[str], scale: Fraction) -> Any:
    """A copy of a configuration tree with the durations under the named keys scaled."""
    if isinstance(tree, dict):
        return {
            key: scale_duration(value, scale)
            if key in keys and isinstance(value, str)
            else scale_keys(value, keys, scale)
            for key, value in tree.items()
        }
    if isinstance(tree, list):
        return [scale_keys(item, keys, scale) for item in tree]
    return tree


def collector_config(
    task: dict[str, Any], target: str, remote_write_url: str, scale: Fraction
) -> dict[str, Any]:
    """The task's collector configuration as the rehearsal runs it (see the module docstring)."""
    config: dict[str, Any] = scale_keys(task, COLLECTOR_DURATIONS, scale)
    (job,) = config["scrape_configs"]
    (static,) = job["static_configs"]
    static["targets"] = [target]
    (remote,) = config["remote_write"]
    remote["url"] = remote_write_url
    if "sigv4" not in remote:
        raise ValueError("the task's collector signs its remote write; this one no longer does")
    del remote["sigv4"]
    return config


def alertmanager_config(
    definition: dict[str, Any], webhook_url: str, scale: Fraction
) -> dict[str, Any]:
    """The workspace's alert manager configuration with its SNS receivers sent to a webhook."""
    config: dict[str, Any] = scale_keys(
        yaml.safe_load(definition["alertmanager_config"]), ALERTMANAGER_DURATIONS, scale
    )
    for receiver in config["receivers"]:
        if not receiver.pop("sns_configs", None):
            raise ValueError(f"receiver {receiver['name']} has no SNS topic to stand in for")
        receiver["webhook_configs"] = [{"url": webhook_url, "send_resolved": True}]
    return config


@dataclass(frozen=True)
class Notification:
    """One POST the alert manager made to the webhook."""

    received: float
    status: str
    alerts: tuple[tuple[str, str], ...]

    def has(self, alertname: str, status: str = "firing") -> bool:
        """Whether it carries that alert in that state."""
        return (alertname, status) in self.alerts


@dataclass
class WebhookRecorder:
    """An HTTP receiver for Alertmanager's webhook, keeping each notification with its arrival."""

    port: int = field(default_factory=free_port)
    notifications: list[Notification] = field(default_factory=list)
    rejected: int = 0

    def __post_init__(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    body = json.loads(self.rfile.read(length))
                    alerts = tuple(
                        (alert["labels"]["alertname"], alert["status"]) for alert in body["alerts"]
                    )
                    notification = Notification(time.monotonic(), body["status"], alerts)
                except (ValueError, KeyError, TypeError):
                    recorder.rejected += 1
                    self.send_response(400)
                    self.end_headers()
                    return
                recorder.notifications.append(notification)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where the alert manager posts."""
        return f"http://127.0.0.1:{self.port}/notify"

    def start(self) -> Self:
        """Serve from a thread of its own."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def first(self, alertname: str, status: str = "firing", after: float = 0.0) -> float | None:
        """When the first notification with that alert in that state arrived after a moment."""
        return next(
            (
                n.received
                for n in list(self.notifications)
                if n.received >= after and n.has(alertname, status)
            ),
            None,
        )

    def alertnames(self, start: float = 0.0, end: float = float("inf")) -> set[str]:
        """Every alert that was notified firing in a window."""
        return {
            name
            for n in list(self.notifications)
            if start <= n.received < end
            for name, status in n.alerts
            if status == "firing"
        }

    def wait_for(
        self, alertname: str, after: float, timeout: float, status: str = "firing"
    ) -> float | None:
        """Wait until that alert is notified in that state after a moment; when, or None."""
        deadline = time.monotonic() + timeout
        while (at := self.first(alertname, status, after)) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        return at


class Daemon:
    """A monitoring process: started, waited for at its readiness URL, stopped with SIGTERM."""

    def __init__(
        self,
        name: str,
        command: list[str],
        ready_url: str,
        log: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.ready_url = ready_url
        with log.open("ab") as out:
            self._process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
            )
        self._wait_ready(log)

    def _wait_ready(self, log: Path, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.ready_url, timeout=1) as reply,
            ):
                if reply.status == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready in {timeout} s:\n{log.read_text()[-2000:]}")

    @property
    def running(self) -> bool:
        """Whether it has not exited."""
        return self._process.poll() is None

    def reload(self) -> None:
        """SIGHUP: re-read the configuration."""
        self._process.send_signal(signal.SIGHUP)

    def kill(self) -> None:
        """SIGKILL, as an OOM kill or a crash would end it."""
        self._process.kill()
        self._process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM and wait; SIGKILL if it does not exit in 10 s."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _write_yaml(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


class Monitoring:
    """The stand-in workspace, its alert manager and webhook, and one collector per instance."""

    def __init__(self, workdir: Path, scale: Fraction = WINDOW_SCALE) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        # Data directories private to this run, inside the rehearsal's work directory.
        self.root = Path(tempfile.mkdtemp(prefix="monitoring-", dir=workdir))
        self.scale = scale
        self.webhook = WebhookRecorder()
        self.collectors: dict[str, Daemon] = {}
        self._stack = contextlib.ExitStack()
        self._workspace_port = free_port()
        self._workspace: Daemon | None = None
        self._workspace_config: dict[str, Any] = {}

    def scaled_seconds(self, production: str) -> float:
        """A production duration as rehearsal seconds."""
        return duration_ms(production) * float(self.scale) / 1000

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        for collector in self.collectors.values():
            collector.stop()
        self._stack.close()

    def _start(self) -> None:
        self._stack.callback(self.webhook.start().stop)
        am_port = free_port()
        definition = yaml.safe_load(ALERTMANAGER.read_text())
        am_config = _write_yaml(
            self.root / "alertmanager.yml",
            alertmanager_config(definition, self.webhook.url, self.scale),
        )
        (self.root / "alertmanager-data").mkdir()
        alertmanager = Daemon(
            "alertmanager",
            [
                "prometheus-alertmanager",
                f"--config.file={am_config}",
                f"--storage.path={self.root / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                # No gossip: the cluster port would be a fixed, shared one.
                "--cluster.listen-address=",
                "--log.level=debug",
            ],
            f"http://127.0.0.1:{am_port}/-/ready",
            self.root / "alertmanager.log",
        )
        self._stack.callback(alertmanager.stop)
        self._workspace_config = {
            "alerting": {
                "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
            },
        }
        workspace_config = _write_yaml(self.root / "workspace.yml", self._workspace_config)
        workspace = Daemon(
            "workspace",
            [
                "prometheus",
                f"--config.file={workspace_config}",
                f"--storage.tsdb.path={self.root / 'workspace-data'}",
                f"--web.listen-address=127.0.0.1:{self._workspace_port}",
                "--web.enable-remote-write-receiver",
                "--query.lookback-delta="
                + scale_duration(format_ms(LOOKBACK_DELTA_MS), self.scale),
                "--rules.alert.resend-delay="
                + scale_duration(format_ms(RESEND_DELAY_MS), self.scale),
            ],
            f"{self.workspace_url}/-/ready",
            self.root / "workspace.log",
        )
        self._stack.callback(workspace.stop)
        self._workspace = workspace

    @property
    def workspace_url(self) -> str:
        """The stand-in workspace's HTTP API."""
        return f"http://127.0.0.1:{self._workspace_port}"

    def evaluate(self, timeout: float = 15) -> None:
        """Load the rules into the stand-in workspace and wait until it evaluates them.

        Called once the first scrapes have arrived: a workspace evaluating before any data came
        would fire HelloMetricsMissing at start-up, which production's, long fed, never does.
        """
        rules = _write_yaml(
            self.root / "rules.yml", scale_rules(yaml.safe_load(RULES.read_text()), self.scale)
        )
        names = {group["name"] for group in yaml.safe_load(rules.read_text())["groups"]}
        _write_yaml(
            self.root / "workspace.yml", {**self._workspace_config, "rule_files": [str(rules)]}
        )
        assert self._workspace is not None, "evaluate() runs inside the context"
        self._workspace.reload()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{self.workspace_url}/api/v1/rules", timeout=5) as reply:
                groups = json.load(reply)["data"]["groups"]
            if {g["name"] for g in groups if g["lastEvaluation"][:4] != "0001"} >= names:
                return
            time.sleep(0.2)
        raise RuntimeError("the stand-in workspace did not load and evaluate the rules")

    def watch(self, task: str, port: int) -> None:
        """Start a collector for the instance on `port`, labelled as the task `task`."""
        config = collector_config(
            yaml.safe_load(COLLECTOR.read_text()),
            f"127.0.0.1:{port}",
            f"{self.workspace_url}/api/v1/write",
            self.scale,
        )
        path = _write_yaml(self.root / f"collector-{task}.yml", config)
        listen = free_port()
        self.collectors[task] = Daemon(
            f"collector {task}",
            [
                "prometheus",
                "--enable-feature=agent",
                "--enable-feature=expand-external-labels",
                f"--config.file={path}",
                f"--storage.agent.path={self.root / f'collector-{task}-wal'}",
                f"--web.listen-address=127.0.0.1:{listen}",
            ],
            f"http://127.0.0.1:{listen}/-/ready",
            self.root / f"collector-{task}.log",
            # The task's value comes from its metadata in ECS; here it is the instance's name.
            env={"COLLECTOR_TASK": task},
        )

    def unwatch(self, task: str) -> None:
        """Stop a task's collector, as ECS stops the task's containers."""
        self.collectors.pop(task).stop()

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query against the stand-in workspace."""
        url = f"{self.workspace_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as reply:
            result: list[dict[str, Any]] = json.load(reply)["data"]["result"]
        return result


def report_section(scale: Fraction = WINDOW_SCALE) -> list[str]:
    """The report's table of what the rehearsal's monitoring does differently from production."""

    def scaled(production: str) -> str:
        return scale_duration(production, scale)

    return [
        "## The monitoring pipeline, scaled down from AWS",
        "",
        "| | production (the ECS task, the managed workspace) | "
        "rehearsal (tools/rehearsal/monitoring.py) |",
        "|---|---|---|",
        "| collector | Prometheus in agent mode, a sidecar in every task, "
        "deploy/prometheus/collector.yml | Debian's Prometheus in agent mode per instance, the "
        "same file; target = the instance's port, remote-write URL = the stand-in's, "
        "`sigv4` removed; Prometheus 2.42 (the task's is 2.54.1) |",
        "| workspace | Amazon Managed Service for Prometheus, rules.yml as a rule group "
        "namespace | a second Prometheus with `--web.enable-remote-write-receiver`, the same "
        "rules.yml, loaded "
        "once every task's first scrape has arrived |",
        "| alert manager | the workspace's, deploy/prometheus/alertmanager.yml, to SNS | Debian's "
        "Alertmanager 0.25, the same routing, to a webhook that records each notification |",
        f"| window scale | 1 | {scale}: every duration below, and every range window in the "
        "rules |",
        f"| scrape interval / timeout | 15s / 5s | {scaled('15s')} / {scaled('5s')} |",
        f"| remote-write batch deadline | 5s | {scaled('5s')} |",
        f"| rule evaluation interval | 30s | {scaled('30s')} |",
        f"| `for`: fast burn / storage errors / slow burn | 2m / 5m / 15m | "
        f"{scaled('2m')} / {scaled('5m')} / {scaled('15m')} |",
        f"| windows: 5m / 1h / 6h / 3d | 5m / 1h / 6h / 3d | {scaled('5m')} / {scaled('1h')} / "
        f"{scaled('6h')} / {scaled('3d')} |",
        f"| group wait / group interval / repeat | 30s / 5m / 4h | {scaled('30s')} / "
        f"{scaled('5m')} / {scaled('4h')} |",
        f"| evaluator look-back / resend delay (Prometheus defaults) | 5m / 1m | "
        f"{scaled(format_ms(LOOKBACK_DELTA_MS))} / {scaled(format_ms(RESEND_DELAY_MS))} |",
        "",
        "Windows longer than a scenario (1 h and beyond) see only the scenario's own traffic. "
        'The annotations\' wording ("for 10 minutes") is left as production has it. Times in the '
        "monitoring verdicts are given in rehearsal seconds and in the production time they "
        "stand for (divided by the scale). What does not scale: the processes' own start-up, "
        "Prometheus's 5 s wait before it first applies its scrape targets, and the breaker's 1 s "
        "open time.",
    ]
