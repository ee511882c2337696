"""The channel layer sharded over two Redis servers, with two daphne processes in front."""

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from channels_redis.utils import _consistent_hash

from notifications.stream import events
from notifications.tests.live.conftest import Daphne, manage
from notifications.tests.live.test_delivery import LiveSocket, is_created
from notifications.tests.servers import RedisServer, stop

pytestmark = pytest.mark.live

SHARDS = 2
# The pub/sub layer's name for a group's Redis channel (its default prefix "asgi").
GROUP_CHANNEL = "asgi__group__{group}"
# Creates one notification per user id in `user_ids`, then one for them all (one pipeline per
# shard), waits for the pushes, prints the ids of both.
NOTIFY_EACH = """
import json
from notifications.stream import events
from notifications.services import NotificationService
each = {
    user_id: NotificationService.create_notification(user_id, f"to {user_id}").id
    for user_id in user_ids
}
everyone = {
    row.recipient_id: row.id for row in NotificationService.notify_many(user_ids, "to all")
}
assert events.flush(60), "pushes did not drain"
print(json.dumps({"each": each, "all": everyone}))
"""


def shard_of(user_id: int) -> int:
    """The shard channels-redis picks for a user's group: what every process computes."""
    channel = GROUP_CHANNEL.format(group=events.user_group(user_id))
    return _consistent_hash(channel, SHARDS)


@pytest.fixture
def second_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sharded_env(live_env: dict[str, str], redis_server: RedisServer, second_redis: RedisServer):
    """The live environment with the channel layer spread over both Redis servers."""
    return {**live_env, "CHANNEL_REDIS_URLS": f"{redis_server.url},{second_redis.url}"}


@pytest.fixture
def two_daphnes(sharded_env: dict[str, str], tmp_path: Path) -> Iterator[list[Daphne]]:
    servers = [Daphne(sharded_env, tmp_path / f"daphne-sharded-{n}.log") for n in range(2)]
    yield servers
    for server in servers:
        stop(server.process)


def users_on_both_shards(create_users) -> dict[str, dict]:
    """Users whose groups cover every shard; creates more until they do."""
    users: dict[str, dict] = {}
    for batch in range(10):
        users |= create_users(*(f"shard{batch}_{n}" for n in range(4)))
        if {shard_of(user["id"]) for user in users.values()} == set(range(SHARDS)):
            return users
    pytest.fail("no user group hashed to one of the shards")


async def test_each_users_pushes_reach_both_servers_through_their_shard(
    two_daphnes, create_users, sharded_env, redis_server, second_redis
):
    users = users_on_both_shards(create_users)
    sockets: dict[int, list[LiveSocket]] = {}
    for user in users.values():
        sockets[user["id"]] = [await LiveSocket.open(s, user["token"]) for s in two_daphnes]
        for socket in sockets[user["id"]]:
            await socket.ready()

    # Each group's Redis channel is subscribed on the shard the hash names, and only there.
    shards = [redis.Redis.from_url(server.url) for server in (redis_server, second_redis)]
    subscribed = [{name.decode() for name in shard.pubsub_channels()} for shard in shards]
    for shard in shards:
        shard.close()
    for user_id in sockets:
        channel = GROUP_CHANNEL.format(group=events.user_group(user_id))
        home = shard_of(user_id)
        assert channel in subscribed[home]
        assert channel not in subscribed[1 - home]
    assert {shard_of(user_id) for user_id in sockets} == {0, 1}

    code = f"user_ids = {sorted(sockets)}\n{NOTIFY_EACH}"
    result = await asyncio.to_thread(manage, sharded_env, "shell", "-c", code)
    sent = json.loads(result.stdout.strip().splitlines()[-1])
    each = {int(user_id): notification_id for user_id, notification_id in sent["each"].items()}
    everyone = {int(user_id): notification_id for user_id, notification_id in sent["all"].items()}

    assert set(everyone) == set(sockets)
    for user_id, notification_id in each.items():
        for socket in sockets[user_id]:
            frame = await socket.until(is_created(notification_id))
            assert frame["payload"]["notification"]["message"] == f"to {user_id}"
            frame = await socket.until(is_created(everyone[user_id]))
            assert frame["payload"]["notification"]["message"] == "to all"
    for user_sockets in sockets.values():
        for socket in user_sockets:
            await socket.close()
