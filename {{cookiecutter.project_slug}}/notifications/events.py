"""Group names, event frames and their push over the channel layer, after commit.

This module is the one place that formats what a socket receives. Services call the
`push_*` functions inside their transaction; the push itself runs on commit, so a rolled-back
write sends nothing, and a push that fails is logged, never raised: the row is already safe
and a reconnecting client recovers it by id.
"""

import asyncio
import atexit
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from notifications import selectors
from notifications.models import Broadcast, Notification
from notifications.serializers import BroadcastSerializer, NotificationSerializer

logger = logging.getLogger(__name__)

BROADCAST_GROUP = "notifications_broadcast"
# The consumer method that receives a frame from the channel layer ("notify.frame").
HANDLER_TYPE = "notify.frame"

Frame = dict[str, Any]


def user_group(user_id: int) -> str:
    return f"notifications_{user_id}"


def frame(kind: str, event: str, payload: dict[str, Any]) -> Frame:
    return {"type": kind, "event": event, "payload": payload}


def notification_frame(event: str, payload: dict[str, Any]) -> Frame:
    return frame("notifications", event, payload)


def created_frames(
    notifications: list[Notification], unread_count: int | None = None
) -> list[Frame]:
    """`created` frames; with unread_count None, each recipient's count comes from one query."""
    recipients = list({notification.recipient_id for notification in notifications})
    counts = (
        selectors.unread_counts_for_users(recipients)
        if unread_count is None
        else dict.fromkeys(recipients, unread_count)
    )
    # One serializer for the batch: building its fields once is most of the cost.
    payloads = NotificationSerializer(notifications, many=True).data
    return [
        notification_frame(
            "created", {"notification": payload, "unread_count": counts[notification.recipient_id]}
        )
        for notification, payload in zip(notifications, payloads, strict=True)
    ]


def broadcast_frame(broadcast: Broadcast) -> Frame:
    return notification_frame("broadcast", {"broadcast": BroadcastSerializer(broadcast).data})


def error_frame(code: str, message: str, request_id: Any = None) -> Frame:
    return frame("error", code, {"code": code, "message": message, "request_id": request_id})


# Pushing -----------------------------------------------------------------------------------


def push_created(notifications: list[Notification]) -> None:
    """After commit: one `created` frame per notification, to its recipient's group."""

    def send() -> None:
        frames = created_frames(notifications)
        for notification, created in zip(notifications, frames, strict=True):
            publish(user_group(notification.recipient_id), created)

    transaction.on_commit(send)


def push_state(user_id: int, event: str, **payload: Any) -> None:
    """After commit: a `read`, `unread` or `deleted` frame with the user's new unread count."""

    def send() -> None:
        payload["unread_count"] = selectors.unread_count(user_id)
        publish(user_group(user_id), notification_frame(event, payload))

    transaction.on_commit(send)


def push_broadcast(broadcast: Broadcast) -> None:
    transaction.on_commit(lambda: publish(BROADCAST_GROUP, broadcast_frame(broadcast)))


def push_broadcast_read(user_id: int, broadcast_id: int) -> None:
    transaction.on_commit(
        lambda: publish(
            user_group(user_id), notification_frame("broadcast_read", {"ids": [broadcast_id]})
        )
    )


def publish(group: str, event_frame: Frame) -> None:
    """Send a frame to a group now, never raising: delivery problems are logged."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": HANDLER_TYPE, "frame": event_frame}
    if isinstance(layer, InMemoryChannelLayer):
        # One process only: its queues belong to the server's event loop, so send inline.
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:
            logger.exception("Push to %s failed; the notification is stored", group)
        return
    _publisher().submit(layer, group, message)


def flush(timeout: float = 5.0) -> bool:
    """Wait until every queued push has been sent; True when the queue drained in time."""
    publisher = _instance
    return publisher.flush(timeout) if publisher is not None else True


class _Publisher:
    """Sends pushes from one long-lived event loop in a daemon thread.

    `async_to_sync(group_send)` from sync code runs a fresh event loop per call, so a Redis
    layer opens a new connection for every push. Here every push reuses one loop and its
    connection, and the caller only enqueues (microseconds), in commit order.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue[tuple[Any, str, dict[str, Any]]] | None = None
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
            layer, group, message = await self.queue.get()
            try:
                await layer.group_send(group, message)
            except Exception:
                logger.exception("Push to %s failed; the notification is stored", group)
            finally:
                self.queue.task_done()

    def submit(self, layer: Any, group: str, message: dict[str, Any]) -> None:
        assert self.queue is not None
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (layer, group, message))

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
