/**
 * The notification centre page: the list over REST, live updates over the WebSocket.
 *
 * Every piece of notification text goes through textContent, never innerHTML: a message
 * holding markup shows as text.
 */
import { NotificationClient } from "./notifications.js";

const root = document.querySelector("[data-notification-centre]");
const urls = {
  list: root.dataset.listUrl,
  unreadCount: root.dataset.unreadCountUrl,
  markAll: root.dataset.markAllUrl,
  ticket: root.dataset.ticketUrl,
  socket: root.dataset.socketUrl,
};
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
const list = document.getElementById("notification-list");
const itemTemplate = document.getElementById("notification-template");
const badge = document.getElementById("unread-badge");
const status = document.getElementById("connection-status");
const emptyMessage = document.getElementById("empty");
const loadMoreButton = document.getElementById("load-more");
const markAllButton = document.getElementById("mark-all");
const toasts = document.getElementById("toasts");
const baseTitle = document.title;

const TOAST_MILLISECONDS = 6000;
const STATUS_TEXT = {
  connecting: () => "Connecting…",
  online: () => "Live",
  offline: (detail) => `Offline, retrying in ${Math.ceil(detail.delay / 1000)} s`,
  unauthorized: () => "Signed out: reload to sign in",
  closed: () => "Disconnected",
};

let nextPage = null;

// REST ------------------------------------------------------------------------------------

async function api(url, method = "GET") {
  const headers = { Accept: "application/json" };
  // Session authentication: DRF checks the CSRF token on every unsafe method.
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken;
  const response = await fetch(url, { method, headers, credentials: "same-origin" });
  if (!response.ok) throw new Error(`${method} ${url}: HTTP ${response.status}`);
  return response.status === 204 ? null : response.json();
}

function itemUrl(id, action = "") {
  return `${urls.list}${id}/${action ? `${action}/` : ""}`;
}

async function reload() {
  const page = await api(urls.list);
  list.replaceChildren();
  showPage(page);
  await refreshUnreadCount();
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
  // A page holds the notifications just older than those shown: they go at the end.
  for (const notification of page.results) upsert(notification, { fromPage: true });
  nextPage = page.next;
  loadMoreButton.hidden = !nextPage;
  updateEmpty();
}

async function refreshUnreadCount() {
  setUnreadCount((await api(urls.unreadCount)).unread_count);
}

async function act(url, method, apply) {
  try {
    apply(await api(url, method));
    await refreshUnreadCount();
  } catch (error) {
    toast({ title: "Something went wrong", message: error.message, level: 3 });
  }
}

// Rendering -------------------------------------------------------------------------------

function findItem(id) {
  return list.querySelector(`[data-id="${Number(id)}"]`);
}

/** Insert a notification in id order (newest first), or refresh the item already shown. */
function upsert(notification, { fromPage = false } = {}) {
  const existing = findItem(notification.id);
  const item = render(notification);
  if (existing) {
    existing.replaceWith(item);
    return item;
  }
  const older = [...list.children].find((other) => Number(other.dataset.id) < notification.id);
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

function render(notification) {
  const item = itemTemplate.content.firstElementChild.cloneNode(true);
  item.dataset.id = notification.id;
  item.dataset.category = notification.category;
  item.dataset.level = notification.level;
  item.querySelector(".notification__title").textContent =
    notification.title || notification.level_label;
  item.querySelector(".notification__message").textContent = notification.message;
  item.querySelector(".notification__category").textContent = notification.category;
  const time = item.querySelector("time");
  time.dateTime = notification.created_at;
  time.textContent = new Date(notification.created_at).toLocaleString();
  setRead(item, notification.is_read);
  return item;
}

function setRead(item, isRead) {
  item.classList.toggle("is-unread", !isRead);
  const button = item.querySelector('[data-action="toggle-read"]');
  button.textContent = isRead ? "Mark unread" : "Mark read";
  button.dataset.read = isRead ? "true" : "false";
}

function remove(id) {
  findItem(id)?.remove();
  updateEmpty();
}

function updateEmpty() {
  emptyMessage.hidden = list.children.length > 0;
}

function setUnreadCount(count) {
  badge.textContent = String(count);
  badge.dataset.count = String(count);
  document.title = count ? `(${count}) ${baseTitle}` : baseTitle;
  markAllButton.disabled = count === 0;
}

function toast({ title, message, level = 1 }) {
  const element = document.createElement("div");
  element.className = "toast";
  element.dataset.level = level;
  const heading = document.createElement("strong");
  heading.textContent = title;
  const body = document.createElement("p");
  body.textContent = message;
  element.append(heading, body);
  toasts.append(element);
  setTimeout(() => element.remove(), TOAST_MILLISECONDS);
}

// Live events -----------------------------------------------------------------------------

function applyEvent(frame) {
  const payload = frame.payload ?? {};
  if (frame.type === "notifications" && frame.event === "read" && payload.all) {
    for (const item of list.children) {
      const inCategory = !payload.category || item.dataset.category === payload.category;
      if (inCategory && Number(item.dataset.id) <= payload.up_to_id) setRead(item, true);
    }
    return;
  }
  if (frame.type === "notifications" && frame.event === "broadcast") {
    const broadcast = payload.broadcast ?? {};
    toast({ title: broadcast.title || "Announcement", message: broadcast.message, level: 2 });
    return;
  }
  for (const id of payload.ids ?? []) {
    const item = findItem(id);
    if (frame.event === "read" && item) setRead(item, true);
    if (frame.event === "unread" && item) setRead(item, false);
    if (frame.event === "deleted") remove(id);
  }
}

function showState(state, detail) {
  status.dataset.state = state;
  status.querySelector(".status__text").textContent = STATUS_TEXT[state](detail);
}

// Wiring ----------------------------------------------------------------------------------

list.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const item = button.closest("[data-id]");
  const id = item.dataset.id;
  if (button.dataset.action === "toggle-read") {
    const action = button.dataset.read === "true" ? "mark_unread" : "mark_read";
    act(itemUrl(id, action), "POST", (notification) => setRead(item, notification.is_read));
  } else if (button.dataset.action === "delete") {
    act(itemUrl(id), "DELETE", () => remove(id));
  }
});

markAllButton.addEventListener("click", () =>
  act(urls.markAll, "POST", () => {
    for (const item of list.children) setRead(item, true);
  }),
);

loadMoreButton.addEventListener("click", () => loadMore().catch(showLoadError));

function showLoadError(error) {
  toast({ title: "Could not load notifications", message: error.message, level: 3 });
}

async function main() {
  const loaded = { any: false, online: false };
  const client = new NotificationClient({
    url: urls.socket,
    ticketUrl: urls.ticket,
    // Start from the server's newest position; the list is loaded once the socket is ready,
    // so every later change arrives live and nothing falls between the two.
    lastId: null,
    onNotification(notification) {
      upsert(notification);
      toast(notification.title ? notification : { ...notification, title: "New notification" });
    },
    onUnreadCount: setUnreadCount,
    onEvent: applyEvent,
    onState(state, detail) {
      showState(state, detail);
      // Loaded when the socket is first ready; shown anyway if it cannot connect yet.
      const first = state === "online" ? !loaded.online : !loaded.any && state !== "connecting";
      if (!first) return;
      loaded.any = true;
      loaded.online ||= state === "online";
      reload().catch(showLoadError);
    },
    onResync: () => reload().catch(showLoadError),
  });
  client.start();
  // For the console and for tests.
  window.notificationClient = client;
}

main();
