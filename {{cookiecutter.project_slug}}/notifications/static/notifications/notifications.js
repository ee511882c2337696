/**
 * NotificationClient: a dependency-free ES module client for the ws/notifications/ socket.
 *
 * It authenticates with a one-time ticket from ws_auth/ (or a JWT, or the session), reconnects
 * with exponential backoff and jitter, and never loses an event: every event frame carries its
 * stream position (`id`, an opaque string); the client reconnects with ?since=<last position
 * seen>, drops duplicates by position, flags the events it replays (`frame.replayed`), and emits
 * "resync" when the server could not replay everything, so the page reloads its list over REST.
 * When the socket cannot open (a proxy that strips the upgrade), it falls back to the event
 * stream (Server-Sent Events, read with fetch): the same frames, resumed with Last-Event-ID;
 * commands then go over REST (`request()` rejects while `transport` is "sse").
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
 * The tabs of one origin share one socket (tabs.js): one client leads and connects, the others
 * follow through it and hear the same events; `shareConnection: false` gives a client its own.
 *
 * Types: notifications.d.ts, beside this file.
 */

import { TabShare } from "./tabs.js";

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
  // A ticket request still unanswered after this many milliseconds fails like a refused
  // connection and is retried with backoff: a hung request must not leave the page offline.
  ticketTimeout: 5000,
  // One socket for every tab of this origin with the same url (Web Locks and BroadcastChannel;
  // where either is missing each client opens its own). false: this client opens its own.
  shareConnection: true,
  // The event stream the client falls back to; null never to fall back.
  streamUrl: "/api/notifications/stream/",
  // Sockets in a row that close without ever opening before the client falls back.
  sseAfterFailures: 2,
};

// Close codes of docs/websocket.md's table.
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_TOO_MANY = 4429;
const CLOSE_UNAVAILABLE = 4503;

// Error frames the server sends just before it closes the socket: they answer no resume.
const CLOSING_ERRORS = new Set([
  "unauthorized",
  "token_expired",
  "session_ended",
  "account_inactive",
  "unavailable",
  "too_many_sockets",
  "too_many_commands",
]);

// The request_id of the `sync` command, which its `synced` frame or error frame carries.
const SYNC_REQUEST = "sync";

// Positions remembered to drop duplicates. Replays only hold positions newer than the last one
// seen, so a bounded window is enough.
const SEEN_LIMIT = 1000;

/** A position as the client keeps it: opaque text (servers before "12:3" sent integers). */
function position(value) {
  return value === null || value === undefined ? null : String(value);
}

