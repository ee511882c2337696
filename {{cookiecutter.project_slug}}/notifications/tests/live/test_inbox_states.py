"""Inbox states through daphne and Redis: live to an open tab, replayed to a returning one."""

import asyncio
import json
from typing import Any

import pytest

from notifications.tests.live.conftest import LiveSocket, manage_async

pytestmark = pytest.mark.live

# Runs in another process, as a worker would: two comments on one task fold into one group.
COMMENTS = """
import json
from django.contrib.auth import get_user_model
from notifications.stream import events
from notifications.services import NotificationService as Service
user = get_user_model().objects.get(username=username)
first = Service.create_notification(user, "first comment", group_key="task:1:comments")
second = Service.create_notification(user, "second comment", group_key="task:1:comments")
events.flush(30)
print(json.dumps({"first": first.id, "second": second.id}))
"""

EVENTS = ["created", "updated", "seen", "archived"]


async def test_states_reach_an_open_tab_and_come_back_to_a_returning_one(
    start_daphne, create_users, live_env
):
    user = create_users("gil")["gil"]
    server = start_daphne()
    stdout, _ = await manage_async(live_env, "notify", "gil", "file me")
    filed = int(stdout.split()[-1])
    leaving = await LiveSocket.open(server, user["token"])
    position = (await leaving.ready())["last_id"]
    await leaving.close()
    staying = await LiveSocket.open(server, user["token"])
    await staying.ready()

    code = f"username = 'gil'\n{COMMENTS}"
    stdout, _ = await manage_async(live_env, "shell", "-c", code)
    grouped = json.loads(stdout.strip().splitlines()[-1])
    for path in (
        "/api/notifications/user/mark_all_seen/",
        f"/api/notifications/user/{filed}/archive/",
    ):
        status, body = await asyncio.to_thread(server.http, "POST", path, user["token"])
        assert status == 200, body
    _, counts = await asyncio.to_thread(
        server.http, "GET", "/api/notifications/user/counts/", user["token"]
    )

    live = [await staying.until(lambda frame: "id" in frame) for _ in EVENTS]
    returning = await LiveSocket.open(server, user["token"], f"&since={position}")
    await returning.ready()
    replayed, synced = await returning.events_until_synced()

    assert [frame["event"] for frame in live] == EVENTS
    assert live[0]["payload"]["notification"]["id"] == grouped["first"]
    # The first comment's row was folded into the group since: the replay leaves its
    # `created` out (nothing gone is replayed) and brings the group in its place.
    assert [frame["event"] for frame in replayed] == EVENTS[1:]
    for frames in (live[1:], replayed):
        assert_the_states(frames, grouped, filed)
    assert [frame["id"] for frame in live[1:]] == [frame["id"] for frame in replayed]
    # The last frame's counts are the user's counts now: one unread, nothing unseen.
    assert live[-1]["payload"]["counts"] == counts
    assert counts == {
        "unread": 1,
        "unseen": 0,
        "by_category": {"general": {"unread": 1, "unseen": 0}},
    }
    assert synced == {"recovered": True, "count": 3}
    await staying.close()
    await returning.close()


def assert_the_states(frames: list[dict[str, Any]], grouped: dict[str, int], filed: int) -> None:
    updated, seen, archived = (frame["payload"] for frame in frames)
    assert updated["replaces"] == grouped["first"]
    assert updated["notification"]["id"] == grouped["second"]
    assert updated["notification"]["group_count"] == 2
    assert seen["up_to_id"] == grouped["second"]
    assert archived["ids"] == [filed]
