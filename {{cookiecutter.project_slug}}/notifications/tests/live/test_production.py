"""Production parity: collectstatic, DEBUG off, two daphne processes behind deploy/nginx.conf.

The client talks to nginx only, sending `X-Forwarded-Proto: https` as a TLS-terminating load
balancer in front would, so the settings' production defaults (secure cookies, HTTPS redirect,
strict CSRF) are all in force.
"""

import asyncio
import http.client
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from notifications.tests.live.conftest import Daphne, RedisServer, manage
from notifications.tests.servers import HOST, NGINX, PROJECT_DIR, Nginx, require_or_skip, stop

websockets_client = pytest.importorskip("websockets.asyncio.client")

pytestmark = pytest.mark.live

PASSWORD = "parity-pass-4821"
CREATE_USERS = f"""
import json
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken
User = get_user_model()
nina = User.objects.create_user("nina", "nina@example.com", {PASSWORD!r})
User.objects.create_user("sam", "sam@example.com", {PASSWORD!r}, is_staff=True)
print(json.dumps(dict(token=str(AccessToken.for_user(nina)))))
"""
ASSET = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")
MODULE_IMPORT = re.compile(r"""from\s+["'](\.{1,2}/[^"']+)["']""")
MARK_ALL_SEEN = "/api/notifications/user/mark_all_seen/"
EXTERNAL = re.compile(r"""(?:src|href)=["']?(?:https?:)?//""")
{%- if cookiecutter.include_demo_ui == "y" %}
# A page only a signed-in user sees, what shows they are, and a static file it loads.
PAGE, SIGNED_IN, PAGE_ASSET = "/", "Signed in as nina", "notifications.js"
{%- else %}
# A page only a signed-in user sees (no notification pages here), what shows they are, and a
# static file it loads.
PAGE, SIGNED_IN, PAGE_ASSET = "/accounts/password_change/", "Old password", "/accounts/accounts."
{%- endif %}


