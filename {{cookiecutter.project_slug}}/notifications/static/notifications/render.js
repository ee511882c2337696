/**
 * What the centre and the bell draw the same way: relative times, level icons with text,
 * actor initials, headings and safe links. Text always goes through textContent.
 */

import { format, gettext, language } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
// One path per level: a dot (low), an exclamation in a circle (medium), a triangle (high).
const LEVEL_PATHS = {
  1: "M8 5.5a2.5 2.5 0 1 1 0 5 2.5 2.5 0 0 1 0-5z",
  2: "M8 1a7 7 0 1 1 0 14A7 7 0 0 1 8 1zm-.9 3v5h1.8V4zm0 6.5v1.8h1.8v-1.8z",
  3: "M8 1l7.5 13.5h-15zm-.9 4.5v4.5h1.8V5.5zm0 5.8v1.7h1.8v-1.7z",
};
const LEVEL_NAMES = { 1: gettext("Low"), 2: gettext("Medium"), 3: gettext("High") };

// In the page's language, not the browser's: the words around them are.
const relative = new Intl.RelativeTimeFormat(language, { numeric: "auto" });
const absolute = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" });
const UNITS = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

/** "just now", "3 minutes ago", "yesterday". */
export function relativeTime(date, now = Date.now()) {
  const seconds = Math.round((date.getTime() - now) / 1000);
  if (Math.abs(seconds) < 45) return gettext("just now");
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "minute") {
      return relative.format(Math.round(seconds / size), unit);
    }
  }
  return gettext("just now");
}

/** Fill a <time> element: relative text, the exact time as its title. */
export function setTime(element, isoDate) {
  const date = new Date(isoDate);
  element.dateTime = isoDate;
  element.title = absolute.format(date);
  element.textContent = relativeTime(date);
}

/** Refresh every relative time under `root`, each minute while the page is open. */
export function keepTimesFresh(root, every = 30000) {
  return setInterval(() => {
    for (const element of root.querySelectorAll("time[datetime]")) {
      element.textContent = relativeTime(new Date(element.dateTime));
    }
  }, every);
}

/** The level as an icon and its word: never colour alone. */
export function levelBadge(level, label) {
  const badge = document.createElement("span");
  badge.className = "level";
  badge.dataset.level = String(level);
  const icon = document.createElementNS(SVG, "svg");
  icon.setAttribute("viewBox", "0 0 16 16");
  icon.setAttribute("aria-hidden", "true");
  icon.classList.add("level__icon");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", LEVEL_PATHS[level] ?? LEVEL_PATHS[1]);
  icon.append(path);
  const text = document.createElement("span");
  text.textContent = label || LEVEL_NAMES[level] || LEVEL_NAMES[1];
  badge.append(icon, text);
  return badge;
}

/** The first letter of the newest actor, or of the fallback (a category label). */
export function initial(notification, fallback) {
  const name = notification.actors?.[0]?.username ?? notification.actor?.username ?? fallback;
  return (name || "?").trim().charAt(0).toUpperCase() || "?";
}

/**
 * The heading of an item: its title, which for a group already names its people ("carol and
 * bob commented on Fix login"; the server writes it). An untitled item is headed by its
 * message, never by its level.
 */
export function heading(notification) {
  return notification.title || notification.message || gettext("Notification");
}

/** The link of an item when it is http(s) or a path on this site; else null. */
export function safeUrl(url) {
  if (typeof url !== "string" || !url) return null;
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}
