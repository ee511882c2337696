/**
 * A notification's action buttons, as the centre and the bell draw them: up to two, primary or
 * secondary. A url action is a link; a server action is a button that runs its handler over
 * the socket when it is online, else over REST, once however often it is pressed. The stored
 * result ("Accepted") replaces the buttons, in every tab, when its `action_done` event comes.
 */
import { format, gettext } from "./i18n.js";
import { safeUrl } from "./render.js";

// Runs under way in this tab, by "id:index": a second press waits for the first one's answer.
const running = new Map();

/** The REST route of one server action (the page's list url is its prefix). */
export function runActionUrl(listUrl, id, index) {
  return `${listUrl}actions/${id}/${index}/`;
}

/** The first stored result of a notification's server actions, or null. */
function storedResult(notification) {
  const results = notification.action_results ?? {};
  const first = Object.keys(results).sort()[0];
  return first === undefined ? null : results[first].result;
}

/**
 * The buttons of a notification (a <div class="action-buttons">), or null when it has none.
 * Each one's accessible name names the notification: "Accept: Review the login fix".
 */
export function actionButtons(notification, title) {
  const actions = Array.isArray(notification.actions) ? notification.actions.slice(0, 2) : [];
  if (actions.length === 0) return null;
  const bar = document.createElement("div");
  bar.className = "action-buttons";
  bar.dataset.id = String(notification.id);
  const result = storedResult(notification);
  if (result) {
    showResult(bar, result, { focus: false });
    return bar;
  }
  actions.forEach((action, index) => {
    const style = action.style === "secondary" ? "secondary" : "primary";
    let element;
    if (action.action !== undefined) {
      element = document.createElement("button");
      element.type = "button";
      element.dataset.runAction = String(index);
    } else {
      const url = safeUrl(action.url);
      if (!url) return;
      element = document.createElement("a");
      element.href = url;
      element.dataset.actionLink = "";
    }
    element.className = `button action-buttons__button action-buttons__button--${style}`;
    element.textContent = action.label;
    element.setAttribute(
      "aria-label",
      format(gettext("%(action)s: %(title)s"), { action: action.label, title }),
    );
    bar.append(element);
  });
  return bar;
}

/** What a handler returned, in words: its `message`, else "Done". */
export function resultText(result) {
  return typeof result?.message === "string" && result.message ? result.message : gettext("Done");
}

/**
 * The result in place of the buttons. When the buttons held the focus (the user pressed one
 * here), the result takes it, so keyboard users stay on the row.
 */
export function showResult(bar, result, { focus = true } = {}) {
  const hadFocus = focus && (bar.contains(document.activeElement) || bar.dataset.pressed);
  const text = document.createElement("p");
  text.className = "action-buttons__result";
  text.setAttribute("role", "status");
  text.tabIndex = -1;
  text.textContent = resultText(result);
  bar.replaceChildren(text);
  bar.removeAttribute("aria-busy");
  delete bar.dataset.pressed;
  if (hadFocus) text.focus();
}

/** The result pushed by an `action_done` event, shown in the bar found under `root`. */
export function applyActionDone(root, payload) {
  for (const id of payload.ids ?? []) {
    const bar = root.querySelector(`.action-buttons[data-id="${CSS.escape(String(id))}"]`);
    if (bar) showResult(bar, payload.result);
  }
}

/**
 * Run the server action at `index` of notification `id`: over the client's socket when it is
 * online, else (or when the socket cannot carry it) with `viaRest()`. A run under way is
 * shared, so two presses send one command; the server runs the handler once anyway.
 * Resolves with {index, result, done_at, ran}.
 */
export function runAction(client, id, index, viaRest) {
  const key = `${id}:${index}`;
  if (!running.has(key)) {
    const run = overSocket(client, id, index)
      .catch((error) => {
        // An error frame from the server is the answer; only a missing socket tries REST.
        if (error.code && error.code !== "not_connected") throw error;
        return viaRest();
      })
      .finally(() => running.delete(key));
    running.set(key, run);
  }
  return running.get(key);
}

async function overSocket(client, id, index) {
  if (!client || client.state !== "online" || client.transport !== "websocket") {
    throw new Error("run_action: not connected");
  }
  return (await client.runAction(id, index)).payload;
}

/**
 * A press of a server action's button: the bar's buttons are disabled until the answer, so a
 * double click sends once; the result replaces them, an error gives them back with a line
 * saying so (and goes to `onError`).
 */
export async function pressAction(button, { client, viaRest, onError = () => {} }) {
  const bar = button.closest(".action-buttons");
  if (!bar || bar.getAttribute("aria-busy") === "true") return;
  bar.querySelector(".action-buttons__error")?.remove();
  const buttons = [...bar.querySelectorAll("button")];
  bar.setAttribute("aria-busy", "true");
  bar.dataset.pressed = "true";
  for (const each of buttons) each.disabled = true;
  const id = Number(bar.dataset.id);
  const index = Number(button.dataset.runAction);
  try {
    const done = await runAction(client, id, index, () => viaRest(id, index));
    showResult(bar, done.result);
  } catch (error) {
    bar.removeAttribute("aria-busy");
    delete bar.dataset.pressed;
    for (const each of buttons) each.disabled = false;
    const line = document.createElement("p");
    line.className = "action-buttons__error";
    line.setAttribute("role", "alert");
    line.textContent = gettext("The action did not run. Try again.");
    bar.append(line);
    button.focus();
    onError(error);
  }
}
