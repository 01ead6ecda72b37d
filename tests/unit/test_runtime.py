"""The supervisor's shared directory: made fresh, found by workers, gone afterwards."""

from __future__ import annotations

from pathlib import Path

from hello_birthday.runtime import RuntimeDir


def test_a_worker_finds_the_directory_its_supervisor_made() -> None:
    made = RuntimeDir.create()
    try:
        found = RuntimeDir.from_env(made.environment())
        assert found == made
        assert made.metrics.is_dir()
        assert made.environment()["PROMETHEUS_MULTIPROC_DIR"] == str(made.metrics)
        assert {made.drain_marker.parent, made.log_config.parent} == {made.root}
    finally:
        made.remove()
    assert not made.root.exists()


def test_outside_the_supervisor_there_is_none() -> None:
    assert RuntimeDir.from_env({}) is None
    assert RuntimeDir.from_env({"HELLO_RUNTIME_DIR": "/run/hello"}) == RuntimeDir(
        Path("/run/hello")
    )
