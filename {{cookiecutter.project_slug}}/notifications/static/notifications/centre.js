/**
 * The notification centre page: the lists over REST, live updates over the WebSocket.
 *
 * Every piece of notification text goes through textContent, never innerHTML: a message
 * holding markup shows as text.
 */
import { NotificationClient } from "./notifications.js";
import { api, withQuery } from "./rest.js";
import { heading, initial, keepTimesFresh, levelBadge, safeUrl, setTime } from "./render.js";
import { Toasts } from "./toasts.js";

const root = document.querySelector("[data-notification-centre]");
const urls = { ...root.dataset };
const list = document.getElementById("notification-list");
const panel = document.getElementById("notification-panel");
const itemTemplate = document.getElementById("notification-template");
const badge = document.getElementById("unread-badge");
const badgeCount = document.getElementById("unread-count");
const status = document.getElementById("connection-status");
const empty = document.getElementById("empty");
const loadMoreButton = document.getElementById("load-more");
const markAllButton = document.getElementById("mark-all");
const archiveAllButton = document.getElementById("archive-all");
const categoryFilter = document.getElementById("category-filter");
const tabs = [...document.querySelectorAll('[role="tab"]')];
const toasts = new Toasts(document.getElementById("toasts"), {
  live: document.getElementById("toasts-live"),
  onOpen: (id) => findItem(`n${id}`)?.querySelector(".notification__link")?.focus(),
});
const baseTitle = document.title;

const STATUS_TEXT = {
  connecting: () => "Connecting…",
  online: () => "Live",
  offline: (detail) => `Offline, retrying in ${Math.ceil((detail.delay ?? 0) / 1000)} s`,
  unauthorized: () => "Signed out: reload to sign in",
  closed: () => "Disconnected",
};
const EMPTY_TEXT = {
  inbox: [
    "You are all caught up",
    "New notifications appear here as they arrive. Archived ones are under Archived.",
  ],
  unread: ["Nothing unread", "Everything here is read; read items stay in the Inbox."],
  archived: [
    "The archive is empty",
    "Archive a notification from the Inbox to keep it out of the way; it waits here.",
  ],
};

const view = { tab: "inbox", category: "" };
const labels = new Map();
let nextPage = null;
let counts = { unread: 0, unseen: 0, by_category: {} };
let broadcastUnread = 0;
let newestShown = 0;
// Broadcasts fetched but older than the notifications shown so far.
let pendingBroadcasts = [];
let seenTimer = null;

// REST ------------------------------------------------------------------------------------

function itemUrl(id, action = "") {
  return `${urls.listUrl}${id}/${action ? `${action}/` : ""}`;
}

function listQuery() {
  return {
    category: view.category,
    unread: view.tab === "unread" ? "true" : "",
    archived: view.tab === "archived" ? "true" : "",
  };
}

async function reload() {
  const requested = { ...view };
  const [categories, page, broadcasts] = await Promise.all([
    api(urls.categoriesUrl),
    api(withQuery(urls.listUrl, listQuery())),
    api(withQuery(urls.broadcastUrl, listQuery())),
  ]);
  // The user switched tabs while this was loading: the newer load wins.
  if (requested.tab !== view.tab || requested.category !== view.category) return;
  // Labels first: rows name their category by its label.
  showCategories(categories);
  list.replaceChildren();
  pendingBroadcasts = broadcasts.results;
  showPage(page);
  await refreshCounts();
  markSeenSoon();
}

async function loadMore() {
  if (!nextPage) return;
  loadMoreButton.disabled = true;
  try {
    showPage(await api(nextPage));
  } finally {
    loadMoreButton.disabled = false;
  }
}

function showPage(page) {
  for (const notification of page.results) upsert(notification, { fromPage: true });
  nextPage = page.next;
  loadMoreButton.hidden = !nextPage;
  // Broadcasts are listed once the notifications around their time are.
  const oldest = page.results.at(-1)?.created_at;
  const due = pendingBroadcasts.filter((b) => !nextPage || !oldest || b.created_at >= oldest);
  pendingBroadcasts = pendingBroadcasts.filter((b) => !due.includes(b));
  for (const broadcast of due) upsertBroadcast(broadcast, { fromPage: true });
  updateEmpty();
}

