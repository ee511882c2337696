"""ASGI entry point: HTTP to Django, WebSocket through origin check and authentication."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Set up Django before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.logs import AccessLogMiddleware  # noqa: E402
from notifications.auth import NotificationsAuthMiddleware  # noqa: E402
from notifications.origins import OriginValidator  # noqa: E402
from notifications.routing import websocket_urlpatterns  # noqa: E402

application = AccessLogMiddleware(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": OriginValidator(
                NotificationsAuthMiddleware(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)
