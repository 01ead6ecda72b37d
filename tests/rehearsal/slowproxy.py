"""A TCP proxy that can hold every answer back by a delay: storage that is slow, not down."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Self

from tests.support.ports import free_port


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
                for task in asyncio.all_tasks():
                    if task is not asyncio.current_task():
                        task.cancel()

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
