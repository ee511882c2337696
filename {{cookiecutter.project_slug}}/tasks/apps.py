"""App configuration: registers the categories this app raises and connects its signals."""

from django.apps import AppConfig


class TasksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tasks"

    def ready(self) -> None:
        from notifications import categories
        from notifications.models import Level

        categories.register("task", "Tasks")
        categories.register("comment", "Comments")
        categories.register("mention", "Mentions", default_level=Level.MEDIUM)

        from tasks import signals  # noqa: F401  (connects the receivers)
