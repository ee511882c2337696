"""The Content-Security-Policy in Chromium: every page works under it and nothing is refused."""

from collections.abc import Callable
from typing import Any

import pytest

from notifications.tests.browser.conftest import sign_in_page

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]

# Runs before any script of each document: records every violation the page reports.
LISTEN = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""
MAKE_STAFF = (
    "from django.contrib.auth import get_user_model\n"
    "get_user_model().objects.filter(username={name!r}).update(is_staff=True)"
)


def watched(page: Any) -> Callable[[], list[str]]:
    """Record `page`'s CSP violations and console errors; returns a function listing both."""
    console: list[str] = []
    page.add_init_script(LISTEN)
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return lambda: [*page.evaluate("window.cspViolations"), *console]


def test_the_pages_work_under_the_policy_with_no_violation(
    page, live_url, make_user, run_command, notify
):
    violations = watched(page)
    noether = make_user("noether")
    notify(noether, "A notification to render.", "--title", "Hello")

    sign_in_page(page, live_url, noether)
    response = page.request.get(f"{live_url}/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "online")
    expect(page.get_by_text("A notification to render.")).to_be_visible()
    assert violations() == [], "the centre"

    page.goto(f"{live_url}/bell/")
    page.wait_for_function(
        "() => document.querySelector('[data-notification-bell]').bell?.client?.state === 'online'"
    )
    page.get_by_role("button", name="Notifications, unread:").click()
    expect(page.locator(".notification-bell__item")).to_have_count(1)
    # The page's own inline style applies, through its nonce.
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"
    assert violations() == [], "the bell example"

    page.goto(f"{live_url}/preferences/")
    expect(page.get_by_role("checkbox").first).to_be_visible()
    assert violations() == [], "preferences"

    run_command("shell", "-c", MAKE_STAFF.format(name=noether))
    page.goto(f"{live_url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
    assert violations() == [], "the API docs"
