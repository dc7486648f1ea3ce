// Seeding a served Worker through its public API, as a user would: shared by the browser tests' setup
// (test/browser/setup/server.ts) and the pages benchmark (bench/pages.bench.mjs). Node only.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const FIXTURES = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../fixtures/remo-object-detection");

/**
 * One API call with a key (`Authorization: Token`), or none for signup/login. Objects go as JSON, FormData as is.
 * @param {string} base the server's origin, e.g. http://127.0.0.1:8787
 * @param {string} method
 * @param {string} p the path
 * @param {string | null} key
 * @param {unknown} [body]
 * @returns {Promise<any>} the parsed JSON (null for an empty body)
 * @throws {Error} naming the call and the status for any non-2xx answer
 */
export async function call(base, method, p, key, body) {
  /** @type {Record<string, string>} */
  const headers = key ? { authorization: `Token ${key}` } : {};
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(base + p, { method, headers, body: payload });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
}

/**
 * A new dataset named `name` made through the upload route from Remo's 7 fixture photos, their `annotations.csv`
 * (40 boxes, one Object detection set) and `images_tags.csv`, waited on until the session is done.
 * @returns {Promise<number>} the dataset's id
 * @throws {Error} when the upload fails or is not done within `timeoutMs`
 */
export async function uploadFixtureDataset(base, key, name, timeoutMs = 120_000) {
  const ds = await call(base, "POST", "/api/dataset/", key, { name });
  const form = new FormData();
  form.append("annotation_task", "Object detection");
  form.append("complete", "true");
  for (const f of readdirSync(path.join(FIXTURES, "images")).sort())
    form.append("files", new Blob([readFileSync(path.join(FIXTURES, "images", f))]), f);
  for (const f of ["annotations.csv", "images_tags.csv"])
    form.append("files", new Blob([readFileSync(path.join(FIXTURES, "annotations", f))]), f);
  const { session_id } = await call(base, "POST", `/api/dataset/${ds.id}/upload/`, key, form);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await call(base, "GET", `/api/v1/ui/uploads/${session_id}/status/`, key);
    if (s.status === "done") return ds.id;
    if (s.status === "failed" || Date.now() > deadline) throw new Error(`upload ${s.status}: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
