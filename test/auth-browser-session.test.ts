import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, call, expectError, expectStatus, post } from "./helpers/api";
import { createDataset, createUser, type TestUser } from "./helpers/factories";

const PASSWORD = "correct horse battery";
const SAME_ORIGIN = { origin: BASE };

/** Signs in as a browser would, returning the response (its body already read) and the cookie pair to send back. */
async function browserLogin(user: TestUser, headers: Record<string, string> = SAME_ORIGIN) {
  const res = await call("POST", "/api/rest-auth/login/", {
    json: { email: user.email, password: PASSWORD, session: "cookie" },
    headers,
  });
  const body = await expectStatus(res, 200);
  const setCookie = res.headers.get("set-cookie") ?? "";
  const pair = setCookie.split(";")[0];
  return { res, body, setCookie, cookie: pair, key: pair.slice(pair.indexOf("=") + 1) };
}

const withCookie = (cookie: string, headers: Record<string, string> = {}) => ({ cookie, ...headers });

describe("browser sessions (cookie auth)", () => {
  it("login with session=cookie sets an HttpOnly, Secure, SameSite=Lax, Path=/ cookie and leaves the key out of the body", async () => {
    const u = await createUser("Cookie User");
    const { body, setCookie, key } = await browserLogin(u);
    expect(setCookie).toMatch(/^remo_session=[A-Za-z0-9_-]{30,};/);
    const attrs = setCookie.split(";").map((a) => a.trim().toLowerCase());
    expect(attrs).toEqual(expect.arrayContaining(["httponly", "secure", "samesite=lax", "path=/"]));
    expect(attrs.some((a) => a.startsWith("domain="))).toBe(false);
    expect(body).toMatchObject({ id: u.id, email: u.email, name: "Cookie User" });
    expect(body.key).toBeUndefined();
    expect(JSON.stringify(body)).not.toContain(key);

    // Stored hashed, like every other key.
    const rows = await env.DB.prepare("SELECT key_hash FROM api_keys WHERE user_id = ?")
      .bind(u.id)
      .all<{ key_hash: string }>();
    expect(rows.results.length).toBe(2);
    expect(rows.results.every((r) => /^[0-9a-f]{64}$/.test(r.key_hash) && !r.key_hash.includes(key))).toBe(true);
  });

  it("accepts session=cookie as form data too", async () => {
    const u = await createUser();
    const form = new URLSearchParams({ email: u.email, password: PASSWORD, session: "cookie" });
    const res = await call("POST", "/api/rest-auth/login/", {
      body: form,
      headers: { "content-type": "application/x-www-form-urlencoded", ...SAME_ORIGIN },
    });
    const body = await expectStatus(res, 200);
    expect(body.key).toBeUndefined();
    expect(res.headers.get("set-cookie")).toMatch(/^remo_session=/);
  });

  it("refuses a browser login from another origin (login CSRF) and an unknown session value", async () => {
    const u = await createUser();
    const res = await call("POST", "/api/rest-auth/login/", {
      json: { email: u.email, password: PASSWORD, session: "cookie" },
      headers: { origin: "https://evil.example" },
    });
    expect(res.headers.get("set-cookie")).toBeNull();
    await expectError(res, 403, /Cross-site/);
    const bad = await expectError(
      post("/api/rest-auth/login/", { email: u.email, password: PASSWORD, session: "jar" }),
      400,
    );
    expect(bad.issues.map((i: { path: string }) => i.path)).toContain("session");
  });

  it("answers a GET with only the cookie, no Origin needed", async () => {
    const u = await createUser();
    const { cookie } = await browserLogin(u);
    const me = await expectStatus(call("GET", "/api/user-info/", { headers: withCookie(cookie) }), 200);
    expect(me.id).toBe(u.id);
  });

  it("accepts a cookie POST from the Worker's own Origin, or its Referer when Origin is missing", async () => {
    const u = await createUser();
    const { cookie } = await browserLogin(u);
    const ds = await expectStatus(
      call("POST", "/api/dataset/", { json: { name: "from-a-page" }, headers: withCookie(cookie, SAME_ORIGIN) }),
      200,
    );
    expect(ds.name).toBe("from-a-page");
    await expectStatus(
      call("POST", "/api/dataset/", {
        json: { name: "from-a-referer" },
        headers: withCookie(cookie, { referer: `${BASE}/datasets` }),
      }),
      200,
    );
  });

  it("refuses a cookie POST with a foreign Origin, Origin null, a foreign Referer, or neither (403), and changes nothing", async () => {
    const u = await createUser();
    const { cookie } = await browserLogin(u);
    const attempts: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "http://remo.test.evil.example" },
      { origin: "null" },
      { referer: "https://evil.example/page" },
      {},
    ];
    for (const headers of attempts) {
      await expectError(
        call("POST", "/api/dataset/", { json: { name: "csrf" }, headers: withCookie(cookie, headers) }),
        403,
        /Cross-site/,
      );
    }
    await expectError(call("DELETE", "/api/rest-auth/logout/", { headers: withCookie(cookie) }), 403);
    const list = await expectStatus(call("GET", "/api/v1/ui/datasets/", { headers: withCookie(cookie) }), 200);
    expect(list.results.filter((d: { name: string }) => d.name === "csrf")).toEqual([]);
    // Still signed in: a refused request does not end the session.
    await expectStatus(call("GET", "/api/user-info/", { headers: withCookie(cookie) }), 200);
  });

  it("leaves header auth as it was: login answers {key} with no cookie, and a header POST needs no Origin", async () => {
    const u = await createUser();
    const res = await post("/api/rest-auth/login/", { email: u.email, password: PASSWORD });
    expect(res.headers.get("set-cookie")).toBeNull();
    const body = await expectStatus(res, 200);
    expect(Object.keys(body)).toEqual(["key"]);
    await expectStatus(post("/api/dataset/", { name: "sdk" }, body.key), 200);
    await expectStatus(
      call("POST", "/api/dataset/", {
        key: body.key,
        json: { name: "sdk-foreign" },
        headers: { origin: "https://other.example" },
      }),
      200,
    );
  });

  it("lets the Authorization header win over a cookie: a bad header is 401 even beside a good cookie", async () => {
    const u = await createUser();
    const { cookie } = await browserLogin(u);
    await expectError(
      call("GET", "/api/user-info/", { key: "not-a-real-key", headers: withCookie(cookie) }),
      401,
      /Invalid token/,
    );
  });

  it("logout by cookie revokes that key and clears the cookie (Max-Age=0)", async () => {
    const u = await createUser();
    const { cookie } = await browserLogin(u);
    const res = await call("POST", "/api/rest-auth/logout/", { headers: withCookie(cookie, SAME_ORIGIN) });
    const cleared = res.headers.get("set-cookie") ?? "";
    await expectStatus(res, 200);
    expect(cleared).toMatch(/^remo_session=;/);
    expect(cleared.toLowerCase()).toContain("max-age=0");
    expect(cleared.toLowerCase()).toContain("path=/");
    await expectError(call("GET", "/api/user-info/", { headers: withCookie(cookie) }), 401);
    // The user's other keys are untouched.
    await expectStatus(call("GET", "/api/user-info/", { key: u.key }), 200);
  });

  it("a header logout does not touch the cookie", async () => {
    const u = await createUser();
    const res = await call("POST", "/api/rest-auth/logout/", { key: u.key });
    await expectStatus(res, 200);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("a new browser login revokes the session cookie the browser held before", async () => {
    const u = await createUser();
    const first = await browserLogin(u);
    const second = await browserLogin(u, { ...SAME_ORIGIN, cookie: first.cookie });
    expect(second.key).not.toBe(first.key);
    await expectError(call("GET", "/api/user-info/", { headers: withCookie(first.cookie) }), 401);
    await expectStatus(call("GET", "/api/user-info/", { headers: withCookie(second.cookie) }), 200);
  });

  it("answers 401 for a garbage cookie and tells the browser to forget it", async () => {
    const res = await call("GET", "/api/user-info/", { headers: withCookie("remo_session=garbage-not-a-key") });
    const cleared = res.headers.get("set-cookie") ?? "";
    await expectError(res, 401, /sign in again/);
    expect(cleared.toLowerCase()).toMatch(/^remo_session=;.*max-age=0/);
    await expectError(call("GET", "/api/user-info/", { headers: withCookie("other=1") }), 401, /not provided/);
  });

  it("another user's cookie cannot read a private dataset (404, as for a key)", async () => {
    const owner = await createUser();
    const ds = await createDataset(owner);
    const intruder = await createUser();
    const { cookie } = await browserLogin(intruder);
    await expectError(call("GET", `/api/v1/ui/datasets/${ds.id}/`, { headers: withCookie(cookie) }), 404);
    await expectStatus(call("GET", `/api/v1/ui/datasets/${ds.id}/`, { key: owner.key }), 200);
  });

  it("signup with session=cookie signs the browser in without a key in the body", async () => {
    const email = `b${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}@example.com`;
    const res = await call("POST", "/api/signup/", {
      json: { email, password: PASSWORD, session: "cookie" },
      headers: SAME_ORIGIN,
    });
    const setCookie = res.headers.get("set-cookie") ?? "";
    const body = await expectStatus(res, 201);
    expect(body.email).toBe(email);
    expect(body.key).toBeUndefined();
    const me = await expectStatus(
      call("GET", "/api/user-info/", { headers: withCookie(setCookie.split(";")[0]) }),
      200,
    );
    expect(me.email).toBe(email);
  });

  it("does not let the cookie replace a signature on image byte routes", async () => {
    const u = await createUser();
    const { cookie } = await browserLogin(u);
    await expectError(call("GET", "/files/images/1/original/x.jpg", { headers: withCookie(cookie) }), 403);
  });
});
