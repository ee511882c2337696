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
  expires_at: string | null;
  group_key: string;
  group_count: number;
}

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
}

export interface Counts {
  unread: number;
  unseen: number;
  by_category: Record<string, { unread: number; unseen: number }>;
}

export interface Frame<P = Record<string, unknown>> {
  type: "connection" | "notifications" | "reply" | "error";
  event: string;
  /** The stream position of an event frame; absent on connection, reply and error frames. */
  id?: number;
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
  reason?: string;
}

export type ConnectionState = "connecting" | "online" | "offline" | "unauthorized" | "closed";

export interface StateDetail {
  /** offline: milliseconds until the next attempt. */
  delay?: number;
  /** offline: the close code that ended the last socket (4401, 4429, 4503, ...). */
  code?: number | null;
  /** unauthorized: the HTTP status of the ticket request. */
  status?: number;
  user_id?: number;
  counts?: Counts;
  last_id?: number;
}

export type StreamEvent =
  | "created"
  | "updated"
  | "read"
  | "unread"
  | "seen"
  | "archived"
  | "unarchived"
  | "deleted"
  | "broadcast"
  | "broadcast_read"
  | "revoked";

export interface ClientEvents {
  state: (state: ConnectionState, detail: StateDetail) => void;
  counts: (counts: Counts, frame: Frame) => void;
  ready: (payload: { user_id: number; counts: Counts; last_id: number }, frame: Frame) => void;
  synced: (payload: { recovered: boolean; count: number }, frame: Frame) => void;
  /** The server could not replay everything: reload the list over REST. */
  resync: (payload: { recovered: false; count: number }, frame: Frame) => void;
  /** No frame for twice the heartbeat: the socket is replaced. */
  stale: (detail: { seconds: number }) => void;
  error: (payload: { code: string; message: string; request_id: unknown }, frame: Frame) => void;
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
  lastId?: number | null;
  /** The server's NOTIFICATIONS_HEARTBEAT_SECONDS (25); silence for twice this reconnects. */
  heartbeatSeconds?: number;
  minDelay?: number;
  maxDelay?: number;
  requestTimeout?: number;
}

export class NotificationClient {
  constructor(options?: ClientOptions);
  readonly state: ConnectionState;
  /** The last stream position seen: reconnects ask from here. */
  readonly lastId: number | null;
  /** Subscribe; returns the function that unsubscribes. */
  on<K extends StreamEvent | keyof ClientEvents>(event: K, listener: Listener<K>): () => void;
  off<K extends StreamEvent | keyof ClientEvents>(event: K, listener: Listener<K>): void;
  start(): void;
  stop(): void;
  /** Send a command; resolves with the reply frame, rejects with the error frame's message. */
  request(action: string, params?: Record<string, unknown>): Promise<Frame>;
  markRead(id: number): Promise<Frame>;
  markAllRead(category?: string | null): Promise<Frame>;
  markSeen(upTo?: number | null): Promise<Frame>;
  archive(id: number): Promise<Frame>;
  list(params?: {
    category?: string;
    unread?: boolean;
    archived?: boolean;
    before?: number;
    limit?: number;
  }): Promise<Frame<{ notifications: Notification[]; has_more: boolean }>>;
  ping(): Promise<Frame>;
}
