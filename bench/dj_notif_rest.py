"""dj_notif 0.2.2's REST list and unread counts at the same rows, in dj_notif's own venv.

    <dj_notif venv>/bin/python dj_notif_rest.py ROWS OTHER_ROWS

A minimal project set up as dj_notif's README says (INSTALLED_APPS, a `BaseNotificationModel`
subclass with `notification_class_name`, its serializer, `include("dj_notif.urls")` under
`api/`), on SQLite in a temporary folder. Seeds one user with ROWS notifications (a third
unread) among OTHER_ROWS of other users, then times GET /api/notifications/user/ and
GET /api/notifications/user/categories/ with an authenticated APIClient. Prints one JSON line.
Workarounds are listed in bench/README.md.
"""

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

APP_MODELS = """
from django.conf import settings
from django.db import models
from dj_notif.models import BaseNotificationModel


class GeneralNotification(BaseNotificationModel):
    # As the README's models do: with its default integer `user`, the views fail (TypeError).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="general_notifications", on_delete=models.CASCADE
    )
    notification_class_name = "general"
"""
APP_SERIALIZERS = """
from dj_notif.serializers import BaseNotificationSerializer
from benchapp.models import GeneralNotification


class GeneralNotificationSerializer(BaseNotificationSerializer):
    notification_class_name = "general"

    class Meta:
        model = GeneralNotification
"""
APP_CONFIG = """
from django.apps import AppConfig


class BenchAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "benchapp"

    def ready(self):
        from benchapp import models, serializers  # noqa: F401  (registers them with dj_notif)
"""
URLS = """
from django.urls import include, path

urlpatterns = [path("api/", include("dj_notif.urls"))]
"""


def configure(folder: Path) -> None:
    app = folder / "benchapp"
    (app / "migrations").mkdir(parents=True)
    (app / "migrations" / "__init__.py").write_text("")
    (app / "__init__.py").write_text("")
    (app / "models.py").write_text(APP_MODELS)
    (app / "serializers.py").write_text(APP_SERIALIZERS)
    (app / "apps.py").write_text(APP_CONFIG)
    (folder / "bench_urls.py").write_text(URLS)
    sys.path.insert(0, str(folder))

    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only",
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "rest_framework",
            "channels",
            "dj_notif",
            "benchapp.apps.BenchAppConfig",
        ],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(folder / "db.sqlite3")}
        },
        ROOT_URLCONF="bench_urls",
        CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()


def main() -> None:
    rows, other_rows = int(sys.argv[1]), int(sys.argv[2])
    folder = Path(tempfile.mkdtemp(prefix="dj-notif-bench-"))
    configure(folder)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from rest_framework.test import APIClient

    call_command("makemigrations", "benchapp", verbosity=0)
    call_command("migrate", verbosity=0)
    from benchapp.models import GeneralNotification

    user_model = get_user_model()
    owner = user_model.objects.create(username="owner", password="!")
    others = [user_model.objects.create(username=f"other{n}", password="!").pk for n in range(50)]
    now = timezone.now()

    def row(user_id: int, number: int) -> GeneralNotification:
        return GeneralNotification(
            user_id=user_id,
            title=f"Notification {number}",
            description="Something happened that you may want to look at.",
            level=1,
            read_at=None if number % 3 == 0 else now,
        )

    start = time.perf_counter()
    # bulk_create: save() would push each row over the channel layer (dj_notif's dispatch).
    GeneralNotification.objects.bulk_create(
        [row(owner.pk, n) for n in range(rows)]
        + [row(others[n % 50], n) for n in range(other_rows)],
        batch_size=500,
    )
    seed_seconds = time.perf_counter() - start
    if "--in-step" in sys.argv:
        # Seeded alongside the other databases; timed only when the caller says so.
        print(json.dumps({"seeded": True}), flush=True)
        sys.stdin.readline()
    client = APIClient()
    client.force_authenticate(owner)
    results = {}
    for name, url, repeat in (
        ("list", "/api/notifications/user/", 0),
        ("counts", "/api/notifications/user/categories/", 20),
    ):
        executed: list[str] = []

        def count(run, sql, *args, executed=executed):
            executed.append(sql)
            return run(sql, *args)

        begin = time.perf_counter()
        with connection.execute_wrapper(count):
            response = client.get(url)
        durations = [(time.perf_counter() - begin) * 1000]
        assert response.status_code == 200, response.content[:300]
        for _ in range(repeat):
            begin = time.perf_counter()
            client.get(url)
            durations.append((time.perf_counter() - begin) * 1000)
        body = response.json()
        results[name] = {
            "median_ms": round(sorted(durations)[len(durations) // 2], 2),
            "requests": len(durations),
            "queries": len(executed),
            "items": len(body) if isinstance(body, list) else body,
        }
    shutil.rmtree(folder, ignore_errors=True)
    print(
        json.dumps(
            {"rows": rows, "other_rows": other_rows, "seed_s": round(seed_seconds, 1), **results}
        )
    )


if __name__ == "__main__":
    main()
