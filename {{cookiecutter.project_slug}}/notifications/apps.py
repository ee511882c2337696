"""App configuration: registers the built-in categories and the account signal receivers."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"

    def ready(self) -> None:
        from notifications import categories, signals
        from notifications.models import Level

        signals.connect()

        # Labels are lazy: each reader sees them in their own language.
        categories.register("general", _("General"))
        categories.register("project", _("Projects"))
        categories.register("quote", _("Quotes"))
        categories.register("payment", _("Payments"), default_level=Level.MEDIUM, email=True)
        # Account and security notices: every user gets them, in the inbox and by email.
        categories.register(
            "system", _("System"), default_level=Level.MEDIUM, email=True, mandatory=True
        )
