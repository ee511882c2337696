"""The centre's row actions and smaller manners: the narrow menu, delete with undo, hover
actions beside the text, the retry countdown, digest links and toasts beside the list."""

import re

import pytest

from notifications.tests.browser.test_centre import boxes_overlap, rows, seed

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]

ROWS = seed("""
for number in range(%(count)d):
    NotificationService.create_notification(
        user, f"Details of item {number}, one line of them.", title=f"Item {number}"
    )
ids = user.notifications.order_by("id").values_list("id", flat=True)
print("IDS=" + ",".join(str(pk) for pk in ids))
""")

TEXT_RECTS = """(row) => {
  const rects = [];
  for (const element of row.querySelectorAll('.notification__title, .notification__message')) {
    const range = document.createRange();
    range.selectNodeContents(element);
    for (const rect of range.getClientRects()) {
      rects.push({x: rect.x, y: rect.y, width: rect.width, height: rect.height});
    }
  }
  return rects;
}"""


def seeded_ids(output: str) -> list[int]:
    [line] = [line for line in output.splitlines() if line.startswith("IDS=")]
    return [int(pk) for pk in line.removeprefix("IDS=").split(",")]


def test_at_390_px_each_row_has_one_menu_and_five_rows_fit_a_screen(
    new_page, sign_in, make_user, run_command, check_accessibility, screenshot
):
    ritchie = make_user("ritchie")
    run_command("shell", "-c", ROWS % {"user": ritchie, "count": 8})
    page = new_page(width=390, height=844, mobile=True)
    sign_in(ritchie, on=page)
    expect(rows(page)).to_have_count(8)

    for index in range(8):
        row = rows(page).nth(index)
        expect(row.locator("button[data-action]:visible")).to_have_count(1)
        expect(row.get_by_role("button", name=f"Actions: Item {7 - index}")).to_be_visible()
    page.evaluate("window.scrollTo(0, document.querySelector('#notification-list').offsetTop)")
    fully_shown = page.evaluate(
        """() => [...document.querySelectorAll('#notification-list > li')].filter((row) => {
          const box = row.getBoundingClientRect();
          return box.top >= 0 && box.bottom <= window.innerHeight;
        }).length"""
    )
    assert fully_shown >= 5, f"{fully_shown} rows per 844 px screen"
    screenshot(page, "centre-390px-rows")

    # The menu opens on its actions, fits the screen, and Escape closes it onto its button.
    first = rows(page).first
    more = first.get_by_role("button", name="Actions: Item 7")
    more.click()
    expect(more).to_have_attribute("aria-expanded", "true")
    mark_read = first.get_by_role("button", name="Mark read: Item 7")
    expect(mark_read).to_be_focused()
    for name in ("Mark read", "Archive", "Delete"):
        action = first.get_by_role("button", name=f"{name}: Item 7")
        expect(action).to_be_visible()
        box = action.bounding_box()
        assert box is not None
        assert 0 <= box["x"] <= box["x"] + box["width"] <= 390
    check_accessibility(page, "the centre at 390 px with a row's menu open")
    screenshot(page, "centre-390px-menu")
    page.keyboard.press("Escape")
    expect(more).to_have_attribute("aria-expanded", "false")
    expect(more).to_be_focused()
    expect(mark_read).to_be_hidden()

    more.click()
    first.get_by_role("button", name="Mark read: Item 7").click()
    expect(first).not_to_have_class(re.compile("is-unread"))
    expect(more).to_have_attribute("aria-expanded", "false")