async function refreshCounts() {
  const [exact, total] = await Promise.all([api(urls.countsUrl), api(urls.unreadCountUrl)]);
  broadcastUnread = total.broadcast_unread_count;
  showCounts(exact);
}

async function act(url, method, apply) {
  try {
    apply(await api(url, { method }));
  } catch (error) {
    toasts.error("Something went wrong", error.message);
  }
}

// Rendering -------------------------------------------------------------------------------

function findItem(key) {
  return list.querySelector(`[data-key="${CSS.escape(key)}"]`);
}

function matchesView(item) {
  if (view.category && item.category !== view.category) return false;
  if (view.tab === "archived") return Boolean(item.archived_at);
  if (item.archived_at) return false;
  return view.tab !== "unread" || !item.is_read;
}

/** Insert an item in time order (newest first), or refresh the one already shown. */
function place(item, { fromPage }) {
  const existing = findItem(item.dataset.key);
  if (existing) {
    existing.replaceWith(item);
    return item;
  }
  const time = item.dataset.time;
  const older = [...list.children].find((other) => other.dataset.time < time);
  if (older) {
    list.insertBefore(item, older);
  } else if (fromPage || !nextPage) {
    list.append(item);
  } else {
    return null; // Older than every item shown: "Load more" brings it.
  }
  updateEmpty();
  return item;
}

function upsert(notification, { fromPage = false } = {}) {
  if (!matchesView(notification)) {
    remove(`n${notification.id}`);
    return null;
  }
  newestShown = Math.max(newestShown, view.tab === "archived" ? 0 : notification.id);
  return place(render(notification), { fromPage });
}

function upsertBroadcast(broadcast, { fromPage = false } = {}) {
  if (!matchesView(broadcast)) return;
  place(renderBroadcast(broadcast), { fromPage });
}

function categoryLabel(name) {
  return labels.get(name) ?? name;
}

function fill(item, { key, time, title, message, level, levelLabel, category, avatar }) {
  item.dataset.key = key;
  item.dataset.time = time;
  item.dataset.category = category;
  item.querySelector(".notification__title").textContent = title;
  const body = item.querySelector(".notification__message");
  body.textContent = message;
  body.hidden = !message;
  item.querySelector(".notification__level").replaceChildren(levelBadge(level, levelLabel));
  item.querySelector(".notification__category").textContent = categoryLabel(category);
  item.querySelector(".avatar").textContent = avatar;
  setTime(item.querySelector("time"), time);
}

function render(notification) {
  const item = itemTemplate.content.firstElementChild.cloneNode(true);
  const title = heading(notification);
  fill(item, {
    key: `n${notification.id}`,
    time: notification.created_at,
    title,
    message: title === notification.message ? "" : notification.message,
    level: notification.level,
    levelLabel: notification.level_label,
    category: notification.category,
    avatar: initial(notification, categoryLabel(notification.category)),
  });
  item.dataset.id = notification.id;
  item.dataset.kind = "notification";
  if (notification.group_count > 1) item.dataset.groupCount = notification.group_count;
  setLink(item, safeUrl(notification.url));
  const actions = item.querySelector(".notification__actions");
  if (notification.archived_at) {
    actions.append(button("unarchive", "Move to inbox", title));
  } else {
    actions.append(button("toggle-read", "", title), button("archive", "Archive", title));
  }
  actions.append(button("delete", "Delete", title, "button--quiet"));
  setRead(item, notification.is_read);
  return item;
}

function renderBroadcast(broadcast) {
  const item = itemTemplate.content.firstElementChild.cloneNode(true);
  const title = broadcast.title || broadcast.message;
  fill(item, {
    key: `b${broadcast.id}`,
    time: broadcast.created_at,
    title,
    message: title === broadcast.message ? "" : broadcast.message,
    level: broadcast.level,
    levelLabel: broadcast.level_label,
    category: broadcast.category,
    avatar: initial({}, "Announcement"),
  });
  item.dataset.id = broadcast.id;
  item.dataset.kind = "broadcast";
  item.classList.add("notification--broadcast");
  setLink(item, safeUrl(broadcast.data?.url));
  const actions = item.querySelector(".notification__actions");
  if (broadcast.archived_at) {
    actions.append(button("unarchive", "Move to inbox", title));
  } else {
    actions.append(button("toggle-read", "", title), button("archive", "Archive", title));
  }
  setRead(item, broadcast.is_read);
  return item;
}

