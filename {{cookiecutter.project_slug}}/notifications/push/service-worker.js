/**
 * The service worker of Web Push: shows each pushed notification, and opens its page on click.
 *
 * Served from the site root (/service-worker.js) so that its scope is the whole site. A push
 * carries the JSON notifications/push/sending.py builds: {id, title, body, url, category,
 * level, tag, created_at}. A tag shared by a group's updates replaces the shown notification.
 */

self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch {
    message = { body: event.data ? event.data.text() : "" };
  }
  const options = {
    body: message.body || "",
    data: { url: message.url || "/", id: message.id ?? null },
    timestamp: Date.parse(message.created_at) || Date.now(),
  };
  if (message.tag) {
    options.tag = message.tag;
    // A replaced notification alerts again: it holds something new.
    options.renotify = true;
  }
  // High level (3): it stays until the user acts on it.
  if (message.level === 3) options.requireInteraction = true;
  event.waitUntil(self.registration.showNotification(message.title || "Notification", options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || "/", self.location.origin).href;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const open = windows.find((client) => client.url === url && "focus" in client);
      if (open) return open.focus();
      return self.clients.openWindow(url);
    })(),
  );
});

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
