"""Notification actions: up to two buttons per notification, a link or a registered handler.

A handler is registered by name, `@actions.register("tasks.accept")`, and called with the
recipient and the notification when they press its button (`run_action`): once,
whatever the number of clicks, tabs or servers, because the run holds the notification's row
lock and stores the result on the row before it commits.
"""

import json
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from notifications.inbox.rows import locked
from notifications.models import EventKind, Notification
from notifications.serializers import _is_safe_link, notification_payloads
from notifications.stream import events
from notifications.users import User, UserRef, user_id_of

# Buttons per notification: a primary and a secondary, as Novu's Inbox shows them.
MAX_ACTIONS = 2
# A button's label: short enough for one line of a bell row.
MAX_LABEL_LENGTH = 40
# A handler's result as compact JSON: it travels in the row, the event and every frame.
MAX_RESULT_BYTES = 2000
STYLES = ("primary", "secondary")

Handler = Callable[[User, Notification], dict[str, Any]]
_handlers: dict[str, Handler] = {}


def register(name: str) -> Callable[[Handler], Handler]:
    """Register `handler(user, notification) -> dict` under `name`; a name is taken once."""

    def add(handler: Handler) -> Handler:
        known = _handlers.get(name)
        if known is not None and known is not handler:
            raise ValueError(f"The action {name!r} is registered already ({known!r}).")
        _handlers[name] = handler
        return handler

    return add


def handler(name: str) -> Handler:
    """The handler registered as `name`; a name never registered is a KeyError."""
    return _handlers[name]


def validated(actions: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The actions to store, each {"label", "style", and "url" or "action"}; a ValidationError
    naming `actions` for anything else (a developer's mistake, caught at the write)."""
    if not actions:
        return []
    if not isinstance(actions, list) or len(actions) > MAX_ACTIONS:
        raise ValidationError({"actions": [f"At most {MAX_ACTIONS} actions, as a list."]})
    cleaned = []
    for action in actions:
        if not isinstance(action, dict) or set(action) - {"label", "style", "url", "action"}:
            raise ValidationError({"actions": ["Each action has label, style, url or action."]})
        label, style = action.get("label"), action.get("style", "primary")
        if not isinstance(label, str) or not 0 < len(label) <= MAX_LABEL_LENGTH:
            raise ValidationError({"actions": [f"A label has 1 to {MAX_LABEL_LENGTH} characters."]})
        if style not in STYLES:
            raise ValidationError({"actions": [f"A style is one of {', '.join(STYLES)}."]})
        if ("url" in action) == ("action" in action):
            raise ValidationError({"actions": ["An action has either a url or an action name."]})
        if "url" in action and not _is_safe_link(action["url"]):
            raise ValidationError({"actions": ["A url is a path or an http(s) URL."]})
        if "action" in action and action["action"] not in _handlers:
            raise ValidationError({"actions": [f"No action {action['action']!r} is registered."]})
        target = "url" if "url" in action else "action"
        cleaned.append({"label": label, "style": style, target: action[target]})
    return cleaned


def checked_result(name: str, result: object) -> dict[str, Any]:
    """A handler's result, if it is a JSON object within MAX_RESULT_BYTES."""
    if not isinstance(result, dict):
        raise TypeError(f"The action {name!r} returned {type(result).__name__}, not a dict.")
    if len(json.dumps(result, separators=(",", ":"))) > MAX_RESULT_BYTES:
        raise ValueError(f"The action {name!r} returned over {MAX_RESULT_BYTES} bytes of JSON.")
    return result


def run_action(notification_id: int, user: UserRef, index: int) -> dict[str, Any]:
    """Call the handler of the notification's server action at `index`, once ever.

    Returns {"index", "result", "done_at", "ran"}; `ran` is False when an earlier run did it,
    and the stored result comes back without calling the handler. The run holds the row's
    lock from before it reads the stored results until it commits, so two runs at once (a
    double click, two tabs, two servers) call the handler once: the second waits, then finds
    the result. The handler runs inside that transaction: an exception stores nothing. The
    result is pushed to every socket of the user as `action_done`. Another user's
    notification is Notification.DoesNotExist; an index with no server action is a
    ValidationError.
    """
    user_id = user_id_of(user)
    with transaction.atomic():
        notification = locked(notification_id, user_id)
        actions = notification.actions if isinstance(notification.actions, list) else []
        if not 0 <= index < len(actions) or "action" not in actions[index]:
            raise ValidationError(
                {
                    "index": [
                        f"Notification {notification_id} has no server action at index {index}."
                    ]
                }
            )
        stored = notification.action_results.get(str(index))
        if stored is not None:
            return {"index": index, **stored, "ran": False}
        name = actions[index]["action"]
        try:
            registered = handler(name)
        except KeyError:
            raise ValidationError({"index": [f"The action {name!r} is not registered."]}) from None
        recipient = (
            user
            if isinstance(user, AbstractBaseUser)
            else get_user_model()._default_manager.get(pk=user_id)
        )
        result = checked_result(name, registered(recipient, notification))
        done = {"result": result, "done_at": timezone.now().isoformat()}
        notification.action_results = {**notification.action_results, str(index): done}
        notification.save(update_fields=["action_results"])
        payload = {
            "ids": [notification.pk],
            "index": index,
            **done,
            "notification": notification_payloads([notification])[0],
        }
        events.send_on_commit(EventKind.ACTION_DONE, [(user_id, payload)])
    return {"index": index, **done, "ran": True}
