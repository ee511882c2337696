"""The README and docs/ pages name only what exists: links, files, tests, commands, settings."""

import re
import shlex
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FILE_NAME = re.compile(r"^[\w./-]+\.(py|md|conf|yml|toml|js|ts|html|json|lock)$|^Dockerfile$")
TEST_REF = re.compile(r"^(?:([\w./-]+\.py))?::(test_\w+)$")
UPPER_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
# Read with env.<type>("NAME", ...) in config/settings.py.
ENV_READ = re.compile(r"""env(?:\.\w+)?\(\s*["']([A-Z0-9_]+)["']""")
# The first column of docs/configuration.md's table.
CONFIG_ROW = re.compile(r"^\| `([A-Z0-9_]+)` \|", re.M)
SOURCE_SUFFIXES = {".py", ".yml", ".yaml", ".toml", ".cfg", ".example", ".conf", ""}


def text(page: Path) -> str:
    return page.read_text()


def prose(page: Path) -> str:
    """The page without its fenced blocks."""
    return FENCE.sub("", text(page))


def shell_lines(page: Path) -> list[str]:
    """Every command line of the page's ```bash blocks, comments removed."""
    lines = []
    for language, body in FENCE.findall(text(page)):
        if language in {"bash", "sh", "shell"}:
            for line in body.splitlines():
                command = line.split(" #", 1)[0].strip()
                if command and not command.startswith("#"):
                    lines.append(command)
    return lines


def spans(page: Path) -> list[str]:
    return SPAN.findall(prose(page))


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {anchor(line.lstrip("#")) for line in prose(page).splitlines() if line.startswith("#")}


def project_files() -> list[Path]:
    skipped = {".venv", "node_modules", ".git", "staticfiles", "artifacts"}
    return [
        path
        for path in ROOT.rglob("*")
        if path.is_file() and not skipped.intersection(path.relative_to(ROOT).parts)
    ]


def find_files(name: str) -> list[Path]:
    """The project files a page may mean: by the path from the root, or by the end of a path."""
    if (ROOT / name).is_file():
        return [ROOT / name]
    return [path for path in project_files() if path.as_posix().endswith(f"/{name}")]


def readers_apps() -> set[str]:
    """The apps "Your first notification" has the reader create: its file blocks' folders."""
    paths = [
        body.splitlines()[0].removeprefix("# ")
        for language, body in FENCE.findall(text(ROOT / "README.md"))
        if language == "python" and body.startswith("# ")
    ]
    return {f"{path.split('/')[0]}/" for path in paths if "/" in path}


def makefile_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([\w-]+):", makefile, re.M))


def manage_py_commands(page: Path) -> list[list[str]]:
    """`manage.py <command> [args]` as the page shows it, in blocks and in the prose."""
    found = []
    for line in [*shell_lines(page), *spans(page)]:
        if "manage.py " in line:
            words = shlex.split(line.split("manage.py ", 1)[1].replace("<", "").replace(">", ""))
            found.append(words)
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_link_leads_to_a_page_and_heading_that_exist(page):
    for target in LINK.findall(text(page)):
        if re.match(r"^(https?|mailto):", target):
            continue
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.is_file(), f"{page.name} links to {target}: no such file"
        if fragment:
            assert fragment in anchors(linked), f"{page.name} links to {target}: no such heading"


def test_the_readme_links_every_docs_page():
    linked = {target.split("#")[0] for target in LINK.findall(text(ROOT / "README.md"))}
    for page in PAGES[1:]:
        assert f"docs/{page.name}" in linked, f"README.md does not link docs/{page.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_file_and_test_named_exists(page):
    for line in prose(page).splitlines():
        modules: list[Path] = []
        for span in SPAN.findall(line):
            test = TEST_REF.match(span)
            if test:
                # `module.py::test_name`, or `::test_name` after the module it belongs to.
                if test.group(1):
                    modules = find_files(test.group(1))
                    assert modules, f"{page.name} names {test.group(1)}: no such file"
                assert modules, f"{page.name} names {span} after no test module"
                defined = [m for m in modules if f"def {test.group(2)}(" in m.read_text()]
                assert defined, f"{page.name} names {span}: no such test"
            elif FILE_NAME.match(span) and not span.startswith(tuple(readers_apps())):
                modules = find_files(span)
                assert modules, f"{page.name} names {span}: no such file in the project"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_manage_py_command_and_option_shown_exists(page):
    commands = get_commands()
    for words in manage_py_commands(page):
        name = words[0]
        assert name in commands, f"{page.name} shows `manage.py {name}`: no such command"
        parser = load_command_class(commands[name], name).create_parser("manage.py", name)
        known = {option for action in parser._actions for option in action.option_strings}
        for word in words[1:]:
            option = word.split("=", 1)[0]
            if option.startswith("--"):
                assert option in known, f"{page.name}: `manage.py {name}` has no {option}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_make_target_shown_exists(page):
    targets = makefile_targets()
    lines = [*shell_lines(page), *spans(page)]
    for line in lines:
        if line.startswith("make "):
            target = line.split()[1]
            assert target in targets, f"{page.name} shows `{line}`: no such target in the Makefile"


def test_the_configuration_page_lists_exactly_the_variables_settings_read():
    read = set(ENV_READ.findall((ROOT / "config" / "settings.py").read_text()))
    listed = set(CONFIG_ROW.findall(text(ROOT / "docs" / "configuration.md")))
    assert read - listed == set(), "read in config/settings.py but not documented"
    assert listed - read == set(), "documented but not read in config/settings.py"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_setting_or_variable_named_is_used_by_the_project(page):
    sources = "\n".join(
        path.read_text(errors="replace")
        for path in project_files()
        if path.suffix in SOURCE_SUFFIXES
        and "docs" not in path.relative_to(ROOT).parts
        and path.name != "README.md"
    )
    for span in spans(page):
        name = span.split("=", 1)[0]
        if UPPER_NAME.match(name):
            assert name in sources, f"{page.name} names {name}, which nothing in the project uses"
