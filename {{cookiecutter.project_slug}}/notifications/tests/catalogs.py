"""Read gettext catalogs (.po) without extra packages: entries, their flags and translations."""

import ast
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    # msgstr, or msgstr[0], msgstr[1]... for a plural entry.
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values()) and "fuzzy" not in self.flags


def catalogs(language: str) -> list[Path]:
    """Every catalog of `language` the project ships, app by app."""
    return sorted(PROJECT_DIR.glob(f"*/locale/{language}/LC_MESSAGES/*.po"))


def read(path: Path) -> list[Entry]:
    """The entries of a .po file, the header (msgid "") left out."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None
    started = False

    def finish() -> None:
        nonlocal entry, started
        if started and entry.msgid:
            entries.append(entry)
        entry, started = Entry(), False

    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            finish()
            target = None
            continue
        if line.startswith("#~"):
            entry.obsolete = True
            continue
        if line.startswith("#,"):
            if started:
                finish()
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            text = ast.literal_eval(line)
        else:
            text = ast.literal_eval(rest)
            if keyword == "msgid":
                if started and entry.msgstr:
                    finish()
                target = ("msgid", 0)
            elif keyword == "msgid_plural":
                target = ("msgid_plural", 0)
                entry.msgid_plural = ""
            elif keyword == "msgstr":
                target = ("msgstr", 0)
                entry.msgstr[0] = ""
            elif keyword.startswith("msgstr["):
                index = int(keyword[7:-1])
                target = ("msgstr", index)
                entry.msgstr[index] = ""
            started = True
        if target is None:
            continue
        name, index = target
        if name == "msgid":
            entry.msgid += text
        elif name == "msgid_plural":
            entry.msgid_plural = (entry.msgid_plural or "") + text
        else:
            entry.msgstr[index] += text
    return [each for each in entries if not each.obsolete]
