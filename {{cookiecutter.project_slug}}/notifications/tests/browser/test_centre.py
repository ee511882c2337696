"""The notification centre in a real browser, against a real daphne and Redis."""

import re

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]

HOSTILE_TITLE = "Deploy <b>finished</b>"
HOSTILE_MESSAGE = "<script>window.injected = true</script><img src=x onerror=window.injected=1>"

SEED = """
from django.contrib.auth import get_user_model
from notifications.services import NotificationService
User = get_user_model()
user = User.objects.get(username=%(user)r)
"""


def seed(body: str) -> str:
    """A `manage.py shell -c` script with `user` bound to the user named by `%(user)r`."""
    return SEED + body


BURST = seed("""
for number in range(%(count)d):
    NotificationService.create_notification(user, f"Item {number}")
""")
COMMENTS = seed("""
for name in %(names)r:
    actor, _ = User.objects.get_or_create(username=name)
    NotificationService.create_notification(
        user, "Looks good to me", title=f"{name} commented on Fix login",
        actor=actor, group_key="task:1:comments",
    )
""")
LINKED = seed("""
NotificationService.create_notification(
    user, "It has not changed for a year.", title="Time to change your password",
    level=2, data={"url": "/accounts/password_change/"},
)
NotificationService.create_notification(user, "Your weekly summary is ready.")
""")


def rows(page):
    return page.locator("#notification-list > li")


def unread_count(page):
    return page.locator("#unread-count")


def boxes_overlap(first, second) -> bool:
    return not (
        first["x"] + first["width"] <= second["x"]
        or second["x"] + second["width"] <= first["x"]
        or first["y"] + first["height"] <= second["y"]
        or second["y"] + second["height"] <= first["y"]
    )


def test_two_users_live_arrival_shown_as_text_and_reached_by_keyboard(
    new_page, sign_in, make_user, notify, run_command, check_accessibility
):
    ada, bob = make_user("ada"), make_user("bob")
    ada_page, bob_page = new_page(), new_page()
    sign_in(ada, on=ada_page)
    sign_in(bob, on=bob_page)
    expect(ada_page.locator(".empty__title")).to_have_text("You are all caught up")

    notify(ada, "Your report is ready", "--title", "Report")
    expect(rows(ada_page)).to_have_count(1)
    expect(unread_count(ada_page)).to_have_text("1")

    notify(ada, HOSTILE_MESSAGE, "--title", HOSTILE_TITLE, "--level", "3")
    newest = rows(ada_page).first
    expect(newest.locator(".notification__title")).to_have_text(HOSTILE_TITLE)
    expect(newest.locator(".notification__message")).to_have_text(HOSTILE_MESSAGE)
    # The level is a word next to its icon, not a colour alone.
    expect(newest.locator(".level")).to_have_text("High")
    expect(newest.locator("time")).to_have_text("just now")
    expect(unread_count(ada_page)).to_have_text("2")
    # The new row is on screen: no toast repeats it.
    expect(newest).to_have_class(re.compile("is-new"))
    expect(ada_page.locator(".toast")).to_have_count(0)
    # Markup in a notification is text: no element was created and no script ran.
    assert ada_page.locator(".notification b, .notification img").count() == 0
    assert ada_page.evaluate("window.injected") is None
    # The other user saw none of it.
    expect(rows(bob_page)).to_have_count(0)
    expect(unread_count(bob_page)).to_have_text("0")

    # Keyboard only: Tab from the row's link reaches its first action; Enter runs it.
    newest.locator(".notification__link").focus()
    ada_page.keyboard.press("Tab")
    mark_read = newest.get_by_role("button", name=f"Mark read: {HOSTILE_TITLE}")
    expect(mark_read).to_be_focused()
    expect(newest.locator(".notification__actions")).to_have_css("opacity", "1")
    ada_page.keyboard.press("Enter")
    expect(unread_count(ada_page)).to_have_text("1")
    expect(newest).not_to_have_class(re.compile("is-unread"))
    check_accessibility(ada_page, "the centre with two notifications")

    # On the Archived tab new items are not in the list: each toasts, as text.
    ada_page.get_by_role("tab", name="Archived").click()
    expect(ada_page.locator(".empty__title")).to_have_text("The archive is empty")
    notify(ada, HOSTILE_MESSAGE, "--title", HOSTILE_TITLE)
    expect(ada_page.locator(".toast").first).to_contain_text(HOSTILE_TITLE)
    assert ada_page.locator(".toast b, .toast img").count() == 0
    assert ada_page.evaluate("window.injected") is None

    # A burst: at most three toasts, the rest summed up, none over the page's controls.
    run_command("shell", "-c", BURST % {"user": ada, "count": 30})
    expect(unread_count(ada_page)).to_have_text("32")
    toasts = ada_page.locator(".toast")
    expect(toasts).to_have_count(3)
    expect(ada_page.locator(".toasts__more")).to_have_text(re.compile(r"^\d+ more"))
    controls = ada_page.locator(".centre__header a, .tab, .toolbar select, .toolbar button")
    for index in range(toasts.count()):
        toast_box = toasts.nth(index).bounding_box()
        for control in range(controls.count()):
            box = controls.nth(control).bounding_box()
            assert box is None or not boxes_overlap(toast_box, box), "a toast covers a control"
    ada_page.locator(".toasts__more").click()
    expect(toasts).to_have_count(0)
    ada_page.get_by_role("tab", name="Inbox").click()
    expect(rows(ada_page)).to_have_count(20)


