"""The API root: a map of the endpoints, open to anyone."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse


@extend_schema(responses={200: OpenApiTypes.OBJECT})
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request: Request) -> Response:
    def link(name: str) -> str:
        return reverse(name, request=request)

    return Response(
        {
            "token": link("token_obtain_pair"),
            "token_refresh": link("token_refresh"),
            "notifications": link("notifications:user-list"),
            "broadcasts": link("notifications:broadcast-list"),
            "ws_auth": link("notifications:ws-auth"),
            "preferences": link("notifications:preferences"),
            "push": link("notifications:push"),
{%- if cookiecutter.include_example_domain == "y" %}
            "tasks": link("tasks:task-list"),
{%- endif %}
            "schema": link("schema"),
            "docs": link("api-docs"),
            "websocket": "/ws/notifications/",
            "stream": "/api/notifications/stream/",
        }
    )
