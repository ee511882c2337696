"""SimpleJWT's token views, rate limited per client address to slow password guessing."""

from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from notifications.throttling import ClientAddressRateThrottle


class ThrottledTokenObtainPairView(TokenObtainPairView):
    throttle_classes = [ClientAddressRateThrottle]
    throttle_scope = "tokens"


class ThrottledTokenRefreshView(TokenRefreshView):
    throttle_classes = [ClientAddressRateThrottle]
    throttle_scope = "tokens"
