"""A notification's action buttons in a real browser: the example domain's Accept, pressed in
the centre (twice at once) and in the bell (from the keyboard), runs its handler once and shows
its result in every tab and socket of the user."""

import re

import pytest

from notifications.tests.browser.conftest import sign_in_page
from notifications.tests.browser.test_centre import boxes_overlap, rows

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]

# Tasks the lead assigns to the assignee: each assignment notifies with an Accept button.
ASSIGN = """
from django.contrib.auth import get_user_model
from tasks import services
from tasks.models import Team
User = get_user_model()
lead, assignee = User.objects.get(username=%(lead)r), User.objects.get(username=%(assignee)r)
Team.objects.create(name=%(team)r).members.add(lead, assignee)
for title in %(titles)r:
    services.create_task(actor=lead, title=title, assignee=assignee)
"""

# What the handler left behind: one action_done event per run, and each task's status.
RUNS = """
from notifications.models import Event, EventKind
from tasks.models import Task
runs = Event.objects.filter(kind=EventKind.ACTION_DONE, recipient__username=%(assignee)r)
print("RUNS=" + str(runs.count()))
for task in Task.objects.filter(assignee__username=%(assignee)r).order_by("title"):
    print(f"TASK {task.title}={task.status}")
"""


def handler_runs(run_command, assignee: str) -> tuple[int, dict[str, str]]:
    output = run_command("shell", "-c", RUNS % {"assignee": assignee})
    runs = re.search(r"^RUNS=(\d+)$", output, re.MULTILINE)
    assert runs is not None, output
    statuses = dict(re.findall(r"^TASK (.+)=(\w+)$", output, re.MULTILINE))
    return int(runs.group(1)), statuses


def row_of(page, title: str):
    return page.locator("#notification-list > li", has_text=title)