class ProxyClient:
    """A browser behind a TLS-terminating load balancer: cookies kept, CSRF sent, every request
    marked `X-Forwarded-Proto: https` (Secure cookies are sent back, as over HTTPS)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.origin = f"https://{HOST}:{port}"
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        *,
        https: bool = True,
        json_body: dict[str, str] | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        headers = {"Host": f"{HOST}:{self.port}", **(extra_headers or {})}
        if https:
            headers["X-Forwarded-Proto"] = "https"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            form = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **form}
            body = "&".join(f"{k}={v}" for k, v in form.items())
            headers |= {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": self.origin,
                "Referer": f"{self.origin}{path}",
            }
        if json_body is not None:
            body = json.dumps(json_body)
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(HOST, self.port, timeout=20)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    cookie_value = rest.split(";", 1)[0]
                    if cookie_value in {"", '""'}:
                        self.cookies.pop(key, None)
                    else:
                        self.cookies[key] = cookie_value
            body_text = response.read().decode(errors="replace")
            return response.status, dict(response.getheaders()), body_text
        finally:
            connection.close()

    def get(self, path: str, **options: Any) -> tuple[int, dict[str, str], str]:
        return self.request("GET", path, **options)

    def sign_in(self, username: str) -> None:
        status, _, _ = self.get("/accounts/login/")
        assert status == 200
        status, _, body = self.request(
            "POST", "/accounts/login/", {"username": username, "password": PASSWORD}
        )
        assert status == 302, body[-2000:]
        assert "sessionid" in self.cookies


def assets_of(client: ProxyClient, page: str) -> list[str]:
    """Every static file a page loads: its tags, and the modules its scripts import."""
    found = ASSET.findall(page)
    for path in list(found):
        if path.endswith(".js"):
            _, _, script = client.get(path)
            found += [urljoin(path, module) for module in MODULE_IMPORT.findall(script)]
    return found


@pytest.fixture(scope="module")
def production(live_env, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """Users, collected static files, two daphne processes and nginx, shared by this module."""
    tmp_path = tmp_path_factory.mktemp("production")
    if not Path(NGINX).is_file():
        require_or_skip("nginx is not installed (apt-get install nginx)")
    # The settings' own production defaults: only what a deployment must set is set here.
    env = {key: value for key, value in live_env.items() if key != "SECURE_SSL_REDIRECT"}
    # One nginx in front, which appends the client's address to X-Forwarded-For.
    env |= {"STATIC_ROOT": str(tmp_path / "static"), "LOG_LEVEL": "INFO", "NUM_PROXIES": "1"}
    manage(env, "collectstatic", "--noinput")
    assert (tmp_path / "static" / "staticfiles.json").is_file()
    token = json.loads(manage(env, "shell", "-c", CREATE_USERS).stdout.splitlines()[-1])["token"]
    servers = [Daphne(env, tmp_path / f"daphne-{n}.log") for n in range(2)]
    proxy = Nginx([server.port for server in servers])
    try:
        yield {"env": env, "servers": servers, "nginx": proxy, "token": token}
    finally:
        proxy.stop()
        for server in servers:
            stop(server.process)


def test_sign_in_assets_and_docs_through_nginx(production):
    client = ProxyClient(production["nginx"].port)

    # Out: the page sends to the accounts login, which any active user can use.
    status, headers, _ = client.get(PAGE)
    assert status == 302
    assert headers["Location"].startswith("/accounts/login/")
    client.sign_in("nina")
    status, headers, page = client.get(PAGE)
    assert status == 200
    # Preload only with a year's max-age and the owner's consent (SECURE_HSTS_PRELOAD).
    assert headers["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"
    assert SIGNED_IN in page

    assets = assets_of(client, page)
    _, _, admin_login = client.get("/admin/login/")
    admin_css = [path for path in ASSET.findall(admin_login) if path.endswith(".css")]
    assert admin_css
    assert any(PAGE_ASSET in path for path in assets)
    for path in assets + admin_css:
        status, headers, _ = client.get(path)
        assert status == 200, path
    # Hashed names from collectstatic's manifest: cached for a year by the browser.
    hashed = next(path for path in assets if path.endswith(".css"))
    assert re.search(r"\.[0-9a-f]{12}\.css$", hashed)
    assert "max-age=315360000" in client.get(hashed)[1]["Cache-Control"]

    # The docs page is for staff, and everything it loads comes from this server.
    assert client.get("/api/docs/")[0] == 403
    status, headers, _ = client.request("POST", "/accounts/logout/", {})
    assert status == 302
    assert headers["Location"] == "/accounts/login/"
    assert client.get(PAGE)[0] == 302, "signed out: the page sends to the login again"

    client.sign_in("sam")
    status, _, docs = client.get("/api/docs/")
    assert status == 200
    assert not EXTERNAL.search(docs)
    for path in ASSET.findall(docs):
        assert client.get(path)[0] == 200, path


def test_websocket_through_nginx_and_no_credential_in_any_log(production):
    frame = asyncio.run(notification_through_nginx(production))
    assert frame["payload"]["notification"]["message"] == "Through the proxy"

    token = production["token"]
    logs = [server.log.read_text() for server in production["servers"]]
    logs.append(production["nginx"].access_log)
    assert "WS /ws/notifications/ accepted" in "".join(logs)
    assert " /ws/notifications/ " in production["nginx"].access_log
    for log in logs:
        assert token not in log


def test_probes_through_nginx_while_redis_stops(production, redis_server: RedisServer):
    client = ProxyClient(production["nginx"].port)
    # A load balancer probes over plain HTTP: the probes answer, everything else redirects.
    assert client.get("/healthz", https=False)[0] == 200
    assert client.get("/api/", https=False)[0] == 301
    assert client.get("/readyz", https=False)[0] == 200

    redis_server.stop()
    try:
        status, _, body = client.get("/readyz", https=False)
        assert status == 503
        checks = json.loads(body)["checks"]
        assert checks["database"] == "ok"
        assert checks["cache"].startswith("unavailable")
        assert checks["channel_layer"].startswith("unavailable")
        assert client.get("/healthz", https=False)[0] == 200
    finally:
        redis_server.start()
    assert wait_until_ready(client), "/readyz did not recover after Redis came back"


def wait_until_ready(client: ProxyClient) -> bool:
    """Poll /readyz while the servers reconnect to Redis; no time is asserted."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if client.get("/readyz", https=False)[0] == 200:
            return True
        time.sleep(0.25)
    return False


