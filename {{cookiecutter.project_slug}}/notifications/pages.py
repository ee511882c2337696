"""The notification pages: the centre, the preferences, an example page with the bell, and the
JavaScript catalog that translates their scripts."""

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.urls import path
from django.views.generic import TemplateView
from django.views.i18n import JavaScriptCatalog


class CentreView(TemplateView):
    template_name = "notifications/centre.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # The client replaces a socket silent for two heartbeats: it must know their period.
        return super().get_context_data(
            heartbeat_seconds=settings.NOTIFICATIONS_HEARTBEAT_SECONDS, **kwargs
        )


# Static files (the pages' JS and CSS) are served by WhiteNoise; see config/settings.py.
urlpatterns = [
    path("", login_required(CentreView.as_view()), name="notification-centre"),
    path(
        "preferences/",
        login_required(TemplateView.as_view(template_name="notifications/preferences.html")),
        name="notification-preferences",
    ),
    # A plain page of yours with the notification_bell tag in it: copy its two lines.
    path(
        "bell/",
        login_required(TemplateView.as_view(template_name="notifications/bell_example.html")),
        name="notification-bell-example",
    ),
    # The scripts' strings in the reader's language (locale/*/djangojs.po), as one script the
    # pages load before their modules. Open: the bell sits on pages of yours too.
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["notifications"]),
        name="javascript-catalog",
    ),
]
