/**
 * NotificationClient: a dependency-free ES module client for the ws/notifications/ socket.
 *
 * It authenticates with a one-time ticket from ws_auth/ (or a JWT, or the session), reconnects
 * with exponential backoff and jitter, and never loses an event: every event frame carries its
 * stream position (`id`); the client reconnects with ?since=<last position seen>, drops
 * duplicates by position, flags the events it replays (`frame.replayed`), and emits "resync"
 * when the server could not replay everything, so the page reloads its list over REST.
 *
 *   import { NotificationClient } from "./notifications.js";
 *   const client = new NotificationClient({ ticketUrl: "/api/notifications/ws_auth/" });
 *   const off = client.on("created", (payload, frame) => {
 *     if (!frame.replayed) showToast(payload.notification);
 *   });
 *   client.on("counts", (counts) => ...);         // {unread, unseen, by_category}
 *   client.on("state", (state, detail) => ...);   // connecting, online, offline, unauthorized, closed
 *   client.on("event", (payload, frame) => ...);  // every stream event
 *   client.on("resync", () => ...);               // reload the list over REST
 *   client.start();
 *   off();                                        // unsubscribe
 *
 * Types: notifications.d.ts, beside this file.
 */

const DEFAULTS = {
  url: "/ws/notifications/",
  // GET returning {"uuid": ...}; null to rely on the session cookie of a same-origin page.
  ticketUrl: "/api/notifications/ws_auth/",
  // Credentials of the ticket request: "include" for a front end on another origin (CORS).
  credentials: "same-origin",
  // A function returning a JWT access token (or a promise of one); used instead of a ticket,
  // and sent as `Authorization: Bearer` on the ticket request when both are set.
  getToken: null,
  // When both getToken and ticketUrl are set: true asks for a ticket with the token, so the
  // token never appears in a URL.
  ticketWithToken: true,
  // The stream position the page is up to date with; null to start from the server's newest.
  lastId: null,
  // The server's NOTIFICATIONS_HEARTBEAT_SECONDS: no frame for twice this long means the
  // socket is half-open (a sleeping laptop, a dropped NAT entry), so it is replaced.
  heartbeatSeconds: 25,
  minDelay: 500,
  maxDelay: 30000,
  requestTimeout: 10000,
};

// Close codes of the README's table.
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_TOO_MANY = 4429;
const CLOSE_UNAVAILABLE = 4503;

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
    this.watchdog = null;
    this.seen = new Set();
    this.pending = new Map();
    this.listeners = new Map();
    this.requestCount = 0;
    // The newest id the server reported; reached once a catch-up completes.
    this.serverLastId = null;
    // True between a replay's start (?since= or sync) and its `synced` frame.
    this.replaying = false;
    this.wake = () => this.reconnectNow();
    this.onVisibility = () => {
      if (document.visibilityState === "visible") this.reconnectNow();
    };
  }

  /** Subscribe to an event; returns the function that unsubscribes. */
  on(event, listener) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(listener);
    return () => this.off(event, listener);
  }

  off(event, listener) {
    this.listeners.get(event)?.delete(listener);
  }

  emit(event, ...args) {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (error) {
        // One failing listener must not stop the others or the client.
        console.error(error);
      }
    }
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener("online", this.wake);
    document.addEventListener("visibilitychange", this.onVisibility);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.wake);
    document.removeEventListener("visibilitychange", this.onVisibility);
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
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

  markSeen(upTo = null) {
    return this.request("mark_seen", upTo ? { up_to: upTo } : {});
  }

  archive(id) {
    return this.request("archive", { id });
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
    this.replaying = url.searchParams.has("since");
    socket.addEventListener("open", () => this.feedWatchdog(socket));
    socket.addEventListener("message", (message) => {
      if (socket !== this.socket) return;
      this.feedWatchdog(socket);
      this.receive(message.data);
    });
    socket.addEventListener("close", (event) => this.closed(socket, event));
  }

  async socketUrl() {
    const url = new URL(this.options.url, window.location.href);
    if (url.protocol === "http:") url.protocol = "ws:";
    if (url.protocol === "https:") url.protocol = "wss:";
    const { getToken, ticketUrl, ticketWithToken } = this.options;
    if (ticketUrl && (!getToken || ticketWithToken)) {
      // A fresh ticket per attempt: tickets are single use and expire within seconds.
      url.searchParams.set("uuid", await this.fetchTicket(getToken ? await getToken() : null));
    } else if (getToken) {
      url.searchParams.set("token", await getToken());
    }
    if (this.lastId !== null) url.searchParams.set("since", String(this.lastId));
    return url;
  }

  async fetchTicket(token) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(this.options.ticketUrl, {
      credentials: this.options.credentials,
      headers,
    });
    if (!response.ok) {
      const error = new Error(`ws_auth: HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return (await response.json()).uuid;
  }

  /** Any frame proves the socket alive; silence past two heartbeats means it is not. */
  feedWatchdog(socket) {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (socket !== this.socket) return;
      this.emit("stale", { seconds: this.options.heartbeatSeconds * 2 });
      // A half-open socket may never fire "close": drop it and reconnect from our position.
      this.socket = null;
      socket.close(4000);
      this.failPending("connection stale");
      if (!this.stopped) this.retry(null);
    }, this.options.heartbeatSeconds * 2000);
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    clearTimeout(this.watchdog);
    this.failPending("connection closed");
    if (this.stopped) return;
    if (event.code === CLOSE_UNAUTHORIZED && this.attempt === 0) {
      // Refused credentials (an expired ticket or token): the next attempt fetches fresh ones
      // at once; a signed-out user stops at the ticket request. A second 4401 in a row backs
      // off like any failure.
      this.attempt = 1;
      this.setState("offline", { delay: 0, code: event.code });
      this.connect();
      return;
    }
    // 4429 (too many sockets or commands) and 4503 (Redis down) ask for the full backoff.
    if (event.code === CLOSE_TOO_MANY || event.code === CLOSE_UNAVAILABLE) {
      this.attempt = Math.max(this.attempt, 3);
    }
    this.retry(event.code);
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

  /** Reconnect now (back online, page visible again) when no socket is open or opening. */
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
    if (typeof frame.id === "number") {
      // A stream event seen before (live and then replayed) is dropped whole.
      if (!this.remember(frame.id)) return;
      frame.replayed = this.replaying;
    }
    if (frame.type === "error") {
      this.emit("error", payload, frame);
      return;
    }
    if (payload.counts) this.emit("counts", payload.counts, frame);

    switch (`${frame.type}/${frame.event}`) {
      case "connection/ready":
        this.attempt = 0;
        this.serverLastId = payload.last_id ?? null;
        // Without ?since= there is nothing to replay: start from the server's newest id.
        if (this.lastId === null) this.lastId = this.serverLastId;
        this.setState("online", payload);
        this.emit("ready", payload, frame);
        return;
      case "connection/heartbeat":
        this.serverLastId = payload.last_id ?? this.serverLastId;
        if (this.isBehind() && !this.replaying) this.sync();
        return;
      case "connection/synced":
        this.replaying = false;
        // Either everything missed was replayed, or the page reloads its list: both leave
        // the page as new as the server.
        this.advanceTo(this.serverLastId);
        this.emit("synced", payload, frame);
        if (!payload.recovered) this.emit("resync", payload, frame);
        return;
    }
    if (frame.type === "notifications") {
      this.emit(frame.event, payload, frame);
      this.emit("event", payload, frame);
    }
  }

  sync() {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    this.replaying = true;
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
    this.emit("state", state, detail);
  }
}