/** The whole row is the link (stretched over it); without a url, a click marks it read. */
function setLink(item, url) {
  const link = item.querySelector(".notification__link");
  if (url) {
    link.href = url;
    return;
  }
  const replacement = document.createElement("button");
  replacement.type = "button";
  replacement.className = "notification__link";
  replacement.append(...link.childNodes);
  link.replaceWith(replacement);
}

function button(action, text, title, extra = "") {
  const element = document.createElement("button");
  element.type = "button";
  element.className = `button ${extra}`.trim();
  element.dataset.action = action;
  element.textContent = text;
  // The visible word is short; a screen reader hears which item it acts on.
  element.dataset.for = title;
  if (text) element.setAttribute("aria-label", `${text}: ${title}`);
  return element;
}

function setRead(item, isRead) {
  item.classList.toggle("is-unread", !isRead);
  const toggle = item.querySelector('[data-action="toggle-read"]');
  if (!toggle) return;
  const text = isRead ? (item.dataset.kind === "broadcast" ? "Read" : "Mark unread") : "Mark read";
  toggle.textContent = text;
  toggle.setAttribute("aria-label", `${text}: ${toggle.dataset.for}`);
  toggle.dataset.read = isRead ? "true" : "false";
  // A broadcast cannot be marked unread again.
  toggle.disabled = isRead && item.dataset.kind === "broadcast";
}

function remove(key) {
  findItem(key)?.remove();
  updateEmpty();
}

function updateEmpty() {
  const isEmpty = list.children.length === 0;
  empty.hidden = !isEmpty;
  if (isEmpty) {
    let [title, hint] = EMPTY_TEXT[view.tab];
    if (view.category) {
      title = `Nothing in ${categoryLabel(view.category)} here`;
      hint = "Choose All categories to see every notification.";
    }
    empty.querySelector(".empty__title").textContent = title;
    empty.querySelector(".empty__hint").textContent = hint;
  }
  archiveAllButton.hidden = view.tab === "archived";
  archiveAllButton.disabled = isEmpty;
}

function showCounts(next) {
  counts = next;
  const unread = counts.unread + broadcastUnread;
  badgeCount.textContent = String(unread);
  badge.dataset.count = String(unread);
  document.title = unread ? `(${unread}) ${baseTitle}` : baseTitle;
  markAllButton.disabled = unread === 0;
  for (const option of categoryFilter.options) {
    if (!option.value) continue;
    const count = counts.by_category?.[option.value]?.unread ?? 0;
    option.textContent = count ? `${categoryLabel(option.value)} (${count})` : categoryLabel(option.value);
  }
}

function showCategories(rows) {
  for (const row of rows) labels.set(row.category, row.label);
  if (categoryFilter.options.length === 1) {
    for (const row of rows) categoryFilter.add(new Option(row.label, row.category));
  }
}

function showState(state, detail) {
  status.dataset.state = state;
  status.querySelector(".status__text").textContent = STATUS_TEXT[state](detail);
}

/** The list is on screen: what it shows is seen (the bell counts unseen). */
function markSeenSoon() {
  clearTimeout(seenTimer);
  seenTimer = setTimeout(() => {
    if (document.visibilityState !== "visible" || view.tab === "archived") return;
    if (!counts.unseen || !newestShown) return;
    api(urls.markSeenUrl, { method: "POST", body: { up_to: newestShown } }).catch(() => {});
  }, 1000);
}

// Live events -----------------------------------------------------------------------------

function forItems(ids, kind, apply) {
  for (const id of ids ?? []) {
    const item = findItem(`${kind}${id}`);
    if (item) apply(item, id);
  }
}

