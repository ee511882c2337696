"""SimpleJWT's token views: rate limited per client address, and refresh tokens revocable.

Every token carries a hash of its user's password hash (SimpleJWT's CHECK_REVOKE_TOKEN). A new
password, set anywhere (the password change or reset pages, the admin, `set_password`), makes
every token issued before it fail: access tokens at JWTAuthentication, refresh tokens here. A
deactivated or deleted user's refresh token fails too. Nothing is stored per token.
"""

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from notifications.throttling import ClientAddressRateThrottle


class RevocableTokenRefreshSerializer(TokenRefreshSerializer):
    """Refreshes only a token whose user still exists, is active and has the same password."""

    default_error_messages = {
        "revoked": "This token was revoked: the password changed or the account was closed."
    }

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
            or refresh.get(api_settings.REVOKE_TOKEN_CLAIM)
            != get_md5_hash_password(user.password)
        ):
            raise AuthenticationFailed(self.error_messages["revoked"], "token_revoked")
        return super().validate(attrs)


class ThrottledTokenObtainPairView(TokenObtainPairView):
    throttle_classes = [ClientAddressRateThrottle]
    throttle_scope = "tokens"


class ThrottledTokenRefreshView(TokenRefreshView):
    serializer_class = RevocableTokenRefreshSerializer
    throttle_classes = [ClientAddressRateThrottle]
    throttle_scope = "tokens"
