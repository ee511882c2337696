/**
 * The bell of the notification_bell template tag: the unread count (written by the server,
 * then kept live), and a dropdown of the latest items that marks them seen when it opens; a
 * click on an item marks it read. Loaded as a module by the tag; no dependencies.
 */
import { actionButtons, applyActionDone, pressAction, runActionUrl } from "./actions.js";
import { NotificationClient } from "./notifications.js";
import { heading, initial, keepTimesFresh, levelBadge, safeUrl, setTime } from "./render.js";
import { customUntil, snoozeMenu, snoozeUntil, snoozeUrl } from "./snooze.js";
import { startPush } from "./webpush.js";

async function send(url, token, method = "GET", body = undefined) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: {
      Accept: "application/json",
      ...(method === "GET" ? {} : { "X-CSRFToken": token, "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${url}: HTTP ${response.status}`);
  return response.json();
}

class Bell {
  constructor(root) {
    this.root = root;
    this.urls = { ...root.dataset };
    this.button = root.querySelector(".notification-bell__button");
    this.count = root.querySelector(".notification-bell__count");
    this.panel = root.querySelector(".notification-bell__panel");
    this.list = root.querySelector(".notification-bell__list");
    this.empty = root.querySelector(".notification-bell__empty");
    this.limit = Number(this.urls.limit) || 5;
    // Unread broadcasts: the socket's counts cover notifications only.
    this.broadcastUnread = Number(this.urls.broadcastUnread) || 0;
    this.unread = Number(this.count.dataset.count) - this.broadcastUnread || 0;
    this.list.addEventListener("click", (event) => this.follow(event));
    this.button.addEventListener("click", () => (this.isOpen() ? this.close() : this.open()));
    root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen()) {
        this.close();
        this.button.focus();
      }
    });
    document.addEventListener("click", (event) => {
      if (this.isOpen() && !root.contains(event.target)) this.close();
    });
    keepTimesFresh(this.list);
    this.list.addEventListener("click", (event) => this.snoozeClick(event));
    this.list.addEventListener("click", (event) => this.actionClick(event));
  }

  isOpen() {
    return !this.panel.hidden;
  }

  async open() {
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    const page = await send(`${this.urls.listUrl}?page_size=${this.limit}`, this.urls.csrfToken);
    this.list.replaceChildren(...page.results.map((n) => this.render(n)));
    this.empty.hidden = page.results.length > 0;
    this.markSeen();
  }

  close() {
    this.panel.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }

  /** Everything up to the newest item shown is seen (the count is of unread ones). */
  markSeen() {
    const newest = Number(this.list.firstElementChild?.dataset.id);
    if (!newest) return;
    send(this.urls.markSeenUrl, this.urls.csrfToken, "POST", { up_to: newest }).catch(() => {});
  }

  /** An unread item is marked read before its link (or a link action) is followed, as in
   * the centre. */
  async follow(event) {
    const link = event.target.closest(".notification-bell__link, a[data-action-link]");
    const item = link?.closest(".notification-bell__item.is-unread");
    if (!item) return;
    const newTab = event.ctrlKey || event.metaKey || event.shiftKey || event.button === 1;
    const read = fetch(`${this.urls.listUrl}${item.dataset.id}/mark_read/`, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { Accept: "application/json", "X-CSRFToken": this.urls.csrfToken },
    });
    item.classList.remove("is-unread");
    if (newTab) return;
    event.preventDefault();
    await read.catch(() => {});
    window.location.assign(link.href);
  }

  render(notification) {
    const item = document.createElement("li");
    item.className = "notification-bell__item";
    item.dataset.id = notification.id;
    item.classList.toggle("is-unread", !notification.is_read);
    const avatar = document.createElement("span");
    avatar.className = "notification-bell__avatar";
    avatar.setAttribute("aria-hidden", "true");
    avatar.textContent = initial(notification, notification.category);
    const url = safeUrl(notification.url);
    const link = document.createElement("a");
    link.className = "notification-bell__link";
    link.href = url ?? this.panel.querySelector(".notification-bell__all").href;
    link.textContent = heading(notification);
    const meta = document.createElement("span");
    meta.className = "notification-bell__meta";
    const time = document.createElement("time");
    setTime(time, notification.created_at);
    meta.append(levelBadge(notification.level, notification.level_label), time);
    const text = document.createElement("span");
    text.className = "notification-bell__text";
    text.append(link, meta);
    const buttons = actionButtons(notification, heading(notification));
    if (buttons) text.append(buttons);
    item.append(avatar, text, snoozeMenu(heading(notification), "snooze notification-bell__snooze"));
    return item;
  }

  /** A choice of a row's snooze menu: the row leaves the list once the server took it. */
  snoozeClick(event) {
    const control = event.target.closest('button[data-action^="snooze"]');
    if (!control) return;
    const item = control.closest("[data-id]");
    const menu = control.closest("details");
    const until =
      control.dataset.action === "snooze" ? snoozeUntil(control.dataset.choice) : customUntil(menu);
    if (!until) {
      menu.querySelector(".snooze__custom").focus();
      return;
    }
    const url = snoozeUrl(this.urls.listUrl, item.dataset.id);
    send(url, this.urls.csrfToken, "POST", { until: until.toISOString() })
      .then(() => item.remove())
      .catch(() => {});
  }

  /** A server action's button: run once, its result in place of the buttons. */
  actionClick(event) {
    const button = event.target.closest("button[data-run-action]");
    if (!button) return;
    pressAction(button, {
      client: this.client,
      viaRest: (id, index) =>
        send(runActionUrl(this.urls.listUrl, id, index), this.urls.csrfToken, "POST"),
      onError: (error) => console.error(error),
    });
  }

  showCount() {
    const unread = this.unread + this.broadcastUnread;
    this.count.textContent = unread > 99 ? "99+" : String(unread);
    this.count.dataset.count = String(unread);
  }

  async refreshBroadcasts() {
    const counts = await send(this.urls.unreadCountUrl, this.urls.csrfToken);
    this.broadcastUnread = counts.broadcast_unread_count;
    this.showCount();
  }

  start() {
    const client = new NotificationClient({
      url: this.urls.socketUrl,
      ticketUrl: this.urls.ticketUrl,
      heartbeatSeconds: Number(this.urls.heartbeatSeconds) || 25,
    });
    // Every event frame, and the ready frame, carries the exact counts of notifications.
    client.on("counts", (counts) => {
      this.unread = counts.unread;
      this.showCount();
    });
    for (const event of ["broadcast", "broadcast_read", "broadcast_deleted"]) {
      client.on(event, () => this.refreshBroadcasts().catch(() => {}));
    }
    const arrive = (payload) => {
      if (!this.isOpen() || !payload.notification) return;
      this.list.querySelector(`[data-id="${payload.replaces ?? 0}"]`)?.remove();
      this.list.prepend(this.render(payload.notification));
      while (this.list.children.length > this.limit) this.list.lastElementChild.remove();
      this.empty.hidden = true;
      this.markSeen();
    };
    client.on("created", arrive);
    client.on("updated", arrive);
    // Snoozed elsewhere: out of the list; back at its time: in again, as new.
    client.on("snoozed", (payload) => {
      for (const id of payload.ids ?? []) this.list.querySelector(`[data-id="${id}"]`)?.remove();
    });
    client.on("unsnoozed", arrive);
    // Run in another tab or here: the result replaces the buttons.
    client.on("action_done", (payload) => applyActionDone(this.list, payload));
    client.start();
    this.client = client;
  }
}

for (const root of document.querySelectorAll("[data-notification-bell]")) {
  const bell = new Bell(root);
  bell.start();
  startPush(root).catch((error) => console.error("Web Push unavailable", error));
  // For the console and for tests.
  root.bell = bell;
}