def test_a_restarted_server_is_caught_up_once_without_toasts(
    page, sign_in, make_user, notify, daphne
):
    hopper = make_user("hopper")
    sign_in(hopper)
    # On the Archived tab each new item toasts, as the list does not show it.
    page.get_by_role("tab", name="Archived").click()
    expect(page.locator(".empty__title")).to_have_text("The archive is empty")
    notify(hopper, "Before the restart")
    expect(page.locator(".toast")).to_have_count(1)
    page.get_by_role("button", name="Dismiss: New notification").click()
    expect(page.locator(".toast")).to_have_count(0)

    daphne.stop()
    status = page.locator("#connection-status")
    expect(status).to_have_attribute("data-state", re.compile("offline|connecting"))
    notify(hopper, "While the server was down, one")
    notify(hopper, "While the server was down, two")
    daphne.start()

    expect(page.locator("#connection-status")).to_have_attribute(
        "data-state", "online", timeout=30_000
    )
    # The missed items arrived (the badge counts them) and none toasted.
    expect(unread_count(page)).to_have_text("3")
    expect(page.locator(".toast")).to_have_count(0)
    page.get_by_role("tab", name="Inbox").click()
    expect(page.locator('[data-kind="notification"] .notification__title')).to_have_text(
        [
            "While the server was down, two",
            "While the server was down, one",
            "Before the restart",
        ]
    )
    expect(unread_count(page)).to_have_text("3")
    # Replayed events are flagged: the list took them, no toast announced them.
    expect(page.locator(".toast")).to_have_count(0)


def test_load_more_then_mark_all_read(page, sign_in, make_user, run_command):
    username = make_user("linus")
    run_command("shell", "-c", BURST % {"user": username, "count": 25})
    sign_in(username)
    load_more = page.get_by_role("button", name="Load more")
    expect(rows(page)).to_have_count(20)

    load_more.click()
    expect(rows(page)).to_have_count(25)
    expect(load_more).to_be_hidden()
    expect(unread_count(page)).to_have_text("25")

    page.get_by_role("button", name="Mark all read").click()
    expect(unread_count(page)).to_have_text("0")
    expect(page.locator(".notification.is-unread")).to_have_count(0)


def test_groups_broadcasts_links_and_archive(
    deletes_its_broadcasts,
    new_page,
    sign_in,
    make_user,
    run_command,
    live_url,
    check_accessibility,
    screenshot,
):
    grace = make_user("grace")
    run_command("shell", "-c", COMMENTS % {"user": grace, "names": ["alice", "carol", "dave"]})
    run_command("shell", "-c", LINKED % {"user": grace})
    run_command("broadcast", "Maintenance tonight, 22:00 to 22:15 UTC.", "--title", "Maintenance")
    page = new_page()
    sign_in(grace, on=page)

    group = page.locator('[data-group-count="3"]')
    expect(group.locator(".notification__title")).to_have_text(
        "dave and 2 others commented on Fix login"
    )
    expect(group.locator(".avatar")).to_have_text("D")
    broadcast = page.locator('[data-kind="broadcast"]').first
    expect(broadcast.locator(".notification__title")).to_have_text("Maintenance")
    # Three notifications and the broadcast are unread: the badge counts all four.
    expect(unread_count(page)).to_have_text("4")
    # An untitled notification is headed by its message, not by its level.
    expect(page.get_by_text("Your weekly summary is ready.")).to_be_visible()

    # A new comment joins the group live: still one row, its heading updated.
    run_command("shell", "-c", COMMENTS % {"user": grace, "names": ["erin"]})
    expect(page.locator('[data-group-count="4"] .notification__title')).to_have_text(
        "erin and 3 others commented on Fix login"
    )
    expect(rows(page)).to_have_count(4)
    check_accessibility(page, "the centre with a group and a broadcast")
    # Hovered, so the picture shows a row's actions.
    page.locator('[data-group-count="4"]').hover()
    screenshot(page, "centre-desktop")
    narrow = new_page(width=390, height=844, mobile=True)
    narrow.context.add_cookies(page.context.cookies())
    narrow.goto(f"{live_url}/")
    expect(narrow.locator("#connection-status")).to_have_attribute("data-state", "online")
    expect(rows(narrow)).to_have_count(4)
    check_accessibility(narrow, "the centre at 390 px")
    screenshot(narrow, "centre-390px")
    narrow.close()

    # The whole row is the link: a click opens its target and marks it read.
    linked = page.locator(".notification", has_text="Time to change your password")
    # force: the click lands on the link stretched over the row, as a user's would.
    linked.locator(".notification__message").click(force=True)
    expect(page).to_have_url(f"{live_url}/accounts/password_change/")
    page.go_back()
    expect(rows(page)).to_have_count(4)
    expect(linked).not_to_have_class(re.compile("is-unread"))
    expect(unread_count(page)).to_have_text("3")

    # Archive one, find it in the archive, then archive the rest.
    group = page.locator('[data-group-count="4"]')
    group.hover()
    group.get_by_role("button", name=re.compile("^Archive")).click()
    expect(rows(page)).to_have_count(3)
    page.get_by_role("tab", name="Archived").click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-group-count", "4")
    page.get_by_role("tab", name="Inbox").click()
    page.get_by_role("button", name="Archive all").click()
    # Broadcasts are not archived: only the announcement is left.
    expect(rows(page)).to_have_count(1)
    expect(unread_count(page)).to_have_text("1")
    broadcast.get_by_role("button", name=re.compile("^Mark read")).click()
    expect(unread_count(page)).to_have_text("0")
    page.get_by_role("tab", name="Unread").click()
    expect(page.locator(".empty__title")).to_have_text("Nothing unread")