function applyEvent(payload, frame) {
  switch (frame.event) {
    case "created":
      upsert(payload.notification);
      if (!frame.replayed) toasts.show(payload.notification, categoryLabel);
      markSeenSoon();
      break;
    case "updated":
      if (payload.replaces) remove(`n${payload.replaces}`);
      upsert(payload.notification);
      if (!frame.replayed) toasts.show(payload.notification, categoryLabel);
      markSeenSoon();
      break;
    case "read":
    case "unread": {
      const isRead = frame.event === "read";
      if (payload.all) {
        for (const item of list.querySelectorAll('[data-kind="notification"]')) {
          const inCategory = !payload.category || item.dataset.category === payload.category;
          if (inCategory && Number(item.dataset.id) <= payload.up_to_id) setRead(item, isRead);
        }
      }
      forItems(payload.ids, "n", (item) => setRead(item, isRead));
      break;
    }
    case "archived":
    case "unarchived":
    case "deleted":
      if (view.tab === "archived" && frame.event !== "deleted") {
        reload().catch(showLoadError);
      } else if (payload.all) {
        for (const item of [...list.querySelectorAll('[data-kind="notification"]')]) {
          const wasRead = !item.classList.contains("is-unread");
          if (Number(item.dataset.id) <= payload.up_to_id && (!payload.read_only || wasRead)) {
            item.remove();
          }
        }
      } else if (frame.event === "unarchived" && payload.notification) {
        upsert(payload.notification);
      } else {
        forItems(payload.ids, "n", (item) => item.remove());
      }
      updateEmpty();
      break;
    case "broadcast":
      broadcastUnread += 1;
      upsertBroadcast({ ...payload.broadcast, is_read: false });
      if (!frame.replayed) toasts.show({ ...payload.broadcast, isBroadcast: true }, categoryLabel);
      break;
    case "broadcast_read":
      forItems(payload.ids, "b", readBroadcast);
      recountUnlessShown(payload.ids);
      break;
    case "broadcast_archived":
    case "broadcast_unarchived":
      applyBroadcastArchive(frame.event, payload);
      break;
    case "broadcast_deleted":
      forItems(payload.ids, "b", (item) => {
        if (item.classList.contains("is-unread")) broadcastUnread = Math.max(0, broadcastUnread - 1);
        item.remove();
      });
      updateEmpty();
      break;
  }
  if (payload.counts) showCounts(payload.counts);
}

// Broadcasts in the user's own inbox and archive -------------------------------------------

/** A broadcast that left or came back to the inbox; archiving read it (its own event). */
function applyBroadcastArchive(event, payload) {
  const toArchive = event === "broadcast_archived";
  if (view.tab === "archived" && toArchive) {
    reload().catch(showLoadError);
    return;
  }
  forItems(payload.ids, "b", (item) => item.remove());
  if (!toArchive && payload.broadcast) {
    upsertBroadcast({ ...payload.broadcast, is_read: true, archived_at: null });
  }
  updateEmpty();
}

/** Shows a broadcast row read, counting it out of the unread once. */
function readBroadcast(item) {
  if (item.classList.contains("is-unread")) broadcastUnread = Math.max(0, broadcastUnread - 1);
  setRead(item, true);
}

let recountTimer = null;

/** Broadcasts read that this page does not show: only the server can say what is unread. */
function recountUnlessShown(ids) {
  if ((ids ?? []).every((id) => findItem(`b${id}`))) return;
  clearTimeout(recountTimer);
  recountTimer = setTimeout(() => refreshCounts().catch(() => {}), 250);
}

/** Marks read every notification and every broadcast of the view's category, or all. */
async function markAllRead() {
  const scope = view.category ? `category/${encodeURIComponent(view.category)}/` : "";
  await Promise.all([
    api(scope ? `${urls.listUrl}${scope}mark_all_read/` : urls.markAllUrl, { method: "POST" }),
    api(`${urls.broadcastUrl}${scope}mark_all_read/`, { method: "POST" }),
  ]);
  for (const item of list.querySelectorAll("[data-key]")) setRead(item, true);
  await refreshCounts();
}

function itemActionUrl(item, action) {
  if (item.dataset.kind !== "broadcast") return itemUrl(item.dataset.id, action);
  return `${urls.broadcastUrl}${item.dataset.id}/${action}/`;
}

// Wiring ----------------------------------------------------------------------------------

