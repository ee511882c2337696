/**
 * The notification centre page: the lists over REST, live updates over the WebSocket.
 *
 * Every piece of notification text goes through textContent, never innerHTML: a message
 * holding markup shows as text.
 */
import { actionButtons, applyActionDone, pressAction, runActionUrl } from "./actions.js";
import { format, gettext, localized } from "./i18n.js";
import { NotificationClient } from "./notifications.js";
import { api, withQuery } from "./rest.js";
import { heading, initial, keepTimesFresh, levelBadge, safeUrl, setTime } from "./render.js";
import { customUntil, snoozedText, snoozeMenu, snoozeUntil, snoozeUrl, unsnoozeUrl } from "./snooze.js";
import { Toasts } from "./toasts.js";
import { startPush } from "./webpush.js";

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
const toastsRegion = document.getElementById("toasts");
const toasts = new Toasts(toastsRegion, {
  live: document.getElementById("toasts-live"),
  onOpen: (id) => findItem(`n${id}`)?.querySelector(".notification__link")?.focus(),
});
const baseTitle = document.title;

const STATUS_TEXT = {
  connecting: () => gettext("Connecting…"),
  online: () => gettext("Live"),
  offline: () => gettext("Offline, reconnecting…"),
  unauthorized: () => gettext("Signed out: reload to sign in"),
  closed: () => gettext("Disconnected"),
};
const EMPTY_TEXT = {
  inbox: [
    gettext("You are all caught up"),
    gettext("New notifications appear here as they arrive. Archived ones are under Archived."),
  ],
  unread: [
    gettext("Nothing unread"),
    gettext("Everything here is read; read items stay in the Inbox."),
  ],
  archived: [
    gettext("The archive is empty"),
    gettext("Archive a notification from the Inbox to keep it out of the way; it waits here."),
  ],
  snoozed: [
    gettext("Nothing snoozed"),
    gettext("Snooze a notification to put it away until later; it comes back unread at that time."),
  ],
};
// Tabs that are not the inbox: no broadcasts, nothing marked seen, no "Archive all".
const SIDE_TABS = ["archived", "snoozed"];

const view = { tab: "inbox", category: "" };
const labels = new Map();
let nextPage = null;
let counts = { unread: 0, unseen: 0, by_category: {} };
let broadcastUnread = 0;
let newestShown = 0;
// Broadcasts fetched but older than the notifications shown so far.
let pendingBroadcasts = [];
let seenTimer = null;
let countdownTimer = null;
// The page's NotificationClient (main() starts it): server actions run over its socket.
let client = null;
// Deleted here, the request held back while their Undo toast is up: id -> send it now.
const pendingDeletes = new Map();

// REST ------------------------------------------------------------------------------------

function itemUrl(id, action = "") {
  return `${urls.listUrl}${id}/${action ? `${action}/` : ""}`;
}

function listQuery() {
  return {
    category: view.category,
    unread: view.tab === "unread" ? "true" : "",
    archived: view.tab === "archived" ? "true" : "",
    snoozed: view.tab === "snoozed" ? "true" : "",
  };
}

