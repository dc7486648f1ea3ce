import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, launch, openPage, server, signIn, visit } from "./helpers";

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

/** Every request `page` makes from now on, by URL. */
function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on("request", (r) => urls.push(r.url()));
  return urls;
}

describe("/docs", () => {
  it("renders the API reference from /openapi.json with the vendored Swagger UI, asking no other host", async () => {
    const { page, problems, context } = await openPage(browser);
    const requests = recordRequests(page);
    const res = await visit(page, "/docs");
    expect(res?.status()).toBe(200);

    // The operations are listed, grouped by tag: the dataset list is one of them.
    const datasets = page.locator(".opblock-summary-path").filter({ hasText: /^\/api\/v1\/ui\/datasets\/?$/ });
    await datasets.first().waitFor();
    expect(await datasets.first().isVisible()).toBe(true);
    expect(await page.locator(".opblock").count()).toBeGreaterThan(50);
    expect(await page.locator(".info .title").textContent()).toBeTruthy();
    // Opening an operation shows its parameters (Swagger UI's own script works under the page's CSP).
    await page.locator(".opblock-get").filter({ has: datasets }).first().locator(".opblock-summary").first().click();
    await page.locator(".opblock.is-open .parameters").first().waitFor();

    // No CDN: everything came from this server (data: URLs are inline, not requests to a host).
    const origin = new URL(server().baseUrl).origin;
    const offsite = requests.filter((u) => !u.startsWith("data:") && new URL(u).origin !== origin);
    expect(offsite).toEqual([]);
    expect(requests.some((u) => new URL(u, origin).pathname === "/openapi.json")).toBe(true);
    expect(requests.some((u) => new URL(u, origin).pathname === "/assets/swagger/swagger-ui-bundle.js")).toBe(true);

    // The top of the page (the whole reference is 10,000 px tall): the pages' top bar, then Swagger UI.
    expect(await page.locator("header.topbar").getByRole("link", { name: "Datasets", exact: true }).isVisible()).toBe(
      true,
    );
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(server().screenshots, "docs.png") });
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe("the URLs the Remo SDK opens", () => {
  it("answer 200 HTML for the owner, load their page's script and run it without errors", async () => {
    const { owner, datasetId, setId } = server();
    const images = await api("GET", `/api/v1/ui/datasets/${datasetId}/images/?limit=1`, owner.key);
    const imageId = images.results[0].id as number;
    // remo-python remo/endpoints/frontend.py, and the two spellings of the image page's dataset parameter
    // (the SDK's Image.view() sends datasetId; Remo's docs write dataset_id).
    const urls: [string, string][] = [
      ["/datasets", "datasets"],
      [`/datasets/${datasetId}`, "dataset"],
      [`/annotation/${setId}`, "annotate"],
      [`/annotation/${setId}/image/${imageId}`, "annotate"],
      [`/annotation-detail/${setId}/insights`, "insights"],
      ["/datasets/filtered/images", "search"],
      [`/image/${imageId}?datasetId=${datasetId}`, "image"],
      [`/image/${imageId}?dataset_id=${datasetId}`, "image"],
    ];

    const { page, problems, context } = await openPage(browser);
    await signIn(page, owner, "/datasets");
    for (const [url, entry] of urls) {
      const script = page.waitForResponse((r) => new URL(r.url()).pathname === `/assets/${entry}.js`);
      const res = await visit(page, url);
      expect(res?.status(), url).toBe(200);
      expect(res?.headers()["content-type"], url).toMatch(/^text\/html/);
      expect(new URL(page.url()).pathname + new URL(page.url()).search, url).toBe(url);
      // 304 when the browser already holds it (the same script served an earlier page).
      expect([200, 304], url).toContain((await script).status());
      // The page's script ran: it rendered into #app (the top bar with the signed-in user, at least).
      await page.getByTestId("user-name").waitFor();
      expect(await page.evaluate(() => JSON.parse(document.getElementById("boot")!.textContent!).page), url).toBe(
        entry,
      );
      expect(problems, url).toEqual([]);
    }
    await context.close();
  });

  it("send / to /datasets", async () => {
    const res = await fetch(server().baseUrl + "/", { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/datasets");

    const { page, problems, context } = await openPage(browser);
    await signIn(page, server().owner, "/datasets");
    await visit(page, "/");
    expect(new URL(page.url()).pathname).toBe("/datasets");
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe("signing out", () => {
  it("ends the session: pages go to /login and the old cookie is refused by the API", async () => {
    const { page, problems, context } = await openPage(browser);
    await signIn(page, server().owner, "/datasets");
    const cookie = (await context.cookies()).find((c) => c.name === "remo_session");
    expect(cookie?.value).toBeTruthy();
    const withOldCookie = () =>
      fetch(server().baseUrl + "/api/user-info/", { headers: { cookie: `remo_session=${cookie!.value}` } });
    // The cookie alone signs API reads while the session lasts.
    expect((await withOldCookie()).status).toBe(200);
    // Let the list finish asking for each dataset's sets: signing out under a request still in flight
    // would answer it 401, which is the API doing its job, not a page fault this test looks for.
    await page.waitForLoadState("networkidle");

    await Promise.all([
      page.waitForURL((u) => u.pathname === "/login"),
      page.getByRole("button", { name: "Sign out" }).click(),
    ]);
    await page.getByRole("button", { name: "Sign in" }).waitFor();

    await visit(page, `/datasets/${server().datasetId}`);
    const here = new URL(page.url());
    expect(here.pathname).toBe("/login");
    expect(here.searchParams.get("next")).toBe(`/datasets/${server().datasetId}`);

    expect((await withOldCookie()).status).toBe(401);
    expect(problems).toEqual([]);
    await context.close();
  });
});
