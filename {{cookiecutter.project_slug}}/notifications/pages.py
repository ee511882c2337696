"""The notification centre page: the REST list and the live WebSocket client in one page."""

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import path
from django.views.generic import TemplateView

urlpatterns = [
    path(
        "",
        login_required(TemplateView.as_view(template_name="notifications/centre.html")),
        name="notification-centre",
    ),
]

# daphne serves no static files: with DEBUG on, Django serves them (the page's JS and CSS,
# the admin's styles); with DEBUG off this adds nothing, and STATIC_ROOT is served by the
# web server or CDN in front after `collectstatic`.
urlpatterns += staticfiles_urlpatterns()
