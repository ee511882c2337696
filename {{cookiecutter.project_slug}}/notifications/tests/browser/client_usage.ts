/**
 * A front end using every export of notifications.d.ts, type-checked with `tsc --strict` by
 * test_client_types.py: a declaration missing or wrong fails to compile here.
 */
import {
  NotificationClient,
  type ActionResult,
  type Actor,
  type Broadcast,
  type ClientEvents,
  type ClientOptions,
  type ConnectionState,
  type Counts,
  type ErrorPayload,
  type EventPayload,
  type Frame,
  type Level,
  type ListParams,
  type Listener,
  type Notification,
  type Position,
  type ReadyPayload,
  type ReplyPayload,
  type Role,
  type StateDetail,
  type StoredActionResult,
  type StreamEvent,
  type SyncedPayload,
} from "./notifications.js";

type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const exactly = <T extends true>(): T | undefined => undefined;

// Positions are opaque strings everywhere; ids of notifications stay numbers.
exactly<Equals<Position, string>>();
exactly<Equals<NotificationClient["lastId"], string | null>>();
exactly<Equals<Frame["id"], string | undefined>>();
exactly<Equals<ReadyPayload["last_id"], string>>();
exactly<Equals<StateDetail["last_id"], string | undefined>>();
exactly<Equals<ClientOptions["lastId"], string | null | undefined>>();
exactly<Equals<Notification["id"], number>>();
exactly<Equals<NotificationClient["options"], Required<ClientOptions>>>();
exactly<Equals<NotificationClient["socket"], WebSocket | null>>();
exactly<Equals<NotificationClient["transport"], "websocket" | "sse">>();
type Events = "state" | "counts" | "ready" | "synced" | "resync" | "stale" | "error" | "event";
exactly<Equals<keyof ClientEvents, Events>>();

// Every option, so a new one has to be declared (Required) and typed here.
const options: Required<ClientOptions> = {
  url: "/ws/notifications/",
  ticketUrl: "/api/notifications/ws_auth/",
  credentials: "include",
  getToken: async () => "access-token",
  ticketWithToken: true,
  lastId: "12:3",
  heartbeatSeconds: 25,
  minDelay: 500,
  maxDelay: 30_000,
  requestTimeout: 10_000,
  ticketTimeout: 5_000,
  shareConnection: true,
  streamUrl: "/api/notifications/stream/",
  sseAfterFailures: 2,
};
const client = new NotificationClient(options);
const tokenClient = new NotificationClient({ ticketUrl: null, getToken: () => "jwt", lastId: null });
new NotificationClient();

const state: ConnectionState = client.state;
const position: Position | null = client.lastId;
const socket: WebSocket | null = client.socket;
const heartbeat: number = client.options.heartbeatSeconds;
const timeout: number = client.options.ticketTimeout;
const alone = new NotificationClient({ shareConnection: false });
const role: Role = alone.role;
exactly<Equals<Role, "leader" | "follower" | "alone">>();
const token: (() => string | Promise<string>) | null = tokenClient.options.getToken;

function describe(notification: Notification): string {
  const level: Level = notification.level;
  const actors: Actor[] = notification.actors;
  const actor: Actor | null = notification.actor;
  const parts: unknown[] = [
    notification.id,
    notification.category,
    level,
    notification.level_label,
    notification.title,
    notification.message,
    notification.data,
    notification.url,
    actor?.id,
    actor?.username,
    actors.length,
    notification.target?.type,
    notification.target?.id,
    notification.created_at,
    notification.seen_at,
    notification.is_seen,
    notification.read_at,
    notification.is_read,
    notification.archived_at,
    notification.snoozed_until,
    notification.expires_at,
    notification.group_key,
    notification.group_count,
  ];
  return parts.join(" ");
}

function announce(broadcast: Broadcast): string {
  const parts: unknown[] = [
    broadcast.id,
    broadcast.category,
    broadcast.level,
    broadcast.level_label,
    broadcast.title,
    broadcast.message,
    broadcast.data,
    broadcast.created_at,
    broadcast.expires_at,
    broadcast.read_at,
    broadcast.is_read,
    broadcast.archived_at,
  ];
  return parts.join(" ");
}

function badge(counts: Counts): number {
  return counts.unread + counts.unseen + (counts.by_category.general?.unread ?? 0);
}

const apply = (payload: EventPayload, frame: Frame<EventPayload>): void => {
  const at: Position | undefined = frame.id;
  const replayed: boolean | undefined = frame.replayed;
  const kind: "connection" | "notifications" | "reply" | "error" = frame.type;
  if (payload.notification) describe(payload.notification);
  if (payload.broadcast) announce(payload.broadcast);
  const ids: number[] = payload.ids ?? [];
  const replaces: number | undefined = payload.replaces;
  const upTo: number | undefined = payload.up_to_id;
  const all: boolean | undefined = payload.all;
  const category: string | null | undefined = payload.category;
  const readOnly: boolean | undefined = payload.read_only;
  const reason: string | undefined = payload.reason;
  const session: string | null | undefined = payload.session;
  console.log(at, replayed, kind, frame.event, ids, replaces, upTo, all, category, readOnly);
  console.log(reason, session, badge(payload.counts));
};

const streamEvents: StreamEvent[] = [
  "created",
  "updated",
  "read",
  "unread",
  "seen",
  "archived",
  "unarchived",
  "snoozed",
  "unsnoozed",
  "deleted",
  "broadcast",
  "broadcast_read",
  "broadcast_archived",
  "broadcast_unarchived",
  "revoked",
];
const unsubscribe: Array<() => void> = streamEvents.map((name) => client.on(name, apply));