def test_accept_runs_once_for_a_double_click_and_every_tab_and_the_bell_show_it(
    browser, new_page, live_url, make_user, run_command, check_accessibility, screenshot
):
    lead, assignee = make_user("backus"), make_user("naur")
    titles = ["Write the release notes", "Tag the release"]
    run_command(
        "shell",
        "-c",
        ASSIGN % {"lead": lead, "assignee": assignee, "team": "Release team", "titles": titles},
    )

    # The centre, where the commands it sends on its socket are counted.
    centre = new_page(width=1280, height=800)
    sent: list[str] = []
    centre.on("websocket", lambda socket: socket.on("framesent", lambda text: sent.append(text)))
    rest_runs: list[str] = []
    centre.on(
        "request", lambda request: "/actions/" in request.url and rest_runs.append(request.url)
    )
    sign_in_page(centre, live_url, assignee)
    expect(centre.locator("#connection-status")).to_have_attribute("data-state", "online")
    # Another browser window of the same user (same cookies, a socket of its own): the
    # centre and a page with the bell, opened on the same notifications.
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        other.add_cookies(centre.context.cookies())
        mirror = other.new_page()
        mirror.goto(f"{live_url}/")
        expect(mirror.locator("#connection-status")).to_have_attribute("data-state", "online")
        bell_page = other.new_page()
        bell_page.goto(f"{live_url}/bell/")
        bell_page.wait_for_function(
            "() => document.querySelector('[data-notification-bell]').bell?.client?.state"
            " === 'online'"
        )
        bell_page.get_by_role("button", name="Notifications, unread:").click()
        bell_items = bell_page.locator(".notification-bell__item")
        expect(bell_items).to_have_count(2)

        notes = row_of(centre, titles[0])
        accept = notes.get_by_role("button", name=re.compile(r"^Accept: .*Write the release"))
        expect(accept).to_be_visible()
        # A primary action: filled with the accent colour, beside the text, not over it.
        expect(accept).to_have_class(re.compile("action-buttons__button--primary"))
        check_accessibility(centre, "the centre with action buttons")
        screenshot(centre, "centre-action-buttons")

        accept.dblclick()

        result = notes.locator(".action-buttons__result")
        expect(result).to_have_text("Accepted")
        expect(notes.get_by_role("button", name=re.compile("^Accept"))).to_have_count(0)
        # The keyboard stays on the row: the result took the pressed button's focus.
        expect(result).to_be_focused()
        # Live in the other window's centre and bell, from the pushed action_done event.
        expect(row_of(mirror, titles[0]).locator(".action-buttons__result")).to_have_text(
            "Accepted"
        )
        bell_notes = bell_items.filter(has_text=titles[0])
        expect(bell_notes.locator(".action-buttons__result")).to_have_text("Accepted")
        expect(bell_notes.get_by_role("button", name=re.compile("^Accept"))).to_have_count(0)
        # The other task's button is untouched everywhere.
        expect(
            row_of(mirror, titles[1]).get_by_role("button", name=re.compile("^Accept"))
        ).to_be_enabled()

        # One command on the socket for two clicks, none over REST, one run of the handler.
        commands = [frame for frame in sent if '"run_action"' in frame]
        assert len(commands) == 1, commands
        assert rest_runs == []
        runs, statuses = handler_runs(run_command, assignee)
        assert runs == 1
        assert statuses == {titles[0]: "in_progress", titles[1]: "todo"}

        # The bell, from the keyboard: Tab to the second task's Accept and press Enter.
        tag = bell_items.filter(has_text=titles[1])
        bell_accept = tag.get_by_role("button", name=re.compile(r"^Accept: .*Tag the release"))
        bell_accept.focus()
        bell_page.keyboard.press("Enter")
        expect(tag.locator(".action-buttons__result")).to_have_text("Accepted")
        check_accessibility(bell_page, "the bell with an action's result")
        screenshot(bell_page, "bell-action-result")
        # ...and the centre of the first window shows it, live.
        expect(row_of(centre, titles[1]).locator(".action-buttons__result")).to_have_text(
            "Accepted"
        )
        runs, statuses = handler_runs(run_command, assignee)
        assert runs == 2
        assert statuses == {titles[0]: "in_progress", titles[1]: "in_progress"}

        # A reload draws the stored result, not the buttons.
        mirror.reload()
        expect(row_of(mirror, titles[0]).locator(".action-buttons__result")).to_have_text(
            "Accepted"
        )
        expect(mirror.locator("button[data-run-action]")).to_have_count(0)
    finally:
        other.close()


def test_at_390_px_the_buttons_fit_beside_the_rows_menu_and_run_offline_over_rest(
    new_page, live_url, make_user, run_command, check_accessibility, screenshot
):
    lead, assignee = make_user("kay"), make_user("engelbart")
    title = "Demo the mouse to the whole conference hall"
    run_command(
        "shell",
        "-c",
        ASSIGN % {"lead": lead, "assignee": assignee, "team": "Demo team", "titles": [title]},
    )
    page = new_page(width=390, height=844, mobile=True)
    sign_in_page(page, live_url, assignee)
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "online")
    row = rows(page).first
    accept = row.get_by_role("button", name=re.compile(r"^Accept: "))
    more = row.get_by_role("button", name=re.compile(r"^Actions: "))
    expect(accept).to_be_visible()
    # The row keeps one menu; the action button is its own, inside the screen, not under it.
    expect(row.locator("button[data-action]:visible")).to_have_count(1)
    accept_box, more_box = accept.bounding_box(), more.bounding_box()
    assert accept_box is not None
    assert more_box is not None
    assert 0 <= accept_box["x"] <= accept_box["x"] + accept_box["width"] <= 390
    assert not boxes_overlap(accept_box, more_box)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    check_accessibility(page, "the centre at 390 px with an action button")
    screenshot(page, "centre-390px-action-button")

    # The socket is down (the client is offline): the press goes over REST instead.
    page.evaluate("window.notificationClient.stop()")
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "closed")
    with page.expect_request(re.compile(r"/api/notifications/user/actions/\d+/0/$")):
        accept.click()
    expect(row.locator(".action-buttons__result")).to_have_text("Accepted")
    runs, statuses = handler_runs(run_command, assignee)
    assert (runs, statuses) == (1, {title: "in_progress"})
