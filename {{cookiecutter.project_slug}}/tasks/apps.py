"""App configuration: registers the categories this app raises and connects its signals."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tasks"

    def ready(self) -> None:
        from notifications import categories
        from notifications.models import Level

        # Assignments and mentions are worth an email to someone away; comments stay in-app.
        categories.register("task", _("Tasks"), email=True)
        categories.register("comment", _("Comments"))
        categories.register("mention", _("Mentions"), default_level=Level.MEDIUM, email=True)

        from tasks import actions, signals  # noqa: F401  (registers the action, connects receivers)
