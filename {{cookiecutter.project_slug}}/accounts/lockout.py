"""How django-axes sees a sign-in: the client's address, and the answer once it is locked out.

Axes counts failed sign-ins on every door that calls `authenticate()` with the request: the
sign-in page, the admin's and `/api/token/`. It locks per account and per client address.
"""

import ipaddress
from datetime import timedelta
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext
from rest_framework.throttling import BaseThrottle

TEMPLATE = "accounts/locked_out.html"


def client_address(request: HttpRequest) -> str | None:
    """The address the API's rate limits count against: X-Forwarded-For only past NUM_PROXIES.

    What is not an IP address (a forged header) counts as the peer's address, so that every
    request is counted somewhere and nothing unparseable reaches the attempts table.
    """
    ident = BaseThrottle().get_ident(request)  # type: ignore[arg-type]
    peer = request.META.get("REMOTE_ADDR") or None
    try:
        return str(ipaddress.ip_address(ident))
    except ValueError:
        return peer


def lockout_minutes() -> int:
    cool_off = settings.AXES_COOLOFF_TIME
    if not isinstance(cool_off, timedelta):
        raise TypeError("AXES_COOLOFF_TIME must be a timedelta (config/settings.py).")
    return max(1, round(cool_off.total_seconds() / 60))


def lockout_message() -> str:
    return gettext(
        "Too many failed sign-ins for this account or from this address. "
        "Try again in %(minutes)d minutes, or reset your password."
    ) % {"minutes": lockout_minutes()}


def lockout_response(request: HttpRequest, *args: Any) -> HttpResponse:
    """429: JSON with `detail` under /api/, as every API error; a page everywhere else."""
    retry_after = str(lockout_minutes() * 60)
    response: HttpResponse
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"detail": lockout_message()}, status=HTTPStatus.TOO_MANY_REQUESTS)
    else:
        response = render(
            request,
            TEMPLATE,
            {"message": lockout_message()},
            status=HTTPStatus.TOO_MANY_REQUESTS,
        )
    response["Retry-After"] = retry_after
    response["Cache-Control"] = "no-store"
    return response
