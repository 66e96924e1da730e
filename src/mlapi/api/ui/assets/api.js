// Calls to mlapi's REST API, with the user's key, turning refusals into Problem errors.
//
// Addresses are relative to the page (/ui), so the dashboard works behind a proxy that
// serves the app under a prefix.

const KEY = "mlapi-api-key";

/** An error answer of the API: its RFC 9457 problem, or what stood for one. */
export class Problem extends Error {
  constructor(status, body) {
    const detail = body.detail ?? body.error ?? `The server answered ${status}.`;
    super(detail);
    this.status = status;
    this.title = body.title ?? `Error ${status}`;
    this.detail = detail;
    this.errors = Array.isArray(body.errors) ? body.errors : [];
    this.kind = typeof body.type === "string" ? body.type.split(":").pop() : "";
  }

  /** Whether another key could help: the key was missing, wrong, or of too small a scope. */
  get aboutKey() {
    return this.status === 401 || this.kind === "forbidden";
  }
}

/** The key this tab uses, or "" for none. */
export function storedKey() {
  return sessionStorage.getItem(KEY) ?? "";
}

/** Use `key` for every later request of this tab ("" to send none). */
export function storeKey(key) {
  if (key) {
    sessionStorage.setItem(KEY, key);
  } else {
    sessionStorage.removeItem(KEY);
  }
}

/**
 * Call the API and return the JSON (or text) it answers.
 *
 * @param {string} method The HTTP method.
 * @param {string} path A path of the API, without the leading slash ("v1/models").
 * @param {object} [options] `body` to send as JSON, `accept` for another media type.
 * @returns {Promise<any>} The parsed answer; null for 204.
 * @throws {Problem} For any answer but a 2xx, or when the server cannot be reached.
 */
export async function call(method, path, { body, accept } = {}) {
  const headers = { Accept: accept ?? "application/json" };
  const key = storedKey();
  if (key) {
    headers.Authorization = `Bearer ${key}`;
  }
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  let answer;
  try {
    answer = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    throw new Problem(0, {
      title: "The server cannot be reached",
      detail: `${error.message}. Is it still running?`,
    });
  }
  if (answer.status === 204) {
    return null;
  }
  const type = answer.headers.get("content-type") ?? "";
  const isJson = type.includes("json");
  const content = isJson ? await answer.json().catch(() => ({})) : await answer.text();
  if (!answer.ok) {
    throw new Problem(answer.status, isJson ? content : { detail: content || undefined });
  }
  return content;
}
