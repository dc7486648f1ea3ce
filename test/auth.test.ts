import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, expectError, expectStatus, get, post } from "./helpers/api";
import { createUser, unique } from "./helpers/factories";

describe("auth", () => {
  it("signs up, logs in with JSON and with form data, and answers user-info for Token and Bearer keys", async () => {
    const email = `a${unique()}@example.com`;
    const created = await expectStatus(post("/api/signup/", { email, password: "s3cret-pass", name: "Ada" }), 201);
    expect(created).toMatchObject({ email, name: "Ada" });
    expect(created.key).toMatch(/^[A-Za-z0-9_-]{30,}$/);

    const { key } = await expectStatus(post("/api/rest-auth/login/", { email, password: "s3cret-pass" }), 200);
    const form = new URLSearchParams({ email, password: "s3cret-pass" });
    const viaForm = await expectStatus(
      call("POST", "/api/rest-auth/login/", { body: form, headers: { "content-type": "application/x-www-form-urlencoded" } }),
      200,
    );
    expect(viaForm.key).not.toBe(key);

    const me = await expectStatus(get("/api/user-info/", key), 200);
    expect(me).toMatchObject({ id: created.id, email, name: "Ada" });
    const bearer = await expectStatus(call("GET", "/api/user-info", { headers: { authorization: `Bearer ${viaForm.key}` } }), 200);
    expect(bearer.id).toBe(created.id);
  });

  it("stores keys hashed, never in clear", async () => {
    const u = await createUser();
    const rows = await env.DB.prepare("SELECT key_hash FROM api_keys WHERE user_id = ?").bind(u.id).all<{ key_hash: string }>();
    expect(rows.results.length).toBe(1);
    expect(rows.results[0].key_hash).not.toContain(u.key);
    expect(rows.results[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("rejects a wrong password and an unknown email with the same 400", async () => {
    const u = await createUser();
    const a = await expectError(post("/api/rest-auth/login/", { email: u.email, password: "wrong-password" }), 400);
    const b = await expectError(post("/api/rest-auth/login/", { email: `x${unique()}@example.com`, password: "wrong-password" }), 400);
    expect(a.error).toBe(b.error);
    expect(a.non_field_errors).toEqual([a.error]);
  });

  it("answers 400 naming the field for a login without a password, and for malformed JSON", async () => {
    const body = await expectError(post("/api/rest-auth/login/", { email: "a@b.c" }), 400);
    expect(body.issues.map((i: { path: string }) => i.path)).toContain("password");
    await expectError(call("POST", "/api/rest-auth/login/", { body: "{not json", headers: { "content-type": "application/json" } }), 400);
  });

  it("refuses a duplicate email (409), a bad email and a short password (400)", async () => {
    const u = await createUser();
    await expectError(post("/api/signup/", { email: u.email, password: "another-pass" }), 409);
    await expectError(post("/api/signup/", { email: "not-an-email", password: "another-pass" }), 400, /email/);
    await expectError(post("/api/signup/", { email: `s${unique()}@example.com`, password: "short" }), 400, /password/);
  });

  it("answers 401 without a key, with a bad key, and with a malformed header", async () => {
    await expectError(get("/api/user-info/"), 401, /not provided/);
    await expectError(get("/api/user-info/", "not-a-real-key"), 401, /Invalid token/);
    await expectError(call("GET", "/api/user-info/", { headers: { authorization: "Basic abc" } }), 401);
  });

  it("logout revokes only the key it was called with", async () => {
    const u = await createUser();
    const { key: second } = await expectStatus(post("/api/rest-auth/login/", { email: u.email, password: "correct horse battery" }), 200);
    await expectStatus(post("/api/rest-auth/logout/", {}, u.key), 200);
    await expectError(get("/api/user-info/", u.key), 401);
    await expectStatus(get("/api/user-info/", second), 200);
  });

  it("carries a request id on every response, echoing a well-formed one", async () => {
    const res = await call("GET", "/healthz", { headers: { "x-request-id": "trace-123" } });
    expect(res.headers.get("x-request-id")).toBe("trace-123");
    const err = await get("/api/user-info/");
    const body = await err.json<{ request_id: string }>();
    expect(err.headers.get("x-request-id")).toBe(body.request_id);
  });
});