def test_delete_waits_for_its_undo_toast_and_focus_moves_to_the_next_row(
    page, sign_in, make_user, run_command, live_url
):
    meyer = make_user("meyer")
    run_command("shell", "-c", ROWS % {"user": meyer, "count": 3})
    sign_in(meyer)
    titles = page.locator("#notification-list .notification__title")
    expect(titles).to_have_text(["Item 2", "Item 1", "Item 0"])

    middle = rows(page).nth(1)
    middle.hover()
    middle.get_by_role("button", name="Delete: Item 1").click()
    expect(titles).to_have_text(["Item 2", "Item 0"])
    # Focus lands on the next row itself, not on one of its buttons.
    expect(rows(page).nth(1).locator(".notification__link")).to_be_focused()
    toast = page.locator(".toast", has_text="Deleted: Item 1")
    toast.get_by_role("button", name="Undo: Deleted: Item 1").click()
    expect(titles).to_have_text(["Item 2", "Item 1", "Item 0"])
    expect(rows(page).nth(1).locator(".notification__link")).to_be_focused()
    # Undone before it was sent: the server still has it.
    page.reload()
    expect(titles).to_have_text(["Item 2", "Item 1", "Item 0"])

    rows(page).nth(1).hover()
    rows(page).nth(1).get_by_role("button", name="Delete: Item 1").click()
    expect(page.locator(".toast", has_text="Deleted: Item 1")).to_have_count(1)
    # The toast goes after a few seconds, and the delete is sent then.
    expect(page.locator(".toast", has_text="Deleted: Item 1")).to_have_count(0)
    page.reload()
    expect(titles).to_have_text(["Item 2", "Item 0"])


def test_hover_actions_leave_the_text_clear_and_toasts_stay_beside_the_list(
    new_page, sign_in, make_user, run_command, notify
):
    hamming = make_user("hamming")
    long_title = "A title long enough to reach the right edge of the row, " * 3
    notify(hamming, "And a message as long, " * 12, "--title", long_title.strip())
    run_command("shell", "-c", ROWS % {"user": hamming, "count": 12})
    page = new_page(width=1280, height=720)
    sign_in(hamming, on=page)
    expect(rows(page)).to_have_count(13)

    for index in (0, rows(page).count() - 1):
        row = rows(page).nth(index)
        row.scroll_into_view_if_needed()
        row.hover()
        actions = row.locator(".notification__actions")
        expect(actions).to_have_css("opacity", "1")
        box = actions.bounding_box()
        for text in row.evaluate(TEXT_RECTS):
            assert not boxes_overlap(box, text), "an action covers the row's text"

    # Scrolled down, the top rows are off screen: a new one toasts, beside the list.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    notify(hamming, "Arrived while scrolled down", "--title", "Off screen")
    toast = page.locator(".toast", has_text="Off screen")
    expect(toast).to_have_count(1)
    toast_box = toast.bounding_box()
    for index in range(rows(page).count()):
        row_box = rows(page).nth(index).bounding_box()
        assert row_box is None or not boxes_overlap(toast_box, row_box), "a toast covers a row"


def test_a_digest_link_scrolls_to_its_row_and_marks_it_out(
    page, sign_in, make_user, run_command, live_url, screenshot
):
    hoare = make_user("hoare")
    ids = seeded_ids(run_command("shell", "-c", ROWS % {"user": hoare, "count": 15}))
    sign_in(hoare)

    page.goto(f"{live_url}/#notification-{ids[0]}")

    row = page.locator(f"#notification-{ids[0]}")
    expect(row).to_have_class(re.compile("is-linked"))
    expect(row.locator(".notification__title")).to_have_text("Item 0")
    expect(row).to_be_in_viewport()
    expect(page.locator(".is-linked")).to_have_count(1)


def test_offline_the_retry_counts_down(page, sign_in, make_user, daphne):
    wirth = make_user("wirth")
    sign_in(wirth)
    status = page.locator("#connection-status")

    daphne.stop()
    try:
        # Failures double the wait: one of them lasts several seconds, shown second by second.
        handle = page.wait_for_function(
            """() => {
              const match = /retrying in (\\d+) s/.exec(
                document.querySelector('#connection-status').textContent);
              return match && Number(match[1]) >= 4 && Number(match[1]);
            }""",
            timeout=60_000,
        )
        seconds = handle.json_value()
        expect(status).to_contain_text(f"retrying in {seconds - 1} s")
        expect(status).to_contain_text(f"retrying in {seconds - 2} s")
    finally:
        daphne.start()
    expect(status).to_have_attribute("data-state", "online", timeout=60_000)
