"""Benchmark 1: what one push costs the sync code that sends it (a view, a signal receiver).

Each variant sends the same `created` frame to a group, PUSHES times, timing every call:

- publisher: `publisher.publish()`, the project's path; the default layer with REDIS_URL is
  RedisPubSubChannelLayer and the call only enqueues to a background event loop thread,
  then `publisher.flush()` waits until the queue is sent.
- core_async_to_sync: `async_to_sync(layer.group_send)` per call with
  channels_redis.core.RedisChannelLayer, the layer most projects configure.
- pubsub_async_to_sync: `async_to_sync(layer.group_send)` per call with the pub/sub layer.

Redis INFO before and after each variant counts the connections it opened and the commands
it ran.
"""

import os
import time

from support import RedisCounters, emit, setup_django, summary, timed_us

PUSHES = 2000
GROUP = "notifications_1"
# A consumer channel in the group, so the core layer's group_send does its full work.
MEMBER = "specific.bench!member"


def sample_frame() -> dict:
    from notifications.stream import events
    from notifications.serializers import dumps, split_frame

    notification = {
        "id": 123456,
        "category": "general",
        "level": 1,
        "level_label": "Low",
        "title": "Build finished",
        "message": "The nightly build of the main branch finished in 12 minutes.",
        "data": {"build": 981},
        "actor": {"id": 2, "username": "bob"},
        "target": None,
        "created_at": "2025-01-01T12:00:00.000000Z",
        "read_at": None,
        "is_read": False,
    }
    counts = {"unread": 7, "by_category": {"general": {"unread": 7}}}
    # The channel-layer message the pipeline publishes: the frame serialised once, cut where
    # each socket puts its position.
    return {
        "type": events.HANDLER_TYPE,
        "stream": events.OWN,
        "position": 1,
        "parts": split_frame("created", {"notification": notification}, counts),
        "counts": dumps(counts),
    }


def measure_publisher(counters: RedisCounters, frame: dict) -> dict:
    from channels.layers import get_channel_layer
    from notifications.stream import publisher

    layer = get_channel_layer()
    before = counters.snapshot()
    start = time.perf_counter()
    durations = timed_us(lambda: publisher.publish([(GROUP, frame)]), PUSHES)
    enqueued = time.perf_counter()
    drained = publisher.flush(timeout=60)
    done = time.perf_counter()
    return {
        "layer": f"{type(layer).__module__}.{type(layer).__name__}",
        "call_us": summary(durations),
        "flush_ms": round((done - enqueued) * 1000, 1),
        "flushed": drained,
        "total_ms": round((done - start) * 1000, 1),
        **counters.since(before),
    }


def measure_async_to_sync(counters: RedisCounters, layer, frame: dict) -> dict:
    from asgiref.sync import async_to_sync
    from notifications.stream import publisher

    message = frame
    send = async_to_sync(layer.group_send)
    before = counters.snapshot()
    start = time.perf_counter()
    durations = timed_us(lambda: send(GROUP, message), PUSHES)
    done = time.perf_counter()
    publisher.flush(timeout=60)
    return {
        "layer": f"{type(layer).__module__}.{type(layer).__name__}",
        "call_us": summary(durations),
        "total_ms": round((done - start) * 1000, 1),
        **counters.since(before),
    }


def main() -> None:
    setup_django()
    from asgiref.sync import async_to_sync
    from channels_redis.core import RedisChannelLayer
    from channels_redis.pubsub import RedisPubSubChannelLayer
    from notifications.stream import events

    url = os.environ["REDIS_URL"]
    counters = RedisCounters(url)
    frame = sample_frame()

    results = {
        "pushes": PUSHES,
        "frame_bytes": len(events.frame_text(frame, "1:0")),
        "publisher": measure_publisher(counters, frame),
    }

    core = RedisChannelLayer(hosts=[url])
    async_to_sync(core.group_add)(GROUP, MEMBER)
    results["core_async_to_sync"] = measure_async_to_sync(counters, core, frame)
    async_to_sync(core.flush)()

    pubsub = RedisPubSubChannelLayer(hosts=[url])
    results["pubsub_async_to_sync"] = measure_async_to_sync(counters, pubsub, frame)

    counters.close()
    emit(results)


if __name__ == "__main__":
    main()
