import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launch, openPage, screenshot, server, signIn, visit } from "./helpers";

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

describe("signing in", () => {
  it("sends a page visit without a session to /login, and back to that page after signing in", async () => {
    const { page, problems, context } = await openPage(browser);
    const target = `/datasets/${server().datasetId}`;
    await visit(page, target);
    expect(new URL(page.url()).pathname).toBe("/login");
    await screenshot(page, "login");
    await signIn(page, server().owner, target);
    expect(new URL(page.url()).pathname).toBe(target);
    // The session is an HttpOnly cookie: page scripts cannot read it.
    expect(await page.evaluate(() => document.cookie)).not.toContain("remo_session");
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === "remo_session")).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: "Lax",
    });
    expect(problems).toEqual([]);
    await context.close();
  });

  it("says so when the password is wrong, and stays on the sign-in page", async () => {
    const { page, problems, context } = await openPage(browser, {
      allow4xx: (u, s) => s === 400 && u.includes("/api/rest-auth/login/"),
    });
    await visit(page, "/login");
    await page.getByLabel("Email").fill(server().owner.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("Wrong email or password");
    expect(new URL(page.url()).pathname).toBe("/login");
    // The failed login's 400 is expected; Chromium also logs it to the console as a failed resource.
    expect(problems.filter((p) => !p.includes("400"))).toEqual([]);
    await context.close();
  });

  it("never follows a next= that leaves this server", async () => {
    const { page, context } = await openPage(browser);
    await visit(page, `/login?next=${encodeURIComponent("//evil.example/x")}`);
    await page.getByLabel("Email").fill(server().owner.email);
    await page.getByLabel("Password").fill(server().owner.password);
    await Promise.all([
      page.waitForURL((u) => u.pathname === "/datasets"),
      page.getByRole("button", { name: "Sign in" }).click(),
    ]);
    expect(new URL(page.url()).host).toBe(new URL(server().baseUrl).host);
    await context.close();
  });
});
