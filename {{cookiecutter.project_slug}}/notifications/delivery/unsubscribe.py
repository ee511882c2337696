"""The unsubscribe link of every notification email: HTML pages that need no login.

The signed token in the path is the only credential. GET asks for confirmation, because mail
scanners open links but do not submit forms; POST, the request a mail client sends for RFC
8058's one-click unsubscribe, turns email off for the token's categories.
"""

from http import HTTPStatus
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from notifications import categories
from notifications.delivery.emails import read_unsubscribe_token
from notifications.reader import preferences

TEMPLATE = "notifications/email/unsubscribe.html"


# A mail client posts without a CSRF token; the signed token stands in for it.
@method_decorator(csrf_exempt, name="dispatch")
class UnsubscribeView(View):
    """Confirms (GET) and applies (POST) one email's unsubscribe link."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            _, names = read_unsubscribe_token(token)
        except signing.BadSignature:
            return invalid_link(request)
        return page(request, "confirm", names)

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            user_id, names = read_unsubscribe_token(token)
        except signing.BadSignature:
            return invalid_link(request)
        return page(request, "done", preferences.turn_email_off(user_id, names))


def page(request: HttpRequest, state: str, names: list[str], **kwargs: Any) -> HttpResponse:
    labels = [
        categories.get(name).label
        for name in names
        if categories.is_registered(name) and not categories.get(name).mandatory
    ]
    context = {"state": state, "labels": labels}
    response = render(request, TEMPLATE, context, **kwargs)
    # Each link is personal: no shared cache may keep the page.
    response["Cache-Control"] = "private, no-store"
    return response


def invalid_link(request: HttpRequest) -> HttpResponse:
    return page(request, "invalid", [], status=HTTPStatus.BAD_REQUEST)


urlpatterns = [
    path("unsubscribe/<str:token>/", UnsubscribeView.as_view(), name="notification-unsubscribe"),
]
