/** Types of notifications.js: the NotificationClient and the frames it hands to listeners. */

export type Level = 1 | 2 | 3;

export interface Actor {
  id: number;
  username: string;
}

export interface Notification {
  id: number;
  category: string;
  level: Level;
  level_label: string;
  title: string;
  message: string;
  data: Record<string, unknown>;
  /** The target's get_absolute_url(), else data.url; null when the item links nowhere. */
  url: string | null;
  actor: Actor | null;
  /** The latest actors of a group, newest first (the actor alone when not grouped). */
  actors: Actor[];
  target: { type: string; id: string } | null;
  created_at: string;
  seen_at: string | null;
  is_seen: boolean;
  read_at: string | null;
  is_read: boolean;
  archived_at: string | null;
  /** Out of the inbox until then; null when not snoozed. */
  snoozed_until: string | null;
  expires_at: string | null;
  group_key: string;
  group_count: number;
  /** Up to two buttons: a link (`url`) or a server action run with runAction(). */
  actions: NotificationAction[];
  /** The results of server actions already run, by index ("0", "1"). */
  action_results: Record<string, StoredActionResult>;
}

/** What a server action's handler returned, stored on the notification when it ran. */
export interface StoredActionResult {
  /** The handler's JSON object; the demo UI shows its `message` in place of the buttons. */
  result: Record<string, unknown>;
  done_at: string;
}

/** The reply of runAction() and of POST notifications/user/actions/<id>/<index>/. */
export interface ActionResult extends StoredActionResult {
  index: number;
  /** False when an earlier run (another click, tab or device) did it: the handler ran once. */
  ran: boolean;
}

export type NotificationAction = {
  label: string;
  style: "primary" | "secondary";
} & ({ url: string; action?: never } | { action: string; url?: never });

export interface Broadcast {
  id: number;
  category: string;
  level: Level;
  level_label: string;
  title: string;
  message: string;
  data: Record<string, unknown>;
  created_at: string;
  expires_at: string | null;
  read_at: string | null;
  is_read: boolean;
  /** This user archived it: it is listed under `archived=true`, not in the inbox. */
  archived_at: string | null;
}

export interface Counts {
  unread: number;
  unseen: number;
  by_category: Record<string, { unread: number; unseen: number }>;
}

/**
 * A stream position, such as "12:3": opaque. Keep the last one seen, send it back as `since`,
 * compare positions only for equality ("0" is the start of the stream).
 */
export type Position = string;

export interface Frame<P = Record<string, unknown>> {
  type: "connection" | "notifications" | "reply" | "error";
  event: string;
  /** The stream position of an event frame; absent on connection, reply and error frames. */
  id?: Position;
  /** Set on event frames: true when the event was replayed after a reconnect or a sync. */
  replayed?: boolean;
  payload: P;
}

export interface EventPayload {
  counts: Counts;
  notification?: Notification;
  broadcast?: Broadcast;
  /** `updated`: the id of the group row the new one replaces. */
  replaces?: number;
  ids?: number[];
  all?: boolean;
  category?: string | null;
  up_to_id?: number;
  read_only?: boolean;
  /** `action_done`: the action's index and what its handler returned. */
  index?: number;
  result?: Record<string, unknown>;
  done_at?: string;
  /** `snoozed`: when the notification comes back. */
  until?: string;
  /** `unsnoozed`: true when its time came (it is back unread), false when the user unsnoozed. */
  woke?: boolean;
  /** `revoked`: logged_out, password_changed or deactivated. */
  reason?: string;
  /** `revoked`: the tag of the session that ended; null when every session of the user did. */
  session?: string | null;
}

export interface ReadyPayload {
  user_id: number;
  counts: Counts;
  /** The newest position of the user's stream. */
  last_id: Position;
}

export interface SyncedPayload {
  recovered: boolean;
  count: number;
  /** "sync" when the `sync` command asked for the replay; absent after ?since=. */
  request_id?: string;
}

