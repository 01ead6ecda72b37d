"""Clients that declare a request body and never finish it, four ways, each on its own socket."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass

_JSON = b"Content-Type: application/json\r\n"
_HTTP1_STALLS = {
    # A length larger than what is sent.
    "short-length": b"Content-Length: 100\r\n\r\n" + b'{"dateOf',
    # A chunked body whose last chunk never comes.
    "unfinished-chunked": b"Transfer-Encoding: chunked\r\n\r\n8\r\n" + b'{"dateOf\r\n',
    # Asks whether to send, is told to, and sends nothing.
    "expect-continue": b"Content-Length: 30\r\nExpect: 100-continue\r\n\r\n",
}
KINDS = (*_HTTP1_STALLS, "http2-stalled")

_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_H2_DATA, _H2_HEADERS, _H2_RST_STREAM, _H2_SETTINGS, _H2_GOAWAY = 0, 1, 3, 4, 7
_H2_END_HEADERS = 0x4
# RFC 7541 Appendix B, the digits only: enough to read a :status.
_HUFFMAN_DIGITS = {
    "00000": "0", "00001": "1", "00010": "2", "011001": "3", "011010": "4",
    "011011": "5", "011100": "6", "011101": "7", "011110": "8", "011111": "9",
}  # fmt: skip
# The :status values HPACK's static table holds (indices 8 to 14).
_STATIC_STATUSES = {8: "200", 9: "204", 10: "206", 11: "304", 12: "400", 13: "404", 14: "500"}


def _h2_frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))[1:]
        + bytes([kind, flags])
        + struct.pack(">I", stream)
        + payload
    )


def _hpack_literal(name: str, value: str) -> bytes:
    """A literal field, not indexed, name and value as plain strings (both under 127 bytes)."""
    return bytes([0, len(name)]) + name.encode() + bytes([len(value)]) + value.encode()


def _h2_stall(path: str) -> bytes:
    fields = (
        (":method", "PUT"),
        (":scheme", "http"),
        (":authority", "localhost"),
        (":path", path),
        ("content-type", "application/json"),
    )
    block = b"".join(_hpack_literal(name, value) for name, value in fields)
    return (
        _H2_PREFACE
        + _h2_frame(_H2_SETTINGS, 0, 0, b"")
        + _h2_frame(_H2_HEADERS, _H2_END_HEADERS, 1, block)
        # A DATA frame without END_STREAM: the body has begun and never ends.
        + _h2_frame(_H2_DATA, 0, 1, b'{"dateOf')
    )


def _h2_status(block: bytes) -> str | None:
    """The :status of a response header block, when it is its first field (servers put it so)."""
    if not block:
        return None
    first = block[0]
    if first & 0x80:
        return _STATIC_STATUSES.get(first & 0x7F)
    index = first & (0x3F if first & 0x40 else 0x0F)
    if index not in _STATIC_STATUSES or len(block) < 2:
        return None
    huffman, length = block[1] & 0x80, block[1] & 0x7F
    value = block[2 : 2 + length]
    if not huffman:
        return value.decode()
    bits = "".join(f"{byte:08b}" for byte in value)
    digits, code = "", ""
    for bit in bits:
        code += bit
        if code in _HUFFMAN_DIGITS:
            digits += _HUFFMAN_DIGITS[code]
            code = ""
        if len(digits) == 3:
            break
    return digits


@dataclass
class Stall:
    """One stalled client and what the server finally did about it."""

    kind: str
    sock: socket.socket
    opened: float
    # The final status it was answered (100 Continue skipped), "closed" or "reset" without one,
    # or "no answer" when the wait ran out.
    outcome: str = "no answer"
    seconds: float = 0.0


class StalledClients:
    """`per_kind` clients of each kind (all four unless told), opened at once on host:port."""

    def __init__(
        self,
        host: str,
        port: int,
        per_kind: int,
        path: str = "/hello/stalled",
        kinds: tuple[str, ...] = KINDS,
    ) -> None:
        self.stalls: list[Stall] = []
        for kind in kinds:
            for _ in range(per_kind):
                sock = socket.create_connection((host, port), timeout=10)
                if kind == "http2-stalled":
                    sock.sendall(_h2_stall(path))
                else:
                    head = f"PUT {path} HTTP/1.1\r\nHost: {host}\r\n".encode() + _JSON
                    sock.sendall(head + _HTTP1_STALLS[kind])
                self.stalls.append(Stall(kind, sock, time.monotonic()))

    def wait(self, timeout: float) -> Counter[tuple[str, str]]:
        """Wait up to `timeout` for every client's answer; (kind, outcome) counted."""
        deadline = time.monotonic() + timeout
        threads = [
            threading.Thread(target=self._await_answer, args=(stall, deadline), daemon=True)
            for stall in self.stalls
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return Counter((stall.kind, stall.outcome) for stall in self.stalls)

    def slowest(self) -> float:
        """The longest any answered client waited for its answer, in seconds."""
        return max((s.seconds for s in self.stalls if s.outcome != "no answer"), default=0.0)

    def close(self) -> None:
        """Close every socket still open."""
        for stall in self.stalls:
            stall.sock.close()

    def __enter__(self) -> StalledClients:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @staticmethod
    def _await_answer(stall: Stall, deadline: float) -> None:
        received = b""
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                stall.sock.settimeout(remaining)
                chunk = stall.sock.recv(65536)
                if not chunk:
                    stall.outcome = "closed"
                    break
                received += chunk
                outcome = (
                    _h2_outcome(received)
                    if stall.kind == "http2-stalled"
                    else _http1_outcome(received)
                )
                if outcome is not None:
                    stall.outcome = outcome
                    break
        except TimeoutError:
            pass
        except OSError:
            stall.outcome = "reset"
        stall.seconds = time.monotonic() - stall.opened


def _http1_outcome(received: bytes) -> str | None:
    for head in received.split(b"\r\n\r\n")[:-1]:
        status = head.split(b"\r\n", 1)[0].split(b" ")
        if len(status) >= 2 and status[1] != b"100" and status[1].isdigit():
            return status[1].decode()
    return None


def _h2_outcome(received: bytes) -> str | None:
    offset = 0
    while offset + 9 <= len(received):
        length = int.from_bytes(received[offset : offset + 3], "big")
        kind = received[offset + 3]
        stream = int.from_bytes(received[offset + 5 : offset + 9], "big") & 0x7FFFFFFF
        payload = received[offset + 9 : offset + 9 + length]
        if len(payload) < length:
            return None
        if kind == _H2_HEADERS and stream == 1:
            return _h2_status(payload) or "answered"
        if (kind == _H2_RST_STREAM and stream == 1) or kind == _H2_GOAWAY:
            return "reset"
        offset += 9 + length
    return None
