import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectStatus, post } from "./helpers/api";
import { createDataset, createUser, makePublic } from "./helpers/factories";

/** A browser session cookie for `u`, as the login page gets it. */
async function sessionCookie(email: string, password: string): Promise<string> {
  const res = await SELF.fetch("http://localhost/api/rest-auth/login/", {
    method: "POST",
    headers: { "content-type": "application/json", origin: "http://localhost" },
    body: JSON.stringify({ email, password, session: "cookie" }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.headers.get("set-cookie")!.split(";")[0];
}

/** An Object detection set with one class in dataset `datasetId`. */
const createSet = (key: string, datasetId: number) =>
  expectStatus(
    post(
      "/api/v1/ui/annotation-sets/",
      { dataset_id: datasetId, name: "s", annotation_task: "Object detection", classes: ["Car"] },
      key,
    ),
    201,
  );

const page = (path: string, cookie?: string) =>
  SELF.fetch(`http://localhost${path}`, {
    headers: { accept: "text/html", ...(cookie ? { cookie } : {}) },
    redirect: "manual",
  });

describe("the pages' HTML shells", () => {
  it("sends a browser without a session to /login, keeping where it was going", async () => {
    const res = await page("/datasets/12?x=1");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`/login?next=${encodeURIComponent("/datasets/12?x=1")}`);
  });

  it("serves the login page to anyone, with a same-origin CSP and no key in it", async () => {
    const res = await page("/login");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('src="/assets/login.js"');
  });

  it("renders a signed-in user's dataset page with the user in the boot block and never the key", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const cookie = await sessionCookie(u.email, "correct horse battery");
    const res = await page(`/datasets/${ds.id}`, cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    const boot = JSON.parse(html.match(/<script type="application\/json" id="boot">(.*?)<\/script>/s)![1]);
    expect(boot).toMatchObject({ page: "dataset", user: { id: u.id }, params: { dataset_id: String(ds.id) } });
    expect(html).not.toContain(cookie.split("=")[1]);
    expect(html).not.toContain(u.key);
  });

  it("answers the 404 page for another user's private dataset, image and set, as the API does", async () => {
    const owner = await createUser();
    const ds = await createDataset(owner);
    const set = await createSet(owner.key, ds.id);
    const other = await createUser();
    const cookie = await sessionCookie(other.email, "correct horse battery");
    for (const path of [
      `/datasets/${ds.id}`,
      `/annotation/${set.id}`,
      `/annotation-detail/${set.id}/insights`,
      `/image/999999999`,
    ]) {
      const res = await page(path, cookie);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).toContain('src="/assets/not-found.js"');
    }
  });

  it("tells the annotation tool whether the caller may edit: the owner may, another user on a public dataset may not", async () => {
    const owner = await createUser();
    const ds = await createDataset(owner);
    const set = await createSet(owner.key, ds.id);
    await makePublic(owner, ds.id);
    const other = await createUser();
    const bootOf = async (cookie: string) => {
      const res = await page(`/annotation/${set.id}`, cookie);
      expect(res.status).toBe(200);
      return JSON.parse((await res.text()).match(/<script type="application\/json" id="boot">(.*?)<\/script>/s)![1]);
    };
    expect((await bootOf(await sessionCookie(owner.email, "correct horse battery"))).params.can_edit).toBe("true");
    expect((await bootOf(await sessionCookie(other.email, "correct horse battery"))).params.can_edit).toBe("false");
  });

  it("keeps JSON 404s for the API and for clients that do not ask for HTML", async () => {
    const res = await SELF.fetch("http://localhost/no/such/page");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toBe("Not found.");
    const html = await page("/no/such/page");
    expect(html.status).toBe(404);
    expect(html.headers.get("content-type")).toContain("text/html");
    // A signed-in person following a stale link still sees who they are.
    const u = await createUser("Stale Link");
    const signedIn = await page("/image/abc", await sessionCookie(u.email, "correct horse battery"));
    expect(signedIn.status).toBe(404);
    expect(await signedIn.text()).toContain('"name":"Stale Link"');
  });

  it("serves the bundled scripts as static assets", async () => {
    const res = await SELF.fetch("http://localhost/assets/login.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("javascript");
  });
});
