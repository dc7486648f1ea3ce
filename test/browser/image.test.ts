import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, launch, openPage, screenshot, server, signIn, visit } from "./helpers";

/**
 * The image page, /image/{id}: the photo in deep zoom with the seeded boxes drawn over it where their pixels are
 * (at the home view and zoomed in with the wheel), class and set toggles, tiles of the full resolution on zoom, the
 * original's download, previous/next, polygons and several sets on a dataset of its own, and the 404 page for
 * another user.
 */

interface Detail {
  id: number;
  name: string;
  original: string;
  dimensions: [number, number];
  annotations: {
    annotation_set: { id: number; name: string };
    tags: { name: string }[];
    objects: { coordinates: { x: number; y: number }[]; classes: string[] }[];
  }[];
}

const fixtures = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  "../fixtures/remo-object-detection/images",
);

/** How long a poll may wait for the page (opening the deep zoom, tiles rendered on first request). */
const WAIT = { timeout: 30_000 };

let browser: Browser;
/** The seeded image with the most boxes, and its detail as the API gives it. */
let image: Detail;
let objects: Detail["annotations"][number]["objects"];

beforeAll(async () => {
  browser = await launch();
  const { owner, datasetId } = server();
  const list = await api("GET", `/api/v1/ui/datasets/${datasetId}/images/?limit=100`, owner.key);
  const details: Detail[] = await Promise.all(
    list.results.map((r: { id: number }) => api("GET", `/api/v1/ui/datasets/${datasetId}/images/${r.id}/`, owner.key)),
  );
  const count = (d: Detail) => d.annotations.reduce((n, a) => n + a.objects.length, 0);
  image = details.sort((a, b) => count(b) - count(a))[0];
  objects = image.annotations.flatMap((a) => a.objects);
});
afterAll(async () => {
  await browser?.close();
});

/**
 * Waits until overlay shape `index` (in the API's object order) covers `box` on the screen (CSS pixels), to a pixel.
 * Its bounding box includes the 2 px stroke, centred on the outline: 1 px more on each side.
 */
async function expectBoxAt(page: Page, index: number, box: { x: number; y: number; w: number; h: number }) {
  const want = [box.x - 1, box.y - 1, box.w + 2, box.h + 2];
  await expect
    .poll(async () => {
      const got = (await page.getByTestId("overlay-shape").nth(index).boundingBox())!;
      const off = [got.x, got.y, got.width, got.height].map((v, i) => Math.abs(v - want[i]));
      return Math.max(...off);
    }, WAIT)
    .toBeLessThanOrEqual(1);
}

/**
 * The owner's own dataset for the tests that need other annotations than the seeded ones: one fixture photo, an
 * instance segmentation set (a polygon of class Car, tag "outline", done), an object detection set (a Person box,
 * skipped) and an image classification set (class Outdoor).
 */
async function datasetWithSets(key: string) {
  const ds = await api("POST", "/api/dataset/", key, { name: "Image page sets" });
  const form = new FormData();
  const name = "001a809ad40a2f84.jpg";
  form.append("files", new Blob([readFileSync(path.join(fixtures, name))]), name);
  form.append("complete", "true");
  const res = await fetch(`${server().baseUrl}/api/dataset/${ds.id}/upload/`, {
    method: "POST",
    headers: { authorization: `Token ${key}` },
    body: form,
  });
  const { session_id } = await res.json();
  await expect
    .poll(async () => (await api("GET", `/api/v1/ui/uploads/${session_id}/status/`, key)).status, WAIT)
    .toBe("done");
  const [img] = (await api("GET", `/api/v1/ui/datasets/${ds.id}/images/`, key)).results;
  const set = async (task: string, setName: string) =>
    (
      await api("POST", "/api/v1/ui/annotation-sets/", key, {
        annotation_task: task,
        classes: [],
        dataset_id: ds.id,
        name: setName,
      })
    ).id as number;
  const seg = await set("Instance segmentation", "Outlines");
  const det = await set("Object detection", "Boxes");
  const cls = await set("Image classification", "Scenes");
  const save = (s: number, body: unknown) =>
    api("POST", `/api/dataset/${ds.id}/annotation-set/${s}/image/${img.id}/save-annotation/`, key, body);
  await save(seg, {
    objects: [
      {
        coordinates: [
          { x: 100, y: 100 },
          { x: 400, y: 120 },
          { x: 380, y: 400 },
          { x: 120, y: 380 },
        ],
        classes: ["Car"],
      },
    ],
    status: "done",
  });
  await api("POST", `/api/v1/ui/annotation-sets/${seg}/images/${img.id}/tags/`, key, { name: "outline" });
  await save(det, {
    objects: [
      {
        coordinates: [
          { x: 500, y: 200 },
          { x: 600, y: 500 },
        ],
        classes: ["Person"],
      },
    ],
  });
  await api("POST", `/api/v1/ui/annotation-sets/${det}/images/${img.id}/status/`, key, { status: "skipped" });
  await save(cls, { classes: [{ name: "Outdoor" }], status: "done" });
  return { datasetId: ds.id as number, imageId: img.id as number };
}

