/**
 * Toasts for new notifications and for actions that can be undone: at most three at once,
 * then "N more"; each dismissible,
 * announced politely to screen readers, and never covering the page's controls (the page
 * keeps room for them at its foot).
 */
import { format, gettext, ngettext } from "./i18n.js";
import { levelBadge } from "./render.js";

const VISIBLE = 3;
const TOAST_MILLISECONDS = 8000;
// How long an undoable action waits before it is done.
export const UNDO_MILLISECONDS = 5000;

export class Toasts {
  constructor(region, { live, onOpen = () => {} }) {
    this.region = region;
    this.live = live;
    this.onOpen = onOpen;
    this.hidden = 0;
    this.stack = document.createElement("ol");
    this.stack.className = "toasts__stack";
    this.more = document.createElement("button");
    this.more.type = "button";
    this.more.className = "toasts__more";
    this.more.hidden = true;
    this.more.addEventListener("click", () => this.clear());
    region.append(this.stack, this.more);
    // The page's foot grows with the stack, so the last controls can scroll clear of it.
    new ResizeObserver(() => {
      document.body.style.paddingBottom = `${region.offsetHeight + 16}px`;
    }).observe(region);
  }

  show(item, categoryLabel = (name) => name) {
    const title =
      item.title || (item.isBroadcast ? gettext("Announcement") : gettext("New notification"));
    const element = document.createElement("li");
    element.className = "toast";
    element.dataset.level = String(item.level ?? 1);
    const text = document.createElement("div");
    text.className = "toast__text";
    const heading = document.createElement("strong");
    heading.textContent = title;
    const body = document.createElement("p");
    body.textContent = item.message ?? "";
    const meta = document.createElement("p");
    meta.className = "toast__meta";
    const category = document.createElement("span");
    category.textContent = categoryLabel(item.category);
    meta.append(levelBadge(item.level ?? 1, item.level_label), category);
    text.append(heading, body, meta);
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "toast__dismiss";
    dismiss.setAttribute("aria-label", format(gettext("Dismiss: %(title)s"), { title }));
    dismiss.textContent = "×";
    dismiss.addEventListener("click", () => this.dismiss(element));
    element.append(text, dismiss);
    if (!item.isBroadcast && item.id) {
      text.addEventListener("click", () => this.onOpen(item.id));
    }
    this.add(element, TOAST_MILLISECONDS);
    this.announce(`${title}. ${item.message ?? ""}`);
  }

  /**
   * "Deleted: <title>" with an Undo button: `onDone` runs when the toast goes (timed out,
   * dismissed or pushed out), `onUndo` instead when Undo is pressed. Returns the toast.
   */
  undoable(text, { onUndo, onDone, milliseconds = UNDO_MILLISECONDS }) {
    const element = document.createElement("li");
    element.className = "toast toast--undo";
    const label = document.createElement("p");
    label.className = "toast__text";
    label.textContent = text;
    const undo = document.createElement("button");
    undo.type = "button";
    undo.className = "toast__undo";
    undo.textContent = gettext("Undo");
    undo.setAttribute("aria-label", format(gettext("Undo: %(action)s"), { action: text }));
    undo.addEventListener("click", () => {
      element.onClose = null;
      this.dismiss(element);
      onUndo();
    });
    element.onClose = onDone;
    element.append(label, undo);
    this.add(element, milliseconds);
    const seconds = Math.round(milliseconds / 1000);
    this.announce(
      format(
        ngettext(
          "%(action)s. Undo is available for %(seconds)s second.",
          "%(action)s. Undo is available for %(seconds)s seconds.",
          seconds,
        ),
        { action: text, seconds },
      ),
    );
    return element;
  }

  add(element, milliseconds) {
    this.stack.prepend(element);
    element.timer = setTimeout(() => this.dismiss(element), milliseconds);
    // The oldest beyond three leave the screen; the list holds them all anyway.
    while (this.stack.children.length > VISIBLE) {
      const oldest = this.stack.lastElementChild;
      this.close(oldest);
      this.hidden += 1;
    }
    this.updateMore();
  }

  /** Take a toast off the screen; an undoable one's action is done then. */
  close(element) {
    clearTimeout(element.timer);
    element.remove();
    const onClose = element.onClose;
    element.onClose = null;
    onClose?.();
  }

  error(title, message) {
    this.show({ title, message, level: 3, isBroadcast: true });
  }

  dismiss(element) {
    this.close(element);
    if (this.stack.children.length === 0) this.hidden = 0;
    this.updateMore();
  }

  clear() {
    for (const element of [...this.stack.children]) this.dismiss(element);
    this.hidden = 0;
    this.updateMore();
  }

  updateMore() {
    this.more.hidden = this.hidden === 0;
    this.more.textContent = format(
      ngettext("%(count)s more: dismiss all", "%(count)s more: dismiss all", this.hidden),
      { count: this.hidden },
    );
  }

  announce(text) {
    // One short live message per toast; a burst is summed up rather than read out item by item.
    const count = this.hidden + VISIBLE;
    this.live.textContent = this.hidden
      ? format(ngettext("%(count)s new notification", "%(count)s new notifications", count), {
          count,
        })
      : text;
  }
}
