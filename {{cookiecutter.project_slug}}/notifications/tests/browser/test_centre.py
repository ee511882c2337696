"""The notification centre in a real browser, against a real daphne and Redis."""

import re

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]

HOSTILE_TITLE = "Deploy <b>finished</b>"
HOSTILE_MESSAGE = "<script>window.injected = true</script><img src=x onerror=window.injected=1>"

SEED_25 = """
from django.contrib.auth import get_user_model
from notifications.services import NotificationService
user = get_user_model().objects.get(username=%r)
for number in range(25):
    NotificationService.create_notification(user, f"Item {number}")
"""


def test_live_notification_is_shown_as_text_and_marked_read(page, sign_in, make_user, notify):
    username = make_user("ada")
    sign_in(username)
    badge = page.locator("#unread-badge")
    items = page.locator(".notification")
    expect(badge).to_have_text("0")

    notify(username, "Your report is ready", "--title", "Report")
    expect(items).to_have_count(1)
    expect(badge).to_have_text("1")

    notify(username, HOSTILE_MESSAGE, "--title", HOSTILE_TITLE, "--level", "3")
    newest = items.first
    expect(newest.locator(".notification__title")).to_have_text(HOSTILE_TITLE)
    expect(newest.locator(".notification__message")).to_have_text(HOSTILE_MESSAGE)
    expect(badge).to_have_text("2")
    expect(page.locator(".toast").last).to_contain_text(HOSTILE_TITLE)
    # Markup in a notification is text: no element was created and no script ran.
    assert page.locator(".notification b, .notification img, .toast b").count() == 0
    assert page.evaluate("window.injected") is None

    newest.get_by_role("button", name="Mark read").click()
    expect(badge).to_have_text("1")
    expect(newest).not_to_have_class(re.compile("is-unread"))

    page.reload()
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "online")
    expect(badge).to_have_text("1")
    expect(items).to_have_count(2)
    expect(items.first.get_by_role("button", name="Mark unread")).to_be_visible()
    expect(items.last.get_by_role("button", name="Mark read")).to_be_visible()


def test_reconnecting_client_catches_up_on_what_it_missed(page, sign_in, make_user, notify):
    username = make_user("grace")
    sign_in(username)

    page.evaluate("window.notificationClient.stop()")
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "closed")
    notify(username, "Sent while you were away")
    page.evaluate("window.notificationClient.start()")

    expect(page.locator(".notification__message")).to_have_text(["Sent while you were away"])
    expect(page.locator("#unread-badge")).to_have_text("1")


def test_load_more_then_mark_all_read(page, sign_in, make_user, run_command):
    username = make_user("linus")
    run_command("shell", "-c", SEED_25 % username)
    sign_in(username)
    items = page.locator(".notification")
    load_more = page.get_by_role("button", name="Load more")
    expect(items).to_have_count(20)

    load_more.click()
    expect(items).to_have_count(25)
    expect(load_more).to_be_hidden()
    expect(page.locator("#unread-badge")).to_have_text("25")

    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#unread-badge")).to_have_text("0")
    expect(page.locator(".notification.is-unread")).to_have_count(0)
