"""Shortcuts for common sends: to a user, or about an object to whoever owns it."""

from django.conf import settings
from django.db import models

from notifications.models import Notification
from notifications.services import NotificationService
from notifications.users import UserRef


def send_notification(user: UserRef, message: str, **options: object) -> Notification:
    """Notify one user; options are those of NotificationService.create_notification."""
    return NotificationService.create_notification(user, message, **options)  # type: ignore[arg-type]


def send_project_notification(
    project: models.Model, message: str, **options: object
) -> Notification:
    return _send_about(project, message, "project", **options)


def send_quote_notification(quote: models.Model, message: str, **options: object) -> Notification:
    return _send_about(quote, message, "quote", **options)


def send_payment_notification(
    payment: models.Model, message: str, **options: object
) -> Notification:
    return _send_about(payment, message, "payment", **options)


def recipient_of(obj: object) -> UserRef:
    """The user an object belongs to: the first attribute of
    NOTIFICATIONS_RECIPIENT_ATTRIBUTES that holds a user or a user id."""
    attributes: list[str] = settings.NOTIFICATIONS_RECIPIENT_ATTRIBUTES
    for attribute in attributes:
        # A foreign key's `<name>_id` gives the id without loading the user.
        value = getattr(obj, f"{attribute}_id", None)
        if value is None:
            value = getattr(obj, attribute, None)
        if value is not None:
            return value
    raise ValueError(
        f"Cannot find who to notify about {type(obj).__name__} {obj!r}: none of the attributes "
        f"{', '.join(attributes)} is set. Set one, or list the right attribute in "
        "NOTIFICATIONS_RECIPIENT_ATTRIBUTES."
    )


def _send_about(
    obj: models.Model, message: str, default_category: str, **options: object
) -> Notification:
    # Positional, so that a caller's own `category=` option can override the default.
    options.setdefault("category", default_category)
    if isinstance(obj, models.Model) and obj.pk is not None:
        options.setdefault("target", obj)
    return NotificationService.create_notification(recipient_of(obj), message, **options)  # type: ignore[arg-type]
