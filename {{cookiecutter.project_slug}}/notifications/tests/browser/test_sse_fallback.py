"""notifications.js falls back to the event stream when its socket cannot open, in Chromium."""

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]

# As behind a proxy that strips the upgrade: every socket the page makes fails to open.
NO_SOCKETS = """
window.WebSocket = class extends window.WebSocket {
  constructor(url, protocols) {
    super(String(url).replace("/ws/notifications/", "/ws/no-such-route/"), protocols);
  }
};
"""

OPEN_CLIENT = """async () => {
  const { NotificationClient } = await import("/static/notifications/notifications.js");
  // A socket of its own: with the centre's client on the page it would otherwise share that.
  const client = new NotificationClient({ minDelay: 50, maxDelay: 200, shareConnection: false });
  window.log = [];
  client.on("created", (payload, frame) =>
    window.log.push([payload.notification.message, frame.id, frame.replayed]));
  window.testClient = client;
  client.start();
}"""


def test_the_centre_reads_the_event_stream_when_sockets_cannot_open(
    page, sign_in, make_user, notify
):
    page.add_init_script(NO_SOCKETS)
    username = make_user("sse_fallback")
    sign_in(username)
    assert page.evaluate("window.notificationClient.transport") == "sse"

    notify(username, "Over the event stream")
    expect(page.locator(".notification__title").first).to_have_text("Over the event stream")


def test_a_stream_client_resumes_from_its_last_position(page, sign_in, make_user, notify):
    page.add_init_script(NO_SOCKETS)
    username = make_user("sse_resume")
    sign_in(username)
    page.evaluate(OPEN_CLIENT)
    page.wait_for_function("() => window.testClient.state === 'online'")
    assert page.evaluate("window.testClient.transport") == "sse"
    notify(username, "live")
    page.wait_for_function("() => window.log.length === 1")

    page.evaluate("window.testClient.stop()")
    notify(username, "missed one")
    notify(username, "missed two")
    page.evaluate("window.testClient.start()")
    page.wait_for_function("() => window.log.length === 3")

    log = page.evaluate("window.log")
    assert [message for message, _, _ in log] == ["live", "missed one", "missed two"]
    # Sent with Last-Event-ID, so the two come back as a replay, each once.
    assert [replayed for _, _, replayed in log] == [False, True, True]
    assert len({position for _, position, _ in log}) == 3
