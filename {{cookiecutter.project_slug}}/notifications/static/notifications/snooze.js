import { format, gettext } from "./i18n.js";

/**
 * The snooze menu of the centre and the bell: one hour, tomorrow 9:00, or a time of the user's
 * choosing, each in the browser's time zone (Intl's), sent to the server as an absolute time.
 */

const CHOICES = {
  hour: { label: gettext("1 hour"), until: (now) => new Date(now.getTime() + 60 * 60 * 1000) },
  tomorrow: {
    label: gettext("Tomorrow 9:00"),
    // Local calendar arithmetic: 9:00 on the next day, whatever the day's length (DST).
    until: (now) => new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 9, 0, 0, 0),
  },
};

/** The time a choice of the menu stands for, computed when it is picked. */
export function snoozeUntil(choice, now = new Date()) {
  return CHOICES[choice].until(now);
}

/** A time typed in the menu's datetime-local field (local time), or null if it is empty. */
export function customUntil(menu) {
  const value = menu.querySelector(".snooze__custom").value;
  const until = value ? new Date(value) : null;
  return until && !Number.isNaN(until.getTime()) ? until : null;
}

export function snoozeUrl(listUrl, id) {
  return `${listUrl}snooze/${id}/`;
}

export function unsnoozeUrl(listUrl, id) {
  return `${listUrl}unsnooze/${id}/`;
}

/** "Snoozed until Tue 09:00", in the browser's time zone. */
export function snoozedText(until) {
  const when = new Date(until).toLocaleString(undefined, {
    weekday: "short",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
  return format(gettext("Snoozed until %(time)s"), { time: when });
}

/**
 * A <details> menu: its buttons carry data-action="snooze" and data-choice, or
 * data-action="snooze-custom" beside the datetime field; the page handles the clicks.
 */
export function snoozeMenu(title, className = "snooze") {
  const menu = document.createElement("details");
  menu.className = className;
  const summary = document.createElement("summary");
  summary.className = "button";
  summary.textContent = gettext("Snooze");
  summary.setAttribute("aria-label", format(gettext("Snooze: %(title)s"), { title }));
  const options = document.createElement("div");
  options.className = "snooze__menu";
  for (const [choice, { label }] of Object.entries(CHOICES)) {
    const option = document.createElement("button");
    option.type = "button";
    option.className = "button button--quiet";
    option.dataset.action = "snooze";
    option.dataset.choice = choice;
    option.textContent = label;
    options.append(option);
  }
  const field = document.createElement("label");
  field.className = "snooze__field";
  field.textContent = `${gettext("Until")} `;
  const input = document.createElement("input");
  input.type = "datetime-local";
  input.className = "snooze__custom";
  input.step = "1";
  field.append(input);
  const custom = document.createElement("button");
  custom.type = "button";
  custom.className = "button";
  custom.dataset.action = "snooze-custom";
  custom.textContent = gettext("Snooze until then");
  options.append(field, custom);
  menu.append(summary, options);
  return menu;
}
