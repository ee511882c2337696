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
from channels_redis.pubsub import RedisPubSubChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
# Failures that mean "Redis cannot be reached", logged as one line.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)

Message = dict[str, Any]
# PUBLISH commands per pipeline: one round trip to Redis sends this many pushes.
PIPELINE_SIZE = 1000


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
    shards = _pubsub_shards(layer)
    if shards is not None:
        await _publish_pipelined(layer, shards, messages)
        return
    failed: Exception | None = None
    failures = 0
    for group, message in messages:
        try:
            await layer.group_send(group, message)
        except Exception as error:
            failed, failures = error, failures + 1
    _log_failures(failed, failures, len(messages))


def _pubsub_shards(layer: Any) -> Any:
    """The pub/sub layer's state for this event loop, or None to send one group_send at a time.

    channels-redis sends each `group_send` as its own PUBLISH and waits for Redis's answer, so
    one process pushes a few thousand messages a second. The pipelined path below uses the
    layer's own routing (group channel names, consistent hashing over shards) and connections,
    which are not public API: with another layer, or a channels-redis without them, every
    message goes through `group_send` instead.
    """
    if not isinstance(layer, RedisPubSubChannelLayer):
        return None
    shards = layer._get_layer()
    needed = ("_get_group_channel_name", "_get_shard")
    return shards if all(hasattr(shards, name) for name in needed) else None


async def _publish_pipelined(
    layer: RedisPubSubChannelLayer, shards: Any, messages: list[tuple[str, Message]]
) -> None:
    """PUBLISH every message through one pipeline per shard; a group's messages keep order."""
    by_shard: dict[Any, list[tuple[str, bytes]]] = {}
    for group, message in messages:
        channel = shards._get_group_channel_name(group)
        by_shard.setdefault(shards._get_shard(channel), []).append(
            (channel, layer.serialize(message))
        )
    failed: Exception | None = None
    failures = 0
    for shard, published in by_shard.items():
        for start in range(0, len(published), PIPELINE_SIZE):
            batch = published[start : start + PIPELINE_SIZE]
            try:
                # The shard's lock keeps its connection to one command stream at a time.
                async with shard._lock:
                    shard._ensure_redis()
                    pipeline = shard._redis.pipeline(transaction=False)
                    for channel, data in batch:
                        pipeline.publish(channel, data)
                    await pipeline.execute()
            except Exception as error:
                failed, failures = error, failures + len(batch)
    _log_failures(failed, failures, len(messages))


def _log_failures(failed: Exception | None, failures: int, total: int) -> None:
    if failed is None:
        return
    if isinstance(failed, UNREACHABLE):
        # Redis is down or out of reach: one line says it; a traceback would add nothing.
        logger.error(
            "Push of %d of %d message(s) failed; the events are stored (Redis unreachable: %s)",
            failures,
            total,
            failed,
        )
        return
    logger.error(
        "Push of %d of %d message(s) failed; the events are stored",
        failures,
        total,
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
