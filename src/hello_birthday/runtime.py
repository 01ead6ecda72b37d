"""The directory the supervisor shares with its workers: drain marker, metric files, log config.

Not a setting: the supervisor makes a fresh one per run (under $TMPDIR, the only place the
server writes) and hands it to its workers in the environment.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

VARIABLE = "HELLO_RUNTIME_DIR"


@dataclass(frozen=True, slots=True)
class RuntimeDir:
    """Where each shared file lives under one root."""

    root: Path

    @property
    def metrics(self) -> Path:
        """Prometheus's multiprocess files, one set per worker."""
        return self.root / "metrics"

    @property
    def drain_marker(self) -> Path:
        """Present once the supervisor starts draining; readiness then answers 503."""
        return self.root / "draining"

    @property
    def log_config(self) -> Path:
        """granian's logging configuration."""
        return self.root / "logging.json"

    @classmethod
    def create(cls) -> RuntimeDir:
        """A fresh, private directory with its metrics folder."""
        made = cls(Path(tempfile.mkdtemp(prefix="hello-birthday-")))
        made.metrics.mkdir()
        return made

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RuntimeDir | None:
        """The directory a worker was given, or None outside the supervisor."""
        root = environ.get(VARIABLE)
        return cls(Path(root)) if root else None

    def environment(self) -> dict[str, str]:
        """What a worker needs to find it (and prometheus_client its files)."""
        return {VARIABLE: str(self.root), "PROMETHEUS_MULTIPROC_DIR": str(self.metrics)}

    def remove(self) -> None:
        """Delete it and everything in it."""
        shutil.rmtree(self.root, ignore_errors=True)