async function reload() {
  const requested = { ...view };
  const [categories, page, broadcasts] = await Promise.all([
    api(urls.categoriesUrl),
    api(withQuery(urls.listUrl, listQuery())),
    view.tab === "snoozed"
      ? Promise.resolve({ results: [] })
      : api(withQuery(urls.broadcastUrl, listQuery())),
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
    toasts.error(gettext("Something went wrong"), error.message);
  }
}

// Rendering -------------------------------------------------------------------------------

function findItem(key) {
  return list.querySelector(`[data-key="${CSS.escape(key)}"]`);
}

function matchesView(item) {
  if (view.category && item.category !== view.category) return false;
  if (view.tab === "archived") return Boolean(item.archived_at);
  if (view.tab === "snoozed") return Boolean(item.snoozed_until);
  if (item.archived_at || item.snoozed_until) return false;
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
  if (!matchesView(notification) || pendingDeletes.has(String(notification.id))) {
    remove(`n${notification.id}`);
    return null;
  }
  newestShown = Math.max(newestShown, SIDE_TABS.includes(view.tab) ? 0 : notification.id);
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
  // The target of digest links (#notification-<id>).
  item.id = `notification-${notification.id}`;
  if (notification.group_count > 1) item.dataset.groupCount = notification.group_count;
  setLink(item, safeUrl(notification.url));
  const buttons = actionButtons(notification, title);
  if (buttons) item.querySelector(".notification__meta").before(buttons);
  const actions = item.querySelector(".notification__actions");
  if (notification.archived_at) {
    actions.append(button("unarchive", gettext("Move to inbox"), title));
  } else if (notification.snoozed_until) {
    renderSnoozed(item, notification, title);
  } else {
    actions.append(button("toggle-read", "", title), button("archive", gettext("Archive"), title));
    actions.append(snoozeMenu(title));
  }
  actions.append(button("delete", gettext("Delete"), title, "button--quiet"));
  addMenuButton(item, title);
  setRead(item, notification.is_read);
  return item;
}

/** A snoozed row: when it comes back, and the way to bring it back now. */
function renderSnoozed(item, notification, title) {
  const until = document.createElement("span");
  until.className = "notification__snoozed";
  until.textContent = snoozedText(notification.snoozed_until);
  item.querySelector(".notification__meta").append(until);
  item.querySelector(".notification__actions").append(button("unsnooze", gettext("Unsnooze"), title));
}

function renderBroadcast(pushed) {
  const broadcast = localized(pushed);
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
    avatar: initial({}, gettext("Announcement")),
  });
  item.dataset.id = broadcast.id;
  item.dataset.kind = "broadcast";
  item.classList.add("notification--broadcast");
  setLink(item, safeUrl(broadcast.data?.url));
  const actions = item.querySelector(".notification__actions");
  if (broadcast.archived_at) {
    actions.append(button("unarchive", gettext("Move to inbox"), title));
  } else {
    actions.append(button("toggle-read", "", title), button("archive", gettext("Archive"), title));
  }
  addMenuButton(item, title);
  setRead(item, broadcast.is_read);
  return item;
}

/**
 * Narrow and touch screens show a row's actions behind one "⋯" button (a disclosure: the
 * actions stay buttons in the tab order once open); wide screens show them on hover and hide
 * this button.
 */
function addMenuButton(item, title) {
  const actions = item.querySelector(".notification__actions");
  actions.id = `actions-${item.dataset.key}`;
  const more = document.createElement("button");
  more.type = "button";
  more.className = "notification__more";
  more.dataset.action = "menu";
  more.textContent = "⋯";
  more.setAttribute("aria-label", named(gettext("Actions"), title));
  more.setAttribute("aria-expanded", "false");
  more.setAttribute("aria-controls", actions.id);
  actions.before(more);
}

function setMenuOpen(item, open) {
  const more = item?.querySelector(".notification__more");
  if (!more) return;
  more.setAttribute("aria-expanded", String(open));
  item.classList.toggle("is-menu-open", open);
}

function closeMenus(except = null) {
  for (const open of list.querySelectorAll(".is-menu-open")) {
    if (open !== except) setMenuOpen(open, false);
  }
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

/** "Archive: <title>": a control's accessible name says which item it acts on. */
function named(text, title) {
  return format(gettext("%(action)s: %(title)s"), { action: text, title });
}

function button(action, text, title, extra = "") {
  const element = document.createElement("button");
  element.type = "button";
  element.className = `button ${extra}`.trim();
  element.dataset.action = action;
  element.textContent = text;
  // The visible word is short; a screen reader hears which item it acts on.
  element.dataset.for = title;
  if (text) element.setAttribute("aria-label", named(text, title));
  return element;
}

function setRead(item, isRead) {
  item.classList.toggle("is-unread", !isRead);
  const toggle = item.querySelector('[data-action="toggle-read"]');
  if (!toggle) return;
  const readText = item.dataset.kind === "broadcast" ? gettext("Read") : gettext("Mark unread");
  const text = isRead ? readText : gettext("Mark read");
  toggle.textContent = text;
  toggle.setAttribute("aria-label", named(text, toggle.dataset.for));
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
      title = format(gettext("Nothing in %(category)s here"), {
        category: categoryLabel(view.category),
      });
      hint = gettext("Choose All categories to see every notification.");
    }
    empty.querySelector(".empty__title").textContent = title;
    empty.querySelector(".empty__hint").textContent = hint;
  }
  archiveAllButton.hidden = SIDE_TABS.includes(view.tab);
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
    option.textContent = count
      ? `${categoryLabel(option.value)} (${count})`
      : categoryLabel(option.value);
  }
}

function showCategories(rows) {
  for (const row of rows) labels.set(row.category, row.label);
  if (categoryFilter.options.length === 1) {
    for (const row of rows) categoryFilter.add(new Option(row.label, row.category));
  }
}

