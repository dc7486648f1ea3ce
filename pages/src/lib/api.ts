/**
 * The pages' only door to the server: the public JSON API, authenticated by the browser's session cookie (sent
 * because the request is same-origin; the browser adds `Origin` to writes, which the Worker checks). A 401 means the
 * session ended: go to the sign-in page and come back here after.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export function loginUrl(next = location.pathname + location.search): string {
  return `/login?next=${encodeURIComponent(next)}`;
}

/** The message to show for a failed call: the API's `detail`/`error`, else the status. */
function messageOf(status: number, body: any): string {
  if (body && typeof body === "object") {
    if (typeof body.detail === "string" && body.detail) return body.detail;
    if (typeof body.error === "string" && body.error) return body.error;
  }
  return `Request failed (${status})`;
}

/**
 * Calls the API. `body` objects go as JSON; FormData as is. Resolves with the parsed JSON (or null for 204).
 * @throws HttpError for any non-2xx answer (after redirecting to /login on 401).
 */
export async function api<T = any>(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  let body: BodyInit | undefined;
  if (init.body instanceof FormData) body = init.body;
  else if (init.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(init.body);
  }
  const res = await fetch(path, {
    method: init.method ?? (body ? "POST" : "GET"),
    headers,
    body,
    credentials: "same-origin",
    signal: init.signal,
  });
  const text = await res.text();
  let parsed: any = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (res.status === 401 && !path.startsWith("/api/rest-auth/")) {
    location.assign(loginUrl());
    throw new HttpError(401, "Signed out", parsed);
  }
  if (!res.ok) throw new HttpError(res.status, messageOf(res.status, parsed), parsed);
  return parsed as T;
}

/** Every page of a Remo list (`{results, next}`), following `next` up to `max` items. */
export async function allPages<T = any>(path: string, max = 10_000): Promise<T[]> {
  const items: T[] = [];
  let url: string | null = path;
  while (url && items.length < max) {
    const page: { results: T[]; next: string | null } = await api(url);
    items.push(...page.results);
    url = page.next;
  }
  return items;
}
