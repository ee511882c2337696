"""The Web Push service worker in Chromium: a push delivered to it shows the notification.

The centre registers /service-worker.js; the test delivers a push message to it through the
DevTools protocol (ServiceWorker.deliverPushMessage), as the browser's push service would, with
the payload the server's sender builds for a real notification.
"""

import json
import time
from typing import Any

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.live]

# Prints the payload notifications/push/sending.py sends for a new notification of `username`.
PAYLOAD = """
from django.contrib.auth import get_user_model
from notifications.push import sending
from notifications.serializers import NotificationSerializer
from notifications.services import NotificationService
user = get_user_model().objects.get(username=username)
row = NotificationService.create_notification(
    user, "Your build is green", title="CI", level=3, data={"url": "/builds/7"}
)
print(sending.payload(row, NotificationSerializer().to_representation(row)["url"]))
"""

SHOWN = """async () => {
  const registration = await navigator.serviceWorker.ready;
  const shown = await registration.getNotifications();
  return shown.map((n) => ({
    title: n.title, body: n.body, tag: n.tag, data: n.data, sticky: n.requireInteraction,
  }));
}"""


def registration_id(session: Any, scope: str) -> str:
    """The id DevTools gives the service worker registration of `scope`."""
    found: dict[str, str] = {}

    def updated(event: dict[str, Any]) -> None:
        for registration in event["registrations"]:
            if registration["scopeURL"] == scope and not registration["isDeleted"]:
                found["id"] = registration["registrationId"]

    session.on("ServiceWorker.workerRegistrationUpdated", updated)
    session.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while "id" not in found and time.monotonic() < deadline:
        session.send("Runtime.evaluate", {"expression": "1"})  # lets events arrive
        time.sleep(0.05)
    assert "id" in found, f"no service worker registered for {scope}"
    return found["id"]


def test_a_pushed_message_is_shown_by_the_service_worker(
    page, sign_in, make_user, run_command, live_url
):
    page.context.grant_permissions(["notifications"], origin=live_url)
    username = make_user("push_worker")
    sign_in(username)
    worker = page.evaluate("async () => (await navigator.serviceWorker.ready).active.scriptURL")
    assert worker == f"{live_url}/service-worker.js"
    payload = (
        run_command("shell", "-c", f"username = {username!r}\n{PAYLOAD}").strip().splitlines()[-1]
    )
    message = json.loads(payload)

    session = page.context.new_cdp_session(page)
    registration = registration_id(session, f"{live_url}/")
    session.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_url, "registrationId": registration, "data": payload},
    )

    shown: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not shown and time.monotonic() < deadline:
        shown = page.evaluate(SHOWN)
        time.sleep(0.05)
    assert shown == [
        {
            "title": "CI",
            "body": "Your build is green",
            "tag": f"notification:{message['id']}",
            "data": {"url": "/builds/7", "id": message["id"]},
            "sticky": True,
        }
    ]
