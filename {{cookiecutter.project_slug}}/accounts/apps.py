"""Sign-in pages for every user: Django's auth views with the project's own templates."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
