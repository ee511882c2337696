"""The project package; loading it loads the Celery app, so `.delay()` finds its broker."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
