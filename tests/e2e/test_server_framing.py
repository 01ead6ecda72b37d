"""Bodies and requests as a real client frames them, against the real server process."""

from __future__ import annotations

import http.client
import json
import socket

from tools.local.server import request

from hello_birthday.api import MAX_BODY_BYTES
from tests.e2e.conftest import StartServer


def _chunked_put(port: int, name: str, body: bytes) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        # An iterable body with encode_chunked: Transfer-Encoding: chunked, no Content-Length.
        pieces = (body[i : i + 1000] for i in range(0, len(body), 1000))
        connection.request(
            "PUT",
            f"/hello/{name}",
            body=pieces,
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        reply = connection.getresponse()
        return reply.status, reply.getheader("Content-Type", ""), reply.read()
    finally:
        connection.close()


def _padded(size: int) -> bytes:
    """A valid body padded with trailing spaces to exactly `size` bytes."""
    body = json.dumps({"dateOfBirth": "1990-01-01"}).encode()
    return body + b" " * (size - len(body))


def test_chunked_body_over_the_limit_is_413_and_not_stored(start_server: StartServer) -> None:
    server = start_server()
    # Its first 4096 bytes parse on their own: cut at the limit, it would be stored.
    status, media_type, body = _chunked_put(server.port, "carl", _padded(MAX_BODY_BYTES + 500))
    assert (status, media_type) == (413, "application/problem+json")
    assert json.loads(body)["status"] == 413
    assert request(f"{server.url}/hello/carl").status == 404
    status, _, _ = _chunked_put(server.port, "carl", _padded(MAX_BODY_BYTES + 1))
    assert status == 413
    status, _, _ = _chunked_put(server.port, "carl", _padded(MAX_BODY_BYTES))
    assert status == 204
    declared = request(
        f"{server.url}/hello/dora",
        "PUT",
        _padded(MAX_BODY_BYTES + 1),
        {"Content-Type": "application/json"},
    )
    assert declared.status == 413
    assert request(f"{server.url}/hello/dora").status == 404


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_what_granian_answers_before_the_application_sees_a_request(
    start_server: StartServer,
) -> None:
    """The parser's own errors, as README documents them: a status, no body, no request id."""
    server = start_server()
    for sent, status in (
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", b"400"),
        (b"GET /hello/" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2_000_000 + b"\r\n\r\n", b"431"),
    ):
        head, _, body = _raw(server.port, sent).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 " + status), head
        assert body == b""
        assert b"x-request-id" not in head.lower()
