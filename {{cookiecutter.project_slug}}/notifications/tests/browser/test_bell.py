"""The bell of the notification_bell template tag on a plain page, in a real browser."""

import pytest

from notifications.tests.browser.conftest import sign_in_page

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_the_bell_counts_unseen_live_and_marks_seen_when_opened(
    page, live_url, make_user, notify, check_accessibility, screenshot
):
    turing = make_user("turing")
    sign_in_page(page, live_url, turing, path="/bell/")
    page.wait_for_function(
        "() => document.querySelector('[data-notification-bell]').bell?.client?.state === 'online'"
    )
    button = page.get_by_role("button", name="Notifications, unseen:")
    count = page.locator(".notification-bell__count")
    expect(count).to_have_text("0")

    notify(turing, "The build on main passed.", "--title", "Build passed")
    notify(turing, "Disk usage is at 91%.", "--title", "Disk almost full", "--level", "3")
    expect(count).to_have_text("2")

    # Opened from the keyboard: the latest items, and they are seen.
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    items = page.locator(".notification-bell__item")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Disk almost full")
    expect(items.first.locator(".level")).to_have_text("High")
    expect(count).to_have_text("0")
    check_accessibility(page, "a plain page with the bell open")
    screenshot(page, "bell-dropdown")

    # Live while open: the new item joins the list and is seen at once.
    notify(turing, "Alice shared a file with you.", "--title", "New file")
    expect(items).to_have_count(3)
    expect(items.first).to_contain_text("New file")
    expect(count).to_have_text("0")

    page.keyboard.press("Escape")
    expect(page.locator(".notification-bell__panel")).to_be_hidden()
    expect(button).to_be_focused()

    page.reload()
    expect(count).to_have_text("0")
