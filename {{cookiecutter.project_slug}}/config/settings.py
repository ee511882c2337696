"""Settings for {{ cookiecutter.project_name }}, every value read from the environment.

Defaults suit local development: SQLite and the in-memory channel layer, no services needed.
Production sets DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL;
docs/configuration.md lists every variable and `.env.example` documents each one.
"""

import logging
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.mail import mail_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

# CORE
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/
DEBUG = env.bool("DEBUG", default=False)
# No default outside DEBUG: a production process must never run on a known key.
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key" if DEBUG else env.NOTSET)
LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=LOCAL_HOSTS if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Front ends on other origins that may call the API from a browser (django-cors-headers),
# e.g. https://app.example.com. Only /api/: pages and the admin stay same-origin.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "csp",
    "rest_framework",
    "rest_framework_simplejwt",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "axes",
    "accounts",
    "notifications",
{%- if cookiecutter.include_example_domain == "y" %}
    "tasks",
{%- endif %}
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Right after SecurityMiddleware: static files skip the rest of the stack.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.errors.ApiBodySizeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language (Accept-Language, or the language cookie)...
    "django.middleware.locale.LocaleMiddleware",
    # Before CommonMiddleware, so its redirects carry the CORS headers too.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # ...unless the signed-in user chose one (notifications/reader/).
    "notifications.reader.middleware.ReaderLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# DATABASE
# ------------------------------------------------------------------------------
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-db-url
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# A reused connection is checked before a request or a job uses it: a database restart or a cut
# idle connection then costs one reconnect, not an error.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers queue instead of failing with "database is locked": a transaction
    # takes the write lock when it begins (IMMEDIATE), and a writer waits up to `timeout`
    # seconds for it. WAL lets reads go on during a write.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),
    }

# REDIS: channel layer and cache (the cache holds WebSocket tickets)
# ------------------------------------------------------------------------------
# https://channels.readthedocs.io/en/stable/topics/channel_layers.html
REDIS_URL = env.str("REDIS_URL", default="")
# Past one Redis: the channel layer shards groups over these servers by consistent hashing.
# Every process must list the same URLs in the same order; see docs/scaling.md.
CHANNEL_REDIS_URLS = env.list("CHANNEL_REDIS_URLS", default=[REDIS_URL] if REDIS_URL else [])
if REDIS_URL:
    # The pub/sub layer has no per-channel capacity, so a burst is never dropped the way
    # RedisChannelLayer drops group messages past `capacity`; see docs/delivery.md.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": CHANNEL_REDIS_URLS},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that does not answer fails the request fast instead of hanging it.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    # In-memory: serves one process only. Run several processes only with REDIS_URL set.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# AUTH
# ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's own auth views under accounts/ (accounts/urls.py): any active user signs in here,
# staff or not. The admin keeps its own login for staff.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "{% if cookiecutter.include_demo_ui == "y" %}/{% else %}/api/{% endif %}"
LOGOUT_REDIRECT_URL = LOGIN_URL
# django-axes first: it refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# SIGN-IN LOCKOUT (django-axes): every door that checks a password
# ------------------------------------------------------------------------------
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
# The sign-in page, the admin's and /api/token/ count failures in the database (shared by
# every process); `manage.py axes_reset` or the admin's "Access attempts" lift a lockout.
# Failed sign-ins, per account and per client address, that lock further ones out.
AXES_FAILURE_LIMIT = env.int("SIGNIN_FAILURE_LIMIT", default=10)
# Minutes a lockout lasts, counted from the latest failure (a guess during it restarts it).
AXES_COOLOFF_TIME = timedelta(minutes=env.int("SIGNIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# The address the API's rate limits use: X-Forwarded-For counts only past NUM_PROXIES.
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"

# EMAIL (password reset links, notification digests)
# ------------------------------------------------------------------------------
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-email-url
# Unset: messages are printed to the console. Production: smtp+tls://user:password@host:587
# Django 6.1 reads it as MAILERS["default"], 5.2 as EMAIL_BACKEND, EMAIL_HOST... (config/mail.py).
globals().update(mail_settings(env.str("EMAIL_URL", default="consolemail://")))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="notifications@localhost")

# I18N / STATIC
# ------------------------------------------------------------------------------
# The languages the pages, emails and notification texts are shipped in; a user picks one in
# their settings, else their browser's is used. Adding one: README, "Adding a language".
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "French")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# STATIC FILES, served by WhiteNoise from daphne itself
# ------------------------------------------------------------------------------
# https://whitenoise.readthedocs.io/en/stable/django.html
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed copies made by `collectstatic`; served with far-future cache headers.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# In development WhiteNoise serves straight from the apps' static folders, no collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# SECURITY (production values switch on when DEBUG is off)
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# A load balancer probes over plain HTTP, without X-Forwarded-Proto.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# Off by default: browsers' preload list is hard to leave, and it takes only sites that send
# a max-age of a year or more with includeSubDomains (https://hstspreload.org).
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
HSTS_PRELOAD_MIN_SECONDS = 31536000
if SECURE_HSTS_PRELOAD and (
    SECURE_HSTS_SECONDS < HSTS_PRELOAD_MIN_SECONDS or not SECURE_HSTS_INCLUDE_SUBDOMAINS
):
    raise ImproperlyConfigured(
        f"SECURE_HSTS_PRELOAD needs SECURE_HSTS_SECONDS>={HSTS_PRELOAD_MIN_SECONDS} and "
        "SECURE_HSTS_INCLUDE_SUBDOMAINS=true: the preload list refuses anything less."
    )
