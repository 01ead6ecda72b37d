"""Stalled bodies, overload and many connections, against the real server process."""

from __future__ import annotations

import json
import resource
import socket
import threading
import time
from collections import Counter

import pytest
from tools.local.processes import username
from tools.local.server import request
from tools.local.stalled import KINDS, StalledClients

from tests.e2e.conftest import StartServer
from tests.e2e.test_server import metric, put

pytestmark = pytest.mark.e2e
BODY_TIMEOUT = 2.0
# How long a request other than the stalled ones may take while they stall: a loaded two-core
# machine can be slow, but a request starved of threads never finishes at all.
ANSWER_BOUND = 10.0


def _raw_exchange(port: int, data: bytes, *, half_close: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_BOUND + BODY_TIMEOUT) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_stalled_bodies_get_408_and_starve_nobody(start_server: StartServer) -> None:
    # Two workers of four threads: 8 stalled bodies used to hold every thread.
    server = start_server(HELLO_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT))
    per_kind = 50
    with StalledClients("127.0.0.1", server.port, per_kind) as stalled:
        for index in range(10):
            assert request(f"{server.url}/healthz", timeout=ANSWER_BOUND).status == 200
            assert (
                put(server.url, username("calm", index), "1990-01-02", ANSWER_BOUND).status == 204
            )
            reply = request(f"{server.url}/hello/{username('calm', index)}", timeout=ANSWER_BOUND)
            assert reply.status == 200
        outcomes = stalled.wait(timeout=BODY_TIMEOUT + 30)
        slowest = stalled.slowest()
    assert outcomes == Counter({(kind, "408"): per_kind for kind in KINDS})
    # Each was answered at its deadline, give or take a busy machine; never held for good.
    assert BODY_TIMEOUT <= slowest < BODY_TIMEOUT + 20
    refusals = 'reason="body-timeout"'
    assert metric(server.url, "hello_http_refusals_total", refusals) == per_kind * len(KINDS)
    assert request(f"{server.url}/hello/stalled").status == 404


def test_the_408_is_a_problem_document_and_closes_the_connection(
    start_server: StartServer,
) -> None:
    server = start_server(HELLO_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT))
    started = time.monotonic()
    answer = _raw_exchange(
        server.port,
        b"PUT /hello/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 40\r\n\r\n" + b'{"dateOfBirth": ',
    )
    # recv returned the end of the stream: the server closed the connection after answering.
    assert time.monotonic() - started >= BODY_TIMEOUT
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"content-type: application/problem+json" in head.lower()
    assert b"connection: close" in head.lower()
    problem = json.loads(body)
    assert problem["type"] == "urn:hello-birthday:problem:body-timeout"
    assert (problem["status"], problem["instance"]) == (408, "/hello/slow")


def test_a_body_broken_off_is_not_acted_on(start_server: StartServer) -> None:
    server = start_server()
    whole = json.dumps({"dateOfBirth": "1990-01-01"}).encode()
    # A complete JSON object, then the client stops short of its declared length and leaves.
    answer = _raw_exchange(
        server.port,
        b"PUT /hello/quitter HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(whole) + 10}\r\n\r\n".encode()
        + whole,
        half_close=True,
    )
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"urn:hello-birthday:problem:body-incomplete" in answer
    assert request(f"{server.url}/hello/quitter").status == 404


def test_overload_is_refused_at_once_with_503(start_server: StartServer) -> None:
    # One worker, one thread and no queue: a second request at the same moment is one too many.
    server = start_server(HELLO_WORKERS="1", HELLO_THREADS="1", HELLO_MAX_QUEUED_REQUESTS="0")
    clients = 100
    body = json.dumps({"dateOfBirth": "1990-01-01"}).encode()
    barrier = threading.Barrier(clients)
    answers: list[bytes] = []

    def client(index: int) -> None:
        with socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_BOUND) as sock:
            barrier.wait()
            sock.sendall(
                f"PUT /hello/{username('crowd', index)} HTTP/1.1\r\n"
                "Host: x\r\nConnection: close\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
            answers.append(received)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    assert request(f"{server.url}/healthz", timeout=ANSWER_BOUND).status == 200
    for thread in threads:
        thread.join()
    statuses = Counter(answer[9:12] for answer in answers)
    # Every client got an answer: stored, or told at once to come back.
    assert sum(statuses.values()) == clients
    assert set(statuses) == {b"204", b"503"}, statuses
    refused = next(answer for answer in answers if answer[9:12] == b"503")
    head, _, problem = refused.partition(b"\r\n\r\n")
    assert b"retry-after: 1" in head.lower()
    assert json.loads(problem)["type"] == "urn:hello-birthday:problem:overloaded"
    assert (
        metric(server.url, "hello_http_refusals_total", 'reason="overloaded"') == statuses[b"503"]
    )


def test_many_idle_connections_leave_room_for_healthz(start_server: StartServer) -> None:
    idle = 1500
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < idle + 500:
        pytest.skip(f"needs {idle + 500} file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, idle + 500), hard))
    try:
        # One worker: granian's default would serve only backlog / workers = 1024 connections.
        server = start_server(HELLO_WORKERS="1")
        sockets = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(idle)]
        try:
            # The newest connections were accepted too: each one is answered.
            for sock in sockets[-3:]:
                sock.settimeout(ANSWER_BOUND)
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
            assert request(f"{server.url}/healthz", timeout=ANSWER_BOUND).status == 200
        finally:
            for sock in sockets:
                sock.close()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
