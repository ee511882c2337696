"""Settings for the test suite: the project's settings with a throwaway key and fast hashing."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-key-not-secret-0123456789abcdef")

import config.settings as base
from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The suite uses the in-memory layer unless a test starts Redis itself.
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Every scope, high enough that no test is throttled unless it sets a rate itself.
RATES = dict.fromkeys(base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "10000/min")
REST_FRAMEWORK = {**base.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RATES}
SECURE_SSL_REDIRECT = False
# Jobs run inline, whatever REDIS_URL says; the live job test runs a real worker and beat.
CELERY_BROKER_URL = "memory://"
JOBS_INLINE = CELERY_TASK_ALWAYS_EAGER = True
# Unit tests render pages without running collectstatic; the live production test runs it and
# serves the manifest storage of config.settings.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise as in development: the apps' static folders, looked up per request, so the
# collected folder (made only by collectstatic) is not scanned, nor warned about as missing.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = True