export interface ErrorPayload {
  /** Also "not_connected": a follower's command reached a leader without an open socket. */
  code: string;
  message: string;
  /** The request_id of the command refused; null when no command caused it. */
  request_id: string | null;
}

/** Every reply carries the request_id of its command. */
export interface ReplyPayload {
  request_id: string | null;
}

export type ConnectionState = "connecting" | "online" | "offline" | "unauthorized" | "closed";

export interface StateDetail {
  /** offline: milliseconds until the next attempt. */
  delay?: number;
  /** offline: the close code that ended the last socket (4401, 4429, 4503, ...). */
  code?: number | null;
  /** unauthorized: the HTTP status of the ticket request. */
  status?: number;
  /** online: the ready frame's payload. */
  user_id?: number;
  counts?: Counts;
  last_id?: Position;
}

export type StreamEvent =
  | "created"
  | "updated"
  | "read"
  | "unread"
  | "seen"
  | "archived"
  | "unarchived"
  | "snoozed"
  | "unsnoozed"
  | "action_done"
  | "deleted"
  | "broadcast"
  | "broadcast_read"
  | "broadcast_deleted"
  | "broadcast_archived"
  | "broadcast_unarchived"
  | "revoked";

export interface ClientEvents {
  state: (state: ConnectionState, detail: StateDetail) => void;
  counts: (counts: Counts, frame: Frame) => void;
  ready: (payload: ReadyPayload, frame: Frame<ReadyPayload>) => void;
  synced: (payload: SyncedPayload, frame: Frame<SyncedPayload>) => void;
  /**
   * The server replayed nothing: the position was lost (`synced` with recovered false) or
   * refused (an error frame). Reload the list over REST; the client carries on from the newest.
   */
  resync: (
    payload: SyncedPayload | ErrorPayload,
    frame: Frame<SyncedPayload> | Frame<ErrorPayload>,
  ) => void;
  /** No frame for twice the heartbeat: the socket is replaced. */
  stale: (detail: { seconds: number }) => void;
  error: (payload: ErrorPayload, frame: Frame<ErrorPayload>) => void;
  /** Every stream event, after its own event. */
  event: (payload: EventPayload, frame: Frame<EventPayload>) => void;
}

export type Listener<K extends string> = K extends keyof ClientEvents
  ? ClientEvents[K]
  : (payload: EventPayload, frame: Frame<EventPayload>) => void;

export interface ClientOptions {
  /** The socket URL, absolute or relative to the page: "/ws/notifications/". */
  url?: string;
  /** GET returning {"uuid"}; null to rely on the session cookie of a same-origin page. */
  ticketUrl?: string | null;
  /** fetch credentials of the ticket request: "include" from another origin. */
  credentials?: RequestCredentials;
  /** A JWT access token, or a promise of one. */
  getToken?: (() => string | Promise<string>) | null;
  /** With getToken and ticketUrl: get a ticket with the token (default true). */
  ticketWithToken?: boolean;
  /** The stream position the page is up to date with; null starts from the newest. */
  lastId?: Position | null;
  /** The server's NOTIFICATIONS_HEARTBEAT_SECONDS (25); silence for twice this reconnects. */
  heartbeatSeconds?: number;
  /** Milliseconds: the first retry delay (500), doubled per failure up to maxDelay (30000). */
  minDelay?: number;
  maxDelay?: number;
  /** Milliseconds a command waits for its reply (10000). */
  requestTimeout?: number;
  /** Milliseconds a ticket request may take (5000); then the attempt fails and is retried. */
  ticketTimeout?: number;
  /**
   * true (default): the tabs of this origin with the same `url` share one socket. One client
   * leads (a Web Lock held for its tab's life) and connects; the others hear its events over a
   * BroadcastChannel and send their commands through it. Without Web Locks or BroadcastChannel,
   * or with false, the client opens a socket of its own.
   */
  shareConnection?: boolean;
  /** The event stream (Server-Sent Events) to fall back to; null never falls back. */
  streamUrl?: string | null;
  /** Sockets in a row that close without opening before the fallback (2). */
  sseAfterFailures?: number;
}

