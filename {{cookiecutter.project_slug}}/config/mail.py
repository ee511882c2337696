"""The mail settings an EMAIL_URL stands for, in the form the running Django reads.

Django 6.1 configures mail as `MAILERS` and deprecates the `EMAIL_BACKEND`, `EMAIL_HOST`...
settings that 5.2 reads, so one variable serves both: settings.py and the tests that point mail
at a server of their own call `mail_settings`.
"""

from typing import Any

import django
import environ

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


def mail_settings(url: str) -> dict[str, Any]:
    """The settings for the mail URL: `MAILERS` on Django 6.1 and later, `EMAIL_*` before.

    `?timeout=<seconds>` bounds each wait on an SMTP server (unset, a hung server holds a run).
    """
    email = environ.Env.email_url_config(url)
    backend = email["EMAIL_BACKEND"]
    timeout = email.get("OPTIONS", {}).get("TIMEOUT")
    host = email["EMAIL_HOST"] or "localhost"
    port = email["EMAIL_PORT"] or 25
    username = email["EMAIL_HOST_USER"] or ""
    password = email["EMAIL_HOST_PASSWORD"] or ""
    use_tls = email.get("EMAIL_USE_TLS", False)
    use_ssl = email.get("EMAIL_USE_SSL", False)
    file_path = email["EMAIL_FILE_PATH"] or None
    if django.VERSION < (6, 1):
        return {
            "EMAIL_BACKEND": backend,
            "EMAIL_HOST": host,
            "EMAIL_PORT": port,
            "EMAIL_HOST_USER": username,
            "EMAIL_HOST_PASSWORD": password,
            "EMAIL_USE_TLS": use_tls,
            "EMAIL_USE_SSL": use_ssl,
            "EMAIL_TIMEOUT": timeout,
            "EMAIL_FILE_PATH": file_path,
        }
    # Each backend takes only its own options: the console one refuses an SMTP host.
    options: dict[str, Any] = {}
    if backend == SMTP_BACKEND:
        options = {
            "host": host,
            "port": port,
            "username": username,
            "password": password,
            "use_tls": use_tls,
            "use_ssl": use_ssl,
            "timeout": timeout,
        }
    elif backend == FILE_BACKEND:
        options = {"file_path": file_path}
    return {"MAILERS": {"default": {"BACKEND": backend, "OPTIONS": options}}}
