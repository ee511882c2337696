"""Sends messages to channel-layer groups from sync code, without ever raising.

A push that fails (Redis down) is logged: the event row is already stored and a reconnecting
client recovers it by position.
"""

import asyncio
import atexit
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

Message = dict[str, Any]


def publish(messages: list[tuple[str, Message]]) -> None:
    """Send each (group, message) in order; returns at once unless the layer is in-memory."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return
    if isinstance(layer, InMemoryChannelLayer):
        # One process only: its queues belong to the server's event loop, so send inline.
        async_to_sync(_send_all)(layer, messages)
        return
    _publisher().submit(layer, messages)


def flush(timeout: float = 5.0) -> bool:
    """Wait until every queued message has been sent; True when the queue drained in time."""
    publisher = _instance
    return publisher.flush(timeout) if publisher is not None else True


async def _send_all(layer: Any, messages: list[tuple[str, Message]]) -> None:
    """Send every message; one failure does not stop the rest, and is logged once."""
    failed: Exception | None = None
    failures = 0
    for group, message in messages:
        try:
            await layer.group_send(group, message)
        except Exception as error:
            failed, failures = error, failures + 1
    if failed is not None:
        logger.error(
            "Push of %d of %d message(s) failed; the events are stored",
            failures,
            len(messages),
            exc_info=failed,
        )


class _Publisher:
    """Sends from one long-lived event loop in a daemon thread.

    `async_to_sync(group_send)` from sync code runs a fresh event loop per call, so a Redis
    layer opens a new connection for every push. Here every push reuses one loop and its
    connections, and the caller only enqueues (microseconds), in commit order.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue[tuple[Any, list[tuple[str, Message]]]] | None = None
        ready = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(ready,), name="notifications-publisher", daemon=True
        )
        self.thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.queue = asyncio.Queue()
        self.loop.create_task(self._drain())
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    async def _drain(self) -> None:
        assert self.queue is not None
        while True:
            layer, messages = await self.queue.get()
            try:
                await _send_all(layer, messages)
            finally:
                self.queue.task_done()

    def submit(self, layer: Any, messages: list[tuple[str, Message]]) -> None:
        assert self.queue is not None
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (layer, messages))

    def flush(self, timeout: float) -> bool:
        assert self.queue is not None
        future = asyncio.run_coroutine_threadsafe(self.queue.join(), self.loop)
        try:
            future.result(timeout)
        except TimeoutError:
            future.cancel()
            return False
        return True


_instance: _Publisher | None = None
_instance_lock = threading.Lock()


def _publisher() -> _Publisher:
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = _Publisher()
                # A short-lived process (a management command) sends what it queued.
                atexit.register(flush)
    return _instance
