"""Top-level URL configuration."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAdminUser

from config.favicon import favicon
from config.health import healthz, readyz
from config.tokens import ThrottledTokenObtainPairView, ThrottledTokenRefreshView
from config.views import api_root
from notifications.push import views as push_views

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("favicon.ico", favicon, name="favicon"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/", api_root, name="api-root"),
    path("api/token/", ThrottledTokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("api/token/refresh/", ThrottledTokenRefreshView.as_view(), name="token_refresh"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The docs page is for staff; the schema it loads is open to any signed-in user. The split
    # view serves its start-up script from a URL (?script), as the CSP allows no inline script.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema",
            permission_classes=[IsAdminUser],
            template_name="notifications/api_docs.html",
        ),
        name="api-docs",
    ),
    path("api/", include("notifications.urls")),
    # At the root, so that the Web Push service worker's scope is the whole site.
    path("service-worker.js", push_views.service_worker, name="service-worker"),
{%- if cookiecutter.include_example_domain == "y" %}
    path("api/", include("tasks.urls")),
    # The example domain's pages: the targets of its notifications' links.
    path("tasks/", include("tasks.pages")),
{%- endif %}
    # HTML pages for the links in notification emails.
    path("notifications/", include("notifications.delivery.unsubscribe")),
{%- if cookiecutter.include_demo_ui == "y" %}
    path("", include("notifications.pages")),
{%- endif %}
]

# JSON under /api/, Django's pages elsewhere (config/errors.py).
handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
