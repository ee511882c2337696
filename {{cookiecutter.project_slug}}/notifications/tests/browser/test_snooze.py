"""Snooze in a real browser: from the centre to the Snoozed tab, and back live at its time."""

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifications.tests.browser.test_centre import rows, seed, unread_count

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]

TWO = seed("""
NotificationService.create_notification(user, "Review the release notes", title="Release notes")
NotificationService.create_notification(user, "Pay the invoice", title="Invoice due")
""")
# The wake-up job's body, in a process of its own as a worker would run it; it pushes through
# Redis, and prints how many notifications woke.
WAKE = """
from notifications import jobs
from notifications.stream import events
print(json.dumps(jobs.wake_snoozed()))
events.flush()
"""
SNOOZED_UNTIL = seed("""
print(json.dumps([
    str(n.snoozed_until) for n in user.notifications.filter(snoozed_until__isnull=False)
]))
""")


def printed(output: str) -> object:
    """The JSON a `manage.py shell -c` script printed last (the shell may print a banner)."""
    return json.loads(output.strip().splitlines()[-1])


def test_snooze_from_the_centre_then_it_comes_back_live(
    new_page, sign_in, make_user, run_command, check_accessibility
):
    ida = make_user("ida")
    run_command("shell", "-c", TWO % {"user": ida})
    page = new_page()
    sign_in(ida, on=page)
    expect(rows(page)).to_have_count(2)
    expect(unread_count(page)).to_have_text("2")

    # A custom time three seconds ahead, typed as the browser's local time.
    item = page.locator(".notification", has_text="Invoice due")
    item.hover()
    item.get_by_label("Snooze: Invoice due").click()
    check_accessibility(page, "the centre with a snooze menu open")
    ahead = page.evaluate(
        "() => { const t = new Date(Date.now() + 3000);"
        " const p = (n) => String(n).padStart(2, '0');"
        " return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())}"
        "T${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`; }"
    )
    item.locator(".snooze__custom").fill(ahead)
    item.get_by_role("button", name="Snooze until then").click()
    expect(rows(page)).to_have_count(1)
    expect(unread_count(page)).to_have_text("1")

    page.get_by_role("tab", name="Snoozed").click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.locator(".notification__snoozed")).to_contain_text("Snoozed until")
    page.get_by_role("tab", name="Inbox").click()
    expect(rows(page)).to_have_count(1)

    # The wake-up job, run until its time has come: the item is pushed back, new and unread.
    for _ in range(200):
        if printed(run_command("shell", "-c", "import json" + WAKE)) == {"woke": 1}:
            break
    else:
        pytest.fail("The snoozed notification never woke.")
    expect(rows(page)).to_have_count(2)
    back = page.locator(".notification", has_text="Invoice due")
    expect(back).to_have_class(re.compile("is-unread"))
    expect(unread_count(page)).to_have_text("2")
    expect(page.locator("#toasts")).to_contain_text("Invoice due")
    page.get_by_role("tab", name="Snoozed").click()
    expect(page.locator(".empty__title")).to_have_text("Nothing snoozed")


def test_tomorrow_nine_is_in_the_browsers_time_zone_and_unsnooze_brings_it_back(
    browser, live_url, make_user, run_command
):
    from notifications.tests.browser.conftest import sign_in_page

    jun = make_user("jun")
    run_command("shell", "-c", TWO % {"user": jun})
    context = browser.new_context(timezone_id="Asia/Tokyo")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in_page(page, live_url, jun)
        expect(rows(page)).to_have_count(2)
        item = page.locator(".notification", has_text="Release notes")
        item.hover()
        item.get_by_label("Snooze: Release notes").click()
        # Both sides of a midnight in Tokyo that falls during the click.
        days = {datetime.now(ZoneInfo("Asia/Tokyo")).date() + timedelta(days=1)}
        item.get_by_role("button", name="Tomorrow 9:00").click()
        expect(rows(page)).to_have_count(1)

        [stored] = printed(
            run_command("shell", "-c", "import json" + SNOOZED_UNTIL % {"user": jun})
        )
        tokyo = datetime.fromisoformat(stored).astimezone(ZoneInfo("Asia/Tokyo"))
        days.add(datetime.now(ZoneInfo("Asia/Tokyo")).date() + timedelta(days=1))
        assert tokyo.date() in days
        assert (tokyo.hour, tokyo.minute, tokyo.second) == (9, 0, 0)

        page.get_by_role("tab", name="Snoozed").click()
        expect(rows(page)).to_have_count(1)
        rows(page).first.hover()
        rows(page).first.get_by_role("button", name=re.compile("^Unsnooze")).click()
        expect(page.locator(".empty__title")).to_have_text("Nothing snoozed")
        page.get_by_role("tab", name="Inbox").click()
        expect(rows(page)).to_have_count(2)
    finally:
        context.close()


def test_snooze_from_the_bell(new_page, sign_in, make_user, run_command, live_url):
    kai = make_user("kai")
    run_command("shell", "-c", TWO % {"user": kai})
    page = new_page()
    sign_in(kai, on=page)
    page.goto(f"{live_url}/bell/")
    page.wait_for_function(
        "() => document.querySelector('[data-notification-bell]').bell?.client?.state === 'online'"
    )
    page.locator(".notification-bell__button").click()
    items = page.locator(".notification-bell__item")
    expect(items).to_have_count(2)

    page.get_by_label("Snooze: Invoice due").click()
    page.get_by_role("button", name="1 hour").click()

    expect(items).to_have_count(1)
    [stored] = printed(run_command("shell", "-c", "import json" + SNOOZED_UNTIL % {"user": kai}))
    assert datetime.fromisoformat(stored) > datetime.now(ZoneInfo("UTC")) + timedelta(minutes=59)
