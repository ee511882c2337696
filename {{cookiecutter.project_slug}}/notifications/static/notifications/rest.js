/** JSON over fetch for the notification pages: session cookie, CSRF header, errors thrown. */

export class HttpError extends Error {
  constructor(method, url, status) {
    super(`${method} ${url}: HTTP ${status}`);
    this.status = status;
  }
}

export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

export async function api(url, { method = "GET", body = undefined, keepalive = false } = {}) {
  const headers = { Accept: "application/json" };
  // Session authentication: DRF checks the CSRF token on every unsafe method.
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    keepalive,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new HttpError(method, url, response.status);
  return response.status === 204 ? null : response.json();
}

/** `url` with query parameters added; empty values left out. */
export function withQuery(url, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(name, String(value));
  }
  const text = query.toString();
  if (!text) return url;
  return `${url}${url.includes("?") ? "&" : "?"}${text}`;
}