# `check --deploy` warns whenever preload is off; here that is a choice, not an oversight.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): every script, style, image and connection from this
# origin only, no inline script at all; an inline <style> needs the page's nonce attribute
# (the template's request.csp_nonce). 'self' covers same-origin WebSocket URLs (CSP 3).
# https://django-csp.readthedocs.io/en/latest/configuration.html
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        # data: for the icons Swagger UI's stylesheet holds inline.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}

# DJANGO REST FRAMEWORK
# ------------------------------------------------------------------------------
# https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        # Per user: marks, deletes.
        "notification_writes": env.str("THROTTLE_NOTIFICATION_WRITES", default="120/min"),
        # Per user: ws_auth tickets, apart from writes so a busy page can still reconnect.
        "ws_tickets": env.str("THROTTLE_WS_TICKETS", default="30/min"),
        # Per client address: token/ and token/refresh/.
        "tokens": env.str("THROTTLE_TOKENS", default="20/min"),
{%- if cookiecutter.include_example_domain == "y" %}
        # Per user: task and comment writes, each of which may notify other users.
        "task_writes": env.str("THROTTLE_TASK_WRITES", default="30/min"),
{%- endif %}
    },
    "EXCEPTION_HANDLER": "notifications.api.exceptions.json_exception_handler",
    # Proxies in front of daphne that append to X-Forwarded-For. At 0 the header is ignored, so
    # a client cannot pick the address its rate limits count against.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    # Tokens carry a hash of the password hash: a new password revokes every earlier token,
    # access and refresh alike (config/tokens.py checks refresh tokens, and the user's status).
    "CHECK_REVOKE_TOKEN": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "{{ cookiecutter.project_name }} API",
    "DESCRIPTION": "{{ cookiecutter.description }}",
    "VERSION": "{{ cookiecutter.version }}",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema is for signed-in users; config/urls.py keeps the docs page for staff.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from the drf-spectacular-sidecar package: nothing is loaded from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.add_error_responses",
        "config.schema.add_category_names",
    ],
}

