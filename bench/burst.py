"""Benchmark 2: a burst of group messages to a socket that is not reading yet.

One consumer channel joins a group; a sender (a second layer instance, as in another process)
sends MESSAGES group messages as fast as it can; only then does the consumer read, until
it has them all or nothing arrives for IDLE_SECONDS. Counts what was delivered with:

- RedisChannelLayer at its default capacity (100 messages per channel): the rest of a burst
  is dropped without an error to the sender or the consumer.
- RedisChannelLayer with capacity raised above the burst, the usual workaround.
- RedisPubSubChannelLayer, the project's layer: no per-channel capacity.
"""

import asyncio
import contextlib
import os
import time

from support import emit, setup_django

MESSAGES = 1000
GROUP = "notifications_burst"
IDLE_SECONDS = 1.0


async def read_all(layer, channel: str) -> int:
    """Messages received on the channel before MESSAGES arrive or the channel goes idle."""
    received = 0
    last = time.monotonic()

    async def reader() -> None:
        nonlocal received, last
        while received < MESSAGES:
            await layer.receive(channel)
            received += 1
            last = time.monotonic()

    task = asyncio.ensure_future(reader())
    while not task.done() and time.monotonic() - last < IDLE_SECONDS:
        await asyncio.sleep(0.05)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return received


async def burst(make_layer) -> dict:
    receiver, sender = make_layer(), make_layer()
    channel = await receiver.new_channel()
    await receiver.group_add(GROUP, channel)
    start = time.perf_counter()
    for number in range(MESSAGES):
        await sender.group_send(GROUP, {"type": "notify.frame", "number": number})
    sent = time.perf_counter()
    delivered = await read_all(receiver, channel)
    await receiver.flush()
    await sender.flush()
    return {
        "sent": MESSAGES,
        "delivered": delivered,
        "dropped": MESSAGES - delivered,
        "send_ms": round((sent - start) * 1000, 1),
    }


async def run_all(url: str) -> dict:
    from channels_redis.core import RedisChannelLayer
    from channels_redis.pubsub import RedisPubSubChannelLayer

    results = {"core_default": await burst(lambda: RedisChannelLayer(hosts=[url]))}
    results["core_default"]["capacity"] = RedisChannelLayer(hosts=[url]).capacity
    capacity = MESSAGES * 2
    results["core_raised"] = await burst(lambda: RedisChannelLayer(hosts=[url], capacity=capacity))
    results["core_raised"]["capacity"] = capacity
    results["pubsub"] = await burst(lambda: RedisPubSubChannelLayer(hosts=[url]))
    return results


def main() -> None:
    setup_django()
    results = asyncio.run(run_all(os.environ["REDIS_URL"]))
    emit({"messages": MESSAGES, **results})


if __name__ == "__main__":
    main()
