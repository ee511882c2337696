"""The notification centre page: the REST list and the live WebSocket client in one page."""

from django.contrib.auth.decorators import login_required
from django.urls import path
from django.views.generic import TemplateView

# Static files (the page's JS and CSS) are served by WhiteNoise; see config/settings.py.
urlpatterns = [
    path(
        "",
        login_required(TemplateView.as_view(template_name="notifications/centre.html")),
        name="notification-centre",
    ),
]
