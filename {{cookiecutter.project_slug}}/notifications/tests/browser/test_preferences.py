"""The preferences page in a real browser: categories down, channels across, saved at once."""

import pytest

from notifications.tests.browser.conftest import sign_in_page

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_turning_in_app_off_keeps_a_category_out_of_the_centre(
    page, live_url, make_user, notify, check_accessibility, screenshot
):
    knuth = make_user("knuth")
    sign_in_page(page, live_url, knuth, path="/preferences/")
    general_in_app = page.get_by_role("checkbox", name="In app: General")
    payments_email = page.get_by_role("checkbox", name="Email: Payments")
    expect(general_in_app).to_be_checked()
    expect(payments_email).to_be_checked()
    # Mandatory: shown locked on.
    expect(page.get_by_role("checkbox", name="In app: System")).to_be_disabled()
    expect(page.get_by_role("checkbox", name="Email: System")).to_be_checked()

    general_in_app.uncheck()
    expect(page.locator("#preferences-status")).to_have_text("Saved: General, off for in app.")
    # From the keyboard: Tab reaches the next checkbox, Space toggles it.
    general_in_app.focus()
    page.keyboard.press("Tab")
    general_email = page.get_by_role("checkbox", name="Email: General")
    expect(general_email).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("#preferences-status")).to_have_text("Saved: General, on for email.")
    check_accessibility(page, "the preferences page")
    screenshot(page, "preferences")

    page.reload()
    expect(general_in_app).not_to_be_checked()
    expect(general_email).to_be_checked()

    # The centre: a General notification no longer arrives; a Projects one still does.
    page.goto(f"{live_url}/")
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "online")
    notify(knuth, "Muted by your preferences")
    notify(knuth, "The roadmap was updated", "--category", "project")
    titles = page.locator('[data-kind="notification"] .notification__title')
    expect(titles).to_have_text(["The roadmap was updated"])
    page.reload()
    expect(titles).to_have_text(["The roadmap was updated"])
