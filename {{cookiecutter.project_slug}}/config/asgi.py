"""ASGI entry point: HTTP to Django (the event stream to its consumer), WebSocket through origin
check and authentication."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Set up Django before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from config.logs import AccessLogMiddleware  # noqa: E402
from notifications.routing import http_urlpatterns, websocket_urlpatterns  # noqa: E402
from notifications.websocket.auth import NotificationsAuthMiddleware  # noqa: E402
from notifications.websocket.origins import OriginValidator  # noqa: E402

# Every other HTTP path goes to Django; django-stubs types re_path() for views, not ASGI apps.
everything_else = re_path(r"", django_asgi_app)  # type: ignore[arg-type]

application = AccessLogMiddleware(
    ProtocolTypeRouter(
        {
            "http": URLRouter([*http_urlpatterns, everything_else]),
            "websocket": OriginValidator(
                NotificationsAuthMiddleware(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)