/** leader: this client's socket serves the tabs; follower: another tab's does; alone: unshared. */
export type Role = "leader" | "follower" | "alone";

export interface ListParams {
  category?: string;
  unread?: boolean;
  archived?: boolean;
  /** The snoozed notifications instead of the inbox. */
  snoozed?: boolean;
  /** The last notification id of the previous page. */
  before?: number;
  limit?: number;
}

export class NotificationClient {
  constructor(options?: ClientOptions);
  /** The options given, over the defaults. */
  readonly options: Required<ClientOptions>;
  readonly state: ConnectionState;
  /** The last stream position seen: reconnects ask from here. */
  readonly lastId: Position | null;
  /** The open or opening socket; null between attempts, in a follower and on the event stream. */
  readonly socket: WebSocket | null;
  readonly role: Role;
  /** "sse" once the socket could not open and the client reads the event stream instead;
   * commands (`request()` and the methods built on it) then reject: use REST. */
  readonly transport: "websocket" | "sse";
  /** Subscribe; returns the function that unsubscribes. */
  on<K extends StreamEvent | keyof ClientEvents>(event: K, listener: Listener<K>): () => void;
  off<K extends StreamEvent | keyof ClientEvents>(event: K, listener: Listener<K>): void;
  start(): void;
  stop(): void;
  /** Reconnect at once when waiting to retry (the page is back online or visible). */
  reconnectNow(): void;
  /** Ask for every event after lastId; the client does it when a heartbeat shows it behind. */
  sync(): void;
  /** Send a command; resolves with the reply frame, rejects with the error frame's message. */
  request(
    action: string,
    params?: Record<string, unknown>,
  ): Promise<Frame<ReplyPayload & Record<string, unknown>>>;
  markRead(id: number): Promise<Frame<ReplyPayload & { id: number; counts: Counts }>>;
  /** Marks read every notification and every broadcast, or those of one category. */
  markAllRead(
    category?: string | null,
  ): Promise<Frame<ReplyPayload & { marked: number; broadcasts_marked: number; counts: Counts }>>;
  /** Marks seen every inbox notification up to the id given, or all of them. */
  markSeen(upTo?: number | null): Promise<Frame<ReplyPayload & { marked: number; counts: Counts }>>;
  archive(id: number): Promise<Frame<ReplyPayload & { id: number; counts: Counts }>>;
  /** Back to the inbox. */
  unarchive(id: number): Promise<Frame<ReplyPayload & { id: number; counts: Counts }>>;
  /** Out of the inbox and the counts until `until`: a Date, or ISO 8601 with its offset. */
  snooze(
    id: number,
    until: Date | string,
  ): Promise<Frame<ReplyPayload & { id: number; counts: Counts }>>;
  /** Run a server action once; `ran` is false when an earlier run did it. */
  runAction(
    id: number,
    index: number,
  ): Promise<Frame<ReplyPayload & ActionResult>>;
  /** Back to the inbox now, read or unread as it was. */
  unsnooze(id: number): Promise<Frame<ReplyPayload & { id: number; counts: Counts }>>;
  /** Moves a broadcast to this user's archive, and marks it read. */
  archiveBroadcast(
    id: number,
  ): Promise<Frame<ReplyPayload & { id: number; broadcast_unread_count: number }>>;
  unarchiveBroadcast(
    id: number,
  ): Promise<Frame<ReplyPayload & { id: number; broadcast_unread_count: number }>>;
  list(
    params?: ListParams,
  ): Promise<Frame<ReplyPayload & { notifications: Notification[]; has_more: boolean }>>;
  ping(): Promise<Frame<ReplyPayload>>;
}
