import { createExecutionContext, env } from "cloudflare:test";
import worker from "../src/index";
import { createUser } from "./helpers/factories";
import { describe, expect, it } from "vitest";
import { expectError, expectStatus, get } from "./helpers/api";
import { expiryFor, signPath, SIGNATURE_TTL_SECONDS, SIGNATURE_WINDOW_SECONDS, verifyScope } from "../src/lib/signing";

describe("health, OpenAPI and docs", () => {
  it("answers /healthz without a key", async () => {
    expect(await expectStatus(get("/healthz"), 200)).toEqual({ status: "ok" });
  });

  it("answers /healthz 503 naming the vars, and refuses to create a dataset, when the DatasetStore vars contradict", async () => {
    const u = await createUser();
    const withVars = (vars: Record<string, string>, path: string, init: RequestInit = {}) =>
      worker.fetch(new Request(`http://remo.test${path}`, init), { ...env, ...vars } as never, createExecutionContext());
    const off = { DATASET_STORE_NEW: "object", DATASET_STORE_ROUTING: "off" };
    const health = await expectError(withVars(off, "/healthz"), 503, /DATASET_STORE_NEW = "object" needs DATASET_STORE_ROUTING = "on"/);
    expect(health.error).toMatch(/misconfigured/);
    await expectError(withVars({ DATASET_STORE_NEW: "objects" }, "/healthz"), 503, /DATASET_STORE_NEW must be "d1" or "object", not "objects"/);
    await expectError(withVars({ DATASET_STORE_PRUNE_AFTER_S: "soon" }, "/healthz"), 503, /DATASET_STORE_PRUNE_AFTER_S/);
    const create = { method: "POST", headers: { authorization: `Token ${u.key}`, "content-type": "application/json" }, body: '{"name":"nowhere"}' };
    await expectError(withVars(off, "/api/dataset/", create), 503, /DATASET_STORE_ROUTING/);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM datasets WHERE owner_id = ?").bind(u.id).first<number>("n")).toBe(0);
    // The same request with consistent vars creates it.
    const made = await expectStatus<any>(withVars({ DATASET_STORE_NEW: "d1" }, "/api/dataset/", create), 200);
    expect(made.name).toBe("nowhere");
  });

  it("serves an OpenAPI 3.1 document generated from the zod schemas, covering the routes", async () => {
    const doc = await expectStatus(get("/openapi.json"), 200);
    expect(doc.openapi).toBe("3.1.0");
    for (const p of ["/api/rest-auth/login", "/api/dataset", "/api/v1/ui/datasets/{id}", "/api/user-dataset/{id}/folders", "/api/v1/ui/datasets/{id}/contents/{folder_id}"]) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    expect(JSON.stringify(doc.components.schemas.Dataset)).toContain("total_annotation_objects");
    expect(JSON.stringify(doc.components.schemas.DatasetListItem)).toContain("quantity");
    expect(doc.components.securitySchemes.Token).toBeDefined();
  });

  it("serves /docs as the page whose bundled script renders /openapi.json with Swagger UI", async () => {
    const res = await get("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    expect(await res.text()).toContain('src="/assets/docs.js"');
    const script = await (await get("/assets/docs.js")).text();
    expect(script).toContain("/openapi.json");
    expect((await get("/assets/swagger/swagger-ui-bundle.js")).status).toBe(200);
  });

  it("answers unknown paths with the JSON 404 envelope", async () => {
    const body = await expectError(get("/nope"), 404);
    expect(body.detail).toBe("Not found.");
  });
});

describe("URL signing", () => {
  it("rounds expiries up to a window, so one path keeps one URL for a while", async () => {
    const now = 472_222 * SIGNATURE_WINDOW_SECONDS + 10; // just after a window boundary
    const exp = expiryFor(now);
    expect(exp % SIGNATURE_WINDOW_SECONDS).toBe(0);
    expect(exp - now).toBeGreaterThanOrEqual(SIGNATURE_TTL_SECONDS);
    expect(expiryFor(now + 600)).toBe(exp);
    expect(expiryFor(now + SIGNATURE_WINDOW_SECONDS)).toBe(exp + SIGNATURE_WINDOW_SECONDS);
    const a = await signPath(env, "/files/images/1/preview.jpg", exp);
    const b = await signPath(env, "/files/images/1/preview.jpg", exp);
    expect(a).toBe(b);
  });

  it("verifies a good signature, and refuses a tampered path, a forged signature and an expired one", async () => {
    const exp = 2_000_000_000;
    const url = new URL("http://x" + (await signPath(env, "/files/images/7/view.jpg", exp)));
    const sig = url.searchParams.get("sig")!;
    expect(await verifyScope(env, "/files/images/7/view.jpg", exp, sig, exp - 10)).toBe("ok");
    expect(await verifyScope(env, "/files/images/8/view.jpg", exp, sig, exp - 10)).toBe("invalid");
    expect(await verifyScope(env, "/files/images/7/view.jpg", exp + 1, sig, exp - 10)).toBe("invalid");
    expect(await verifyScope(env, "/files/images/7/view.jpg", exp, sig.slice(1) + "A", exp - 10)).toBe("invalid");
    expect(await verifyScope(env, "/files/images/7/view.jpg", exp, sig, exp + 1)).toBe("expired");
  });
});
