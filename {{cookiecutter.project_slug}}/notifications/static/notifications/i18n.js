/**
 * The pages' strings in the reader's language, from Django's JavaScript catalog (the
 * `javascript-catalog` URL, loaded by a classic script before the modules run). Without the
 * catalog every string stays in English.
 */

const catalog = globalThis.django;

export function gettext(text) {
  return catalog?.gettext ? catalog.gettext(text) : text;
}

export function ngettext(singular, plural, count) {
  if (catalog?.ngettext) return catalog.ngettext(singular, plural, count);
  return count === 1 ? singular : plural;
}

/** Fill "%(name)s" placeholders, as Python's %-format does: translations may move them. */
export function format(text, values) {
  return text.replace(/%\((\w+)\)s/g, (_match, key) => String(values[key] ?? ""));
}

/** The page's language (the <html lang> the server chose). */
export const language = document.documentElement.lang || "en";

/**
 * A broadcast's title and message in the page's language. A broadcast written with lazy
 * translations holds every language in `data.translations`; a pushed frame carries them all.
 */
export function localized(broadcast) {
  const texts = broadcast.data?.translations;
  const text = texts?.[language] ?? texts?.[language.split("-")[0]];
  if (!text) return broadcast;
  return { ...broadcast, title: text.title ?? broadcast.title, message: text.message ?? "" };
}
