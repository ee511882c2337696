"""The Celery application: background jobs (notifications/jobs.py) and the schedule beat runs."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
# Every CELERY_* setting in config/settings.py, e.g. CELERY_BEAT_SCHEDULE.
app.config_from_object("django.conf:settings", namespace="CELERY")
# Jobs live in each app's jobs.py: `tasks` is the example domain's app, not a module of jobs.
app.autodiscover_tasks(related_name="jobs")
