import { readFileSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classColor } from "../../pages/src/lib/colors";
import { api, launch, openPage, screenshot, server, signIn, visit } from "./helpers";

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

/** Page state that waits on the API: the machine running the tests may be busy, so allow longer than poll's 1 s. */
const SLOW = { timeout: 20_000 };

/**
 * Waits until the grid has read its whole list (the list of the URL now in the address bar: its API URL carries the
 * same search parameters) and every tile's picture has arrived.
 */
async function gridSettled(page: Page) {
  // Pictures are rendered on their first request (a preview JPEG from the original): on a loaded 2-core machine a
  // grid of cold previews can take longer than Playwright's default 30 s. This bounds the wait; it asserts no time.
  const wait = { timeout: 90_000 };
  await page.waitForFunction(
    () => {
      const grid = document.querySelector<HTMLElement>('[data-testid="grid"]');
      if (!grid || grid.dataset.done !== "true") return false;
      const source = new URL(grid.dataset.source!, location.href).searchParams;
      const here = new URL(location.href).searchParams;
      return ["classes", "tags", "image_name"].every((k) => here.get(k) === source.get(k));
    },
    undefined,
    wait,
  );
  await page.waitForFunction(
    () => [...document.querySelectorAll<HTMLImageElement>(".tile img")].every((i) => i.complete && i.naturalWidth > 0),
    undefined,
    wait,
  );
}

/** The tiles' image names, sorted (only those of dataset `datasetId` when given). */
const tileNames = (page: Page, datasetId?: number) =>
  page.$$eval(`[data-testid="tile"]${datasetId ? `[data-dataset-id="${datasetId}"]` : ""}`, (els) =>
    els.map((e) => e.getAttribute("data-image-name")!).sort(),
  );

/** The image names of the API's search on the contents route, read with the owner's key. */
async function apiSearchNames(query: string): Promise<string[]> {
  const s = server();
  const res = await api("GET", `/api/v1/ui/datasets/${s.datasetId}/contents/?${query}&limit=1000`, s.owner.key);
  return res.results.map((r: { image: { name: string } }) => r.image.name).sort();
}

const photos = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  "../fixtures/remo-object-detection/images",
);

/** Uploads fixture photos into a dataset (optionally a folder) through the API, and waits for the session to end. */
async function upload(datasetId: number, names: string[], folderId?: number) {
  const s = server();
  const form = new FormData();
  form.append("complete", "true");
  if (folderId) form.append("folder_id", String(folderId));
  for (const n of names) form.append("files", new Blob([readFileSync(path.join(photos, n))]), n);
  const res = await fetch(`${s.baseUrl}/api/dataset/${datasetId}/upload/`, {
    method: "POST",
    headers: { authorization: `Token ${s.owner.key}` },
    body: form,
  });
  expect(res.status).toBe(200);
  const { session_id } = await res.json();
  await expect
    .poll(async () => (await api("GET", `/api/v1/ui/uploads/${session_id}/status/`, s.owner.key)).status, {
      timeout: 60_000,
      interval: 250,
    })
    .toBe("done");
}

