import { describe, expect, it } from "vitest";
import { call, expectStatus, get } from "./helpers/api";
import { createDataset, createUser, insertImage } from "./helpers/factories";

// Every documented route, fed ids and bodies that are wrong in every way we could think of, must answer a 4xx
// (or a 2xx where the input happens to be acceptable) with the JSON envelope: never a 500.
const BAD_IDS = ["abc", "0", "-1", "1.5", "99999999999999999999", "%00", "1e3"];
const BAD_BODIES: [string, string][] = [
  ["application/json", "{not json"],
  ["application/json", "[]"],
  ["application/json", "null"],
  ["application/json", JSON.stringify({ name: "x".repeat(5000), classes: "nope", objects: "nope", files: [{}] })],
  ["application/json", JSON.stringify({ name: 12, dataset_id: "x", annotation_task: 5, urls: "http://x", local_files: 3 })],
  ["text/plain", "hello"],
  ["multipart/form-data; boundary=zzz", "--zzz\r\nContent-Disposition: form-data; name=\"files\"\r\n\r\nbroken"],
];

describe("robustness: no documented route answers 500 to bad input", () => {
  it("answers every route with bad ids and bad bodies without a 500", { timeout: 180_000 }, async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const img = await insertImage(d.id);
    const doc = await expectStatus(get("/openapi.json"), 200);
    const failures: string[] = [];
    let calls = 0;
    for (const [template, ops] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const method of Object.keys(ops)) {
        if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
        const params = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        // Each path parameter bad in turn, the others real (the dataset / image we made).
        const variants: string[] = [];
        const real = (p: string) => (/image/.test(p) ? String(img.id) : String(d.id));
        for (const bad of BAD_IDS) {
          if (!params.length) break;
          for (const p of params) {
            variants.push(template.replace(/\{(\w+)\}/g, (_, q) => (q === p ? encodeURIComponent(bad) : real(q))));
          }
        }
        if (!params.length) variants.push(template);
        variants.push(template.replace(/\{(\w+)\}/g, (_, q) => real(q)));
        const realPath = template.replace(/\{(\w+)\}/g, (_, q) => real(q));
        // Bad ids without a body; bad bodies on the real ids.
        const cases: [string, [string, string] | null][] = variants.map((v) => [v, null]);
        if (method !== "get" && method !== "delete") for (const b of BAD_BODIES) cases.push([realPath, b]);
        for (const [path, b] of cases) {
          const res = await call(method.toUpperCase(), path + "?limit=abc&offset=-5&annotation_format=zzz", {
            key: u.key,
            ...(b ? { body: b[1], headers: { "content-type": b[0] } } : {}),
          });
          calls++;
          const text = await res.text();
          if (res.status >= 500) failures.push(`${method.toUpperCase()} ${path} [${b?.[0] ?? "no body"}] → ${res.status} ${text.slice(0, 200)}`);
          else if (res.status >= 400 && !text.includes('"error"')) failures.push(`${method.toUpperCase()} ${path} → ${res.status} without the envelope: ${text.slice(0, 120)}`);
        }
      }
    }
    if (failures.length) console.log(failures.join("\n"));
    expect(calls).toBeGreaterThan(200);
    expect(failures).toEqual([]);
  });
});

describe("parsed body size", () => {
  it("answers 413 with the envelope to a JSON body over 16 MiB, with or without a Content-Length", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const big = JSON.stringify({ name: "x".repeat(17 * 1024 * 1024) });
    const sized = await call("POST", "/api/dataset/", { key: u.key, body: big, headers: { "content-type": "application/json" } });
    expect(sized.status).toBe(413);
    expect((await sized.json<{ error: string }>()).error).toMatch(/16777216 bytes/);
    const bytes = new TextEncoder().encode(big);
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 1 << 20) controller.enqueue(bytes.subarray(i, i + (1 << 20)));
        controller.close();
      },
    });
    const chunked = await call("POST", `/api/v1/ui/annotation-sets/1/exports/`, {
      key: u.key,
      body: streamed,
      headers: { "content-type": "application/json" },
    });
    expect(chunked.status).toBe(413);
    // A body under the limit still goes through.
    await expectStatus(call("PATCH", `/api/v1/ui/datasets/${d.id}/`, { key: u.key, body: JSON.stringify({ license: "y".repeat(900) }), headers: { "content-type": "application/json" } }), 200);
  });
});