# NOTIFICATIONS
# ------------------------------------------------------------------------------
# Attributes tried, in order, to find who receives a notification about an object.
NOTIFICATIONS_RECIPIENT_ATTRIBUTES = env.list(
    "NOTIFICATIONS_RECIPIENT_ATTRIBUTES",
    default=["owner", "user", "client", "customer", "created_by"],
)
# Most events replayed to a reconnecting socket; a larger gap asks the client to reload.
NOTIFICATIONS_REPLAY_LIMIT = env.int("NOTIFICATIONS_REPLAY_LIMIT", default=500)
# Days the event stream is kept for replay; `manage.py prune_events` deletes older events.
NOTIFICATIONS_EVENT_RETENTION_DAYS = env.int("NOTIFICATIONS_EVENT_RETENTION_DAYS", default=7)
# Seconds a group stays open after its first notification: a notification with the same
# recipient and group_key inside it updates the group instead of adding an inbox row.
NOTIFICATIONS_GROUP_WINDOW_SECONDS = env.int("NOTIFICATIONS_GROUP_WINDOW_SECONDS", default=3600)
# Longest snooze: a notification snoozed further ahead than this many days is refused (400).
NOTIFICATIONS_SNOOZE_MAX_DAYS = env.int("NOTIFICATIONS_SNOOZE_MAX_DAYS", default=365)
# Lifetime of a one-time WebSocket ticket from ws_auth/.
NOTIFICATIONS_TICKET_TTL = env.int("NOTIFICATIONS_TICKET_TTL", default=30)
# Open sockets one user may hold on one server process; more are closed with 4429.
NOTIFICATIONS_MAX_SOCKETS_PER_USER = env.int("NOTIFICATIONS_MAX_SOCKETS_PER_USER", default=20)
# Largest WebSocket message daphne accepts or sends (`manage.py serve`); commands are tiny, and
# every frame the server sends is built to fit (a `list` reply is paged to it).
NOTIFICATIONS_WS_MAX_MESSAGE_BYTES = env.int("NOTIFICATIONS_WS_MAX_MESSAGE_BYTES", default=65536)
# Largest `data` of one notification or broadcast, as compact JSON: with the title, message and
# the rest at their limits, each event frame stays under the message limit above (a larger
# value needs a larger NOTIFICATIONS_WS_MAX_MESSAGE_BYTES; see notifications/sending/limits.py).
NOTIFICATIONS_MAX_DATA_BYTES = env.int("NOTIFICATIONS_MAX_DATA_BYTES", default=16384)
# Unsent bytes past which a socket is not read until they are sent (`manage.py serve`): a
# client that sends commands and never reads the replies waits instead of growing the server.
NOTIFICATIONS_WS_SEND_BUFFER_BYTES = env.int("NOTIFICATIONS_WS_SEND_BUFFER_BYTES", default=65536)
# Unsent bytes past which a socket is closed with 4008 and dropped: pushes to a client that
# reads nothing. Above NOTIFICATIONS_MAX_REPLAY_BYTES, so that one whole replay fits.
NOTIFICATIONS_WS_MAX_UNSENT_BYTES = env.int("NOTIFICATIONS_WS_MAX_UNSENT_BYTES", default=2097152)
# Unsent bytes past which an event stream (Server-Sent Events) is dropped (`manage.py serve`):
# its client reconnects with Last-Event-ID. Above NOTIFICATIONS_MAX_REPLAY_BYTES too.
NOTIFICATIONS_SSE_MAX_UNSENT_BYTES = env.int("NOTIFICATIONS_SSE_MAX_UNSENT_BYTES", default=2097152)
# Seconds between heartbeat frames that carry the newest stream position.
NOTIFICATIONS_HEARTBEAT_SECONDS = env.int("NOTIFICATIONS_HEARTBEAT_SECONDS", default=25)
# Largest replay sent to a socket at once, and largest page of `stream/`: a larger backlog
# answers a socket recovered=false, and a page stops short (has_more).
NOTIFICATIONS_MAX_REPLAY_BYTES = env.int("NOTIFICATIONS_MAX_REPLAY_BYTES", default=1048576)
# Seconds a socket waits for a push that arrived out of turn to be preceded by the missing
# one (pushes from two processes can cross) before it reads the missing events itself.
NOTIFICATIONS_GAP_WAIT_SECONDS = env.float("NOTIFICATIONS_GAP_WAIT_SECONDS", default=1.0)

# EMAIL DIGESTS: the notification channel and its links (the backend is set under EMAIL)
# ------------------------------------------------------------------------------
# Where users reach this site: emails link to it (the centre, unsubscribe pages).
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")
# The page each digest item links to, at the item's row (#notification-<id>); empty: each item
# links to where it leads (its target's get_absolute_url() or data["url"]), if anywhere.
{%- if cookiecutter.include_demo_ui == "y" %}
NOTIFICATIONS_CENTRE_URL = env.str("NOTIFICATIONS_CENTRE_URL", default=f"{SITE_URL.rstrip('/')}/")
{%- else %}
NOTIFICATIONS_CENTRE_URL = env.str("NOTIFICATIONS_CENTRE_URL", default="")
{%- endif %}
# Minutes a notification stays unread before it goes into an email digest.
NOTIFICATIONS_EMAIL_DELAY_MINUTES = env.int("NOTIFICATIONS_EMAIL_DELAY_MINUTES", default=15)
# Days an email's unsubscribe link keeps working.
NOTIFICATIONS_UNSUBSCRIBE_MAX_AGE_DAYS = env.int(
    "NOTIFICATIONS_UNSUBSCRIBE_MAX_AGE_DAYS", default=90
)

