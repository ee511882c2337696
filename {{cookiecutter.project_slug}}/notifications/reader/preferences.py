"""Each user's channels per category: the registry's defaults with the user's overrides applied.

A category's `in_app`, `email` and `push` defaults live in notifications/categories.py; a
NotificationPreference row stores only where a user chose otherwise. Mandatory categories
ignore every override.
"""

import functools
from collections.abc import Iterable
from typing import Any, TypedDict

from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from notifications import categories
from notifications.models import NotificationPreference, PreferenceChange
from notifications.users import UserRef, user_id_of

CHANNELS = ("in_app", "email", "push")
# Users per query where the database has no arrays: within its parameter limits.
CHOICES_BATCH_SIZE = 500


class Preference(TypedDict):
    """One category as a user sees it in `notifications/preferences/`."""

    category: str
    label: str
    in_app: bool
    email: bool
    push: bool
    mandatory: bool


def for_user(user: UserRef) -> list[Preference]:
    """Every registered category with the user's channels, defaults filled in, in one query."""
    overrides = {
        row.category: row for row in NotificationPreference.objects.filter(user_id=user_id_of(user))
    }
    rows: list[Preference] = []
    for category in categories.all_categories():
        override = None if category.mandatory else overrides.get(category.name)
        rows.append(
            {
                "category": category.name,
                "label": str(category.label),
                "in_app": _chosen(override, "in_app", category.in_app),
                "email": _chosen(override, "email", category.email),
                "push": _chosen(override, "push", category.push),
                "mandatory": category.mandatory,
            }
        )
    return rows


def update(user: UserRef, changes: list[dict[str, Any]], *, replace: bool) -> list[Preference]:
    """Apply `[{"category", "in_app"?, "email"?, "push"?}, ...]`; returns every category's channels.

    `replace=True` (PUT) sets the whole set: a category or channel left out goes back to its
    default. `replace=False` (PATCH) changes only the channels of the categories it names, so
    concurrent PATCHes of other categories are all kept, and of one category the last one
    wins. A change to a mandatory category, an unknown category or a category named twice is
    a ValidationError, and nothing is stored.
    """
    user_id = user_id_of(user)
    _validate(changes)
    given = {change["category"]: change for change in changes}
    changeable = _changeable()
    if replace:
        # Every category is written: a channel left out goes back to NULL, its default.
        wanted = {
            name: {channel: given.get(name, {}).get(channel) for channel in CHANNELS}
            for name in changeable
        }
    else:
        wanted = {
            name: {channel: change[channel] for channel in CHANNELS if channel in change}
            for name, change in given.items()
            if name in changeable and any(channel in change for channel in CHANNELS)
        }
    with transaction.atomic():
        # One upsert per category, in name order: every write locks a user's rows in this
        # order, so concurrent writes of overlapping categories wait instead of deadlocking.
        for name in sorted(wanted):
            _upsert(user_id, categories.get(name), wanted[name])
        no_choice = Q(in_app__isnull=True, email__isnull=True, push__isnull=True)
        if replace:
            # Also the rows of categories no app registers any more, or made mandatory.
            NotificationPreference.objects.filter(user_id=user_id).filter(
                no_choice | ~Q(category__in=list(wanted))
            ).delete()
        else:
            # Only rows this write locked: a choice set back to the default leaves no row.
            NotificationPreference.objects.filter(
                no_choice, user_id=user_id, category__in=list(wanted)
            ).delete()
        record_change(user_id)
    return for_user(user_id)


