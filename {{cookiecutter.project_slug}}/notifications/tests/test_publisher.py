"""The publisher's pipelined path is taken with the channels-redis this project pins."""

from channels_redis.pubsub import RedisPubSubChannelLayer

from notifications.stream import publisher


async def test_the_pubsub_layer_is_sent_to_through_pipelines() -> None:
    layer = RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:1"])

    assert publisher._pubsub_shards(layer) is not None


async def test_another_layer_is_sent_to_one_group_send_at_a_time() -> None:
    assert publisher._pubsub_shards(object()) is None