const onCreated: Listener<"created"> = (payload, frame) => apply(payload, frame);
client.on("created", onCreated);
client.off("created", onCreated);

const listeners: { [K in keyof ClientEvents]: ClientEvents[K] } = {
  state: (next: ConnectionState, detail: StateDetail) => {
    const delay: number | undefined = detail.delay;
    const code: number | null | undefined = detail.code;
    const status: number | undefined = detail.status;
    const user: number | undefined = detail.user_id;
    const counts: Counts | undefined = detail.counts;
    const last: Position | undefined = detail.last_id;
    console.log(next, delay, code, status, user, counts, last);
  },
  counts: (counts: Counts, frame: Frame) => console.log(badge(counts), frame.event),
  ready: (payload: ReadyPayload, frame: Frame<ReadyPayload>) => {
    const newest: Position = payload.last_id;
    console.log(newest, payload.user_id, badge(payload.counts), frame.payload.last_id);
  },
  synced: (payload: SyncedPayload) => {
    const asked: string | undefined = payload.request_id;
    console.log(payload.recovered, payload.count, asked);
  },
  resync: (payload: SyncedPayload | ErrorPayload) => {
    // A lost position ends with `synced`, a refused one with an error frame.
    if ("code" in payload) console.log(payload.code, payload.message);
    else console.log(payload.recovered, payload.count);
  },
  stale: ({ seconds }: { seconds: number }) => console.log(seconds),
  error: (payload: ErrorPayload, frame: Frame<ErrorPayload>) => {
    const request: string | null = payload.request_id;
    console.log(payload.code, payload.message, request, frame.payload.code);
  },
  event: apply,
};
client.on("state", listeners.state);
client.on("counts", listeners.counts);
client.on("ready", listeners.ready);
client.on("synced", listeners.synced);
client.on("resync", listeners.resync);
client.on("stale", listeners.stale);
client.on("error", listeners.error);
client.on("event", listeners.event);

client.start();
client.reconnectNow();
client.sync();

async function commands(): Promise<void> {
  const read = await client.markRead(1);
  const readId: number = read.payload.id;
  const reply: ReplyPayload = read.payload;
  const marked: number = (await client.markAllRead()).payload.marked;
  await client.markAllRead("general");
  await client.markAllRead(null);
  const seen: number = (await client.markSeen()).payload.marked;
  await client.markSeen(42);
  await client.markSeen(null);
  const archived = await client.archive(1);
  const restored = await client.unarchive(1);
  const filed = await client.archiveBroadcast(1);
  const back = await client.unarchiveBroadcast(1);
  const broadcastUnread: number = filed.payload.broadcast_unread_count + back.payload.id;
  const broadcastsMarked: number = (await client.markAllRead()).payload.broadcasts_marked;
  const params: ListParams = { category: "general", unread: true, archived: false, before: 9 };
  params.limit = 20;
  const page = await client.list(params);
  await client.list();
  const first: Notification | undefined = page.payload.notifications[0];
  const more: boolean = page.payload.has_more;
  const pong: string | null = (await client.ping()).payload.request_id;
  const raw = await client.request("mark_read", { id: 1, category: "general" });
  await client.request("ping");
  console.log(readId, reply.request_id, marked, seen, archived.payload.id, restored.payload.counts);
  console.log(first && describe(first), more, pong, raw.payload.request_id);
  console.log(broadcastUnread, broadcastsMarked);
  await snoozing();
}

async function snoozing(): Promise<void> {
  const snoozed = await client.snooze(1, new Date(Date.now() + 3_600_000));
  await client.snooze(2, "2030-01-01T09:00:00+01:00");
  const back = await client.unsnooze(1);
  const page = await client.list({ snoozed: true });
  const until: string | null | undefined = page.payload.notifications[0]?.snoozed_until;
  const onSnooze: Listener<"snoozed"> = (payload) => {
    const when: string | undefined = payload.until;
    console.log(when);
  };
  const onWake: Listener<"unsnoozed"> = (payload) => {
    const woke: boolean | undefined = payload.woke;
    console.log(woke, payload.notification?.id);
  };
  client.on("snoozed", onSnooze);
  client.on("unsnoozed", onWake);
  console.log(snoozed.payload.counts.unread, back.payload.id, until);
  const done = await client.runAction(1, 0);
  const ran: boolean = done.payload.ran;
  const button = page.payload.notifications[0]?.actions[0];
  const target: string | undefined = button?.url ?? button?.action;
  console.log(ran, done.payload.result, target, button?.style === "primary");
  const reply: ActionResult = done.payload;
  const stored: StoredActionResult | undefined =
    page.payload.notifications[0]?.action_results[String(reply.index)];
  const onDone: Listener<"action_done"> = (payload) => {
    console.log(payload.ids, payload.index, payload.result?.message, payload.done_at);
  };
  client.on("action_done", onDone);
  console.log(stored?.done_at);
}

// Mistakes the declarations must refuse.
// @ts-expect-error snooze needs a time
client.snooze(1);
// @ts-expect-error positions are strings, not numbers
const asNumber: number = client.lastId ?? 0;
// @ts-expect-error a position is given as a string
new NotificationClient({ lastId: 12 });
// @ts-expect-error a notification id is a number
client.markRead("1");
// @ts-expect-error not an event of the client
client.on("nonsense", () => undefined);
// @ts-expect-error not an option
new NotificationClient({ retries: 3 });

commands().finally(() => {
  for (const off of unsubscribe) off();
  client.stop();
});
console.log(state, position, socket, heartbeat, timeout, token, asNumber, role);