function showState(state, detail) {
  clearInterval(countdownTimer);
  status.dataset.state = state;
  const text = status.querySelector(".status__text");
  const delay = state === "offline" ? (detail?.delay ?? 0) : 0;
  if (delay < 1000) {
    text.textContent = STATUS_TEXT[state](detail);
    return;
  }
  // The seconds count down on screen; a screen reader hears the sentence once, not each tick.
  const until = Date.now() + delay;
  const seconds = document.createElement("span");
  seconds.setAttribute("aria-hidden", "true");
  const spoken = document.createElement("span");
  spoken.className = "visually-hidden";
  spoken.textContent = gettext("in a few seconds");
  text.replaceChildren(gettext("Offline, retrying") + " ", seconds, spoken);
  const tick = () => {
    const left = Math.max(1, Math.ceil((until - Date.now()) / 1000));
    seconds.textContent = format(gettext("in %(seconds)s s"), { seconds: left });
    if (left <= 1) clearInterval(countdownTimer);
  };
  tick();
  countdownTimer = setInterval(tick, 1000);
}

/** The list is on screen: what it shows is seen (the bell counts unseen). */
function markSeenSoon() {
  clearTimeout(seenTimer);
  seenTimer = setTimeout(() => {
    if (document.visibilityState !== "visible" || SIDE_TABS.includes(view.tab)) return;
    if (!counts.unseen || !newestShown) return;
    api(urls.markSeenUrl, { method: "POST", body: { up_to: newestShown } }).catch(() => {});
  }, 1000);
}

// Live events -----------------------------------------------------------------------------

/** A toast for a new item, unless its row is on screen already: the list shows it. */
function announce(item, notification, frame) {
  if (frame.replayed) return;
  if (item && document.visibilityState === "visible" && onScreen(item)) {
    item.classList.add("is-new");
    return;
  }
  toasts.show(notification, categoryLabel);
}

function onScreen(element) {
  const box = element.getBoundingClientRect();
  const covered = toastsRegion.getBoundingClientRect();
  const bottom = covered.height ? Math.min(window.innerHeight, covered.top) : window.innerHeight;
  return box.top >= 0 && box.top < bottom && box.height > 0;
}

function forItems(ids, kind, apply) {
  for (const id of ids ?? []) {
    const item = findItem(`${kind}${id}`);
    if (item) apply(item, id);
  }
}

function applyEvent(payload, frame) {
  switch (frame.event) {
    case "created":
      announce(upsert(payload.notification), payload.notification, frame);
      markSeenSoon();
      break;
    case "updated":
      if (payload.replaces) remove(`n${payload.replaces}`);
      announce(upsert(payload.notification), payload.notification, frame);
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
    case "snoozed":
    case "unsnoozed":
      applySnoozeEvent(payload, frame);
      break;
    case "action_done":
      applyActionDone(list, payload);
      break;
    case "broadcast":
      broadcastUnread += 1;
      upsertBroadcast({ ...payload.broadcast, is_read: false });
      if (!frame.replayed) {
        toasts.show({ ...localized(payload.broadcast), isBroadcast: true }, categoryLabel);
      }
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
        if (item.classList.contains("is-unread"))
          broadcastUnread = Math.max(0, broadcastUnread - 1);
        item.remove();
      });
      updateEmpty();
      break;
  }
  if (payload.counts) showCounts(payload.counts);
}

/** Snoozed: the row moves to the Snoozed tab. Back: it returns to the inbox, with a toast
 * when its time came (it is new and unread again). */
function applySnoozeEvent(payload, frame) {
  if (payload.notification) upsert(payload.notification);
  else forItems(payload.ids, "n", (item) => item.remove());
  if (frame.event === "unsnoozed" && payload.woke && !frame.replayed) {
    toasts.show(payload.notification, categoryLabel);
    markSeenSoon();
  }
  updateEmpty();
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

/** The snooze menu's choices and the Unsnooze button; true when the click was one of them. */
function snoozeClick(item, control) {
  const id = item.dataset.id;
  const action = control.dataset.action;
  if (action === "unsnooze") {
    act(unsnoozeUrl(urls.listUrl, id), "POST", () => remove(item.dataset.key));
    return true;
  }
  if (action !== "snooze" && action !== "snooze-custom") return false;
  const menu = control.closest("details");
  const until = action === "snooze" ? snoozeUntil(control.dataset.choice) : customUntil(menu);
  if (!until) {
    menu.querySelector(".snooze__custom").focus();
    return true;
  }
  menu.open = false;
  api(snoozeUrl(urls.listUrl, id), { method: "POST", body: { until: until.toISOString() } })
    .then(() => remove(item.dataset.key))
    .catch((error) => toasts.error(gettext("Could not snooze"), error.message));
  return true;
}

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
  const run = event.target.closest("button[data-run-action]");
  if (run) {
    pressAction(run, {
      client,
      viaRest: (id, index) => api(runActionUrl(urls.listUrl, id, index), { method: "POST" }),
      onError: (error) => console.error(error),
    });
    return;
  }
  const link = event.target.closest(".notification__link, a[data-action-link]");
  if (link) {
    openItem(item, link, event);
    return;
  }
  const control = event.target.closest("button[data-action]");
  if (!control || snoozeClick(item, control)) return;
  const id = item.dataset.id;
  if (control.dataset.action === "menu") {
    const open = control.getAttribute("aria-expanded") !== "true";
    closeMenus(item);
    setMenuOpen(item, open);
    if (open) item.querySelector(".notification__actions button")?.focus();
    return;
  }
  setMenuOpen(item, false);
  switch (control.dataset.action) {
    case "toggle-read":
      if (control.dataset.read === "true") {
        act(itemUrl(id, "mark_unread"), "POST", (n) => setRead(item, n.is_read));
      } else {
        markRead(item).catch((error) =>
          toasts.error(gettext("Something went wrong"), error.message),
        );
      }
      break;
    case "archive":
    case "unarchive":
      act(itemActionUrl(item, control.dataset.action), "POST", () => remove(item.dataset.key));
      break;
    case "delete":
      deleteWithUndo(item);
      break;
  }
});

