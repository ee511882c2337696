"""Texts in the reader's language: stored texts per recipient, broadcasts per reader.

A notification is written once, for one person: its title and message are rendered in the
recipient's language when it is created (`by_language`, `translation.override`), so every
channel (the centre, the socket, email, push) shows the same words without translating at read
time. A broadcast is read by everyone: its texts are rendered in every language of
settings.LANGUAGES when it is created and kept in `data["translations"]`; a list shows the
reader's (`localized`), and the JS client picks its page's from a pushed frame.
"""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise

from notifications.categories import StrOrPromise
from notifications.reader import profile

TRANSLATIONS = "translations"


def language_of(user_id: int) -> str:
    """The language texts stored for this user are written in."""
    return profile.reader_of(user_id).writes_in


def by_language(user_ids: Iterable[int]) -> dict[str, list[int]]:
    """The users grouped by the language their texts are written in, in one query; each group
    keeps the order of `user_ids`."""
    ids = list(dict.fromkeys(user_ids))
    groups: dict[str, list[int]] = {}
    for user_id, reader in profile.readers_of(ids).items():
        groups.setdefault(reader.writes_in, []).append(user_id)
    return groups


def broadcast_texts(
    title: StrOrPromise, message: StrOrPromise, data: dict[str, Any] | None
) -> tuple[str, str, dict[str, Any]]:
    """The title and message in LANGUAGE_CODE, and `data` with every language's texts.

    Plain strings are stored as they are: only lazy translations (gettext_lazy, format_lazy)
    have other languages to render.
    """
    data = dict(data or {})
    if not isinstance(title, Promise) and not isinstance(message, Promise):
        return str(title), str(message), data
    texts = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = {"title": str(title), "message": str(message)}
    with translation.override(settings.LANGUAGE_CODE):
        default = {"title": str(title), "message": str(message)}
    # Every language, the default too: a payload pushed while another language was active
    # still holds the default's words for a reader of it.
    data[TRANSLATIONS] = texts
    return default["title"], default["message"], data


def localized(payload: dict[str, Any]) -> dict[str, Any]:
    """A broadcast payload with the title and message of the active language, if it has them."""
    data = payload.get("data")
    texts = data.get(TRANSLATIONS) if isinstance(data, dict) else None
    if not isinstance(texts, dict):
        return payload
    text = texts.get(translation.get_language() or settings.LANGUAGE_CODE)
    if not isinstance(text, dict):
        return payload
    return {**payload, "title": text.get("title", ""), "message": text.get("message", "")}
