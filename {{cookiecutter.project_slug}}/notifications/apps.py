"""App configuration: registers the built-in categories and the account signal receivers."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"

    def ready(self) -> None:
        from notifications import categories, signals
        from notifications.models import Level

        signals.connect()

        categories.register("general", "General")
        categories.register("project", "Projects")
        categories.register("quote", "Quotes")
        categories.register("payment", "Payments", default_level=Level.MEDIUM, email=True)
        # Account and security notices: every user gets them, in the inbox and by email.
        categories.register(
            "system", "System", default_level=Level.MEDIUM, email=True, mandatory=True
        )
