"""Golden file lists: every file each option set renders, one list per set in tests/golden/.

`make golden` (python -m tests.golden) renders every set and rewrites the lists; review the
diff, then commit it with the change that added or removed files.
"""

import tempfile
from pathlib import Path

from tests.conftest import render
from tests.option_sets import ALL_SETS, set_id

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
REGENERATE = "make golden"


def golden_path(options: dict[str, str]) -> Path:
    return GOLDEN_DIR / f"{set_id(options)}.txt"


def rendered_files(project: Path) -> list[str]:
    """Relative paths of the rendered files, sorted; bytecode a test run may leave is skipped."""
    return sorted(
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


def main() -> None:
    GOLDEN_DIR.mkdir(exist_ok=True)
    for stale in GOLDEN_DIR.glob("*.txt"):
        stale.unlink()
    with tempfile.TemporaryDirectory(prefix="template-golden-") as work:
        for index, options in enumerate(ALL_SETS):
            project = render(options, Path(work) / str(index))
            golden_path(options).write_text("\n".join(rendered_files(project)) + "\n")
    print(f"wrote {len(ALL_SETS)} lists to {GOLDEN_DIR}")


def assert_matches_golden(project: Path, options: dict[str, str]) -> None:
    """Nothing stray, nothing of an option not chosen: the rendered files are the golden list."""
    path = golden_path(options)
    expected = path.read_text().split() if path.is_file() else []
    actual = rendered_files(project)
    extra = sorted(set(actual) - set(expected))
    missing = sorted(set(expected) - set(actual))
    assert not extra and not missing, (
        f"rendered files differ from {path.name}: not in the list {extra}, not rendered "
        f"{missing}. If the change is intended, run `{REGENERATE}` and commit tests/golden/."
    )


if __name__ == "__main__":
    main()
