"""Container images for the template tests: a Debian base made with debootstrap, built by buildah.

No registry is reachable, so the rendered Dockerfile's `BASE_IMAGE` is replaced by a local
image: Debian bookworm (minbase) with python3 and python3-venv. Its root filesystem is cached
as a tarball outside the clone, keyed by a hash of what goes into it, and the committed image
stays in buildah's storage, so only the first run pays for debootstrap.
"""

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CACHE_DIR = Path(
    os.environ.get("NOTIFICATIONS_TEMPLATE_CACHE", Path.home() / ".cache/notifications-template")
)
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Runtime image settings a python:3.x-slim base also has.
BASE_CONFIG = ("--env", "LANG=C.UTF-8", "--cmd", "python3")


def buildah(*args: str, timeout: int = 1800) -> str:
    result = subprocess.run(
        [*buildah_command(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=buildah_env(),
    )
    if result.returncode != 0:
        raise RuntimeError(f"buildah {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip()


def buildah_env() -> dict[str, str]:
    env = dict(os.environ)
    # chroot isolation needs no user namespaces or runc: it works as root in CI without Docker.
    env.setdefault("BUILDAH_ISOLATION", "chroot")
    return env


@functools.cache
def buildah_command() -> tuple[str, ...]:
    """`buildah` with the overlay storage driver, or vfs in its own root where overlay fails."""
    mount_and_remove = 'c=$(buildah from scratch) || exit 1; buildah mount "$c"; r=$?'
    probe = subprocess.run(
        ["sh", "-c", f'{mount_and_remove}; buildah rm "$c"; exit $r'],
        capture_output=True,
        env=buildah_env(),
    )
    if probe.returncode == 0:
        return ("buildah",)
    vfs_root = "/var/lib/containers/storage-vfs"
    return ("buildah", "--storage-driver", "vfs", "--root", vfs_root)


def base_inputs_hash() -> str:
    inputs = "\n".join([SUITE, MIRROR, "minbase", *PACKAGES, *BASE_CONFIG])
    return hashlib.sha256(inputs.encode()).hexdigest()[:12]


def image_exists(name: str) -> bool:
    result = subprocess.run(
        [*buildah_command(), "images", "--quiet", name],
        capture_output=True,
        text=True,
        env=buildah_env(),
    )
    return result.returncode == 0 and bool(result.stdout.strip())


def rootfs_tarball(key: str) -> Path:
    """The debootstrapped root filesystem as a tarball, made once per set of inputs."""
    tarball = CACHE_DIR / f"debian-{SUITE}-python-{key}.tar"
    if tarball.is_file():
        return tarball
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="debootstrap-", dir=CACHE_DIR) as work:
        rootfs = Path(work) / "rootfs"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(rootfs),
                MIRROR,
            ],
            check=True,
            capture_output=True,
            timeout=1800,
        )
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        partial = tarball.with_suffix(".partial")
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."],
            check=True,
            capture_output=True,
        )
        partial.rename(tarball)
    for stale in CACHE_DIR.glob(f"debian-{SUITE}-python-*.tar"):
        if stale != tarball:
            stale.unlink()
    return tarball


def base_image() -> str:
    """A local image to pass as BASE_IMAGE: Debian with python3, from cache when possible."""
    key = base_inputs_hash()
    name = f"localhost/notifications-template-base:{key}"
    if image_exists(name):
        return name
    tarball = rootfs_tarball(key)
    container = buildah("from", "scratch")
    try:
        buildah("add", container, str(tarball), "/")
        buildah("config", *BASE_CONFIG, container)
        buildah("commit", "--quiet", container, name)
    finally:
        buildah("rm", container)
    return name