// A click elsewhere or Escape closes an open row menu; Escape gives focus back to its button.
document.addEventListener("click", (event) => {
  if (!event.target.closest(".is-menu-open")) closeMenus();
});
list.addEventListener("keydown", (event) => {
  const item = event.target.closest(".is-menu-open");
  if (event.key !== "Escape" || !item) return;
  setMenuOpen(item, false);
  item.querySelector(".notification__more").focus();
});

/**
 * Delete at once on screen, on the server only when the Undo toast goes: Undo puts the row
 * back where it was. Focus moves to the next row (its link), else the previous one.
 */
function deleteWithUndo(item) {
  const id = item.dataset.id;
  const title = item.querySelector(".notification__title").textContent;
  const place = { parent: item.parentNode, next: item.nextElementSibling };
  const neighbour = item.nextElementSibling ?? item.previousElementSibling;
  item.remove();
  updateEmpty();
  (neighbour?.querySelector(".notification__link") ?? tabs.find((tab) => tab.tabIndex === 0))?.focus();
  const send = () => {
    pendingDeletes.delete(id);
    api(itemUrl(id), { method: "DELETE", keepalive: true }).catch((error) => {
      toasts.error(gettext("Something went wrong"), error.message);
      reload().catch(showLoadError);
    });
  };
  pendingDeletes.set(id, send);
  toasts.undoable(format(gettext("Deleted: %(title)s"), { title }), {
    onDone: () => pendingDeletes.has(id) && send(),
    onUndo: () => {
      pendingDeletes.delete(id);
      if (!findItem(item.dataset.key)) {
        place.parent.insertBefore(item, place.next?.isConnected ? place.next : null);
      }
      updateEmpty();
      item.querySelector(".notification__link").focus();
    },
  });
}

// Leaving the page does what the Undo toasts would have done when they went.
window.addEventListener("pagehide", () => {
  for (const send of [...pendingDeletes.values()]) send();
});

markAllButton.addEventListener("click", () =>
  markAllRead().catch((error) => toasts.error(gettext("Something went wrong"), error.message)),
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

/** A digest's link (#notification-<id>): scroll to that row and mark it out. */
function showLinkedRow() {
  const match = /^#notification-(\d+)$/.exec(window.location.hash);
  const item = match && findItem(`n${match[1]}`);
  if (!item) return;
  for (const other of list.querySelectorAll(".is-linked")) other.classList.remove("is-linked");
  item.classList.add("is-linked");
  item.scrollIntoView({ block: "center" });
  item.querySelector(".notification__link").focus({ preventScroll: true });
}

function showLoadError(error) {
  toasts.error(gettext("Could not load notifications"), error.message);
}

function main() {
  keepTimesFresh(list);
  document.addEventListener("visibilitychange", markSeenSoon);
  client = new NotificationClient({
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
    const initial = !loaded.any;
    loaded.any = true;
    loaded.online ||= state === "online";
    reload()
      .then(() => initial && showLinkedRow())
      .catch(showLoadError);
  });
  window.addEventListener("hashchange", showLinkedRow);
  client.on("event", applyEvent);
  client.on("resync", () => reload().catch(showLoadError));
  client.start();
  // For the console and for tests.
  window.notificationClient = client;
  startPush(root).catch((error) => console.error("Web Push unavailable", error));
}

main();
