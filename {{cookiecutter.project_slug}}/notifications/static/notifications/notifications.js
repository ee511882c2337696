/**
 * NotificationClient: a dependency-free client for the ws/notifications/ socket.
 *
 * It authenticates with a one-time ticket from ws_auth/ (or a JWT, or the session), reconnects
 * with exponential backoff and jitter, and never loses an event: every event frame carries its
 * stream position (`id`); the client reconnects with ?since=<last position seen>, drops
 * duplicates by position, and calls onResync when the server could not replay everything, so
 * the page reloads its list over REST.
 *
 *   const client = new NotificationClient({
 *     lastId: null,                      // a stream position, or null to start from now
 *     onNotification: (notification) => ...,
 *     onCounts: (counts) => ...,         // {unread, by_category}
 *     onUnreadCount: (count) => ...,
 *     onState: (state, detail) => ...,   // connecting, online, offline, unauthorized, closed
 *     onEvent: (frame) => ...,           // read, unread, deleted, broadcast, errors...
 *     onResync: () => ...,               // reload the list over REST
 *   });
 *   client.start();
 */

const DEFAULTS = {
  url: "/ws/notifications/",
  // GET returning {"uuid": ...}; null to rely on the session cookie of a same-origin page.
  ticketUrl: "/api/notifications/ws_auth/",
  // A function returning a JWT access token (or a promise of one); used instead of a ticket.
  getToken: null,
  // The stream position the page is up to date with; null to start from the server's newest.
  lastId: null,
  minDelay: 500,
  maxDelay: 30000,
  requestTimeout: 10000,
  onNotification() {},
  onCounts() {},
  onUnreadCount() {},
  onState() {},
  onEvent() {},
  onResync() {},
};

// Positions remembered to drop duplicates. Replays only hold positions newer than the last one
// seen, so a bounded window is enough.
const SEEN_LIMIT = 1000;

