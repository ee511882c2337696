"""Web Push end to end: browsers subscribe through daphne, a write in another process queues the
job, a Celery worker sends, and a local push service verifies and decrypts every message.

The push service (notifications/tests/pushservice.py) checks each message's VAPID token
against the server's public key and decrypts it with the subscription's private key, as a
browser vendor's service and the browser would; it answers 201, or 404, 410 or 429 when the
test scripts it so.
"""

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from notifications.push import keys
from notifications.tests.live.conftest import Daphne, manage
from notifications.tests.pushservice import Browser, PushService
from notifications.tests.servers import PROJECT_DIR, http_json, stop

pytestmark = pytest.mark.live

# Seconds to wait for what a worker does; generous, as CI machines are slow.
PATIENCE = 60
SUBSCRIPTIONS = 50

CREATE_USER = """
import json
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken
user, _ = get_user_model().objects.get_or_create(username=name)
print(json.dumps({"id": user.id, "token": str(AccessToken.for_user(user))}))
"""


class PushStack:
    """The push service, one daphne and one Celery worker sharing the live database and Redis."""

    def __init__(self, live_env: dict[str, str], logs: Path) -> None:
        public_key, private_key = keys.generate()
        self.service = PushService(public_key).start()
        self.env = {
            **live_env,
            "NOTIFICATIONS_PUSH_VAPID_PUBLIC_KEY": public_key,
            "NOTIFICATIONS_PUSH_VAPID_PRIVATE_KEY": private_key,
            "NOTIFICATIONS_PUSH_SUBJECT": "mailto:ops@example.com",
            "NOTIFICATIONS_PUSH_ALLOW_HTTP": "true",
            # One user's fifty browsers, past the default cap of twenty.
            "NOTIFICATIONS_PUSH_MAX_SUBSCRIPTIONS": str(SUBSCRIPTIONS),
        }
        self.logs = logs
        self.daphne = Daphne(self.env, logs / "daphne.log")
        with (logs / "worker.log").open("a") as log:
            # One process: jobs run in the order they were queued.
            self.worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-l",
                    "INFO",
                    "--concurrency",
                    "1",
                ],
                cwd=PROJECT_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def user(self, prefix: str) -> dict[str, Any]:
        """A new user: the live database outlives a run, and a user's browsers with it."""
        name = f"{prefix}_{secrets.token_hex(4)}"
        output = manage(self.env, "shell", "-c", f"name = {name!r}\n{CREATE_USER}").stdout
        return {"name": name, **json.loads(output.strip().splitlines()[-1])}

    def subscribe(self, user: dict[str, Any], answers: list[int] | None = None) -> Browser:
        browser = self.service.browser(answers)
        path = "/api/notifications/push/subscribe/"
        status, body = http_json(
            self.daphne.port, "POST", path, token=user["token"], body=browser.as_json()
        )
        assert status == 201, body
        return browser

    def notify(self, user: dict[str, Any], message: str, *options: str) -> int:
        """A notification written by another process, as an app's worker would write it."""
        output = manage(self.env, "notify", user["name"], message, *options).stdout
        return int(output.split()[-1])

    def subscriptions(self, user: dict[str, Any]) -> int:
        status, body = self.daphne.http("GET", "/api/notifications/push/", user["token"])
        assert status == 200, body
        return int(body["subscriptions"])

    def worker_log(self) -> str:
        return (self.logs / "worker.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        stop(self.worker)
        stop(self.daphne.process)
        self.service.stop()


@pytest.fixture(scope="module")
def stack(
    live_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PushStack]:
    running = PushStack(live_env, tmp_path_factory.mktemp("push"))
    yield running
    running.stop()


def test_fifty_browsers_get_one_notification_as_fifty_verified_decrypted_pushes(stack):
    user = stack.user("push_fifty")
    browsers = [stack.subscribe(user) for _ in range(SUBSCRIPTIONS)]
    before = len(stack.service.deliveries)

    created = stack.notify(user, "Deploy finished", "--title", "Deploys", "--level", "3")

    deliveries = stack.service.wait_for(before + SUBSCRIPTIONS, PATIENCE)[before:]
    assert len(deliveries) == SUBSCRIPTIONS, stack.worker_log()
    assert stack.service.refusals == []
    assert sorted(each.token for each in deliveries) == sorted(b.token for b in browsers)
    for delivery in deliveries:
        assert delivery.status == 201
        assert delivery.message["id"] == created
        assert (delivery.message["title"], delivery.message["body"]) == (
            "Deploys",
            "Deploy finished",
        )
        assert (delivery.urgency, delivery.ttl) == ("high", 72 * 3600)


def test_a_410_removes_its_subscription_and_a_429_is_sent_again_later(stack):
    user = stack.user("push_gone")
    gone = stack.subscribe(user, answers=[410])
    throttled = stack.subscribe(user, answers=[429])
    assert stack.subscriptions(user) == 2
    before = len(stack.service.deliveries)

    stack.notify(user, "Hello")

    # The 410 and the 429 now, and the 429's retry after the Retry-After it was given.
    deliveries = stack.service.wait_for(before + 3, PATIENCE)[before:]
    answered = sorted((each.token, each.status) for each in deliveries)
    assert answered == sorted([(gone.token, 410), (throttled.token, 429), (throttled.token, 201)])
    assert stack.subscriptions(user) == 1


def test_a_muted_category_sends_nothing(stack):
    user = stack.user("push_muted")
    stack.subscribe(user)
    status, body = http_json(
        stack.daphne.port,
        "PATCH",
        "/api/notifications/preferences/",
        token=user["token"],
        body=[{"category": "general", "push": False}],
    )
    assert status == 200, body
    before = len(stack.service.deliveries)

    muted = stack.notify(user, "Not pushed", "--category", "general")
    # Queued after the muted one, on a worker that runs jobs in order: once it has arrived,
    # the muted one was handled.
    sentinel = stack.notify(user, "Pushed", "--category", "system")

    deliveries = stack.service.wait_for(before + 1, PATIENCE)[before:]
    assert [each.message["id"] for each in deliveries] == [sentinel]
    assert muted not in {each.message["id"] for each in stack.service.deliveries}
