"""notifications.js in a real browser: the heartbeat watchdog, visibility and subscriptions."""

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]

# A second client on the centre page, built from the module as a front end would build it.
OPEN_CLIENT = """async (options) => {
  const { NotificationClient } = await import("/static/notifications/notifications.js");
  const client = new NotificationClient({ ticketUrl: "/api/notifications/ws_auth/", ...options });
  window.log = [];
  window.unsubscribe = client.on("created", (payload, frame) =>
    window.log.push(["created", payload.notification.message, frame.replayed]));
  client.on("stale", () => {
    window.log.push(["stale"]);
    // Once is enough to show it: later sockets wait for the real heartbeat period.
    client.options.heartbeatSeconds = 25;
  });
  client.on("state", (state) => window.log.push(["state", state]));
  window.testClient = client;
  client.start();
}"""


def client_state(page) -> str:
    return page.evaluate("window.testClient.state")


def test_a_silent_socket_is_replaced_and_catches_up(page, sign_in, make_user, notify):
    username = make_user("liskov")
    sign_in(username)
    # Heartbeats come every 25 s; a client told they come every 0.5 s finds the socket silent.
    page.evaluate(OPEN_CLIENT, {"heartbeatSeconds": 0.5})
    page.wait_for_function("window.log.some(([kind]) => kind === 'stale')")
    page.wait_for_function("window.testClient.state === 'online'")
    notify(username, "After the watchdog")
    page.wait_for_function("window.log.some(([kind]) => kind === 'created')")
    created = page.evaluate("window.log.filter(([kind]) => kind === 'created')")
    assert created == [["created", "After the watchdog", False]]


def test_a_page_made_visible_reconnects_at_once_and_unsubscribing_stops_events(
    page, sign_in, make_user, notify
):
    username = make_user("hamilton")
    sign_in(username)
    # A minute of backoff: only the visibility change can bring the socket back in time.
    page.evaluate(OPEN_CLIENT, {"minDelay": 60_000, "maxDelay": 60_000})
    page.wait_for_function("window.testClient.state === 'online'")
    page.evaluate("window.testClient.socket.close()")
    page.wait_for_function("window.testClient.state === 'offline'")

    page.evaluate(
        """() => {
          const visible = { value: "visible", configurable: true };
          Object.defineProperty(document, "visibilityState", visible);
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    page.wait_for_function("window.testClient.state === 'online'")
    notify(username, "Heard")
    page.wait_for_function("window.log.some(([kind]) => kind === 'created')")

    page.evaluate("window.unsubscribe()")
    notify(username, "Not heard")
    # The centre's own client hears the second one; the unsubscribed listener does not.
    expect(page.locator(".notification__title").first).to_have_text("Not heard")
    created = page.evaluate("window.log.filter(([kind]) => kind === 'created')")
    assert created == [["created", "Heard", False]]
