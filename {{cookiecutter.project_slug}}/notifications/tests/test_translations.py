"""The shipped languages are complete: every string of the code is in each catalog, translated,
not fuzzy, with the same placeholders, and compiled into the .mo file the server reads."""

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from notifications.tests.catalogs import PROJECT_DIR, Entry, catalogs, read
from notifications.tests.servers import require_or_skip

# Every language but the one the code is written in.
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
# %(name)s, %(count)d and {name}: a translation must keep each one its source has.
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
# What `make messages` leaves out of the extraction.
NOT_SOURCE = (".venv", "artifacts", "node_modules", ".git")


def problems(entries: list[Entry]) -> list[str]:
    found = []
    for entry in entries:
        if "fuzzy" in entry.flags:
            found.append(f"fuzzy: {entry.msgid!r}")
        elif not entry.translated:
            found.append(f"untranslated: {entry.msgid!r}")
        else:
            sources = {entry.msgid, entry.msgid_plural or entry.msgid}
            wanted = set().union(*(PLACEHOLDER.findall(source) for source in sources))
            for text in entry.msgstr.values():
                if set(PLACEHOLDER.findall(text)) != wanted:
                    found.append(f"placeholders differ: {entry.msgid!r} -> {text!r}")
    return found


def test_a_language_besides_the_default_is_shipped():
    assert LANGUAGES == ["fr"]
    names = {path.relative_to(PROJECT_DIR).parts[0] for path in catalogs("fr")}
    assert "notifications" in names


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_keeps_its_placeholders(language):
    found = {
        str(path.relative_to(PROJECT_DIR)): problems(read(path)) for path in catalogs(language)
    }
    assert {path: found for path, found in found.items() if found} == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogs_hold_every_translation(language):
    stale = []
    for path in catalogs(language):
        with path.with_suffix(".mo").open("rb") as compiled:
            translations = gettext.GNUTranslations(compiled)
        for entry in read(path):
            if entry.msgid_plural is None:
                got = [translations.gettext(entry.msgid)]
            else:
                # French: 0 and 1 are singular (plural=(n > 1)).
                got = [translations.ngettext(entry.msgid, entry.msgid_plural, n) for n in (1, 2)]
            if got != [entry.msgstr[index] for index in sorted(entry.msgstr)]:
                stale.append(f"{path.name}: {entry.msgid!r}")
    assert stale == [], "run `make messages` to compile the catalogs"


def test_the_checks_catch_untranslated_fuzzy_and_broken_entries(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
        'msgid "Inbox"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Archive"\nmsgstr "Archiver"\n\n'
        '#, python-format\nmsgid "Hi %(name)s"\nmsgstr "Salut"\n\n'
        'msgid "%(count)s new"\nmsgid_plural "%(count)s new"\n'
        'msgstr[0] "%(count)s nouvelle"\nmsgstr[1] ""\n\n'
        'msgid "Done"\nmsgstr ""\n"Termin"\n"ée"\n',
        encoding="utf-8",
    )
    assert problems(read(po)) == [
        "untranslated: 'Inbox'",
        "fuzzy: 'Archive'",
        "placeholders differ: 'Hi %(name)s' -> 'Salut'",
        "untranslated: '%(count)s new'",
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_of_the_code_is_in_the_catalogs(language, tmp_path):
    """Extract the strings of a copy of the project, as `make messages` does, and compare."""
    if shutil.which("xgettext") is None:
        require_or_skip("GNU gettext (xgettext) is not installed: apt install gettext")
    copy = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, copy, ignore=shutil.ignore_patterns(*NOT_SOURCE, "*.mo"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    for domain, extra in (("django", []), ("djangojs", ["--ignore", "*/tests/*"])):
        subprocess.run(
            [
                *(sys.executable, "manage.py", "makemessages", "-d", domain, "-l", language),
                *("--no-obsolete", "--ignore", "artifacts/*", *extra),
            ],
            cwd=copy,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    missing = {}
    for shipped in catalogs(language):
        extracted = copy / shipped.relative_to(PROJECT_DIR)
        known = {entry.msgid for entry in read(shipped)}
        new = [entry.msgid for entry in read(extracted) if entry.msgid not in known]
        if new:
            missing[str(shipped.relative_to(PROJECT_DIR))] = new
    # A catalog the extraction made where none is shipped holds strings nobody translated.
    made = {
        str(path.relative_to(copy))
        for path in copy.glob(f"*/locale/{language}/LC_MESSAGES/*.po")
        if not (PROJECT_DIR / path.relative_to(copy)).exists()
    }
    assert (missing, made) == ({}, set()), "run `make messages` and translate the new strings"


def test_the_project_settings_list_each_shipped_language():
    shipped = {path.parent.name for path in PROJECT_DIR.glob("*/locale/*/LC_MESSAGES")}
    assert shipped == set(LANGUAGES)
    assert Path(PROJECT_DIR / "Makefile").read_text().count("MESSAGE_LANGUAGES ?= fr") == 1
