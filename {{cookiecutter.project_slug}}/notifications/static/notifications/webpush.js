/**
 * Web Push on the demo pages: registers the site's service worker (/service-worker.js, whose
 * push handler shows each notification) and, where the page has a [data-push-toggle] button,
 * subscribes this browser through notifications/push/subscribe/ or unsubscribes it.
 */
import { gettext } from "./i18n.js";
import { api } from "./rest.js";

const WORKER = "/service-worker.js";

/** applicationServerKey wants the key's bytes; the server gives base64url text. */
function keyBytes(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (character) => character.charCodeAt(0));
}

/**
 * Register the worker; wire the page's push button when the server has VAPID keys. Resolves
 * with the registration, or null where the browser has no Web Push (or no secure context).
 */
export async function startPush(root) {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !root.dataset.pushUrl) {
    return null;
  }
  const registration = await navigator.serviceWorker.register(WORKER, { scope: "/" });
  const button = root.querySelector("[data-push-toggle]");
  if (!button) return registration;
  const status = await api(root.dataset.pushUrl).catch(() => null);
  if (!status?.enabled) return registration;

  const show = async () => {
    const subscribed = Boolean(await registration.pushManager.getSubscription());
    button.hidden = false;
    button.textContent = subscribed
      ? gettext("Turn off push notifications")
      : gettext("Turn on push notifications");
    button.setAttribute("aria-pressed", String(subscribed));
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await togglePush(root, registration, status.public_key);
    } catch (error) {
      console.error(error);
    } finally {
      button.disabled = false;
      await show();
    }
  });
  await show();
  return registration;
}

async function togglePush(root, registration, publicKey) {
  const current = await registration.pushManager.getSubscription();
  if (current) {
    const body = { endpoint: current.endpoint };
    // Forgotten on the server first: a failed request leaves nothing sending to a dead endpoint.
    await api(root.dataset.pushUnsubscribeUrl, { method: "POST", body }).catch(() => null);
    await current.unsubscribe();
    return;
  }
  if ((await Notification.requestPermission()) !== "granted") return;
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: keyBytes(publicKey),
  });
  await api(root.dataset.pushSubscribeUrl, { method: "POST", body: subscription.toJSON() });
}
