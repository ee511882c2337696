"""Container health probe: exits 0 when this container's daphne answers `/healthz` with 200."""

import os
import sys
import urllib.request

PORT = os.environ.get("PORT", "8000")


def probe_host() -> str:
    """A Host header Django accepts: the first ALLOWED_HOSTS entry, with any wildcard dropped."""
    first = os.environ.get("ALLOWED_HOSTS", "").split(",")[0].strip()
    return first.lstrip(".*") or "localhost"


def main() -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}/healthz",
        # What the TLS-terminating proxy sends, so neither host validation nor
        # SECURE_SSL_REDIRECT turns the probe away.
        headers={"Host": probe_host(), "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310 (loopback http)
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
