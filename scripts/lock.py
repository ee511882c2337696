"""`make lock`: regenerate the template's `uv.lock` from the rendered `pyproject.toml`.

The rendered pyproject differs per option set in two ways that reach the lock: the project's
name and version (cookiecutter variables) and `playwright` in the dev extra (demo UI only).
So the shipped lock is itself a template: both variants are locked with uv, the project's
name and version lines become variables, and the lines only one variant has are gated on
`include_demo_ui`. Versions already in the shipped lock are kept (uv prefers them); run with
`--upgrade` to move every package to the newest version the ranges allow.
"""

import difflib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_LOCK = ROOT / "{{cookiecutter.project_slug}}" / "uv.lock"
UV = Path(sys.executable).parent / "uv"
# The defaults' rendering of the project's own entry, and what replaces it in the template.
PROJECT_LINES = ('name = "notify-hub"\n', 'version = "0.1.0"\n', 'source = { editable = "." }\n')
TEMPLATED_LINES = (
    "name = \"{{ cookiecutter.project_slug.replace('_', '-') }}\"\n",
    'version = "{{ cookiecutter.version }}"\n',
    'source = { editable = "." }\n',
)
DEMO_UI = 'cookiecutter.include_demo_ui == "y"'
# The lock stays on the LTS for every Python, though the pyproject also allows the newest Django
# (Python 3.12+ only): with a bare --upgrade, uv would fork it per Python version.
LTS_DJANGO = "django<5.3"


def locked(output_dir: Path, demo_ui: str, seed: Path | None, upgrade: bool) -> str:
    project = Path(
        cookiecutter(
            str(ROOT),
            no_input=True,
            output_dir=str(output_dir),
            extra_context={"include_demo_ui": demo_ui},
        )
    )
    if seed is not None:
        shutil.copyfile(seed, project / "uv.lock")
    elif not upgrade and not (project / "uv.lock").is_file():
        upgrade = True
    args = [str(UV), "lock", "--quiet", "--python-preference", "only-system"]
    if upgrade:
        args += ["--upgrade", "--upgrade-package", LTS_DJANGO]
    subprocess.run(args, cwd=project, check=True)
    return (project / "uv.lock").read_text()


def gated(condition: str, lines: list[str]) -> list[str]:
    # Tags sit at the start of a line and add no characters, so blank lines survive rendering.
    return [f"{{% if {condition} %}}", *lines, "{% endif %}"]


def merge_lines(with_demo: list[str], without_demo: list[str]) -> list[str]:
    """Jinja lines that render to either list: shared lines as they are, the rest gated."""
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=without_demo, b=with_demo, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            out += with_demo[b0:b1]
            continue
        if b1 > b0:
            out += gated(DEMO_UI, with_demo[b0:b1])
        if a1 > a0:
            out += gated(f"not ({DEMO_UI})", without_demo[a0:a1])
    return out


def blocks(lock: str) -> list[str]:
    """The lock cut before each `[[package]]`, so whole packages are gated, not line ranges."""
    return [part for part in re.split(r"(?=^\[\[package\]\]$)", lock, flags=re.M) if part]


def merge(with_demo: str, without_demo: str) -> str:
    a, b = blocks(without_demo), blocks(with_demo)
    assert "".join(a) == without_demo and "".join(b) == with_demo
    out: list[str] = []
    for tag, a0, a1, b0, b1 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out += b[b0:b1]
        elif tag == "replace" and a1 - a0 == b1 - b0:
            for old, new in zip(a[a0:a1], b[b0:b1], strict=True):
                out += merge_lines(new.splitlines(keepends=True), old.splitlines(keepends=True))
        else:
            out += merge_lines(b[b0:b1], a[a0:a1])
    return "".join(out)


def templated(lock: str) -> str:
    plain = "".join(PROJECT_LINES)
    if lock.count(plain) != 1:
        raise SystemExit("the project's own entry was not found once in the lock")
    return lock.replace(plain, "".join(TEMPLATED_LINES))


def main() -> None:
    upgrade = "--upgrade" in sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="template-lock-") as work:
        with_demo = locked(Path(work) / "y", "y", None, upgrade)
        seed = Path(work) / "seed.lock"
        seed.write_text(with_demo)
        without_demo = locked(Path(work) / "n", "n", seed, False)
    for marker in ("{{", "{%", "{#"):
        if marker in with_demo + without_demo:
            raise SystemExit(f"a locked line holds {marker}: the lock cannot be a Jinja template")
    text = merge(templated(with_demo), templated(without_demo))
    TEMPLATE_LOCK.write_text(text)
    print(f"wrote {TEMPLATE_LOCK.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
