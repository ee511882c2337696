"""The floor of the real-time benchmarks: a bare Channels consumer, no database, no auth.

    daphne -b 127.0.0.1 -p PORT floor_asgi:application   (with bench/ on PYTHONPATH)

Same daphne, same channel layer (`RedisPubSubChannelLayer` over `CHANNEL_REDIS_URLS` or
`REDIS_URL`), same group names and message shape as the project: a socket at `?user=N` joins
`notifications_N` and the broadcast group and forwards each `notify.frame` message as JSON.
Anything the project does beyond this costs time the floor does not spend.
"""

import json
import os
from urllib.parse import parse_qs

import django
from django.conf import settings

hosts = [url for url in os.environ.get("CHANNEL_REDIS_URLS", "").split(",") if url] or [
    os.environ["REDIS_URL"]
]
settings.configure(
    INSTALLED_APPS=["channels"],
    CHANNEL_LAYERS={
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": hosts},
        }
    },
)
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

BROADCAST_GROUP = "notifications_broadcast"


class FloorConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        query = parse_qs(self.scope["query_string"].decode())
        self.groups_joined = [f"notifications_{int(query['user'][0])}", BROADCAST_GROUP]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def notify_frame(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message["frame"], default=str))


application = ProtocolTypeRouter(
    {"websocket": URLRouter([path("ws/notifications/", FloorConsumer.as_asgi())])}
)
