"""SQLite as the default database: concurrent writes through a real daphne wait, never fail."""

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from notifications.tests.live.conftest import Daphne, manage
from notifications.tests.servers import http_json, stop

pytestmark = pytest.mark.live

THREADS = 8
WRITES_PER_THREAD = 25

# One user per thread, each with one notification; prints {"username": [token, notification id]}.
SEED = """
import json
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken
from notifications.services import NotificationService
seeded = {}
for index in range(threads):
    user = get_user_model().objects.create_user(f"writer{index}")
    notification = NotificationService.create_notification(user, "Toggle me")
    seeded[user.username] = [str(AccessToken.for_user(user)), notification.pk]
print(json.dumps(seeded))
"""


def toggle(port: int, token: str, notification_id: int) -> list[int]:
    """Mark one notification read and unread in turn; the status of every write."""
    statuses = []
    for index in range(WRITES_PER_THREAD):
        action = "mark_read" if index % 2 == 0 else "mark_unread"
        path = f"/api/notifications/user/{notification_id}/{action}/"
        statuses.append(http_json(port, "POST", path, token=token)[0])
    return statuses


def test_concurrent_writes_on_a_sqlite_file_all_succeed(live_env, tmp_path: Path):
    env = {
        **live_env,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'writes.sqlite3'}",
        "THROTTLE_NOTIFICATION_WRITES": "100000/min",
    }
    manage(env, "migrate", "--noinput")
    code = f"threads = {THREADS}\n{SEED}"
    seeded = json.loads(manage(env, "shell", "-c", code).stdout.strip().splitlines()[-1])
    server = Daphne(env, tmp_path / "daphne.log")
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            results = pool.map(lambda pair: toggle(server.port, *pair), seeded.values())
            statuses = Counter(status for result in results for status in result)
    finally:
        stop(server.process)

    assert statuses == {200: THREADS * WRITES_PER_THREAD}, server.log.read_text()[-3000:]
