"""Web Push endpoints: the server's key, subscribe and unsubscribe, and the service worker."""

from http import HTTPStatus
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.api.throttling import WriteThrottleMixin
from notifications.push import keys, subscriptions
from notifications.users import signed_in_user

# The service worker, served from the site root so that its scope is the whole site.
SERVICE_WORKER = Path(__file__).with_name("service-worker.js")


class KeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=100, help_text="The browser's P-256 key, base64url.")
    auth = serializers.CharField(max_length=40, help_text="The browser's auth secret, base64url.")

    def validate_p256dh(self, value: str) -> str:
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keys.b64url_decode(value))
        except ValueError:
            raise serializers.ValidationError("Not an uncompressed P-256 public key.") from None
        return value

    def validate_auth(self, value: str) -> str:
        try:
            secret = keys.b64url_decode(value)
        except ValueError:
            secret = b""
        if len(secret) != 16:
            raise serializers.ValidationError("Not a 16-byte auth secret in base64url.")
        return value


class SubscriptionSerializer(serializers.Serializer):
    """A browser's `PushSubscription.toJSON()`, as `pushManager.subscribe()` returns it."""

    endpoint = serializers.URLField(max_length=2000)
    keys = KeysSerializer()
    expirationTime = serializers.IntegerField(required=False, allow_null=True)

    def validate_endpoint(self, value: str) -> str:
        # The server sends requests to this URL: only push services' https URLs are taken.
        if not value.startswith("https://") and not settings.NOTIFICATIONS_PUSH_ALLOW_HTTP:
            raise serializers.ValidationError("Push endpoints are https URLs.")
        return value


class EndpointSerializer(serializers.Serializer):
    endpoint = serializers.URLField(max_length=2000)


class PushStatusSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="False when the server has no VAPID keys.")
    public_key = serializers.CharField(
        allow_null=True, help_text="The applicationServerKey for pushManager.subscribe()."
    )
    subscriptions = serializers.IntegerField(help_text="The user's subscribed browsers.")


class SubscribedSerializer(serializers.Serializer):
    endpoint = serializers.URLField()
    created_at = serializers.DateTimeField()


def require_enabled() -> None:
    if not keys.enabled():
        raise exceptions.NotFound("Web Push is not set up on this server (no VAPID keys).")


class PushStatusView(APIView):
    @extend_schema(responses=PushStatusSerializer, summary="The server's Web Push key")
    def get(self, request: Request) -> Response:
        enabled = keys.enabled()
        return Response(
            {
                "enabled": enabled,
                "public_key": keys.public_key() if enabled else None,
                "subscriptions": subscriptions.count(signed_in_user(request)),
            }
        )


class SubscribeView(WriteThrottleMixin, APIView):
    @extend_schema(
        request=SubscriptionSerializer,
        responses={201: SubscribedSerializer, 404: OpenApiResponse(description="No VAPID keys")},
        summary="Subscribe this browser to Web Push",
    )
    def post(self, request: Request) -> Response:
        require_enabled()
        serializer = SubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        subscription = subscriptions.subscribe(
            signed_in_user(request),
            endpoint=data["endpoint"],
            p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"],
        )
        body = SubscribedSerializer(subscription).data
        return Response(body, status=HTTPStatus.CREATED)


class UnsubscribeView(WriteThrottleMixin, APIView):
    @extend_schema(
        request=EndpointSerializer,
        responses={204: None, 404: OpenApiResponse(description="Not subscribed there")},
        summary="Unsubscribe a browser from Web Push",
    )
    def post(self, request: Request) -> Response:
        serializer = EndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = serializer.validated_data["endpoint"]
        if not subscriptions.unsubscribe(signed_in_user(request), endpoint):
            raise exceptions.NotFound("No subscription of yours at this endpoint.")
        return Response(status=HTTPStatus.NO_CONTENT)


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/"
    # Browsers check for a new worker on each visit; no cache may hold an old one.
    response["Cache-Control"] = "no-cache"
    return response