def record_change(user_id: int) -> None:
    """Date the user's latest change (notifications/delivery/emails.py voids older unsubscribe
    links).

    Last in the change's transaction: the user's row is the last lock it takes.
    """
    PreferenceChange.objects.bulk_create(
        [PreferenceChange(user_id=user_id, changed_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["user"],
        update_fields=["changed_at"],
    )


def last_change(user_id: int) -> str | None:
    """When the user last changed their preferences, as text a signed token can hold."""
    changed_at = (
        PreferenceChange.objects.filter(user_id=user_id)
        .values_list("changed_at", flat=True)
        .first()
    )
    return changed_at.isoformat() if changed_at else None


def turn_email_off(user: UserRef, category_names: Iterable[str]) -> list[str]:
    """Stop the email of these categories for the user (an unsubscribe link); returns them.

    Categories no app registers any more, and mandatory ones, are left as they are.
    """
    names = sorted(
        name
        for name in set(category_names)
        if categories.is_registered(name) and not categories.get(name).mandatory
    )
    update(user, [{"category": name, "email": False} for name in names], replace=False)
    return names


def in_app_recipients(category_name: str, user_ids: list[int]) -> list[int]:
    """The users, in order, whose inbox takes this category: one query for any number of them."""
    return _recipients("in_app", category_name, user_ids)


def push_recipients(category_name: str, user_ids: list[int]) -> list[int]:
    """The users, in order, whose browsers get this category by Web Push; one query."""
    return _recipients("push", category_name, user_ids)


def _recipients(channel: str, category_name: str, user_ids: list[int]) -> list[int]:
    category = categories.get(category_name)
    default = getattr(category, channel)
    if category.mandatory or not user_ids:
        return user_ids if default else []
    differing = _choosing(channel, category.name, not default, user_ids)
    if default:
        return [user_id for user_id in user_ids if user_id not in differing]
    return [user_id for user_id in user_ids if user_id in differing]


def _choosing(channel: str, category: str, value: bool, user_ids: list[int]) -> set[int]:
    """The users among `user_ids` whose choice for this category's `channel` is `value`.

    Every notification asks this first, so the statement is built once per process (per
    batch size on databases without arrays), not by the ORM at each call.
    """
    connection = connections[router.db_for_read(NotificationPreference)]
    chosen: set[int] = set()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_choosing_sql(connection.alias, channel, 0), [category, value, user_ids])
            return {user_id for (user_id,) in cursor.fetchall()}
        for start in range(0, len(user_ids), CHOICES_BATCH_SIZE):
            batch = user_ids[start : start + CHOICES_BATCH_SIZE]
            cursor.execute(
                _choosing_sql(connection.alias, channel, len(batch)), [category, value, *batch]
            )
            chosen.update(user_id for (user_id,) in cursor.fetchall())
    return chosen


@functools.lru_cache(maxsize=32)
def _choosing_sql(alias: str, channel: str, count: int) -> str:
    """With `count` 0, the users come as one array parameter (PostgreSQL)."""
    if channel not in CHANNELS:
        raise ValueError(f"Unknown channel {channel!r}: one of {', '.join(CHANNELS)}.")
    operations = connections[alias].ops
    table = operations.quote_name(NotificationPreference._meta.db_table)
    column = operations.quote_name(channel)
    users = "= ANY(%s)" if count == 0 else f"IN ({', '.join(['%s'] * count)})"
    # Only quoted names and placeholders are formatted in; the values are parameters.
    return (
        f"SELECT user_id FROM {table} "  # noqa: S608
        f"WHERE category = %s AND {column} = %s AND user_id {users}"
    )


def email_wanted() -> Q:
    """A Notification filter: its recipient gets its category by email."""
    chosen = NotificationPreference.objects.filter(
        user_id=OuterRef("recipient_id"), category=OuterRef("category")
    )
    forced, on_by_default, off_by_default = [], [], []
    for category in categories.all_categories():
        if category.mandatory:
            if category.email:
                forced.append(category.name)
        elif category.email:
            on_by_default.append(category.name)
        else:
            off_by_default.append(category.name)
    return (
        Q(category__in=forced)
        | (Q(category__in=on_by_default) & ~Exists(chosen.filter(email=False)))
        | (Q(category__in=off_by_default) & Exists(chosen.filter(email=True)))
    )


def _upsert(user_id: int, category: categories.Category, channels: dict[str, bool | None]) -> None:
    """INSERT ... ON CONFLICT (user, category) DO UPDATE of the channels given, no others."""
    # Equal to the default: stored as NULL, so it follows later default changes.
    values = {
        channel: None if value == getattr(category, channel) else value
        for channel, value in channels.items()
    }
    NotificationPreference.objects.bulk_create(
        [NotificationPreference(user_id=user_id, category=category.name, **values)],
        update_conflicts=True,
        unique_fields=["user", "category"],
        update_fields=list(values),
    )


def max_changes() -> int:
    """Most entries one PUT or PATCH may hold: one per registered category."""
    return len(categories.all_categories())


def _changeable() -> list[str]:
    return [category.name for category in categories.all_categories() if not category.mandatory]


def _chosen(override: NotificationPreference | None, channel: str, default: bool) -> bool:
    value = getattr(override, channel) if override is not None else None
    return default if value is None else value


def _validate(changes: list[dict[str, Any]]) -> None:
    errors: list[str] = []
    seen: set[str] = set()
    for change in changes:
        name = change["category"]
        if not categories.is_registered(name):
            errors.append(f"Unknown category {name!r}.")
            continue
        if name in seen:
            errors.append(f"Category {name!r} is named more than once.")
        seen.add(name)
        category = categories.get(name)
        for channel in CHANNELS:
            if category.mandatory and change.get(channel, getattr(category, channel)) != getattr(
                category, channel
            ):
                errors.append(f"Category {name!r} is mandatory: its {channel} cannot change.")
    if errors:
        raise ValidationError(errors)
