import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectError, expectStatus, get } from "./helpers/api";
import { expiryFor, signPath, SIGNATURE_TTL_SECONDS, SIGNATURE_WINDOW_SECONDS, verifyScope } from "../src/lib/signing";

describe("health, OpenAPI and docs", () => {
  it("answers /healthz without a key", async () => {
    expect(await expectStatus(get("/healthz"), 200)).toEqual({ status: "ok" });
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