describe("the dataset list", () => {
  it("shows the seeded dataset with its image count, thumbnails and annotation set links", async () => {
    const s = server();
    const { page, problems, context } = await openPage(browser);
    await signIn(page, s.owner, "/datasets");
    const card = page.locator(`[data-testid="dataset-card"][data-dataset-id="${s.datasetId}"]`);
    await expect.poll(() => card.getByTestId("dataset-link").textContent(), SLOW).toBe("Open Images sample");
    expect(await card.getByTestId("dataset-count").textContent()).toBe("7 images");
    expect(await card.getByTestId("visibility").textContent()).toContain("Private");
    await expect.poll(() => card.locator(`a[href="/annotation/${s.setId}"]`).count(), SLOW).toBe(1);
    expect(await card.locator(`a[href="/annotation-detail/${s.setId}/insights"]`).count()).toBe(1);
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLImageElement>(".thumbs img")].every((i) => i.complete && i.naturalWidth > 0),
    );
    expect(await card.locator(".thumbs img").count()).toBe(4);
    await screenshot(page, "datasets-list");
    await card.getByTestId("dataset-link").click();
    await page.waitForURL((u) => u.pathname === `/datasets/${s.datasetId}`);
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe("the dataset page", () => {
  it("draws the 40 boxes over the 7 thumbnails, each in its class's colour, with a legend", async () => {
    const s = server();
    const { page, problems, context } = await openPage(browser);
    await signIn(page, s.owner, `/datasets/${s.datasetId}`);
    await gridSettled(page);
    await expect.poll(() => page.getByTestId("dataset-name").textContent(), SLOW).toBe("Open Images sample");
    expect(await page.getByTestId("image-count").textContent()).toBe("7 images");
    expect(await page.locator('[data-testid="tile"]').count()).toBe(7);
    const shapes = await page.$$eval(".tile svg .shape", (els) =>
      els.map((e) => ({ cls: e.getAttribute("data-class")!, stroke: e.getAttribute("stroke")! })),
    );
    expect(shapes).toHaveLength(40);
    for (const sh of shapes) expect(sh.stroke).toBe(classColor(sh.cls));
    // The same objects, class by class, as the API lists them.
    const listing = await api("GET", `/api/v1/ui/datasets/${s.datasetId}/contents/?limit=100`, s.owner.key);
    const perClass = (names: string[]) =>
      names.reduce<Record<string, number>>((m, n) => ((m[n] = (m[n] ?? 0) + 1), m), {});
    const apiClasses = listing.results.flatMap((r: any) =>
      r.image.annotations.flatMap((a: any) => a.object_classes.map((c: string[]) => c[0])),
    );
    expect(perClass(shapes.map((x) => x.cls))).toEqual(perClass(apiClasses));
    // Every drawn class is in the legend, in the same colour.
    const legend = await page.$$eval('[data-testid="legend"] .chip', (els) =>
      els.map((e) => ({
        cls: e.getAttribute("data-class")!,
        color: (e.querySelector(".swatch") as HTMLElement).style.background,
      })),
    );
    for (const cls of new Set(shapes.map((x) => x.cls))) expect(legend.map((l) => l.cls)).toContain(cls);
    // A box lies inside its image's viewBox (the image's own pixel space).
    const inside = await page.$$eval(".tile svg", (svgs) =>
      svgs.every((svg) => {
        const [, , w, h] = svg.getAttribute("viewBox")!.split(" ").map(Number);
        return [...svg.querySelectorAll("rect")].every(
          (r) =>
            +r.getAttribute("x")! + +r.getAttribute("width")! <= w &&
            +r.getAttribute("y")! + +r.getAttribute("height")! <= h,
        );
      }),
    );
    expect(inside).toBe(true);
    await screenshot(page, "dataset");
    // A thumbnail opens the image page.
    const first = page.locator('[data-testid="tile"]').first();
    const id = await first.getAttribute("data-image-id");
    expect(await first.getAttribute("href")).toBe(`/image/${id}?dataset_id=${s.datasetId}`);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("filters by class and by tag as the API's search does, in a URL that survives a reload", async () => {
    const s = server();
    const { page, problems, context } = await openPage(browser);
    await signIn(page, s.owner, `/datasets/${s.datasetId}`);
    await gridSettled(page);

    await page.getByLabel("Classes", { exact: true }).fill("Tire");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL((u) => u.searchParams.get("classes") === "Tire");
    await gridSettled(page);
    const tires = await apiSearchNames("classes=Tire");
    expect(tires.length).toBeGreaterThan(0);
    expect(tires.length).toBeLessThan(7);
    expect(await tileNames(page)).toEqual(tires);
    expect(await page.getByTestId("match-count").textContent()).toBe(
      `${tires.length} matching ${tires.length === 1 ? "image" : "images"}`,
    );
    await screenshot(page, "dataset-filter-class");

    await page.reload();
    await gridSettled(page);
    expect(await page.getByLabel("Classes", { exact: true }).inputValue()).toBe("Tire");
    expect(await tileNames(page)).toEqual(tires);

    await page.getByLabel("Classes", { exact: true }).fill("");
    await page.getByLabel("Tags", { exact: true }).fill("train");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL((u) => u.searchParams.get("tags") === "train" && !u.searchParams.has("classes"));
    await gridSettled(page);
    const train = await apiSearchNames("tags=train");
    expect(train).toHaveLength(4);
    expect(await tileNames(page)).toEqual(train);

    // Both at once, then Back returns to the tag alone.
    await page.getByLabel("Classes", { exact: true }).fill("Person");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL((u) => u.searchParams.get("classes") === "Person");
    await gridSettled(page);
    expect(await tileNames(page)).toEqual(await apiSearchNames("classes=Person&tags=train"));
    await page.goBack();
    await page.waitForURL((u) => !u.searchParams.has("classes"));
    await gridSettled(page);
    expect(await tileNames(page)).toEqual(train);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("filters by status through the annotation gallery, and by image name", async () => {
    const s = server();
    const { page, problems, context } = await openPage(browser);
    await signIn(page, s.owner, `/datasets/${s.datasetId}?status=done&sets=${s.setId}`);
    await gridSettled(page);
    const gallery = await api(
      "GET",
      `/api/dataset/${s.datasetId}/annotation-set/${s.setId}/image/?order=annotated&limit=1000`,
      s.owner.key,
    );
    const done = gallery.results
      .filter((r: any) => r.status === "done")
      .map((r: any) => r.name)
      .sort();
    expect(done).toHaveLength(gallery.annotated_count);
    expect(await tileNames(page)).toEqual(done);
    expect(await page.locator(".tile svg .shape").count()).toBe(40);
    await screenshot(page, "dataset-filter-status");

    await visit(page, `/datasets/${s.datasetId}?image_name=00d`);
    await gridSettled(page);
    expect(await tileNames(page)).toEqual(await apiSearchNames("image_name=00d"));
    expect(await tileNames(page)).toEqual(["00d2a568dd4afd0d.jpg", "00d9efcc4d1fda53.jpg"]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("opens a folder, and comes back to the dataset's root", async () => {
    const s = server();
    // A dataset of its own (the seeded one stays as other test files expect it): one photo at the root, one in a folder.
    const ds = await api("POST", "/api/dataset/", s.owner.key, { name: `Folders ${Date.now()}` });
    const folder = await api("POST", `/api/user-dataset/${ds.id}/folders/`, s.owner.key, { name: "Cars" });
    await upload(ds.id, ["001a794d1865ee47.jpg"]);
    await upload(ds.id, ["00b562abdf5766d3.jpg"], folder.id);
    const { page, problems, context } = await openPage(browser);
    await signIn(page, s.owner, `/datasets/${ds.id}`);
    await gridSettled(page);
    const link = page.getByTestId("folders").getByRole("link");
    expect(await link.count()).toBe(1);
    expect(await link.locator("strong").textContent()).toBe("Cars");
    expect(await link.locator(".muted").textContent()).toBe("1 image");
    expect(await tileNames(page)).toEqual(["001a794d1865ee47.jpg"]);
    await link.click();
    await page.waitForURL((u) => u.searchParams.get("folder") === String(folder.id));
    await gridSettled(page);
    expect(await tileNames(page)).toEqual(["00b562abdf5766d3.jpg"]);
    await page.reload();
    await gridSettled(page);
    expect(await tileNames(page)).toEqual(["00b562abdf5766d3.jpg"]);
    await page.getByRole("link", { name: "← Dataset root" }).click();
    await page.waitForURL((u) => !u.searchParams.has("folder"));
    await gridSettled(page);
    expect(await tileNames(page)).toEqual(["001a794d1865ee47.jpg"]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("is the 404 page for another user", async () => {
    const s = server();
    const target = `/datasets/${s.datasetId}`;
    const { page, problems, context } = await openPage(browser, {
      allow4xx: (u, st) => st === 404 && new URL(u).pathname === target,
    });
    await signIn(page, s.other, "/datasets");
    // The other user's list does not show the owner's private dataset.
    await expect.poll(() => page.locator(".page-head").textContent(), SLOW).toMatch(/\d+ datasets?$/);
    expect(await page.locator(`[data-testid="dataset-card"][data-dataset-id="${s.datasetId}"]`).count()).toBe(0);
    const res = await visit(page, target);
    expect(res?.status()).toBe(404);
    await expect.poll(() => page.locator("main").textContent(), SLOW).toContain("Not found");
    await screenshot(page, "dataset-404");
    expect(problems.filter((p) => !p.includes("404"))).toEqual([]);
    await context.close();
  });
});

describe("the search page", () => {
  it("finds the same images as the API's global search, with the filter in the URL", async () => {
    const s = server();
    const { page, problems, context } = await openPage(browser);
    await signIn(page, s.owner, "/datasets/filtered/images");
    await page.getByLabel("Dataset").selectOption(String(s.datasetId));
    await page.getByLabel("Classes", { exact: true }).fill("Car");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(
      (u) => u.searchParams.get("classes") === "Car" && u.searchParams.get("dataset_id") === String(s.datasetId),
    );
    await gridSettled(page);
    const res = await api("GET", `/api/v1/ui/search/?dataset_id=${s.datasetId}&classes=Car&limit=1000`, s.owner.key);
    const names = res.results.map((r: { name: string }) => r.name).sort();
    expect(names).toEqual(await apiSearchNames("classes=Car"));
    expect(await tileNames(page)).toEqual(names);
    const shapes = await page.$$eval(".tile svg .shape", (els) => els.map((e) => e.getAttribute("data-class")));
    expect(shapes.length).toBe(res.results.reduce((n: number, r: any) => n + r.annotations.coordinates.length, 0));
    await screenshot(page, "search");

    await page.reload();
    await gridSettled(page);
    expect(await tileNames(page)).toEqual(names);
    expect(await page.getByLabel("Dataset").inputValue()).toBe(String(s.datasetId));

    // All datasets: the owner's set is among every readable set searched. Other test files add datasets (and tags),
    // so the list can run past one page: scroll as a person would until the grid has read it all, then back to the
    // top, where the seeded dataset's images are (results are by image id, and it was made first).
    await visit(page, "/datasets/filtered/images?tags=train");
    await page.waitForFunction(
      () => {
        const grid = document.querySelector<HTMLElement>('[data-testid="grid"]');
        if (grid?.dataset.done === "true") return true;
        window.scrollTo(0, document.body.scrollHeight);
        return false;
      },
      undefined,
      { timeout: 90_000, polling: 250 },
    );
    await page.evaluate(() => window.scrollTo(0, 0));
    await gridSettled(page);
    // Other test files may add public datasets: this one's tiles are compared.
    expect(await tileNames(page, s.datasetId)).toEqual(await apiSearchNames("tags=train"));
    expect(problems).toEqual([]);
    await context.close();
  });
});
