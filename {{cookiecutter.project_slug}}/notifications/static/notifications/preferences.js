/**
 * The preferences page: one row per category, one checkbox per channel, each change saved
 * at once with a PATCH of that category. Mandatory categories show their channels locked on.
 * Below them, the reader settings: language, time zone and quiet hours for email.
 */
import { format, gettext } from "./i18n.js";
import { api } from "./rest.js";

const root = document.querySelector("[data-notification-preferences]");
const url = root.dataset.preferencesUrl;
const settingsUrl = root.dataset.settingsUrl;
const rows = document.getElementById("preferences-rows");
const status = document.getElementById("preferences-status");
const settingsForm = document.getElementById("reader-settings");
const CHANNELS = [
  ["in_app", gettext("In app"), gettext("in app")],
  ["email", gettext("Email"), gettext("email")],
  ["push", gettext("Push"), gettext("push")],
];

function render(preference) {
  const row = document.createElement("tr");
  row.dataset.category = preference.category;
  const name = document.createElement("th");
  name.scope = "row";
  name.textContent = preference.label;
  if (preference.mandatory) {
    const note = document.createElement("span");
    note.className = "preferences__note";
    note.textContent = gettext("Always on: these cannot be turned off.");
    name.append(note);
  }
  row.append(name);
  for (const [channel, channelLabel] of CHANNELS) {
    const cell = document.createElement("td");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = channel;
    box.checked = Boolean(preference[channel]);
    box.disabled = Boolean(preference.mandatory);
    box.setAttribute("aria-label", `${channelLabel}: ${preference.label}`);
    box.addEventListener("change", () => save(preference, channel, box));
    cell.append(box);
    row.append(cell);
  }
  return row;
}

async function save(preference, channel, box) {
  status.textContent = gettext("Saving…");
  try {
    const saved = await api(url, {
      method: "PATCH",
      body: [{ category: preference.category, [channel]: box.checked }],
    });
    const row = saved.find?.((item) => item.category === preference.category);
    if (row) Object.assign(preference, row);
    box.checked = Boolean(preference[channel] ?? box.checked);
    const template = box.checked
      ? gettext("Saved: %(category)s, on for %(channel)s.")
      : gettext("Saved: %(category)s, off for %(channel)s.");
    status.textContent = format(template, {
      category: preference.label,
      channel: CHANNELS.find(([name]) => name === channel)[2],
    });
  } catch (error) {
    box.checked = !box.checked;
    status.textContent = format(gettext("Not saved (%(error)s); try again."), {
      error: error.message,
    });
  }
}

function showSettings(settings) {
  const select = settingsForm.elements.language;
  select.replaceChildren(select.options[0]);
  for (const language of settings.languages) {
    select.append(new Option(language.name, language.code));
  }
  select.value = settings.language;
  settingsForm.elements.time_zone.value = settings.time_zone;
  settingsForm.elements.quiet_start.value = settings.quiet_start ?? "";
  settingsForm.elements.quiet_end.value = settings.quiet_end ?? "";
}

async function saveSettings(event) {
  event.preventDefault();
  const { language, time_zone: zone, quiet_start: start, quiet_end: end } = settingsForm.elements;
  const before = document.documentElement.lang;
  status.textContent = gettext("Saving…");
  try {
    const saved = await api(settingsUrl, {
      method: "PATCH",
      body: {
        language: language.value,
        time_zone: zone.value.trim(),
        quiet_start: start.value || null,
        quiet_end: end.value || null,
      },
    });
    showSettings(saved);
    // A new language shows on the next page; this one follows at once.
    if (saved.language && saved.language !== before) window.location.reload();
    else status.textContent = gettext("Saved.");
  } catch (error) {
    status.textContent = format(gettext("Not saved (%(error)s); try again."), {
      error: error.message,
    });
  }
}

async function main() {
  settingsForm.addEventListener("submit", saveSettings);
  try {
    const [preferences, settings] = await Promise.all([api(url), api(settingsUrl)]);
    rows.replaceChildren(...preferences.map(render));
    showSettings(settings);
  } catch (error) {
    status.textContent = format(gettext("Could not load your preferences (%(error)s)."), {
      error: error.message,
    });
  }
}

main();
