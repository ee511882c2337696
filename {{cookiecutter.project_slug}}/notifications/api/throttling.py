"""Rate limits of the API: rates read per request, and open when their cache is down."""

import logging
from typing import Any, cast

from django.core.exceptions import ImproperlyConfigured
from rest_framework import throttling
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    """DRF's scoped throttle (the view's `throttle_scope`), with two changes.

    Rates come from settings at each request, where DRF copies them once at import, so a
    changed setting (or a test's override) applies at once. A cache that cannot be reached
    (Redis down) lets the request through and logs a warning: a rate limit must not turn an
    outage of the cache into an outage of the API.
    """

    def get_rate(self) -> str | None:
        # DRF's get_rate() reads THROTTLE_RATES, copied at import: refreshed here, per request.
        # The rates are text ("100/min"); djangorestframework-stubs types them as numbers.
        self.THROTTLE_RATES = cast(dict[str, str | None], api_settings.DEFAULT_THROTTLE_RATES)
        return super().get_rate()

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except ImproperlyConfigured:
            raise
        except Exception:
            logger.warning("Rate limit skipped: its cache is unreachable.", exc_info=True)
            return True


class ClientAddressRateThrottle(ScopedRateThrottle):
    """Counts per client address, signed in or not: for the views that sign a client in."""

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class WriteThrottleMixin(APIView):
    """Throttles the unsafe methods of a view under the `notification_writes` scope."""

    throttle_scope = "notification_writes"

    def get_throttles(self) -> list[BaseThrottle]:
        return [] if self.request.method in SAFE_METHODS else [ScopedRateThrottle()]
