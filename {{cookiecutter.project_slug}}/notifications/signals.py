"""Sockets follow the account: a logout, a password change or a deactivation closes them."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_init, post_save
from django.dispatch import receiver
from django.http import HttpRequest

from notifications.stream.events import end_sockets

# Where a user instance keeps the access fields it was loaded with: no query at save time.
LOADED = "_notifications_loaded_access"


@receiver(user_logged_out)
def close_the_sessions_sockets(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    # alogout() can send no user when the request was not through the auth middleware.
    user = user or getattr(request, "user", None)
    session_key = request.session.session_key if hasattr(request, "session") else None
    if user is not None and user.is_authenticated and session_key:
        end_sockets(user.pk, reason="logged_out", session_key=session_key)


def remember_access(sender: Any, instance: Any, **kwargs: Any) -> None:
    # From __dict__: a field deferred by .only() stays unloaded (None) instead of a query.
    setattr(
        instance, LOADED, (instance.__dict__.get("password"), instance.__dict__.get("is_active"))
    )


def close_sockets_when_access_ends(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """After a user is saved: a new password or a deactivation ends every socket of theirs."""
    password, was_active = getattr(instance, LOADED, (None, None))
    remember_access(sender, instance)
    if created or raw:
        return
    if was_active and instance.__dict__.get("is_active") is False:
        end_sockets(instance.pk, reason="deactivated")
    elif password is not None and password != instance.__dict__.get("password", password):
        end_sockets(instance.pk, reason="password_changed")


def connect() -> None:
    user_model = get_user_model()
    post_init.connect(remember_access, sender=user_model, dispatch_uid=f"{__name__}.remember")
    post_save.connect(
        close_sockets_when_access_ends, sender=user_model, dispatch_uid=f"{__name__}.close"
    )