export class NotificationClient {
  // Bumped by start(), stop() and every connection attempt. An attempt that resumes after an
  // await (a token, a ticket) for an older generation gives up, so one socket is open at a time.
  #generation = 0;
  // Aborts the attempt in progress: its ticket request, on stop(), a newer attempt or a timeout.
  #inFlight = null;
  #stopped = true;
  #attempt = 0;
  #timer = null;
  #watchdog = null;
  #seen = new Set();
  #pending = new Map();
  #listeners = new Map();
  #requestCount = 0;
  // The newest position the server reported (ready, heartbeat).
  #serverLastId = null;
  // The resume under way: "connect" (?since=) or "sync" until its `synced` or error frame.
  #resume = null;
  #wake = () => this.reconnectNow();
  // The tabs' shared socket (tabs.js); null when this client has a socket of its own.
  #share = null;
  #onVisibility = () => {
    if (document.visibilityState === "visible") this.reconnectNow();
  };

  // "websocket", or "sse" after the socket failed to open sseAfterFailures times in a row.
  transport = "websocket";
  #socketFailures = 0;
  #openedSocket = null;

  constructor(options = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.lastId = position(this.options.lastId);
    this.state = "closed";
    this.socket = null;
  }

  /** Subscribe to an event; returns the function that unsubscribes. */
  on(event, listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(listener);
    return () => this.off(event, listener);
  }

  off(event, listener) {
    this.#listeners.get(event)?.delete(listener);
  }

  start() {
    if (!this.#stopped) return;
    this.#stopped = false;
    window.addEventListener("online", this.#wake);
    document.addEventListener("visibilitychange", this.#onVisibility);
    if (this.options.shareConnection && TabShare.supported()) {
      this.#startShared();
      return;
    }
    this.#connect();
  }

  stop() {
    // First: a follower hears nothing of this client's end, and a waiting tab takes the lead.
    this.#share?.stop();
    this.#share = null;
    this.#stopped = true;
    this.#generation += 1;
    this.#inFlight?.abort();
    window.removeEventListener("online", this.#wake);
    document.removeEventListener("visibilitychange", this.#onVisibility);
    clearTimeout(this.#timer);
    clearTimeout(this.#watchdog);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    this.#failPending("client stopped");
    this.#setState("closed");
  }

  /** Reconnect now (back online, page visible again) when no socket is open or opening. */
  reconnectNow() {
    if (this.#stopped || this.state !== "offline") return;
    if (this.#share?.following) {
      this.#share.post({ kind: "wake" });
      return;
    }
    clearTimeout(this.#timer);
    this.#attempt = 0;
    this.#connect();
  }

  /** Ask for every event after lastId; a heartbeat showing the client behind does it too. */
  sync() {
    if (this.#share?.following) {
      this.#share.post({ kind: "sync" });
      return;
    }
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN || this.#resume) return;
    this.#resume = "sync";
    const since = this.lastId ?? "0";
    socket.send(JSON.stringify({ action: "sync", request_id: SYNC_REQUEST, since }));
  }

  /** Send a command and resolve with the reply frame carrying its request_id. */
  request(action, params = {}) {
    const share = this.#share?.following ? this.#share : null;
    const socket = this.socket;
    if (share ? this.state !== "online" : !socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error(`${action}: not connected`));
    }
    this.#requestCount += 1;
    const requestId = share ? share.requestId(this.#requestCount) : String(this.#requestCount);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new Error(`${action}: no reply`));
      }, this.options.requestTimeout);
      this.#pending.set(requestId, { resolve, reject, timer });
      const text = JSON.stringify({ action, request_id: requestId, ...params });
      if (share) share.post({ kind: "command", text });
      else socket.send(text);
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

  unarchive(id) {
    return this.request("unarchive", { id });
  }

  /** Out of the inbox until `until` (a Date or an ISO string with its offset). */
  snooze(id, until) {
    const when = until instanceof Date ? until.toISOString() : String(until);
    return this.request("snooze", { id, until: when });
  }

  unsnooze(id) {
    return this.request("unsnooze", { id });
  }

  /** Run the server action at `index` (0 or 1) of a notification; a repeat gets its result. */
  runAction(id, index) {
    return this.request("run_action", { id, index });
  }

  archiveBroadcast(id) {
    return this.request("archive_broadcast", { id });
  }

  unarchiveBroadcast(id) {
    return this.request("unarchive_broadcast", { id });
  }

  list(params = {}) {
    return this.request("list", params);
  }

  ping() {
    return this.request("ping");
  }

  /** "leader": this client's socket serves the tabs; "follower": another's does; "alone". */
  get role() {
    if (this.#share === null) return "alone";
    return this.#share.leading ? "leader" : "follower";
  }

  // Connection ----------------------------------------------------------------------------

  async #connect() {
    if (this.transport === "sse") {
      this.#connectStream();
      return;
    }
    this.#generation += 1;
    const generation = this.#generation;
    this.#inFlight?.abort();
    const attempt = new AbortController();
    this.#inFlight = attempt;
    this.#setState("connecting");
    let url;
    try {
      url = await this.#socketUrl(attempt);
    } catch (error) {
      if (generation !== this.#generation) return;
      if (error.status === 401 || error.status === 403) {
        this.#stopped = true;
        this.#setState("unauthorized", { status: error.status });
        return;
      }
      // A refused or timed-out ticket request backs off like a refused socket.
      this.#retry();
      return;
    } finally {
      if (this.#inFlight === attempt) this.#inFlight = null;
    }
    // stop(), start() or another attempt came first: this one opens nothing.
    if (generation !== this.#generation) return;
    const socket = new WebSocket(url);
    this.socket = socket;
    this.#resume = url.searchParams.has("since") ? "connect" : null;
    socket.addEventListener("open", () => {
      this.#socketOpened(socket);
      this.#feedWatchdog(socket);
    });
    socket.addEventListener("message", (message) => {
      if (socket !== this.socket) return;
      this.#feedWatchdog(socket);
      if (this.#share) this.#share.frame(() => this.#receive(message.data));
      else this.#receive(message.data);
    });
    socket.addEventListener("close", (event) => this.#closed(socket, event));
  }

  async #socketUrl(attempt) {
    const url = new URL(this.options.url, window.location.href);
    if (url.protocol === "http:") url.protocol = "ws:";
    if (url.protocol === "https:") url.protocol = "wss:";
    const { getToken, ticketUrl, ticketWithToken } = this.options;
    if (ticketUrl && (!getToken || ticketWithToken)) {
      // A fresh ticket per attempt: tickets are single use and expire within seconds.
      const token = getToken ? await getToken() : null;
      url.searchParams.set("uuid", await this.#fetchTicket(token, attempt));
    } else if (getToken) {
      url.searchParams.set("token", await getToken());
    }
    if (this.lastId !== null) url.searchParams.set("since", this.lastId);
    return url;
  }

  async #fetchTicket(token, attempt) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const timer = setTimeout(() => attempt.abort(), this.options.ticketTimeout);
    try {
      const response = await fetch(this.options.ticketUrl, {
        credentials: this.options.credentials,
        headers,
        signal: attempt.signal,
      });
      if (!response.ok) {
        const error = new Error(`ws_auth: HTTP ${response.status}`);
        error.status = response.status;
        throw error;
      }
      return (await response.json()).uuid;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Any frame proves the socket alive; silence past two heartbeats means it is not. */
  #feedWatchdog(socket) {
    clearTimeout(this.#watchdog);
    this.#watchdog = setTimeout(() => {
      if (socket !== this.socket) return;
      this.#emit("stale", { seconds: this.options.heartbeatSeconds * 2 });
      // A half-open socket may never fire "close": drop it and reconnect from our position.
      this.socket = null;
      socket.close(4000);
      this.#failPending("connection stale");
      if (!this.#stopped) this.#retry(null);
    }, this.options.heartbeatSeconds * 2000);
  }

  #closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    clearTimeout(this.#watchdog);
    this.#failPending("connection closed");
    if (this.#stopped) return;
    if (this.#fallBackToStream(socket)) return;
    if (event.code === CLOSE_UNAUTHORIZED && this.#attempt === 0) {
      // Refused credentials (an expired ticket or token): the next attempt fetches fresh ones
      // at once; a signed-out user stops at the ticket request. A second 4401 in a row backs
      // off like any failure.
      this.#attempt = 1;
      this.#setState("offline", { delay: 0, code: event.code });
      this.#connect();
      return;
    }
    // 4429 (too many sockets or commands) and 4503 (Redis down) ask for the full backoff.
    if (event.code === CLOSE_TOO_MANY || event.code === CLOSE_UNAVAILABLE) {
      this.#attempt = Math.max(this.#attempt, 3);
    }
    this.#retry(event.code);
  }

  #retry(code = null) {
    // Equal jitter: the delay doubles per failure, and half of it is random, so clients
    // dropped together by a server restart do not all come back in the same instant.
    const ceiling = Math.min(this.options.maxDelay, this.options.minDelay * 2 ** this.#attempt);
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.#attempt += 1;
    this.#setState("offline", { delay, code });
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  // Event stream (the fallback) -----------------------------------------------------------

  #socketOpened(socket) {
    this.#openedSocket = socket;
    this.#socketFailures = 0;
  }

  /** A socket that never opened, sseAfterFailures times in a row: switch to the stream. */
  #fallBackToStream(socket) {
    if (this.#openedSocket === socket || !this.options.streamUrl) return false;
    this.#socketFailures += 1;
    if (this.#socketFailures < this.options.sseAfterFailures) return false;
    this.transport = "sse";
    this.#attempt = 0;
    this.#connectStream();
    return true;
  }

  async #connectStream() {
    this.#generation += 1;
    const generation = this.#generation;
    this.#inFlight?.abort();
    // Aborted by stop(), a newer attempt or the watchdog; it ends the stream's fetch.
    const attempt = new AbortController();
    this.#inFlight = attempt;
    this.#setState("connecting");
    let response;
    try {
      const { url, headers } = await this.#streamRequest(attempt);
      if (generation !== this.#generation) return;
      this.#resume = this.lastId !== null ? "connect" : null;
      response = await fetch(url, {
        headers,
        credentials: this.options.credentials,
        signal: attempt.signal,
        cache: "no-store",
      });
    } catch (error) {
      if (generation !== this.#generation) return;
      if (error.status === 401 || error.status === 403) {
        this.#stopped = true;
        this.#setState("unauthorized", { status: error.status });
        return;
      }
      // The server is unreachable, not only its sockets: the socket gets its turn again.
      this.transport = "websocket";
      this.#socketFailures = 0;
      this.#retry();
      return;
    }
    if (generation !== this.#generation) return;
    if (!response.ok) {
      this.#streamRefused(response.status);
      return;
    }
    await this.#readStream(response, attempt, generation);
    if (generation !== this.#generation || this.#stopped) return;
    clearTimeout(this.#watchdog);
    this.#retry(null);
  }

  /** The stream's URL and headers: a fresh ticket, or the token as a Bearer header. */
  async #streamRequest(attempt) {
    const url = new URL(this.options.streamUrl, window.location.href);
    const headers = { Accept: "text/event-stream" };
    const { getToken, ticketUrl, ticketWithToken } = this.options;
    if (ticketUrl && (!getToken || ticketWithToken)) {
      const token = getToken ? await getToken() : null;
      url.searchParams.set("uuid", await this.#fetchTicket(token, attempt));
    } else if (getToken) {
      headers.Authorization = `Bearer ${await getToken()}`;
    }
    if (this.lastId !== null) headers["Last-Event-ID"] = this.lastId;
    return { url, headers };
  }

  /** A refused stream: a 401 is retried once at once (a spent ticket), 429 and 503 back off. */
  #streamRefused(status) {
    if (status === 401 && this.#attempt === 0) {
      this.#attempt = 1;
      this.#connectStream();
      return;
    }
    if (status === 429 || status === 503) this.#attempt = Math.max(this.#attempt, 3);
    this.#retry(status);
  }

  async #readStream(response, attempt, generation) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    this.#feedStreamWatchdog(attempt);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || generation !== this.#generation) return;
        this.#feedStreamWatchdog(attempt);
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (generation !== this.#generation) return;
          this.#receiveStreamMessage(block);
        }
      }
    } catch {
      // Aborted, or the connection was cut: the caller reconnects from lastId.
    }
  }

  /** One message: its data is a frame as the socket sends it (comments only prove life). */
  #receiveStreamMessage(block) {
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length) this.#receive(data.join("\n"));
  }

  /** Silence past two heartbeats: the stream is dropped and opened again from lastId. */
  #feedStreamWatchdog(attempt) {
    clearTimeout(this.#watchdog);
    this.#watchdog = setTimeout(() => {
      if (attempt !== this.#inFlight) return;
      this.#emit("stale", { seconds: this.options.heartbeatSeconds * 2 });
      attempt.abort();
    }, this.options.heartbeatSeconds * 2000);
  }

  // Frames --------------------------------------------------------------------------------

  #receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    const payload = frame.payload ?? {};
    // Positions are opaque text, compared only for equality; servers before "12:3" sent numbers.
    if (frame.id !== undefined) frame.id = position(frame.id);
    if (payload.last_id !== undefined) payload.last_id = position(payload.last_id);
    if (this.#settle(frame, payload)) return;
    if (frame.id !== undefined && frame.id !== null) {
      // A stream event seen before (live and then replayed) is dropped whole. The server sends
      // positions in order, so the newest seen is the one to resume from.
      if (!this.#remember(frame.id)) return;
      this.lastId = frame.id;
      frame.replayed = this.#resume !== null;
    }
    if (frame.type === "error") {
      this.#emit("error", payload, frame);
      if (this.#answersResume(payload)) {
        this.#endResume({ recovered: false, count: 0 });
        this.#emit("resync", payload, frame);
      }
      return;
    }
    if (payload.counts) this.#emit("counts", payload.counts, frame);

    switch (`${frame.type}/${frame.event}`) {
      case "connection/ready":
        this.#attempt = 0;
        this.#serverLastId = payload.last_id ?? null;
        // Without ?since= there is nothing to replay: start from the server's newest position.
        if (this.lastId === null) this.lastId = this.#serverLastId;
        this.#setState("online", payload);
        this.#emit("ready", payload, frame);
        return;
      case "connection/heartbeat":
        this.#serverLastId = payload.last_id ?? this.#serverLastId;
        this.#catchUp();
        return;
      case "connection/synced": {
        // A resume its error frame already ended is over (newer servers still close it with
        // `synced`): only the listeners hear of this one.
        const ending = this.#resume !== null;
        if (ending) this.#endResume(payload);
        this.#emit("synced", payload, frame);
        if (ending && !payload.recovered) this.#emit("resync", payload, frame);
        return;
      }
    }
    if (frame.type === "notifications") {
      this.#emit(frame.event, payload, frame);
      this.#emit("event", payload, frame);
    }
  }

  /** A heartbeat's position differs from ours: sync, unless that event was seen already. */
  #catchUp() {
    const newest = this.#serverLastId;
    if (this.#resume !== null || newest === null || newest === this.lastId) return;
    if (this.#seen.has(newest)) {
      this.lastId = newest;
      return;
    }
    this.sync();
  }

  /** An error frame answering the resume: the position was refused, so nothing was replayed. */
  #answersResume(payload) {
    if (this.#resume === "sync") return payload.request_id === SYNC_REQUEST;
    if (this.#resume === "connect") {
      return payload.request_id == null && !CLOSING_ERRORS.has(payload.code);
    }
    return false;
  }

  /**
   * The replay is over. When it sent nothing (none missed, or a lost or refused position, which
   * the page reloads over REST) the client carries on from the server's newest position.
   */
  #endResume({ recovered, count }) {
    this.#resume = null;
    if ((!recovered || !count) && this.#serverLastId !== null) this.lastId = this.#serverLastId;
  }

  /** True the first time a position is seen. */
  #remember(id) {
    if (this.#seen.has(id)) return false;
    this.#seen.add(id);
    if (this.#seen.size > SEEN_LIMIT) this.#seen.delete(this.#seen.values().next().value);
    return true;
  }

  /** Resolve or reject the command a reply answers; true when it answers another tab's. */
  #settle(frame, payload) {
    const requestId = payload.request_id ?? frame.request_id;
    const request = requestId == null ? null : this.#pending.get(String(requestId));
    if (!request) {
      const foreign = requestId != null && this.#share?.leading && TabShare.isForeign(requestId);
      if (!foreign) return false;
      this.#share.post({ kind: "reply", frame });
      return true;
    }
    this.#pending.delete(String(requestId));
    clearTimeout(request.timer);
    if (frame.type === "error") {
      const error = new Error(payload.message || payload.code);
      error.code = payload.code;
      request.reject(error);
    } else {
      request.resolve(frame);
    }
    return false;
  }

  #failPending(reason) {
    for (const request of this.#pending.values()) {
      clearTimeout(request.timer);
      request.reject(new Error(reason));
    }
    this.#pending.clear();
  }

  #emit(event, ...args) {
    this.#share?.heard(event, args);
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (error) {
        // One failing listener must not stop the others or the client.
        console.error(error);
      }
    }
  }

  #setState(state, detail = {}) {
    this.state = state;
    this.#emit("state", state, detail);
  }

  // Tabs sharing one socket (tabs.js) -----------------------------------------------------

  #startShared() {
    const name = `notifications:${new URL(this.options.url, window.location.href).href}`;
    this.#share = new TabShare(name, {
      lead: () => this.#lead(),
      message: (message) => this.#fromTab(message),
      position: () => this.lastId,
    });
    this.#setState("connecting");
    this.#share.start();
  }

  /** This client took the lock: it connects from the last position the tabs heard. */
  #lead() {
    // Commands sent through the previous leader died with it.
    this.#failPending("the leading tab closed");
    this.#attempt = 0;
    this.#connect();
  }

  #fromTab(message) {
    const share = this.#share;
    if (share === null) return;
    if (share.leading) {
      if (message.kind === "hello") share.welcome(message.from);
      else if (message.kind === "command") this.#sendForTab(message.text);
      else if (message.kind === "wake") this.reconnectNow();
      else if (message.kind === "sync") this.sync();
      return;
    }
    if (message.kind === "leader") this.#failPending("the leading tab closed");
    else if (message.kind === "emits" && (!message.to || message.to === share.id)) {
      this.#follow(message);
    } else if (message.kind === "reply") {
      const { frame } = message;
      const payload = frame.payload ?? {};
      if (!this.#pending.has(String(payload.request_id ?? frame.request_id))) return;
      this.#settle(frame, payload);
      if (frame.type === "error") this.#emit("error", payload, frame);
    }
  }

  /** Hear what the leader's listeners heard; a frame heard before (by position) is dropped. */
  #follow({ emits, lastId }) {
    const id = emits.map(([, args]) => args[1]?.id).find((value) => value != null);
    if (id != null && !this.#remember(id)) return;
    this.lastId = lastId;
    for (const [event, args] of emits) {
      if (event === "state") this.state = args[0];
      this.#emit(event, ...args);
    }
  }

  /** A follower's command: on the socket, or answered at once when there is none. */
  #sendForTab(text) {
    const socket = this.socket;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(text);
      return;
    }
    let requestId = null;
    try {
      requestId = JSON.parse(text).request_id ?? null;
    } catch {
      return;
    }
    const payload = {
      code: "not_connected",
      message: "Not connected; try again.",
      request_id: requestId,
    };
    this.#share.post({ kind: "reply", frame: { type: "error", event: "error", payload } });
  }
}