async def notification_through_nginx(production: dict[str, Any]) -> dict[str, Any]:
    port = production["nginx"].port
    url = f"ws://{HOST}:{port}/ws/notifications/?token={production['token']}"
    async with websockets_client.connect(
        url,
        origin=f"https://{HOST}:{port}",
        additional_headers={"X-Forwarded-Proto": "https"},
        open_timeout=20,
    ) as socket:
        while json.loads(await asyncio.wait_for(socket.recv(), 20)).get("event") != "ready":
            pass
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "manage.py",
            "notify",
            "nina",
            "Through the proxy",
            cwd=PROJECT_DIR,
            env=production["env"],
            stdout=asyncio.subprocess.PIPE,
        )
        notification_id = int((await process.communicate())[0].split()[-1])
        while True:
            frame = json.loads(await asyncio.wait_for(socket.recv(), 20))
            if frame.get("event") == "created":
                assert frame["payload"]["notification"]["id"] == notification_id
                return frame


def test_password_guessing_is_locked_out_on_every_door_through_nginx(production):
    client = ProxyClient(production["nginx"].port)
    client.get("/accounts/login/")
    try:
        # A forged X-Forwarded-For per guess: nginx appends the real address, which counts.
        for attempt in range(20):
            client.request(
                "POST",
                "/accounts/login/",
                {"username": "nina", "password": f"wrong-{attempt}"},
                extra_headers={"X-Forwarded-For": f"198.51.100.{attempt}"},
            )

        status, headers, page = client.request(
            "POST", "/accounts/login/", {"username": "nina", "password": PASSWORD}
        )
        assert status == 429
        assert "Too many failed sign-ins" in page
        assert int(headers["Retry-After"]) > 0
        assert "sessionid" not in client.cookies

        # The same address at the other doors, with another account's right password.
        admin = ProxyClient(production["nginx"].port)
        admin.get("/admin/login/")
        status, _, page = admin.request(
            "POST", "/admin/login/", {"username": "sam", "password": PASSWORD}
        )
        assert status == 429
        assert "Too many failed sign-ins" in page
        status, headers, body = admin.request(
            "POST", "/api/token/", json_body={"username": "sam", "password": PASSWORD}
        )
        assert status == 429
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body)["detail"].startswith("Too many failed sign-ins")
    finally:
        manage(production["env"], "axes_reset")
    client.sign_in("nina")


def test_a_malformed_multipart_body_is_a_json_400(production):
    # twisted would answer all three with a bare 400 before Django saw them (serve.py).
    port = production["nginx"].port
    expected = {"/api/token/": 400, "/api/token/refresh/": 400, MARK_ALL_SEEN: 200}
    for path, status in expected.items():
        connection = http.client.HTTPConnection(HOST, port, timeout=20)
        try:
            connection.request(
                "POST",
                path,
                body=b"x",
                headers={
                    "Host": f"{HOST}:{port}",
                    "X-Forwarded-Proto": "https",
                    "Authorization": f"Bearer {production['token']}",
                    "Content-Type": "multipart/form-data; boundary=xyz",
                },
            )
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        assert response.status == status, path
        assert response.getheader("Content-Type") == "application/json", path
        assert json.loads(body), path
