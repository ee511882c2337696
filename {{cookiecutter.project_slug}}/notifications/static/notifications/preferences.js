/**
 * The preferences page: one row per category, one checkbox per channel, each change saved
 * at once with a PATCH of that category. Mandatory categories show their channels locked on.
 */
import { api } from "./rest.js";

const root = document.querySelector("[data-notification-preferences]");
const url = root.dataset.preferencesUrl;
const rows = document.getElementById("preferences-rows");
const status = document.getElementById("preferences-status");
const CHANNELS = [
  ["in_app", "In app"],
  ["email", "Email"],
  ["push", "Push"],
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
    note.textContent = "Always on: these cannot be turned off.";
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
  status.textContent = "Saving…";
  try {
    const saved = await api(url, {
      method: "PATCH",
      body: [{ category: preference.category, [channel]: box.checked }],
    });
    const row = saved.find?.((item) => item.category === preference.category);
    if (row) Object.assign(preference, row);
    box.checked = Boolean(preference[channel] ?? box.checked);
    const channelLabel = CHANNELS.find(([name]) => name === channel)[1].toLowerCase();
    status.textContent = `Saved: ${preference.label}, ${box.checked ? "on" : "off"} for ${channelLabel}.`;
  } catch (error) {
    box.checked = !box.checked;
    status.textContent = `Not saved (${error.message}); try again.`;
  }
}

async function main() {
  try {
    const preferences = await api(url);
    rows.replaceChildren(...preferences.map(render));
  } catch (error) {
    status.textContent = `Could not load your preferences (${error.message}).`;
  }
}

main();
