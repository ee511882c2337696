"""EMAIL_URL configures the default mailer alike on Django 5.2 (EMAIL_*) and 6.1 (MAILERS)."""

import warnings

import pytest
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

from config.mail import mail_settings
from notifications.delivery.emails import default_mailer


def mailer_for(settings, url: str):
    for name, value in mail_settings(url).items():
        setattr(settings, name, value)
    return default_mailer()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp+tls://ada:s3cret@mail.example.com:587",
            ("mail.example.com", 587, "ada", "s3cret", True, False, None),
        ),
        (
            "smtp+ssl://mail.example.com:465?timeout=7",
            ("mail.example.com", 465, "", "", False, True, 7),
        ),
        ("smtp://", ("localhost", 25, "", "", False, False, None)),
    ],
)
def test_an_smtp_url_sets_the_default_mailers_server(settings, url, expected):
    mailer = mailer_for(settings, url)

    assert isinstance(mailer, SMTPBackend)
    server = (mailer.host, mailer.port, mailer.username, mailer.password)
    assert (*server, mailer.use_tls, mailer.use_ssl, mailer.timeout) == expected


def test_the_console_url_takes_no_server_options(settings):
    # On 6.1 a backend refuses options it does not know: SMTP ones would fail every send.
    assert isinstance(mailer_for(settings, "consolemail://"), ConsoleBackend)


def test_a_file_url_writes_into_its_folder(settings, tmp_path):
    mailer = mailer_for(settings, f"filemail:///{tmp_path}")

    assert isinstance(mailer, FileBackend)
    assert mailer.file_path == str(tmp_path)


def test_the_default_mailer_raises_no_deprecation_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("error", PendingDeprecationWarning)
        default_mailer().close()
