"""The demo's whole loop in two browsers: a teammate comments on a task's page, the task's
creator sees it arrive in her bell and centre, and her click lands on the comment, read."""

import re

import pytest

from notifications.tests.browser.conftest import sign_in_page
from notifications.tests.browser.test_csp import watched

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]

TEAM = """
from django.contrib.auth import get_user_model
from tasks import services
from tasks.models import Team
User = get_user_model()
creator, teammate = User.objects.get(username=%(creator)r), User.objects.get(username=%(teammate)r)
Team.objects.create(name="Loop team").members.add(creator, teammate)
task = services.create_task(actor=creator, title="Fix the login page", assignee=teammate)
print(f"TASK={task.pk}")
"""


def test_a_comment_reaches_the_bell_and_centre_live_and_a_click_lands_on_it_read(
    new_page, make_user, run_command, live_url, check_accessibility, screenshot
):
    ana, ben = make_user("ana"), make_user("ben")
    output = run_command("shell", "-c", TEAM % {"creator": ana, "teammate": ben})
    task_id = int(re.search(r"^TASK=(\d+)$", output, re.MULTILINE).group(1))
    task_url = f"{live_url}/tasks/{task_id}/"

    # Ana: the task list (with the bell) and the centre, two tabs of one browser.
    tasks_page = new_page(width=1280, height=800)
    sign_in_page(tasks_page, live_url, ana, path="/tasks/")
    centre = tasks_page.context.new_page()
    centre.set_viewport_size({"width": 1280, "height": 800})
    centre.goto(f"{live_url}/")
    expect(centre.locator("#connection-status")).to_have_attribute("data-state", "online")
    tasks_page.wait_for_function(
        "() => document.querySelector('[data-notification-bell]').bell?.client?.state === 'online'"
    )
    bell_count = tasks_page.locator(".notification-bell__count")
    expect(bell_count).to_have_attribute("data-count", "0")

    # Ben, in a browser of his own, comments on ana's task from its page.
    ben_page = new_page(width=1280, height=800)
    violations = watched(ben_page)
    sign_in_page(ben_page, live_url, ben, path=f"/tasks/{task_id}/")
    ben_page.get_by_role("textbox", name="Comment").fill("I can reproduce it in Firefox.")
    ben_page.get_by_role("button", name="Comment").click()
    expect(ben_page).to_have_url(re.compile(rf"/tasks/{task_id}/#comment-\d+$"))
    comment_anchor = ben_page.url.split("#")[1]
    expect(ben_page.locator(f"#{comment_anchor}")).to_contain_text("I can reproduce it")
    check_accessibility(ben_page, "a task's page with a comment")
    assert violations() == [], "the task's page works under the Content-Security-Policy"
    screenshot(ben_page, "task-page")

    # Live for ana: the bell counts it and the centre lists it, titled for people.
    expect(bell_count).to_have_text("1")
    row = centre.locator("#notification-list > li").first
    expect(row.locator(".notification__title")).to_have_text("ben commented on Fix the login page")
    expect(row).to_have_class(re.compile("is-unread"))
    screenshot(centre, "centre-1280px")

    # Her click lands on the comment, which the page marks out, and the item is read.
    row.locator(".notification__link").click()
    expect(centre).to_have_url(f"{task_url}#{comment_anchor}")
    # What she sees: the page opened at the comment, marked out as the target. Retried: the
    # URL changes when the navigation commits, before the page has parsed the comment.
    expect(centre.locator(f"#{comment_anchor}")).to_be_in_viewport()
    expect(centre.locator(":target")).to_have_attribute("id", comment_anchor)
    expect(centre.locator(".notification-bell__count")).to_have_attribute("data-count", "0")
    expect(bell_count).to_have_attribute("data-count", "0")

    # Again from the bell: ben's second comment keeps the title ("ben", not "ben and 1 other").
    ben_page.get_by_role("textbox", name="Comment").fill("It also happens in Chromium.")
    ben_page.get_by_role("button", name="Comment").click()
    expect(ben_page).to_have_url(re.compile(rf"/tasks/{task_id}/#comment-\d+$"))
    second_anchor = ben_page.url.split("#")[1]
    expect(bell_count).to_have_text("1")
    tasks_page.get_by_role("button", name=re.compile("^Notifications, unread")).click()
    item = tasks_page.get_by_role("link", name="ben commented on Fix the login page")
    expect(item).to_have_attribute("href", f"{task_url}#{second_anchor}")
    screenshot(tasks_page, "bell-open-on-tasks")
    item.click()
    expect(tasks_page).to_have_url(f"{task_url}#{second_anchor}")
    expect(tasks_page.locator(f"#{second_anchor}")).to_contain_text("Chromium")
    expect(tasks_page.locator(".notification-bell__count")).to_have_attribute("data-count", "0")
    expect(centre.locator(".notification-bell__count")).to_have_attribute("data-count", "0")
