"""Notification actions: up to two buttons per notification, a link or a registered handler.

A handler is registered by name, `@actions.register("tasks.accept")`, and called with the
recipient and the notification when they press its button (`services.run_action`): once,
whatever the number of clicks, tabs or servers, because the run holds the notification's row
lock and stores the result on the row before it commits.
"""

import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError

from notifications.models import Notification
from notifications.serializers import _is_safe_link
from notifications.users import User

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
