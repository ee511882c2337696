"""WebSocket routes, and the HTTP routes served by a consumer instead of a Django view."""

from django.urls import path

from notifications.consumers import NotificationConsumer
from notifications.delivery.sse import NotificationStreamConsumer
from notifications.websocket.auth import NotificationsAuthMiddleware

websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
]

# Checked before Django's own URLs (config/asgi.py): a long-lived response with pushes.
http_urlpatterns = [
    path(
        "api/notifications/stream/",
        NotificationsAuthMiddleware(NotificationStreamConsumer.as_asgi()),
    ),
]
