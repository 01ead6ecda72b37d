"""The committed pictures are drawn from the current diagram source."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PICTURES = ("request-path", "control-plane", "observability", "security", "delivery-flow")
PNG_TEXT_KEY = "hello-birthday:dot-sha256"
STALE = "stale: run `make diagram` and commit docs/*.png and docs/*.dot"


def png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    chunks: list[tuple[bytes, bytes]] = []
    offset = 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        chunks.append((png[offset + 4 : offset + 8], png[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return chunks


def test_every_picture_is_generated(regenerated_dot: dict[str, str]) -> None:
    assert sorted(regenerated_dot) == sorted(PICTURES)


@pytest.mark.parametrize("name", PICTURES)
def test_committed_dot_matches_the_source(name: str, regenerated_dot: dict[str, str]) -> None:
    committed = (DOCS / f"{name}.dot").read_text()
    assert committed == regenerated_dot[name], STALE


@pytest.mark.parametrize("name", PICTURES)
def test_png_was_drawn_from_the_current_source(name: str, regenerated_dot: dict[str, str]) -> None:
    chunks = png_chunks((DOCS / f"{name}.png").read_bytes())
    texts = dict(data.partition(b"\0")[::2] for kind, data in chunks if kind == b"tEXt")
    digest = hashlib.sha256(regenerated_dot[name].encode()).hexdigest()
    assert texts.get(PNG_TEXT_KEY.encode()) == digest.encode(), STALE


@pytest.mark.parametrize("name", PICTURES)
def test_png_is_a_whole_picture(name: str) -> None:
    chunks = png_chunks((DOCS / f"{name}.png").read_bytes())
    kind, header = chunks[0]
    width, height = struct.unpack(">II", header[:8])
    assert kind == b"IHDR"
    assert width > 800
    assert height > 300
    assert chunks[-1][0] == b"IEND"
    assert any(kind == b"IDAT" for kind, _ in chunks)