export class NotificationClient {
  constructor(options = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.lastId = this.options.lastId;
    this.state = "closed";
    this.stopped = true;
    this.socket = null;
    this.attempt = 0;
    this.timer = null;
    this.seen = new Set();
    this.pending = new Map();
    this.requestCount = 0;
    // The newest id the server reported; reached once a catch-up completes.
    this.serverLastId = null;
    this.syncing = false;
    this.wake = () => this.reconnectNow();
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener("online", this.wake);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.wake);
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    this.failPending("client stopped");
    this.setState("closed");
  }

  /** Send a command and resolve with the reply frame carrying its request_id. */
  request(action, params = {}) {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error(`${action}: not connected`));
    }
    this.requestCount += 1;
    const requestId = String(this.requestCount);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`${action}: no reply`));
      }, this.options.requestTimeout);
      this.pending.set(requestId, { resolve, reject, timer });
      socket.send(JSON.stringify({ action, request_id: requestId, ...params }));
    });
  }

  markRead(id) {
    return this.request("mark_read", { id });
  }

  markAllRead(category = null) {
    return this.request("mark_all_read", category ? { category } : {});
  }

  list(params = {}) {
    return this.request("list", params);
  }

  ping() {
    return this.request("ping");
  }

  // Connection ----------------------------------------------------------------------------

  async connect() {
    this.setState("connecting");
    let url;
    try {
      url = await this.socketUrl();
    } catch (error) {
      if (error.status === 401 || error.status === 403) {
        this.stopped = true;
        this.setState("unauthorized", { status: error.status });
        return;
      }
      this.retry();
      return;
    }
    if (this.stopped) return;
    const socket = new WebSocket(url);
    this.socket = socket;
    this.syncing = false;
    socket.addEventListener("message", (message) => {
      if (socket === this.socket) this.receive(message.data);
    });
    socket.addEventListener("close", (event) => this.closed(socket, event));
  }

  async socketUrl() {
    const url = new URL(this.options.url, window.location.href);
    if (url.protocol === "http:") url.protocol = "ws:";
    if (url.protocol === "https:") url.protocol = "wss:";
    if (this.options.getToken) {
      url.searchParams.set("token", await this.options.getToken());
    } else if (this.options.ticketUrl) {
      // A fresh ticket per attempt: tickets are single use and expire within seconds.
      url.searchParams.set("uuid", await this.fetchTicket());
    }
    if (this.lastId !== null) url.searchParams.set("since", String(this.lastId));
    return url;
  }

  async fetchTicket() {
    const response = await fetch(this.options.ticketUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) {
      const error = new Error(`ws_auth: HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return (await response.json()).uuid;
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.failPending("connection closed");
    // A 4401 (refused credentials, such as an expired ticket) retries too: the next attempt
    // fetches a new ticket, and a signed-out user stops at the ticket request.
    if (!this.stopped) this.retry(event.code);
  }

  retry(code = null) {
    // Equal jitter: the delay doubles per failure, and half of it is random, so clients
    // dropped together by a server restart do not all come back in the same instant.
    const ceiling = Math.min(this.options.maxDelay, this.options.minDelay * 2 ** this.attempt);
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.attempt += 1;
    this.setState("offline", { delay, code });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.stopped || this.state !== "offline") return;
    clearTimeout(this.timer);
    this.attempt = 0;
    this.connect();
  }

  // Frames --------------------------------------------------------------------------------

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    const payload = frame.payload ?? {};
    this.settle(frame, payload);
    // A stream event seen before (live and then replayed) is dropped whole.
    if (typeof frame.id === "number" && !this.remember(frame.id)) return;
    if (payload.counts) {
      this.options.onCounts(payload.counts);
      this.options.onUnreadCount(payload.counts.unread);
    }

    switch (`${frame.type}/${frame.event}`) {
      case "connection/ready":
        this.attempt = 0;
        this.serverLastId = payload.last_id ?? null;
        // Without ?since= there is nothing to replay: start from the server's newest id.
        if (this.lastId === null) this.lastId = this.serverLastId;
        this.setState("online", payload);
        break;
      case "connection/heartbeat":
        this.serverLastId = payload.last_id ?? this.serverLastId;
        if (this.isBehind() && !this.syncing) this.sync();
        break;
      case "connection/synced":
        this.syncing = false;
        // Either everything missed was replayed, or the page reloads its list: both leave
        // the page as new as the server.
        this.advanceTo(this.serverLastId);
        if (!payload.recovered) this.options.onResync(payload);
        break;
      case "notifications/created":
        if (payload.notification) this.options.onNotification(payload.notification, frame);
        return;
    }
    this.options.onEvent(frame);
  }

  sync() {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    this.syncing = true;
    socket.send(JSON.stringify({ action: "sync", request_id: "sync", since: this.lastId ?? 0 }));
  }

  isBehind() {
    return this.serverLastId !== null && (this.lastId === null || this.serverLastId > this.lastId);
  }

  /** True the first time a position is seen; the last position only moves forward. */
  remember(id) {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value);
    this.advanceTo(id);
    return true;
  }

  advanceTo(id) {
    if (id !== null && (this.lastId === null || id > this.lastId)) this.lastId = id;
  }

  settle(frame, payload) {
    const requestId = payload.request_id ?? frame.request_id;
    const request = requestId == null ? null : this.pending.get(String(requestId));
    if (!request) return;
    this.pending.delete(String(requestId));
    clearTimeout(request.timer);
    if (frame.type === "error") {
      const error = new Error(payload.message || payload.code);
      error.code = payload.code;
      request.reject(error);
    } else {
      request.resolve(frame);
    }
  }

  failPending(reason) {
    for (const request of this.pending.values()) {
      clearTimeout(request.timer);
      request.reject(new Error(reason));
    }
    this.pending.clear();
  }

  setState(state, detail = {}) {
    this.state = state;
    this.options.onState(state, detail);
  }
}
