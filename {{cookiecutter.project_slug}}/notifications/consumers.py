"""The notifications WebSocket consumer (`ws/notifications/`), where the usage guide names it.

It is built in notifications/websocket/: the consumer and its close codes (consumer.py), the
client commands (commands.py) and the socket's limits (limits.py), over the stream order it
shares with SSE (notifications/stream/ordering.py).
"""

from notifications.websocket.consumer import NotificationConsumer

__all__ = ["NotificationConsumer"]
