"""A user's reader settings, read with the defaults filled in, and changed."""

import zoneinfo
from dataclasses import dataclass
from datetime import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from notifications.models import ReaderSettings
from notifications.users import UserRef, user_id_of

FIELDS = ("language", "time_zone", "quiet_start", "quiet_end")


@dataclass(frozen=True)
class Reader:
    """A user's settings as code uses them: every default filled in."""

    # The chosen language, "" when the user follows their browser.
    language: str
    # What stored texts are written in: the chosen language, else the browser's, else the
    # project's.
    writes_in: str
    time_zone: str
    zone: zoneinfo.ZoneInfo
    quiet_start: time | None
    quiet_end: time | None


def zone_named(name: str) -> zoneinfo.ZoneInfo:
    """The zone of an IANA name; "" (or a name this machine does not know) is TIME_ZONE's."""
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def supported_languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def reader_from(row: ReaderSettings | None) -> Reader:
    row = row or ReaderSettings()
    supported = supported_languages()
    chosen = row.language if row.language in supported else ""
    seen = row.browser_language if row.browser_language in supported else ""
    return Reader(
        language=chosen,
        writes_in=chosen or seen or settings.LANGUAGE_CODE,
        time_zone=row.time_zone,
        zone=zone_named(row.time_zone),
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
    )


def reader_of(user: UserRef) -> Reader:
    return reader_from(ReaderSettings.objects.filter(user_id=user_id_of(user)).first())


def readers_of(user_ids: list[int]) -> dict[int, Reader]:
    """Every user's settings in one query; users without a row get the defaults."""
    rows = {row.user_id: row for row in ReaderSettings.objects.filter(user_id__in=user_ids)}
    return {user_id: reader_from(rows.get(user_id)) for user_id in user_ids}


def update(user: UserRef, changes: dict[str, Any]) -> Reader:
    """Store the fields given (of FIELDS); a field left out keeps its value.

    The row is locked while it changes, so two concurrent changes of different fields are both
    kept. Invalid values (an unknown language or zone, one quiet bound without the other, or
    both equal) are a ValidationError, and nothing is stored.
    """
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValueError(f"Not a reader setting: {', '.join(sorted(unknown))}.")
    user_id = user_id_of(user)
    with transaction.atomic():
        ReaderSettings.objects.get_or_create(user_id=user_id)
        row = ReaderSettings.objects.select_for_update().get(user_id=user_id)
        for field, value in changes.items():
            setattr(row, field, value)
        validate(row)
        row.save()
    return reader_from(row)


def validate(row: ReaderSettings) -> None:
    errors: dict[str, str] = {}
    if row.language and row.language not in supported_languages():
        errors["language"] = gettext("One of: %(codes)s, or empty.") % {
            "codes": ", ".join(supported_languages())
        }
    if row.time_zone:
        try:
            zoneinfo.ZoneInfo(row.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = gettext("An IANA time zone name such as Europe/Paris, or empty.")
    if (row.quiet_start is None) != (row.quiet_end is None):
        errors["quiet_end"] = gettext("Quiet hours need both a start and an end, or neither.")
    elif row.quiet_start is not None and row.quiet_start == row.quiet_end:
        errors["quiet_end"] = gettext("Quiet hours cannot start and end at the same time.")
    if errors:
        raise ValidationError(errors)


def remember_browser_language(user_id: int, language: str) -> None:
    """Record the language the user's browser asks for: one upsert, safe from concurrent
    requests (the user's row is created once)."""
    ReaderSettings.objects.bulk_create(
        [ReaderSettings(user_id=user_id, browser_language=language)],
        update_conflicts=True,
        unique_fields=["user"],
        update_fields=["browser_language"],
    )
