"""The registry of notification categories: each app registers the ones it raises.

One table holds every category, so a category is a name with a label, a default level and
the channels it reaches by default, not a model. Register in your AppConfig.ready():

    from notifications import categories
    categories.register("shipping", _("Shipping"), default_level=Level.MEDIUM, email=True)

A label given lazily (gettext_lazy as _) is shown in each reader's language.

Users change `in_app`, `email` and `push` per category
(notifications/reader/preferences.py), except for a `mandatory` category, which always
reaches them through its default channels.
"""

from dataclasses import dataclass
from typing import TypeAlias

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise

# A text given now, or lazily (gettext_lazy) to be shown in each reader's language.
StrOrPromise: TypeAlias = str | Promise

LOW, MEDIUM, HIGH = 1, 2, 3
# Longest category name; matches Notification.category and Broadcast.category.
MAX_NAME_LENGTH = 50


class UnknownCategory(ValueError):
    """A category name that no app registered."""


@dataclass(frozen=True)
class Category:
    name: str
    label: StrOrPromise
    default_level: int = LOW
    # Channel defaults: the inbox (with its live push), the email digest and Web Push (which
    # reaches only the browsers a user subscribed, so on by default).
    in_app: bool = True
    email: bool = False
    push: bool = True
    # Users cannot change a mandatory category's channels (security notices, for example).
    mandatory: bool = False


_registry: dict[str, Category] = {}


def register(
    name: str,
    label: StrOrPromise = "",
    *,
    default_level: int = LOW,
    in_app: bool = True,
    email: bool = False,
    push: bool = True,
    mandatory: bool = False,
) -> Category:
    """Register a category; registering the same definition twice is harmless."""
    if not name or len(name) > MAX_NAME_LENGTH or not name.replace("_", "").isalnum():
        raise ImproperlyConfigured(
            f"Category name {name!r} must be 1-{MAX_NAME_LENGTH} letters, digits or underscores."
        )
    if default_level not in (LOW, MEDIUM, HIGH):
        raise ImproperlyConfigured(f"default_level of {name!r} must be 1, 2 or 3.")
    if mandatory and not in_app:
        raise ImproperlyConfigured(
            f"Mandatory category {name!r} must reach the inbox: drop in_app=False."
        )
    category = Category(
        name,
        label or name.replace("_", " ").capitalize(),
        default_level,
        in_app=in_app,
        email=email,
        push=push,
        mandatory=mandatory,
    )
    existing = _registry.get(name)
    if existing is not None and existing != category:
        raise ImproperlyConfigured(f"Category {name!r} is already registered as {existing}.")
    _registry[name] = category
    return category


def get(name: str) -> Category:
    try:
        return _registry[name]
    except KeyError:
        raise UnknownCategory(
            f"Unknown category {name!r}; registered: {', '.join(sorted(_registry))}."
        ) from None


def is_registered(name: str) -> bool:
    return name in _registry


def all_categories() -> list[Category]:
    return sorted(_registry.values(), key=lambda category: category.name)
