"""A TCP proxy that can hold every answer back by a delay: storage that is slow, not down."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Self

from tools.local.ports import free_port


class LoopbackProxy:
    """A listener on a free loopback port in front of `target_port`, served from its own thread.

    Subclasses say what happens to each connection in `_handle`.
    """

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def endpoint(self) -> str:
        """The URL to give AWS_ENDPOINT_URL_DYNAMODB instead of the target's."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Listen, serving from a thread of its own."""
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", self.port), self._loop
        ).result(timeout=5)
        return self

    def stop(self) -> None:
        """Close the listener, its open connections and the loop."""
        server = self._server
        if server is not None:

            async def close() -> None:
                server.close()
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                # Let the cancelled connections finish before the loop stops under them.
                await asyncio.gather(*tasks, return_exceptions=True)

            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _handle(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        raise NotImplementedError


class DelayProxy(LoopbackProxy):
    """Forwards 127.0.0.1:port to a target, delaying each chunk from the target by `delay`."""

    def __init__(self, target_port: int) -> None:
        super().__init__(target_port)
        self.delay = 0.0

    async def _handle(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_in, upstream_out = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_out.close()
            return
        await asyncio.gather(
            self._pump(client_in, upstream_out, delayed=False),
            self._pump(upstream_in, client_out, delayed=True),
        )

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, delayed: bool
    ) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while chunk := await source.read(65536):
                if delayed and self.delay:
                    await asyncio.sleep(self.delay)
                sink.write(chunk)
                await sink.drain()
        sink.close()


class LatencyProxy(LoopbackProxy):
    """Forwards to a target as a network with `delay` seconds of one-way latency would.

    Every chunk, and the end of each stream, reaches the other side `delay` after it was sent,
    in order. On loopback a balancer learns at once that a target closed an idle connection; over
    a real network the FIN is in flight while the balancer may already be sending a request on it.
    """

    def __init__(self, target_port: int, delay: float) -> None:
        super().__init__(target_port)
        self.delay = delay

    async def _handle(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_in, upstream_out = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_out.close()
            return
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(
                self._carry(client_in, upstream_out), self._carry(upstream_in, client_out)
            )

    async def _carry(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        # None is the end of the stream; it travels with the same latency as the data before it.
        in_flight: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue()

        async def deliver() -> None:
            with contextlib.suppress(OSError):
                while True:
                    due, chunk = await in_flight.get()
                    await asyncio.sleep(max(0.0, due - self._loop.time()))
                    if chunk is None:
                        break
                    sink.write(chunk)
                    await sink.drain()
            sink.close()

        delivery = asyncio.ensure_future(deliver())
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while chunk := await source.read(65536):
                in_flight.put_nowait((self._loop.time() + self.delay, chunk))
        in_flight.put_nowait((self._loop.time() + self.delay, None))
        with contextlib.suppress(asyncio.CancelledError):
            await delivery