/** Counts of objects per first class, as the overlay files them. */
function classCounts() {
  const m = new Map<string, number>();
  for (const o of objects) m.set(o.classes[0], (m.get(o.classes[0]) ?? 0) + 1);
  return m;
}

describe("the image page", () => {
  it("draws every box of the image over it in deep zoom, with class labels, aligned with the photo", async () => {
    const { page, problems, context } = await openPage(browser);
    const { datasetId, owner } = server();
    const target = `/image/${image.id}?dataset_id=${datasetId}`;
    await signIn(page, owner, target);

    expect(objects.length).toBeGreaterThanOrEqual(5);
    await expect.poll(() => page.getByTestId("overlay-shape").count(), WAIT).toBe(objects.length);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(image.name);
    const labels = await page.getByTestId("overlay-label").allTextContents();
    expect(labels.sort()).toEqual(objects.map((o) => o.classes.join(", ")).sort());

    // The side panel: facts, the dataset link, the set with its tags and status, and the link to annotate.
    const [w, h] = image.dimensions;
    await expect(page.getByTestId("dimensions").textContent()).resolves.toBe(`${w} × ${h} px`);
    await expect.poll(() => page.getByTestId("file-size").textContent(), WAIT).toMatch(/^\d+(\.\d)? KB$/);
    await expect(page.getByTestId("dataset-link").getAttribute("href")).resolves.toBe(`/datasets/${datasetId}`);
    await expect(page.getByTestId("dataset-link").textContent()).resolves.toBe("Open Images sample");
    const set = image.annotations[0];
    const setPanel = page.getByTestId("set").first();
    await expect(setPanel.getByTestId("tags").textContent()).resolves.toContain(set.tags[0]?.name ?? "No tags");
    await expect.poll(() => setPanel.getByTestId("status").textContent(), WAIT).toBe("Done");
    await expect(setPanel.getByTestId("annotate").getAttribute("href")).resolves.toBe(
      `/annotation/${set.annotation_set.id}/image/${image.id}`,
    );

    // Aligned: at the home view the whole photo fits the viewer, centred; each box's corners are where its image
    // pixels are on the screen.
    const viewer = (await page.getByTestId("viewer").boundingBox())!;
    const scale = Math.min(viewer.width / w, viewer.height / h);
    const left = viewer.x + (viewer.width - w * scale) / 2;
    const top = viewer.y + (viewer.height - h * scale) / 2;
    const first = objects.findIndex((o) => o.coordinates.length === 2);
    const [a, b] = objects[first].coordinates;
    await expectBoxAt(page, first, {
      x: left + a.x * scale,
      y: top + a.y * scale,
      w: (b.x - a.x) * scale,
      h: (b.y - a.y) * scale,
    });

    await page.waitForLoadState("networkidle");
    await screenshot(page, "image-zoomed-out");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("opens from the SDK's ?datasetId= link too, and hides a class's boxes when it is unticked", async () => {
    const { page, problems, context } = await openPage(browser);
    const { datasetId, owner } = server();
    await signIn(page, owner, `/image/${image.id}?datasetId=${datasetId}`);
    await expect.poll(() => page.getByTestId("overlay-shape").count(), WAIT).toBe(objects.length);
    await expect(page.getByTestId("dataset-link").getAttribute("href")).resolves.toBe(`/datasets/${datasetId}`);

    const [cls, n] = [...classCounts().entries()].sort((x, y) => y[1] - x[1])[0];
    const box = page.getByRole("checkbox", { name: `${cls} (${n})` });
    await box.uncheck();
    await expect.poll(() => page.getByTestId("overlay-shape").count(), WAIT).toBe(objects.length - n);
    await expect(page.locator(`[data-testid=overlay-shape][data-class="${cls}"]`).count()).resolves.toBe(0);
    const labels = await page.getByTestId("overlay-label").allTextContents();
    expect(labels).not.toContain(cls);
    await box.check();
    await expect.poll(() => page.getByTestId("overlay-shape").count(), WAIT).toBe(objects.length);

    // The whole set off, then on again.
    const setBox = page.getByTestId("set").first().getByRole("checkbox").first();
    await setBox.uncheck();
    await expect.poll(() => page.getByTestId("overlay-shape").count(), WAIT).toBe(0);
    await setBox.check();
    await expect.poll(() => page.getByTestId("overlay-shape").count(), WAIT).toBe(objects.length);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("loads tiles of the full resolution when zoomed in, every one answered 200, and the boxes follow", async () => {
    const { page, problems, context } = await openPage(browser);
    const { datasetId, owner } = server();
    const tiles: { level: number; col: number; row: number; status: number }[] = [];
    page.on("response", (r) => {
      const m = /\/dzi\/[^/]+_files\/(\d+)\/(\d+)_(\d+)\.jpg$/.exec(new URL(r.url()).pathname);
      if (m) tiles.push({ level: +m[1], col: +m[2], row: +m[3], status: r.status() });
    });
    await signIn(page, owner, `/image/${image.id}?dataset_id=${datasetId}`);
    await expect.poll(() => page.getByTestId("overlay-shape").count(), WAIT).toBe(objects.length);
    await page.waitForLoadState("networkidle");

    const [w, h] = image.dimensions;
    const maxLevel = Math.ceil(Math.log2(Math.max(w, h)));
    const viewer = (await page.getByTestId("viewer").boundingBox())!;
    const home = Math.min(viewer.width / w, viewer.height / h);
    const left = viewer.x + (viewer.width - w * home) / 2;
    const top = viewer.y + (viewer.height - h * home) / 2;

    // The mouse wheel over a small box near the middle zooms about the pointer: the image point under it stays put,
    // so the box grows around it. Wheel until the photo shows 2.5 screen pixels per image pixel (the viewer stops
    // at 4).
    const sizeOf = (c: { x: number; y: number }[]) => Math.abs((c[1].x - c[0].x) * (c[1].y - c[0].y));
    const fromMiddle = (c: { x: number; y: number }[]) =>
      Math.hypot((c[0].x + c[1].x - w) / 2, (c[0].y + c[1].y - h) / 2);
    const boxes = objects
      .map((o, i) => ({ o, i }))
      .filter(({ o }) => o.coordinates.length === 2 && sizeOf(o.coordinates) < 0.05 * w * h);
    const { o: target, i: index } = boxes.sort((x, y) => fromMiddle(x.o.coordinates) - fromMiddle(y.o.coordinates))[0];
    const [a, b] = target.coordinates;
    // The pointer at the box's centre, on whole CSS pixels (as mouse events carry it), and the image point under it.
    const mouse = { x: Math.round(left + ((a.x + b.x) / 2) * home), y: Math.round(top + ((a.y + b.y) / 2) * home) };
    const p = { x: (mouse.x - left) / home, y: (mouse.y - top) / home };
    await page.mouse.move(mouse.x, mouse.y);
    const shape = page.getByTestId("overlay-shape").nth(index);
    const scaleNow = async () => ((await shape.boundingBox())!.width - 2) / (b.x - a.x);
    for (let i = 0; i < 40 && (await scaleNow()) < 2.5; i++) await page.mouse.wheel(0, -120);
    await expect.poll(scaleNow, WAIT).toBeGreaterThanOrEqual(2.5);
    await page.waitForLoadState("networkidle");
    const scale = await scaleNow();
    expect(scale).toBeLessThanOrEqual(4);
    await expectBoxAt(page, index, {
      x: mouse.x - (p.x - a.x) * scale,
      y: mouse.y - (p.y - a.y) * scale,
      w: (b.x - a.x) * scale,
      h: (b.y - a.y) * scale,
    });

    // The highest level's tile under the pointer (DZI tiles are 254 px) was fetched and answered 200.
    const under = { col: Math.floor(p.x / 254), row: Math.floor(p.y / 254) };
    await expect
      .poll(() => tiles.some((t) => t.level === maxLevel && t.col === under.col && t.row === under.row), WAIT)
      .toBe(true);
    await page.waitForLoadState("networkidle");
    expect(tiles.filter((t) => t.level === maxLevel).length).toBeGreaterThan(0);
    expect(tiles.every((t) => t.status === 200)).toBe(true);
    expect(Math.max(...tiles.map((t) => t.level))).toBe(maxLevel);
    await screenshot(page, "image-zoomed-in");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("downloads the original bytes from the download link", async () => {
    const { page, problems, context } = await openPage(browser);
    const { datasetId, owner } = server();
    await signIn(page, owner, `/image/${image.id}?dataset_id=${datasetId}`);
    const link = page.getByTestId("download");
    await expect(link.getAttribute("href")).resolves.toBe(image.original);
    await expect(link.getAttribute("download")).resolves.toBe(image.name);
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    const saved = readFileSync((await download.path())!);
    const expected = readFileSync(path.join(fixtures, image.name));
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    expect(sha(saved)).toBe(sha(expected));
    const res = await page.request.get(image.original);
    expect(res.status()).toBe(200);
    expect(sha(await res.body())).toBe(sha(expected));
    expect(problems).toEqual([]);
    await context.close();
  });

  it("steps to the next image of the dataset and back", async () => {
    const { page, problems, context } = await openPage(browser);
    const { datasetId, owner } = server();
    const ids: number[] = (
      await api("GET", `/api/v1/ui/datasets/${datasetId}/images/?limit=100`, owner.key)
    ).results.map((r: { id: number }) => r.id);
    const start = ids[0];
    await signIn(page, owner, `/image/${start}?dataset_id=${datasetId}`);
    // The first image has no previous one: the button is there, disabled.
    await expect.poll(() => page.getByTestId("next-image").isVisible(), WAIT).toBe(true);
    expect(await page.getByTestId("prev-image").count()).toBe(0);
    await Promise.all([
      page.waitForURL(`**/image/${ids[1]}?dataset_id=${datasetId}`),
      page.getByTestId("next-image").click(),
    ]);
    await Promise.all([
      page.waitForURL(`**/image/${start}?dataset_id=${datasetId}`),
      page.getByTestId("prev-image").click(),
    ]);
    await expect.poll(() => page.getByTestId("next-image").isVisible(), WAIT).toBe(true);
    expect(await page.getByTestId("prev-image").count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("draws polygons, one panel per set with its status and tags, and image-level classes as chips", async () => {
    const { owner } = server();
    const made = await datasetWithSets(owner.key);
    const { page, problems, context } = await openPage(browser);
    await signIn(page, owner, `/image/${made.imageId}?dataset_id=${made.datasetId}`);
    await expect.poll(() => page.getByTestId("overlay-shape").count(), WAIT).toBe(2);

    // The polygon is drawn through its points in image pixels, the box as a rect.
    const polygon = page.locator("polygon[data-testid=overlay-shape]");
    await expect(polygon.getAttribute("points")).resolves.toBe("100,100 400,120 380,400 120,380");
    await expect(polygon.getAttribute("data-class")).resolves.toBe("Car");
    await expect(page.locator("rect[data-testid=overlay-shape]").getAttribute("data-class")).resolves.toBe("Person");
    expect((await page.getByTestId("overlay-label").allTextContents()).sort()).toEqual(["Car", "Person"]);

    const panels = page.getByTestId("set");
    await expect(panels.count()).resolves.toBe(3);
    const [seg, det, cls] = [0, 1, 2].map((i) => panels.nth(i));
    await expect.poll(() => seg.getByTestId("status").textContent(), WAIT).toBe("Done");
    await expect.poll(() => det.getByTestId("status").textContent(), WAIT).toBe("Skipped");
    await expect.poll(() => cls.getByTestId("status").textContent(), WAIT).toBe("Done");
    await expect(seg.getByTestId("tags").textContent()).resolves.toBe("outline");
    await expect(det.getByTestId("tags").textContent()).resolves.toBe("No tags");
    await expect(cls.textContent()).resolves.toContain("Outdoor");
    await expect(seg.textContent()).resolves.toContain("Instance segmentation");
    await expect(cls.getByTestId("set-count").textContent()).resolves.toBe("1 class");
    // A classification set has nothing to draw: its toggle is off and it lists no class toggles.
    await expect(cls.getByRole("checkbox").count()).resolves.toBe(1);
    await expect(cls.getByRole("checkbox").isDisabled()).resolves.toBe(true);

    // A set's toggle hides its shapes and leaves the others.
    await seg.getByRole("checkbox").first().uncheck();
    await expect.poll(() => page.getByTestId("overlay-shape").count(), WAIT).toBe(1);
    await expect(page.locator("polygon[data-testid=overlay-shape]").count()).resolves.toBe(0);
    await seg.getByRole("checkbox").first().check();
    await page.waitForLoadState("networkidle");
    await screenshot(page, "image-sets");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("is the 404 page for another user's private image", async () => {
    const { page, problems, context } = await openPage(browser, {
      allow4xx: (u, s) => s === 404 && new URL(u).pathname === `/image/${image.id}`,
    });
    const { datasetId, other } = server();
    await signIn(page, other);
    const res = await visit(page, `/image/${image.id}?dataset_id=${datasetId}`);
    expect(res?.status()).toBe(404);
    await expect(page.getByRole("heading", { name: "Not found" }).isVisible()).resolves.toBe(true);
    await expect(page.getByTestId("overlay-shape").count()).resolves.toBe(0);
    // Chromium logs the page's own 404 to the console as a failed resource.
    expect(problems.filter((p) => !p.includes("404"))).toEqual([]);
    await context.close();
  });
});
