import { exports } from "cloudflare:workers";
import { expect } from "vitest";

export const BASE = "http://remo.test";

/** A request through the Worker's own fetch handler. `path` is relative, as the API's links are. */
export async function call(
  method: string,
  path: string,
  opts: { key?: string; json?: unknown; body?: BodyInit; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers.authorization = `Token ${opts.key}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(opts.json);
  }
  return (exports as { default: { fetch(r: Request): Promise<Response> } }).default.fetch(
    new Request(BASE + path, { method, headers, body }),
  );
}

/** Asserts the status, printing the body when it differs, and returns the parsed JSON body (if any). */
export async function expectStatus<T = any>(res: Response | Promise<Response>, status: number): Promise<T> {
  const r = await res;
  const text = await r.text();
  expect(r.status, `${r.status} ${text.slice(0, 2000)}`).toBe(status);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** An error answer must be the envelope: error, errors, detail (and the request id). */
export async function expectError(res: Response | Promise<Response>, status: number, contains?: string | RegExp) {
  const body = await expectStatus<any>(res, status);
  expect(typeof body.error).toBe("string");
  expect(Array.isArray(body.errors)).toBe(true);
  expect(typeof body.detail).toBe("string");
  expect(typeof body.request_id).toBe("string");
  if (contains) expect(body.error).toMatch(contains);
  return body;
}

export const get = (path: string, key?: string) => call("GET", path, { key });
export const post = (path: string, json: unknown, key?: string) => call("POST", path, { key, json });
export const patch = (path: string, json: unknown, key?: string) => call("PATCH", path, { key, json });
export const put = (path: string, json: unknown, key?: string) => call("PUT", path, { key, json });
export const del = (path: string, key?: string) => call("DELETE", path, { key });
