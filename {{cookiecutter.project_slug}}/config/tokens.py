"""SimpleJWT's token views: rate limited, guarded by the sign-in lockout, revocable.

Every token carries a hash of its user's password hash (SimpleJWT's CHECK_REVOKE_TOKEN). A new
password, set anywhere (the password change or reset pages, the admin, `set_password`), makes
every token issued before it fail: access tokens at JWTAuthentication, refresh tokens here. A
deactivated or deleted user's refresh token fails too. Nothing is stored per token.
"""

from http import HTTPStatus
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts.lockout import lockout_message, lockout_minutes
from notifications.api.throttling import ClientAddressRateThrottle

REVOKED = "This token was revoked: the password changed or the account was closed."


class RevocableTokenRefreshSerializer(TokenRefreshSerializer):
    """Refreshes only a token whose user still exists, is active and has the same password."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = RefreshToken(attrs["refresh"])
        user = (
            get_user_model()
            ._default_manager.filter(
                **{api_settings.USER_ID_FIELD: refresh.get(api_settings.USER_ID_CLAIM)}
            )
            .first()
        )
        if (
            user is None
            or not api_settings.USER_AUTHENTICATION_RULE(user)
            or refresh.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password)
        ):
            raise AuthenticationFailed(REVOKED, "token_revoked")
        return super().validate(attrs)


class LockedOut(exceptions.APIException):
    status_code = HTTPStatus.TOO_MANY_REQUESTS
    default_code = "locked_out"

    def __init__(self) -> None:
        super().__init__(lockout_message())
        # DRF's handler sends it as Retry-After, as it does for a throttled request.
        self.wait = lockout_minutes() * 60


# Tokens are credentials: no cache, shared or the browser's, may keep one.
@method_decorator(never_cache, name="dispatch")
class ThrottledTokenObtainPairView(TokenObtainPairView):
    """Answers 429 once django-axes has locked the account or the address out.

    Axes marks the request it was given, DRF's own, which its middleware never sees: so the
    lockout is turned into the API's 429 here, where SimpleJWT would answer a plain 401.
    """

    throttle_classes = [ClientAddressRateThrottle]
    throttle_scope = "tokens"

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.AuthenticationFailed:
            if getattr(request, "axes_locked_out", False):
                raise LockedOut from None
            raise


@method_decorator(never_cache, name="dispatch")
class ThrottledTokenRefreshView(TokenRefreshView):
    serializer_class = RevocableTokenRefreshSerializer
    throttle_classes = [ClientAddressRateThrottle]
    throttle_scope = "tokens"
