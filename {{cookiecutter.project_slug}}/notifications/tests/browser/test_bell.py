"""The bell of the notification_bell template tag on a plain page, in a real browser."""

import re

import pytest

from notifications.tests.browser.conftest import sign_in_page

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_the_bell_counts_unread_from_the_first_paint_and_live(
    page, browser, live_url, make_user, notify, check_accessibility, screenshot
):
    turing = make_user("turing")
    notify(turing, "Your account is ready.", "--title", "Welcome")
    sign_in_page(page, live_url, turing, path="/bell/")
    count = page.locator(".notification-bell__count")
    # Written by the server: the count is there before the script connects.
    expect(count).to_have_text("1")
    page.wait_for_function(
        "() => document.querySelector('[data-notification-bell]').bell?.client?.state === 'online'"
    )
    button = page.get_by_role("button", name="Notifications, unread:")

    notify(turing, "The build on main passed.", "--title", "Build passed")
    notify(
        turing,
        "Disk usage is at 91%.",
        "--title",
        "Disk almost full",
        "--level",
        "3",
        "--data",
        '{"url": "/bell/?from=disk"}',
    )
    expect(count).to_have_text("3")

    # Opened from the keyboard: the latest items; opening shows them, it reads none.
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    items = page.locator(".notification-bell__item")
    expect(items).to_have_count(3)
    expect(items.first).to_contain_text("Disk almost full")
    expect(items.first.locator(".level")).to_have_text("High")
    expect(count).to_have_text("3")
    check_accessibility(page, "a plain page with the bell open")
    screenshot(page, "bell-dropdown")

    # Live while open: the new item joins the list and the count.
    notify(turing, "Alice shared a file with you.", "--title", "New file")
    expect(items).to_have_count(4)
    expect(items.first).to_contain_text("New file")
    expect(count).to_have_text("4")

    page.keyboard.press("Escape")
    expect(page.locator(".notification-bell__panel")).to_be_hidden()
    expect(button).to_be_focused()

    # A click on an item marks it read, then follows its link.
    button.click()
    page.get_by_role("link", name="Disk almost full").click()
    expect(page).to_have_url(f"{live_url}/bell/?from=disk")
    expect(count).to_have_text("3")

    # Without the script at all, the page still says how many are unread.
    plain = browser.new_context(java_script_enabled=False)
    plain.add_cookies(page.context.cookies())
    still = plain.new_page()
    still.goto(f"{live_url}/bell/")
    expect(still.locator(".notification-bell__count")).to_have_text("3")
    plain.close()


def test_with_nothing_unread_the_bell_shows_no_pill(page, live_url, make_user):
    lovelace = make_user("lovelace")
    sign_in_page(page, live_url, lovelace, path="/bell/")
    count = page.locator(".notification-bell__count")

    expect(count).to_have_attribute("data-count", "0")
    box = count.bounding_box()
    assert box is not None
    assert box["width"] <= 1, "no grey 0 pill beside the bell"
    expect(page.get_by_role("button", name=re.compile("^Notifications, unread: 0"))).to_be_visible()
