import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { inject } from "vitest";

/** The seeded server (test/browser/setup/server.ts). */
export const server = () => inject("server");

/** Debian's Chromium (`apt-get install -y chromium`), or CHROMIUM_PATH; never a downloaded browser. */
export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/**
 * A fresh browser context and page that records what a person would call broken: console errors, uncaught
 * exceptions, and failed requests (network failures and HTTP 5xx; 4xx only where `allow4xx` does not expect them).
 */
export async function openPage(browser: Browser, opts: { allow4xx?: (url: string, status: number) => boolean } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, baseURL: server().baseUrl });
  // One local workerd renders tiles and previews on first request (seconds each on 2 busy cores), and a page's HTML
  // can queue behind them: navigations and waits for what a person sees get 90 s. These bound waits; no test asserts
  // a time.
  context.setDefaultNavigationTimeout(90_000);
  context.setDefaultTimeout(90_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`exception: ${e.message}`));
  page.on("requestfailed", (r) => {
    // A navigation away cancels what the old page was still loading: not a failure a person would see.
    if (r.failure()?.errorText !== "net::ERR_ABORTED") problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("response", (r) => {
    const s = r.status();
    if (s >= 500 || (s >= 400 && !(opts.allow4xx?.(r.url(), s) ?? false))) problems.push(`HTTP ${s}: ${r.url()}`);
  });
  return { context, page, problems };
}

/**
 * `page.goto`, sent once more after 45 s without the load event. wrangler dev's static-asset server stalls one
 * request for about 90 s now and then (CI of 2026-11-30: `GET /assets/image.js 200 OK (90100ms)`; of 2026-12-01:
 * `GET /assets/chunks/chunk-ERCGY5VD.js 304 Not Modified (89794ms)`, every other request answered in ms), and
 * production assets are not served by it. A person would reload: so does this. Any other failure is thrown.
 */
export async function visit(page: Page, url: string) {
  try {
    return await page.goto(url, { timeout: 45_000 });
  } catch (e) {
    if ((e as Error).name !== "TimeoutError") throw e;
    return page.goto(url);
  }
}

/** Signs in through the login page, as a person does, and waits for the page it leads to. */
export async function signIn(page: Page, user: { email: string; password: string }, next = "/datasets") {
  await visit(page, `/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  const arrived = (u: URL) => u.pathname + u.search === next;
  await Promise.all([page.waitForURL(arrived, { waitUntil: "commit" }), page.getByRole("button", { name: "Sign in" }).click()]);
  // wrangler dev's static-asset server has stalled a page's script for the whole 90 s, now and then (CI of
  // 2026-11-30: `GET /assets/image.js 200 OK (90100ms)`, every other request answered in ms); production assets are
  // not served by it. A person would reload: so does this, once, after 45 s without the load event.
  try {
    await page.waitForLoadState("load", { timeout: 45_000 });
  } catch {
    await page.reload({ waitUntil: "load" });
  }
}

/** Saves a full-page screenshot as <name>.png in the folder the setup printed. */
export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: path.join(server().screenshots, `${name}.png`), fullPage: true });
}

/** The public API with a key, to check what the pages did. */
export async function api(method: string, p: string, key: string, body?: unknown) {
  const res = await fetch(server().baseUrl + p, {
    method,
    headers: { authorization: `Token ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
}
