"""notifications.js in a real browser: the watchdog, visibility, subscriptions, one socket at a
time, a ticket request that hangs and a stream position the server refuses."""

import contextlib
import json
import re

import pytest

from notifications.tests.browser.conftest import PASSWORD

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=10_000)

pytestmark = [pytest.mark.browser, pytest.mark.live]

# A second client on the centre page, built from the module as a front end would build it, with
# a socket of its own: these tests drive the socket (test_tabs.py tests sharing one).
OPEN_CLIENT = """async (options) => {
  const { NotificationClient } = await import("/static/notifications/notifications.js");
  const client = new NotificationClient({
    ticketUrl: "/api/notifications/ws_auth/",
    shareConnection: false,
    ...options,
  });
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
    page.wait_for_function("() => window.log.some(([kind]) => kind === 'stale')")
    page.wait_for_function("() => window.testClient.state === 'online'")
    notify(username, "After the watchdog")
    page.wait_for_function("() => window.log.some(([kind]) => kind === 'created')")
    created = page.evaluate("window.log.filter(([kind]) => kind === 'created')")
    assert created == [["created", "After the watchdog", False]]


def test_a_page_made_visible_reconnects_at_once_and_unsubscribing_stops_events(
    page, sign_in, make_user, notify
):
    username = make_user("hamilton")
    sign_in(username)
    # A minute of backoff: only the visibility change can bring the socket back in time.
    page.evaluate(OPEN_CLIENT, {"minDelay": 60_000, "maxDelay": 60_000})
    page.wait_for_function("() => window.testClient.state === 'online'")
    page.evaluate("window.testClient.socket.close()")
    page.wait_for_function("() => window.testClient.state === 'offline'")

    page.evaluate(
        """() => {
          const visible = { value: "visible", configurable: true };
          Object.defineProperty(document, "visibilityState", visible);
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    page.wait_for_function("() => window.testClient.state === 'online'")
    notify(username, "Heard")
    page.wait_for_function("() => window.log.some(([kind]) => kind === 'created')")

    page.evaluate("window.unsubscribe()")
    notify(username, "Not heard")
    # The centre's own client hears the second one; the unsubscribed listener does not.
    expect(page.locator(".notification__title").first).to_have_text("Not heard")
    created = page.evaluate("window.log.filter(([kind]) => kind === 'created')")
    assert created == [["created", "Heard", False]]


# Records every socket the page constructs, before the page's own scripts run.
COUNT_SOCKETS = """(() => {
  const NativeWebSocket = window.WebSocket;
  window.sockets = [];
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      window.sockets.push(this);
    }
  };
})()"""
# The test client's sockets carry a mark of their own; the centre's own client opens one too.
TEST_SOCKET = "/ws/notifications/?client=test"
OPEN_TEST_SOCKETS = """window.sockets.filter(
  (socket) => socket.url.includes("client=test") && socket.readyState <= WebSocket.OPEN
).length"""

# A client whose getToken waits until the test settles it: `window.gates[n](token)`.
OPEN_GATED_CLIENT = """async (url) => {
  const { NotificationClient } = await import("/static/notifications/notifications.js");
  window.gates = [];
  const getToken = () => new Promise((resolve) => window.gates.push(resolve));
  window.testClient = new NotificationClient({ url, getToken, shareConnection: false });
  window.testClient.start();
}"""
ACCESS_TOKEN = """async ([username, password]) => {
  const response = await fetch("/api/token/", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  return (await response.json()).access;
}"""


def hold_ticket_requests(page, count):
    """Leave the first `count` ws_auth requests unanswered; returns the list of held routes."""
    held = []

    def route(request_route):
        if len(held) < count:
            held.append(request_route)
        else:
            request_route.continue_()

    page.route("**/api/notifications/ws_auth/", route)
    return held


def wait_for(page, condition, seconds=10.0):
    """Wait for a condition on the Python side, letting Playwright deliver its events."""
    for _ in range(int(seconds * 20)):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError("condition not met in time")


@pytest.mark.parametrize("waiting_for", ["ticket", "token"])
def test_stop_and_start_while_connecting_leave_one_socket_open(
    page, sign_in, make_user, waiting_for
):
    username = make_user(f"lamport-{waiting_for}")
    page.add_init_script(COUNT_SOCKETS)
    sign_in(username)
    if waiting_for == "ticket":
        held = hold_ticket_requests(page, 1)
        page.evaluate(OPEN_CLIENT, {"url": TEST_SOCKET})
        wait_for(page, lambda: len(held) == 1)
        page.evaluate("window.testClient.stop(); window.testClient.start()")
    else:
        token = page.evaluate(ACCESS_TOKEN, [username, PASSWORD])
        page.evaluate(OPEN_GATED_CLIENT, TEST_SOCKET)
        page.evaluate("window.testClient.stop(); window.testClient.start()")
        page.wait_for_function("() => window.gates.length === 2")
        page.evaluate("(token) => window.gates[1](token)", token)
    page.wait_for_function("() => window.testClient.state === 'online'")

    # The first attempt finishes now, for a client that was stopped and started since.
    if waiting_for == "ticket":
        # A request the client aborted has nothing left to continue.
        with contextlib.suppress(playwright_api.Error):
            held[0].continue_()
    else:
        page.evaluate("(token) => window.gates[0](token)", token)
    page.wait_for_timeout(1000)
    assert page.evaluate(OPEN_TEST_SOCKETS) == 1
    assert page.evaluate("window.testClient.state") == "online"


def test_a_ticket_request_that_hangs_is_given_up_and_retried(page, sign_in, make_user):
    username = make_user("dijkstra")
    sign_in(username)
    held = hold_ticket_requests(page, 1)
    page.evaluate(OPEN_CLIENT, {"ticketTimeout": 300, "minDelay": 100})
    page.wait_for_function("() => window.testClient.state === 'online'", timeout=5_000)
    states = page.evaluate("window.log.filter(([kind]) => kind === 'state').map(([, s]) => s)")
    assert states == ["connecting", "offline", "connecting", "online"]
    assert len(held) == 1


# What a server that ends every resume with `synced`, even a refused one, sends after the error.
TRAILING_SYNCED = json.dumps(
    {"type": "connection", "event": "synced", "payload": {"recovered": False, "count": 0}}
)


@pytest.mark.parametrize("resume", ["reconnect", "sync"])
def test_a_refused_position_ends_the_replay_and_reloads(page, sign_in, make_user, notify, resume):
    username = make_user(f"hopper-{resume}")
    sign_in(username)
    page.evaluate(
        """() => {
          const client = window.notificationClient;
          window.resyncs = [];
          client.on("resync", (payload) => window.resyncs.push(payload.code ?? "synced"));
          client.lastId = "not-a-position";
        }"""
    )
    if resume == "reconnect":
        page.evaluate("window.notificationClient.socket.close()")
    else:
        page.evaluate("window.notificationClient.sync()")
    page.wait_for_function("() => window.resyncs.length === 1")
    page.wait_for_function("() => window.notificationClient.state === 'online'")
    # The client carries on from the server's newest position, not from the refused one.
    assert page.evaluate("window.notificationClient.lastId") not in (None, "not-a-position")
    page.evaluate(
        "(data) => window.notificationClient.socket"
        ".dispatchEvent(new MessageEvent('message', { data }))",
        TRAILING_SYNCED,
    )
    assert page.evaluate("window.resyncs") == ["invalid_params"]

    # Out of replay mode: a new notification is live, so it is announced; its row is on
    # screen, so it is marked new there instead of toasted (a replayed one is neither).
    notify(username, "After the refused position")
    row = page.locator("#notification-list > li", has_text="After the refused position")
    expect(row).to_have_class(re.compile("is-new"))


# Frames as a server with two-part positions sends them, handed to the client's open socket;
# its outgoing frames are captured instead of sent.
FEED_POSITIONS = """() => {
  const client = window.testClient;
  const socket = client.socket;
  const sent = [];
  socket.send = (text) => sent.push(JSON.parse(text));
  const deliver = (frame) =>
    socket.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(frame) }));
  const counts = { unread: 1, unseen: 1, by_category: {} };
  const created = (id, message) => ({
    type: "notifications",
    event: "created",
    id,
    payload: { notification: { id: 5, message }, counts },
  });
  const heartbeat = (last_id) => ({ type: "connection", event: "heartbeat", payload: { last_id } });
  deliver(created("9:1", "first"));
  // Newer, though smaller as text: only the order of arrival says so.
  deliver(created("10:0", "second"));
  deliver(created("9:1", "first again"));
  const afterEvents = client.lastId;
  deliver(heartbeat("10:0"));
  const syncsWhenLevel = sent.length;
  deliver(heartbeat("10:1"));
  return { afterEvents, syncsWhenLevel, sent };
}"""


def test_positions_are_opaque_text_compared_only_for_equality(page, sign_in, make_user):
    sign_in(make_user("kahan"))
    page.evaluate(OPEN_CLIENT, {})
    page.wait_for_function("() => window.testClient.state === 'online'")
    # A server before two-part positions sends numbers: kept as their text.
    assert isinstance(page.evaluate("window.testClient.lastId"), str)

    result = page.evaluate(FEED_POSITIONS)
    assert result["afterEvents"] == "10:0"
    assert result["syncsWhenLevel"] == 0
    assert result["sent"] == [{"action": "sync", "request_id": "sync", "since": "10:0"}]
    created = page.evaluate("window.log.filter(([kind]) => kind === 'created')")
    assert created == [["created", "first", False], ["created", "second", False]]
