"""The centre in the reader's language: the browser's, then the user's own choice."""

import re

import pytest

from notifications.tests.browser.conftest import PASSWORD

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]

# A broadcast written with lazy translations: each reader sees it in their own language.
BROADCAST = """
from django.utils.translation import gettext_lazy
from notifications.services import NotificationService
NotificationService.broadcast(gettext_lazy("Unread notifications"), title=gettext_lazy("System"))
"""


@pytest.fixture
def french_page(browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1000, "height": 720})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_the_centre_follows_the_browser_then_the_users_choice(
    deletes_its_broadcasts, french_page, live_url, make_user, run_command, check_accessibility
):
    page = french_page
    username = make_user("amelie")
    page.goto(f"{live_url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    # The template's strings and the script's, in French.
    expect(page.get_by_role("tab", name="Boîte de réception")).to_be_visible()
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "online")
    expect(page.locator("#connection-status")).to_contain_text("En direct")

    # A broadcast pushed live shows in the reader's language, as the list does after a reload
    # (other tests' broadcasts reach this user too: only this one is looked at).
    run_command("shell", "-c", BROADCAST)
    item = page.locator("#notification-list > li", has_text="Notifications non lues")
    expect(item).to_have_count(1)
    expect(item.locator(".notification__title")).to_have_text("Système")
    expect(item.locator("time")).to_have_text("\u00e0 l\u2019instant")
    expect(item.locator('[data-action="toggle-read"]')).to_have_text("Marquer comme lue")
    page.reload()
    expect(item.locator(".notification__message")).to_have_text("Notifications non lues")
    check_accessibility(page, "the centre in French")

    # The user's own choice wins over the browser's.
    page.get_by_role("link", name="Préférences").click()
    expect(page.get_by_role("heading", name="Langue et heures calmes")).to_be_visible()
    page.locator("#reader-settings select[name=language]").select_option("en")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("heading", name="Language and quiet hours")).to_be_visible()
    page.goto(f"{live_url}/")
    expect(page.get_by_role("tab", name="Inbox")).to_be_visible()
    english = page.locator("#notification-list > li", has_text="Unread notifications")
    expect(english.locator(".notification__title")).to_have_text("System")