BROADCAST_AND_NOTIFICATION = seed("""
NotificationService.create_notification(user, "Your invoice is ready.", title="Invoice")
NotificationService.broadcast("The office is closed on Friday.", title="Office closed")
""")


def test_mark_all_read_counts_broadcasts_and_a_broadcast_is_archived_per_user(
    deletes_its_broadcasts, new_page, sign_in, make_user, run_command, live_url
):
    hedy = make_user("hedy")
    run_command("shell", "-c", BROADCAST_AND_NOTIFICATION % {"user": hedy})
    page = new_page()
    sign_in(hedy, on=page)
    expect(rows(page)).to_have_count(2)
    expect(unread_count(page)).to_have_text("2")
    expect(page).to_have_title(re.compile(r"^\(2\) "))

    page.get_by_role("button", name="Mark all read").click()
    expect(unread_count(page)).to_have_text("0")
    expect(page).not_to_have_title(re.compile(r"^\("))
    expect(page.locator(".notification.is-unread")).to_have_count(0)
    # Stored, not only shown: a fresh load agrees.
    page.reload()
    expect(rows(page)).to_have_count(2)
    expect(unread_count(page)).to_have_text("0")
    expect(page.locator(".notification.is-unread")).to_have_count(0)

    # Only a broadcast unread: the button still reads it.
    run_command("broadcast", "Back on Monday.", "--title", "Office open")
    expect(unread_count(page)).to_have_text("1")
    page.get_by_role("button", name="Mark all read").click()
    expect(unread_count(page)).to_have_text("0")
    expect(page).not_to_have_title(re.compile(r"^\("))

    # Archived on the page: it leaves the inbox and waits under Archived.
    closed = page.locator('[data-kind="broadcast"]', has_text="Office closed")
    closed.hover()
    closed.get_by_role("button", name=re.compile("^Archive")).click()
    expect(closed).to_have_count(0)
    expect(rows(page)).to_have_count(2)
    page.get_by_role("tab", name="Archived").click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Office closed")

    # Archived in another tab of the same user: this one follows live, both ways.
    other = new_page()
    other.context.add_cookies(page.context.cookies())
    other.goto(f"{live_url}/")
    expect(other.locator("#connection-status")).to_have_attribute("data-state", "online")
    opened = other.locator('[data-kind="broadcast"]', has_text="Office open")
    opened.hover()
    opened.get_by_role("button", name=re.compile("^Archive")).click()
    expect(rows(page)).to_have_count(2)
    expect(page.locator('[data-kind="broadcast"]', has_text="Office open")).to_have_count(1)
    restored = rows(page).filter(has_text="Office closed")
    restored.hover()
    restored.get_by_role("button", name=re.compile("^Move to inbox")).click()
    expect(rows(page)).to_have_count(1)
    expect(other.locator('[data-kind="broadcast"]', has_text="Office closed")).to_have_count(1)
    expect(unread_count(other)).to_have_text("0")

    # Another user still has both broadcasts in their inbox, unread.
    ivy = make_user("ivy")
    theirs = new_page()
    sign_in(ivy, on=theirs)
    expect(theirs.locator('[data-kind="broadcast"].is-unread')).to_have_count(2)
    expect(unread_count(theirs)).to_have_text("2")
