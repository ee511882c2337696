/**
 * TabShare: the tabs of one origin share one notification socket.
 *
 * Each client asks for a Web Lock named after its socket URL and holds it for the life of its
 * tab. The holder leads: its client opens the socket and posts what its listeners hear, one
 * message per frame, on a BroadcastChannel of the same name. The other clients follow: they
 * open nothing, replay those messages to their own listeners, and send their commands through
 * the leader, whose replies come back by request_id. When the leader's tab closes (or its
 * client stops) the browser hands the lock to the next client waiting, which connects from the
 * last position the tabs heard; every client drops an event it heard before by its position.
 *
 * Used by NotificationClient (option `shareConnection`); not meant to be used on its own.
 */

// Messages on the channel, by `kind`:
//   hello {from}            a follower starting: the leader answers with `emits` to it
//   leader {from}           a client took the lock: commands sent to the old one are lost
//   emits {emits, lastId, to?}  what the leader's listeners heard for one frame or change
//   reply {frame}           the answer to a follower's command
//   command {text}          a follower's command, sent on as it is
//   wake, sync              a follower's reconnectNow() and sync()

let clients = 0;

export class TabShare {
  /** True where the browser has both Web Locks and BroadcastChannel. */
  static supported() {
    return (
      typeof BroadcastChannel === "function" && typeof navigator?.locks?.request === "function"
    );
  }

  /**
   * `name` is the lock's and the channel's; `hooks` are the client's: lead() when this client
   * takes the lock, message(data) for each message of another client, position() its lastId.
   */
  constructor(name, hooks) {
    clients += 1;
    // Unique per client: a follower's request ids start with it, so replies find their tab.
    this.id = `${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}.${clients}`;
    this.name = name;
    this.hooks = hooks;
    this.leading = false;
    this.channel = null;
    this.abort = null;
    this.release = null;
    // The leader's latest counts, state and ready payload: what a new follower starts from.
    this.latest = { counts: null, state: null, ready: null };
    this.batch = null;
  }

  get following() {
    return this.channel !== null && !this.leading;
  }

  start() {
    this.channel = new BroadcastChannel(this.name);
    this.channel.onmessage = (event) => this.hooks.message(event.data);
    this.abort = new AbortController();
    navigator.locks
      .request(this.name, { signal: this.abort.signal }, () => {
        if (this.channel === null) return undefined;
        this.leading = true;
        this.post({ kind: "leader", from: this.id });
        this.hooks.lead();
        // Held until stop(), or until the tab goes away and the browser releases it.
        return new Promise((resolve) => {
          this.release = resolve;
        });
      })
      .catch(() => {
        // stop() withdrew the request before the lock came.
      });
    this.post({ kind: "hello", from: this.id });
  }

  stop() {
    this.abort?.abort();
    this.release?.();
    this.channel?.close();
    this.channel = null;
    this.leading = false;
    this.release = null;
    this.abort = null;
  }

  post(message) {
    this.channel?.postMessage(message);
  }

  /** Run `receive` (one frame); whatever the listeners heard meanwhile goes out as one message. */
  frame(receive) {
    if (!this.leading) {
      receive();
      return;
    }
    this.batch = [];
    try {
      receive();
    } finally {
      const emits = this.batch;
      this.batch = null;
      if (emits.length) this.post({ kind: "emits", emits, lastId: this.hooks.position() });
    }
  }

  /** The leader's listeners heard `event`: the followers' listeners hear it too. */
  heard(event, args) {
    if (!this.leading) return;
    if (event === "counts") this.latest.counts = args;
    else if (event === "state") this.latest.state = args;
    else if (event === "ready") this.latest.ready = args;
    // An error answering one of the leader's own commands is the leader's alone.
    else if (event === "error" && args[0]?.request_id != null) return;
    if (this.batch) this.batch.push([event, args]);
    else this.post({ kind: "emits", emits: [[event, args]], lastId: this.hooks.position() });
  }

  /** Answer a follower's hello with where the leader stands. */
  welcome(to) {
    const { counts, state, ready } = this.latest;
    const emits = [];
    if (counts) emits.push(["counts", counts]);
    if (state) emits.push(["state", state]);
    if (ready && state?.[0] === "online") {
      const [payload, frame] = ready;
      const now = {
        ...payload,
        counts: counts?.[0] ?? payload.counts,
        last_id: this.hooks.position(),
      };
      emits.push(["ready", [now, frame]]);
    }
    this.post({ kind: "emits", emits, lastId: this.hooks.position(), to });
  }

  /** A follower's request id: its client's id first, so the leader knows it is not its own. */
  requestId(count) {
    return `${this.id}:${count}`;
  }

  static isForeign(requestId) {
    return String(requestId).includes(":");
  }
}