async function openItem(item, link, event) {
  const url = link.href || null;
  const newTab = event.ctrlKey || event.metaKey || event.shiftKey || event.button === 1;
  if (item.classList.contains("is-unread")) {
    const read = markRead(item, { keepalive: Boolean(url) });
    if (url && !newTab) {
      // Follow the link once the read is stored, so the centre shows it read on return.
      event.preventDefault();
      await read.catch(() => {});
      window.location.assign(url);
    }
  }
}

function markRead(item, { keepalive = false } = {}) {
  const id = item.dataset.id;
  const url =
    item.dataset.kind === "broadcast"
      ? `${urls.broadcastUrl}category/${encodeURIComponent(item.dataset.category)}/mark_read/${id}/`
      : itemUrl(id, "mark_read");
  return api(url, { method: "POST", keepalive }).then(() => {
    if (item.dataset.kind !== "broadcast") return setRead(item, true);
    // The reply may come before the event: whichever is first counts it out.
    readBroadcast(item);
    showCounts(counts);
  });
}

list.addEventListener("click", (event) => {
  const item = event.target.closest("[data-key]");
  if (!item) return;
  const link = event.target.closest(".notification__link");
  if (link) {
    openItem(item, link, event);
    return;
  }
  const control = event.target.closest("button[data-action]");
  if (!control) return;
  const id = item.dataset.id;
  switch (control.dataset.action) {
    case "toggle-read":
      if (control.dataset.read === "true") {
        act(itemUrl(id, "mark_unread"), "POST", (n) => setRead(item, n.is_read));
      } else {
        markRead(item).catch((error) => toasts.error("Something went wrong", error.message));
      }
      break;
    case "archive":
    case "unarchive":
      act(itemActionUrl(item, control.dataset.action), "POST", () => remove(item.dataset.key));
      break;
    case "delete":
      act(itemUrl(id), "DELETE", () => remove(item.dataset.key));
      break;
  }
});

markAllButton.addEventListener("click", () =>
  markAllRead().catch((error) => toasts.error("Something went wrong", error.message)),
);

archiveAllButton.addEventListener("click", () =>
  act(urls.archiveAllUrl, "POST", () => {
    for (const item of [...list.querySelectorAll('[data-kind="notification"]')]) item.remove();
    updateEmpty();
  }),
);

loadMoreButton.addEventListener("click", () => loadMore().catch(showLoadError));

function selectTab(tab, { focus = false } = {}) {
  view.tab = tab.dataset.tab;
  for (const other of tabs) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
  }
  panel.setAttribute("aria-labelledby", tab.id);
  if (focus) tab.focus();
  newestShown = 0;
  reload().catch(showLoadError);
}

for (const tab of tabs) {
  tab.addEventListener("click", () => selectTab(tab));
  // Arrow keys move between tabs (the ARIA tabs pattern); Tab moves on to the panel.
  tab.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    selectTab(tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length], { focus: true });
  });
}

categoryFilter.addEventListener("change", () => {
  view.category = categoryFilter.value;
  newestShown = 0;
  reload().catch(showLoadError);
});

function showLoadError(error) {
  toasts.error("Could not load notifications", error.message);
}

function main() {
  keepTimesFresh(list);
  document.addEventListener("visibilitychange", markSeenSoon);
  const client = new NotificationClient({
    url: urls.socketUrl,
    ticketUrl: urls.ticketUrl,
    heartbeatSeconds: Number(urls.heartbeatSeconds) || 25,
    // Start from the server's newest position; the list is loaded once the socket is ready,
    // so every later change arrives live and nothing falls between the two.
    lastId: null,
  });
  const loaded = { any: false, online: false };
  client.on("state", (state, detail) => {
    showState(state, detail);
    // Loaded when the socket is first ready; shown anyway if it cannot connect yet.
    const first = state === "online" ? !loaded.online : !loaded.any && state !== "connecting";
    if (!first) return;
    loaded.any = true;
    loaded.online ||= state === "online";
    reload().catch(showLoadError);
  });
  client.on("event", applyEvent);
  client.on("resync", () => reload().catch(showLoadError));
  client.start();
  // For the console and for tests.
  window.notificationClient = client;
}

main();
