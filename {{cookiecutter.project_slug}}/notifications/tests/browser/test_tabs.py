"""Tabs of one browser share one socket: a leader elected with Web Locks, followers over
BroadcastChannel, commands routed through the leader, and a hand-over that loses nothing."""

import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from notifications.tests.browser.conftest import sign_in_page
from notifications.tests.servers import PROJECT_DIR

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=15_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]

SOCKET_PATH = "/ws/notifications/"
# Notifications created one after another: the first ones, then (once the test has closed the
# leading tab and made the go file) the rest, while another tab takes over.
TRICKLE = """
import pathlib, time
from django.contrib.auth import get_user_model
from notifications.services import NotificationService
user = get_user_model().objects.get(username=%(user)r)
for number in range(%(count)d):
    if number == %(before)d:
        while not pathlib.Path(%(go)r).exists():
            time.sleep(0.05)
    NotificationService.create_notification(user, f"Trickle {number}")
    time.sleep(0.05)
"""
# Notifications only: broadcasts of other tests reach every user of the shared server.
TITLES = '#notification-list > li[data-kind="notification"] .notification__title'
# Before the page's scripts: a browser without the Web Locks API.
NO_WEB_LOCKS = "Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });"


class Sockets:
    """Every notification socket the pages of a context open, and whether each is still open
    (a closed page's sockets went with it)."""

    def __init__(self) -> None:
        self.opened: list[tuple[Any, Any]] = []
        self.closed: set[int] = set()

    def watch(self, page) -> None:
        page.on("websocket", lambda socket: self.record(page, socket))

    def record(self, page, socket) -> None:
        if SOCKET_PATH not in socket.url:
            return
        self.opened.append((page, socket))
        socket.on("close", lambda closed: self.closed.add(id(closed)))

    def open_count(self) -> int:
        return len(
            [
                socket
                for page, socket in self.opened
                if id(socket) not in self.closed and not page.is_closed()
            ]
        )


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1000, "height": 720})
    context.set_default_timeout(15_000)
    yield context
    context.close()


def open_tabs(context, live_url, username, count, sockets):
    """`count` centre pages of one signed-in browser, each live."""
    tabs = []
    for number in range(count):
        tab = context.new_page()
        sockets.watch(tab)
        if number == 0:
            sign_in_page(tab, live_url, username)
        else:
            tab.goto(f"{live_url}/")
        expect(tab.locator("#connection-status")).to_have_attribute("data-state", "online")
        tabs.append(tab)
    return tabs


def role(tab) -> str:
    return tab.evaluate("window.notificationClient.role")


def messages(tab) -> Counter[str]:
    return Counter(tab.locator(TITLES).all_text_contents())


def server_counts(tab) -> dict[str, int]:
    """The user's unread counts as the server has them: notifications, and broadcasts."""
    return tab.evaluate("async () => (await fetch('/api/notifications/user/unread_count/')).json()")


def expect_exact_badge(tab, unread: int) -> None:
    """The badge shows the server's total: the user's unread notifications and broadcasts."""
    counts = server_counts(tab)
    assert counts["unread_count"] == unread
    total = counts["unread_count"] + counts["broadcast_unread_count"]
    expect(tab.locator("#unread-count")).to_have_text(str(total))


def wait_until(tab, condition, what):
    for _ in range(300):
        if condition():
            return
        tab.wait_for_timeout(50)
    raise AssertionError(f"never true: {what}")


def test_three_tabs_share_one_socket_and_route_commands(
    context, live_url, make_user, notify, run_command
):
    username = make_user("tabs-three")
    sockets = Sockets()
    first, second, third = open_tabs(context, live_url, username, 3, sockets)

    assert [role(tab) for tab in (first, second, third)] == ["leader", "follower", "follower"]
    assert sockets.open_count() == 1
    assert len(sockets.opened) == 1

    notify(username, "To every tab")
    for tab in (first, second, third):
        expect(tab.locator(TITLES)).to_have_text(["To every tab"])
        expect_exact_badge(tab, 1)

    # A follower's command goes through the leader's socket; its reply comes back to it alone.
    listed = third.evaluate(
        "async () => (await window.notificationClient.list()).payload.notifications"
    )
    assert [item["message"] for item in listed] == ["To every tab"]
    reply = second.evaluate(
        "async (id) => (await window.notificationClient.markRead(id)).payload", listed[0]["id"]
    )
    assert reply["id"] == listed[0]["id"]
    assert reply["counts"]["unread"] == 0
    for tab in (first, second, third):
        expect_exact_badge(tab, 0)
    # The leader's error for a follower's bad command reaches that follower only.
    refused = second.evaluate(
        """async () => {
          try { await window.notificationClient.markRead(999999); return null; }
          catch (error) { return error.code; }
        }"""
    )
    assert refused == "not_found"
    assert sockets.open_count() == 1


def test_closing_the_leading_tab_hands_over_without_loss_or_doubles(
    context, live_url, make_user, server_env, tmp_path
):
    username = make_user("tabs-handover")
    sockets = Sockets()
    leader, second, third = open_tabs(context, live_url, username, 3, sockets)
    assert role(leader) == "leader"
    # What each tab's listeners hear: the list shows an item once even if it arrived twice.
    for tab in (second, third):
        tab.evaluate(
            """() => {
              window.heard = [];
              window.notificationClient.on("created", (payload) =>
                window.heard.push(payload.notification.message));
            }"""
        )
    count, before = 12, 4
    go = tmp_path / "go"
    script = TRICKLE % {"user": username, "count": count, "before": before, "go": str(go)}
    trickle = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=PROJECT_DIR, env=server_env
    )
    try:
        # The leader goes while notifications are still being created.
        titles = second.locator(TITLES)
        expect(titles.filter(has_text=f"Trickle {before - 1}")).to_have_count(1)
        leader.close()
        go.touch()
        assert trickle.wait(timeout=120) == 0
    finally:
        trickle.kill()

    expected = Counter(f"Trickle {number}" for number in range(count))
    for tab in (second, third):
        wait_until(tab, lambda tab=tab: messages(tab) == expected, f"all {count} shown once")
        expect_exact_badge(tab, count)
        assert Counter(tab.evaluate("window.heard")) == expected
    roles = sorted(role(tab) for tab in (second, third))
    assert roles == ["follower", "leader"]
    assert sockets.open_count() == 1
    assert len(sockets.opened) == 2
    # Every tab stands at the same position, the server's newest.
    positions = {tab.evaluate("window.notificationClient.lastId") for tab in (second, third)}
    assert len(positions) == 1


def test_without_web_locks_each_tab_has_its_own_socket(context, live_url, make_user, notify):
    username = make_user("tabs-fallback")
    context.add_init_script(NO_WEB_LOCKS)
    sockets = Sockets()
    tabs = open_tabs(context, live_url, username, 2, sockets)
    assert [role(tab) for tab in tabs] == ["alone", "alone"]
    assert sockets.open_count() == 2
    notify(username, "Each on its own")
    for tab in tabs:
        expect(tab.locator(TITLES)).to_have_text(["Each on its own"])