# WEB PUSH: the third channel, sent by jobs to the browsers users subscribed
# ------------------------------------------------------------------------------
# The VAPID key pair (RFC 8292) from `manage.py generate_vapid_keys`; without both, Web Push is
# off: nothing is sent and subscribing answers 404. Keep the private key as secret as SECRET_KEY.
NOTIFICATIONS_PUSH_VAPID_PUBLIC_KEY = env.str("NOTIFICATIONS_PUSH_VAPID_PUBLIC_KEY", default="")
NOTIFICATIONS_PUSH_VAPID_PRIVATE_KEY = env.str("NOTIFICATIONS_PUSH_VAPID_PRIVATE_KEY", default="")
# Who push services contact about this sender: a mailto: or https: URL (the VAPID `sub`).
NOTIFICATIONS_PUSH_SUBJECT = env.str(
    "NOTIFICATIONS_PUSH_SUBJECT", default=f"mailto:{DEFAULT_FROM_EMAIL}"
)
# Browsers kept per user; subscribing one more drops the oldest.
NOTIFICATIONS_PUSH_MAX_SUBSCRIPTIONS = env.int("NOTIFICATIONS_PUSH_MAX_SUBSCRIPTIONS", default=20)
# Accept http:// endpoints (a local push service in tests); push services use https only, and
# the server sends requests to these URLs, so leave it off elsewhere.
NOTIFICATIONS_PUSH_ALLOW_HTTP = env.bool("NOTIFICATIONS_PUSH_ALLOW_HTTP", default=False)

# JOBS: Celery runs digests, pruning and background work (config/celery.py, notifications/jobs.py)
# ------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# The broker is the project's Redis. Without REDIS_URL there is none: a job runs inline in the
# process that queues it, and `make worker` (beat) runs the schedule in its own process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
JOBS_INLINE = CELERY_BROKER_URL == "memory://"
CELERY_TASK_ALWAYS_EAGER = JOBS_INLINE
CELERY_TASK_IGNORE_RESULT = True
# A job is acknowledged when it ends, so a worker that dies mid-job leaves it to another one;
# every job is safe to run twice (notifications/jobs.py).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A job that hangs (a connection cut without a reset) is stopped, and its process replaced.
CELERY_TASK_TIME_LIMIT = env.int("JOBS_TIME_LIMIT_SECONDS", default=900)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
# Workers and beat wait for Redis when it restarts instead of exiting.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_keepalive": True, "socket_connect_timeout": 5}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Seconds between runs of each scheduled job. A run still queued when the next one is due is
# dropped (`expires`), so a stopped worker does not come back to a pile of them.
JOBS_DIGEST_SECONDS = env.int("JOBS_DIGEST_SECONDS", default=60)
JOBS_PRUNE_SECONDS = env.int("JOBS_PRUNE_SECONDS", default=3600)
# Until the expiry job runs, a user with an expired item is counted from rows, not read.
JOBS_EXPIRY_SECONDS = env.int("JOBS_EXPIRY_SECONDS", default=60)
# How late a snoozed notification may come back: the wake-up job runs this often.
JOBS_SNOOZE_SECONDS = env.int("JOBS_SNOOZE_SECONDS", default=15)
JOBS_HEARTBEAT_SECONDS = env.int("JOBS_HEARTBEAT_SECONDS", default=30)
# `manage.py jobs_health` and /readyz call the jobs stale when no heartbeat ran for this long.
JOBS_STALE_SECONDS = env.int("JOBS_STALE_SECONDS", default=3 * JOBS_HEARTBEAT_SECONDS)
CELERY_BEAT_SCHEDULE = {
    name: {"task": task, "schedule": float(seconds), "options": {"expires": float(seconds)}}
    for name, task, seconds in [
        ("send-notification-emails", "notifications.jobs.send_digests", JOBS_DIGEST_SECONDS),
        ("prune-events", "notifications.jobs.prune", JOBS_PRUNE_SECONDS),
        ("expire-notifications", "notifications.jobs.expire", JOBS_EXPIRY_SECONDS),
        ("wake-snoozed", "notifications.jobs.wake_snoozed", JOBS_SNOOZE_SECONDS),
        ("heartbeat", "notifications.jobs.heartbeat", JOBS_HEARTBEAT_SECONDS),
    ]
}
# Where beat keeps each job's last run, so a restart neither repeats nor skips one.
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / "celerybeat-schedule")
)

# LOGGING
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/topics/logging/
# Every line carries time, level and logger. Requests are logged by config.logs.AccessLogMiddleware
# with the path only, so daphne runs with its own access log off (`daphne -v 0`): daphne writes
# HTTP query strings verbatim. The filter redacts any token= or uuid= left in other messages.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {
        "redact_credentials": {"()": "config.logs.RedactCredentials"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "line",
            "filters": ["redact_credentials"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
# Python warnings (such as WhiteNoise's "No directory at" before collectstatic) become log lines.
logging.captureWarnings(True)
