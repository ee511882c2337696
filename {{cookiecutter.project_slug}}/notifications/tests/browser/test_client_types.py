"""notifications.d.ts declares exactly what notifications.js exports, checked by `tsc --strict`."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "static" / "notifications"
USAGE = Path(__file__).resolve().parent / "client_usage.ts"
TSC_OPTIONS = [
    "--noEmit",
    "--strict",
    "--target",
    "es2022",
    "--module",
    "esnext",
    "--moduleResolution",
    "bundler",
    "--lib",
    "es2022,dom",
]

# What the module gives a page at run time, read in Chromium from the file the server serves:
# its exports, a client's public properties and methods (private ones are `#`), its options.
RUNTIME_SURFACE = """async () => {
  const module = await import("/static/notifications/notifications.js");
  const client = new module.NotificationClient();
  const methods = Object.getOwnPropertyNames(module.NotificationClient.prototype);
  return {
    exports: Object.keys(module),
    members: [...Object.keys(client), ...methods.filter((name) => name !== "constructor")],
    options: Object.keys(client.options),
  };
}"""

# Both directions of "declared exactly": a name missing from either side fails to compile, and
# the error names it ('Type "true" is not assignable to type "unarchive"').
SURFACE_CHECK = """import type * as Module from "./notifications.js";

type Nothing<T> = [T] extends [never] ? true : T;
type Exports = {exports};
type Members = {members};
type Options = {options};
type Emitted = {emitted};
type Client = Module.NotificationClient;
type Option = keyof Module.ClientOptions;
type Event = keyof Module.ClientEvents;

export const undeclaredExports: Nothing<Exclude<Exports, keyof typeof Module>> = true;
export const declaredNotExported: Nothing<Exclude<keyof typeof Module, Exports>> = true;
export const undeclaredMembers: Nothing<Exclude<Members, keyof Client>> = true;
export const declaredNotMembers: Nothing<Exclude<keyof Client, Members>> = true;
export const undeclaredOptions: Nothing<Exclude<Options, Option>> = true;
export const declaredNotOptions: Nothing<Exclude<Option, Options>> = true;
export const undeclaredEvents: Nothing<Exclude<Emitted, Event>> = true;
export const declaredNotEmitted: Nothing<Exclude<Event, Emitted>> = true;
"""


def union(names: list[str]) -> str:
    return " | ".join(f'"{name}"' for name in sorted(set(names))) or "never"


def compile_typescript(tsc: list[str], folder: Path, *sources: Path) -> str:
    shutil.copy(STATIC / "notifications.d.ts", folder / "notifications.d.ts")
    result = subprocess.run(
        [*tsc, *TSC_OPTIONS, *map(str, sources)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return result.stdout + result.stderr if result.returncode else ""


def test_a_front_end_using_every_declaration_type_checks(tsc, tmp_path):
    usage = tmp_path / USAGE.name
    shutil.copy(USAGE, usage)
    assert compile_typescript(tsc, tmp_path, usage) == ""


@pytest.mark.browser
@pytest.mark.live
def test_the_declarations_name_exactly_what_the_module_exposes(tsc, tmp_path, page, live_url):
    page.goto(f"{live_url}/accounts/login/")
    surface = page.evaluate(RUNTIME_SURFACE)
    # Events by their own name; stream events are emitted under the frame's `event`.
    emitted = re.findall(r'#emit\("(\w+)"', (STATIC / "notifications.js").read_text())
    assert {"unarchive", "sync", "reconnectNow", "socket"} <= set(surface["members"])
    check = tmp_path / "surface.ts"
    check.write_text(
        SURFACE_CHECK.format(
            exports=union(surface["exports"]),
            members=union(surface["members"]),
            options=union(surface["options"]),
            emitted=union(emitted),
        )
    )
    assert compile_typescript(tsc, tmp_path, check) == ""
