"""Top-level URL configuration."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAdminUser
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from config.health import healthz, readyz
from config.views import api_root

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/", api_root, name="api-root"),
    path("api/token/", TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("api/token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The docs page is for staff; the schema it loads is open to any signed-in user.
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[IsAdminUser]),
        name="api-docs",
    ),
    path("api/", include("notifications.urls")),
{%- if cookiecutter.include_example_domain == "y" %}
    path("api/", include("tasks.urls")),
{%- endif %}
{%- if cookiecutter.include_demo_ui == "y" %}
    path("", include("notifications.pages")),
{%- endif %}
]
