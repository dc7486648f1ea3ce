import { readFileSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, launch, openPage, screenshot, server, signIn, visit } from "./helpers";

/**
 * The annotation tool (/annotation/{set}[/image/{image}]) in Chromium. The tests write only to a dataset of their own
 * (three fixture photos, uploaded through the API like the global setup does), each test in a set of its own, so the
 * seeded dataset other files count stays as it was.
 */

const fixtures = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  "../fixtures/remo-object-detection/images",
);
const PHOTOS = ["001a809ad40a2f84.jpg", "00acf53b127218c2.jpg", "00b75a8487446cdd.jpg"];

let browser: Browser;
let datasetId: number;
let imageIds: number[];
const size = new Map<number, { width: number; height: number }>();

async function uploadPhotos(dsId: number) {
  const form = new FormData();
  form.append("complete", "true");
  for (const name of PHOTOS) form.append("files", new Blob([readFileSync(path.join(fixtures, name))]), name);
  const res = await fetch(`${server().baseUrl}/api/dataset/${dsId}/upload/`, {
    method: "POST",
    headers: { authorization: `Token ${server().owner.key}` },
    body: form,
  });
  if (!res.ok) throw new Error(`upload: ${res.status} ${await res.text()}`);
  const { session_id } = (await res.json()) as { session_id: number };
  // The upload's background work ends with "done" (the global setup waits the same way).
  for (;;) {
    const st = await api("GET", `/api/v1/ui/uploads/${session_id}/status/`, server().owner.key);
    if (st.status === "done") return;
    if (st.status === "failed") throw new Error(`upload failed: ${JSON.stringify(st)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const owner = () => server().owner;
const ownerApi = (method: string, p: string, body?: unknown) => api(method, p, owner().key, body);

/** A fresh Object detection set in the test dataset. */
async function newSet(name: string, classes: string[] = ["Car", "Person"]): Promise<number> {
  const s = await ownerApi("POST", "/api/v1/ui/annotation-sets/", {
    annotation_task: "Object detection",
    dataset_id: datasetId,
    name,
    classes,
  });
  return s.id;
}

const readBack = (setId: number, imageId: number) =>
  ownerApi("GET", `/api/dataset/${datasetId}/annotation-set/${setId}/image/${imageId}/annotation/`);

const galleryIds = async (setId: number): Promise<number[]> =>
  (await ownerApi("GET", `/api/dataset/${datasetId}/annotation-set/${setId}/image/?limit=100`)).results.map(
    (r: { id: number }) => r.id,
  );

/**
 * Waits until the tool has opened `imageId`: its data is in, and (unless `tiles` is false, for tests that only step
 * through images) the viewer has drawn its first tiles.
 */
async function waitForImage(page: Page, setId: number, imageId: number, tiles = true) {
  await page.waitForURL((u) => u.pathname === `/annotation/${setId}/image/${imageId}`);
  await page.locator(`.annotate[data-loaded="true"]${tiles ? ' [data-tiles="loaded"]' : ""}`).waitFor();
}

/**
 * Screen ↔ image pixels at the viewer's home zoom: OpenSeadragon fits the whole image into the viewer and centres it
 * (no margins, homeFillsViewer false), so one scale maps both axes.
 */
async function homeTransform(page: Page, imageId: number) {
  const box = (await page.getByTestId("viewer").boundingBox())!;
  const { width, height } = size.get(imageId)!;
  const scale = Math.min(box.width / width, box.height / height);
  const ox = box.x + (box.width - width * scale) / 2;
  const oy = box.y + (box.height - height * scale) / 2;
  return {
    toScreen: (x: number, y: number) => ({ x: Math.round(ox + x * scale), y: Math.round(oy + y * scale) }),
    toImage: (sx: number, sy: number) => ({ x: (sx - ox) / scale, y: (sy - oy) / scale }),
    scale,
  };
}

/** Drags with the mouse from image point `a` to `b` (in image pixels), as a person draws; returns the screen points. */
async function dragImage(page: Page, t: Awaited<ReturnType<typeof homeTransform>>, a: number[], b: number[]) {
  const from = t.toScreen(a[0], a[1]);
  const to = t.toScreen(b[0], b[1]);
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 4 });
  await page.mouse.move(to.x, to.y, { steps: 4 });
  await page.mouse.up();
  return { from, to };
}

/** Waits for what the page shows to settle (saves and API calls on a busy machine can take seconds). */
const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 20_000 });

const saved = (page: Page) => poll(() => page.getByTestId("save-state").textContent()).toBe("All changes saved");

beforeAll(async () => {
  browser = await launch();
  const ds = await ownerApi("POST", "/api/dataset/", { name: "Annotation tool test" });
  datasetId = ds.id;
  await uploadPhotos(datasetId);
  // The set images list gives each image's size (the grid annotations are stored in).
  const sizes = await ownerApi("GET", `/api/v1/ui/annotation-sets/${await newSet("sizes")}/images/?limit=100`);
  const list = sizes.results as { id: number; width: number; height: number }[];
  imageIds = list.map((i) => i.id).sort((a, b) => a - b);
  for (const i of list) size.set(i.id, { width: i.width, height: i.height });
  expect(imageIds).toHaveLength(PHOTOS.length);
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

describe("the annotation tool", () => {
  it("opens the first image of the gallery, draws boxes with the mouse, classes them, and marks the image done", async () => {
    const setId = await newSet("draw");
    const order = await galleryIds(setId);
    const { page, problems, context } = await openPage(browser);
    await signIn(page, owner());
    await visit(page, `/annotation/${setId}`);
    // Without an image in the path the tool opens the gallery's first image and says so in the URL.
    await waitForImage(page, setId, order[0]);
    const first = order[0];
    await poll(() => page.getByTestId("shortcuts").textContent()).toContain("B box");

    // A box drawn with the Box tool (B) ...
    await page.keyboard.press("b");
    const t = await homeTransform(page, first);
    const a = await dragImage(page, t, [200, 150], [520, 430]);
    await poll(() => page.getByTestId("objects").locator("li").count()).toBe(1);
    // ... gets a class typed in, which is new to the set.
    await page.getByLabel("Class").fill("Traffic sign");
    await page.getByLabel("Class").press("Enter");
    await poll(() => page.getByTestId("selected-classes").textContent()).toContain("Traffic sign");

    // A second box gets a class picked from the set's classes.
    const b = await dragImage(page, t, [600, 300], [900, 600]);
    await poll(() => page.getByTestId("objects").locator("li").count()).toBe(2);
    await page.getByRole("button", { name: "Car", exact: true }).click();
    await poll(() => page.getByTestId("selected-classes").textContent()).toContain("Car");
    await saved(page);
    await screenshot(page, "annotate-drawn");

    // Saving objects leaves the status alone: only Done and Skip change it.
    expect((await readBack(setId, first)).status).toBe("not_annotated");
    expect((await page.getByTestId("image-status").textContent())?.trim()).toBe("not annotated");

    // The new class joined the set.
    const set = await ownerApi("GET", `/api/v1/ui/annotation-sets/${setId}/`);
    expect(set.classes.map((c: { name: string }) => c.name)).toContain("Traffic sign");

    // Done (D) stores the status and moves on to the next image of the gallery.
    await page.keyboard.press("d");
    await waitForImage(page, setId, order[1]);

    const back = await readBack(setId, first);
    expect(back.status).toBe("done");
    const objects = back.annotation_info as { coordinates: { x: number; y: number }[]; classes: { name: string }[] }[];
    expect(objects).toHaveLength(2);
    const drawn = [
      { d: a, cls: "Traffic sign" },
      { d: b, cls: "Car" },
    ];
    for (const { d, cls } of drawn) {
      const o = objects.find((x) => x.classes.some((c) => c.name === cls))!;
      expect(o, cls).toBeDefined();
      expect(o.classes.map((c) => c.name)).toEqual([cls]);
      // The screen points the mouse went through, converted to image pixels: within a pixel or two.
      const p1 = t.toImage(d.from.x, d.from.y);
      const p2 = t.toImage(d.to.x, d.to.y);
      expect(Math.abs(o.coordinates[0].x - p1.x)).toBeLessThanOrEqual(2);
      expect(Math.abs(o.coordinates[0].y - p1.y)).toBeLessThanOrEqual(2);
      expect(Math.abs(o.coordinates[1].x - p2.x)).toBeLessThanOrEqual(2);
      expect(Math.abs(o.coordinates[1].y - p2.y)).toBeLessThanOrEqual(2);
    }
    expect(problems).toEqual([]);
    await context.close();
  });

  it("loads an image's objects, moves and resizes one, deletes one (undo brings it back), and the API has the result", async () => {
    const setId = await newSet("edit");
    const img = imageIds[0];
    await ownerApi("PUT", `/api/v1/ui/annotation-sets/${setId}/images/${img}/annotations/`, {
      objects: [
        {
          name: "OBJ 1",
          coordinates: [
            { x: 100, y: 100 },
            { x: 300, y: 250 },
          ],
          classes: [{ name: "Car" }],
        },
        {
          name: "OBJ 2",
          kind: "polygon",
          coordinates: [
            { x: 500, y: 300 },
            { x: 700, y: 320 },
            { x: 600, y: 500 },
          ],
          classes: [{ name: "Person" }],
        },
      ],
    });
    const { page, problems, context } = await openPage(browser);
    await signIn(page, owner());
    await visit(page, `/annotation/${setId}/image/${img}`);
    await waitForImage(page, setId, img);
    const list = page.getByTestId("objects").locator("li");
    await poll(() => list.allTextContents()).toEqual(["Car box", "Person polygon"]);
    await screenshot(page, "annotate-loaded");

    // Move the box: select it by clicking it, then drag it 100 image pixels right and 50 down.
    const t = await homeTransform(page, img);
    const at = t.toScreen(200, 175);
    await page.mouse.click(at.x, at.y);
    await poll(() => page.getByTestId("selected-classes").textContent()).toContain("Car");
    const moved = await dragImage(page, t, [200, 175], [300, 225]);
    await saved(page);
    const dx = t.toImage(moved.to.x, 0).x - t.toImage(moved.from.x, 0).x;
    const dy = t.toImage(0, moved.to.y).y - t.toImage(0, moved.from.y).y;
    let back = await readBack(setId, img);
    const box = back.annotation_info.find((o: any) => o.classes[0].name === "Car");
    expect(Math.abs(box.coordinates[0].x - (100 + dx))).toBeLessThanOrEqual(2);
    expect(Math.abs(box.coordinates[0].y - (100 + dy))).toBeLessThanOrEqual(2);
    expect(Math.abs(box.coordinates[1].x - (300 + dx))).toBeLessThanOrEqual(2);

    // Resize it: drag its bottom-right handle 80 image pixels right and 60 down; the top-left corner stays.
    const corner = [box.coordinates[1].x, box.coordinates[1].y];
    const resized = await dragImage(page, t, corner, [corner[0] + 80, corner[1] + 60]);
    await saved(page);
    back = await readBack(setId, img);
    const big = back.annotation_info.find((o: any) => o.classes[0].name === "Car");
    expect(big.coordinates[0]).toEqual(box.coordinates[0]);
    const end = t.toImage(resized.to.x, resized.to.y);
    expect(Math.abs(big.coordinates[1].x - end.x)).toBeLessThanOrEqual(2);
    expect(Math.abs(big.coordinates[1].y - end.y)).toBeLessThanOrEqual(2);

    // Delete the polygon (picked in the list), undo, delete again.
    await list.nth(1).getByRole("button").click();
    await page.keyboard.press("Delete");
    await poll(() => list.count()).toBe(1);
    await page.keyboard.press("Control+z");
    await poll(() => list.allTextContents()).toEqual(["Car box", "Person polygon"]);
    await list.nth(1).getByRole("button").click();
    await page.getByRole("button", { name: /^Delete/ }).click();
    await poll(() => list.allTextContents()).toEqual(["Car box"]);
    await page.keyboard.press("Control+s");
    await saved(page);
    back = await readBack(setId, img);
    expect(back.annotation_info.map((o: any) => o.classes.map((c: any) => c.name))).toEqual([["Car"]]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("draws a polygon by clicking its points, and tags the image", async () => {
    const setId = await newSet("polygon");
    const img = imageIds[1];
    const { page, problems, context } = await openPage(browser);
    await signIn(page, owner());
    await visit(page, `/annotation/${setId}/image/${img}`);
    await waitForImage(page, setId, img);
    await page.getByRole("button", { name: /^Polygon/ }).click();
    const t = await homeTransform(page, img);
    const pts = [
      [300, 200],
      [600, 220],
      [500, 500],
    ];
    for (const [x, y] of pts) {
      const s = t.toScreen(x, y);
      await page.mouse.click(s.x, s.y);
    }
    // Clicking the first vertex closes it.
    const s0 = t.toScreen(pts[0][0], pts[0][1]);
    await page.mouse.click(s0.x, s0.y);
    await poll(() => page.getByTestId("objects").locator("li").allTextContents()).toEqual(["no class polygon"]);
    await page.getByLabel("Class").fill("person");
    await page.getByLabel("Class").press("Enter");
    await poll(() => page.getByTestId("selected-classes").textContent()).toContain("Person");
    await page.getByLabel("New tag").fill("Night");
    await page.getByLabel("New tag").press("Enter");
    await poll(() => page.getByTestId("tags").textContent()).toContain("night");
    await saved(page);
    await screenshot(page, "annotate-polygon");

    const back = await readBack(setId, img);
    expect(back.annotation_info).toHaveLength(1);
    const o = back.annotation_info[0];
    expect(o.classes.map((c: any) => c.name)).toEqual(["Person"]);
    expect(o.coordinates).toHaveLength(3);
    o.coordinates.forEach((p: { x: number; y: number }, i: number) => {
      expect(Math.abs(p.x - pts[i][0])).toBeLessThanOrEqual(2);
      expect(Math.abs(p.y - pts[i][1])).toBeLessThanOrEqual(2);
    });
    const tags = await ownerApi("GET", `/api/v1/ui/annotation-sets/${setId}/images/${img}/tags/`);
    expect(tags.results.map((x: any) => x.name)).toEqual(["night"]);

    // Removing the tag in the page removes it in the API.
    await page.getByRole("button", { name: "Remove tag night" }).click();
    await poll(() => page.getByTestId("tags").textContent()).toContain("No tags");
    expect((await ownerApi("GET", `/api/v1/ui/annotation-sets/${setId}/images/${img}/tags/`)).results).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("steps through the images in the gallery order the API gives, and skips with S", async () => {
    // Seven image loads in a row (its own timeout below: the default 90 s is tight on a busy 2-core machine).
    const setId = await newSet("order");
    // One image done, one skipped, one not annotated: the gallery lists not annotated, skipped, then done.
    await ownerApi("POST", `/api/v1/ui/annotation-sets/${setId}/images/${imageIds[0]}/status/`, { status: "done" });
    await ownerApi("POST", `/api/v1/ui/annotation-sets/${setId}/images/${imageIds[1]}/status/`, { status: "skipped" });
    const order = await galleryIds(setId);
    expect(order).toEqual([imageIds[2], imageIds[1], imageIds[0]]);

    const { page, problems, context } = await openPage(browser);
    await signIn(page, owner());
    await visit(page, `/annotation/${setId}`);
    await waitForImage(page, setId, order[0], false);
    await expect(page.getByRole("button", { name: "← Previous" }).isDisabled()).resolves.toBe(true);
    await page.keyboard.press("ArrowRight");
    await waitForImage(page, setId, order[1], false);
    await page.getByRole("button", { name: "Next →" }).click();
    await waitForImage(page, setId, order[2], false);
    await expect(page.getByRole("button", { name: "Next →" }).isDisabled()).resolves.toBe(true);
    await page.keyboard.press("ArrowLeft");
    await waitForImage(page, setId, order[1], false);
    // The browser's Back button goes back through the images too.
    await page.goBack();
    await waitForImage(page, setId, order[2], false);
    await visit(page, `/annotation/${setId}/image/${order[0]}`);
    await waitForImage(page, setId, order[0], false);
    // Skip (S) stores the status and moves on, from where the image was listed.
    await page.keyboard.press("s");
    await waitForImage(page, setId, order[1], false);
    expect((await readBack(setId, order[0])).status).toBe("skipped");
    expect(problems).toEqual([]);
    await context.close();
  }, 180_000);

  it("is read-only on another user's public dataset", async () => {
    const setId = await newSet("read-only");
    const img = imageIds[2];
    await ownerApi("PUT", `/api/v1/ui/annotation-sets/${setId}/images/${img}/annotations/`, {
      objects: [
        {
          coordinates: [
            { x: 100, y: 100 },
            { x: 400, y: 300 },
          ],
          classes: [{ name: "Car" }],
        },
      ],
    });
    await ownerApi("PATCH", `/api/v1/ui/datasets/${datasetId}/`, { is_public: true });
    try {
      const { page, problems, context } = await openPage(browser);
      await signIn(page, server().other);
      await visit(page, `/annotation/${setId}/image/${img}`);
      await waitForImage(page, setId, img);
      await poll(() => page.getByRole("note").textContent()).toContain("Read-only");
      await poll(() => page.getByTestId("objects").locator("li").allTextContents()).toEqual(["Car box"]);
      expect(await page.getByRole("button", { name: /^Box/ }).count()).toBe(0);
      expect(await page.getByRole("button", { name: /^Done/ }).count()).toBe(0);
      // Keys that edit do nothing: no box tool, no status change.
      const before = (await readBack(setId, img)).status;
      await page.keyboard.press("b");
      await page.keyboard.press("d");
      await screenshot(page, "annotate-read-only");
      expect(new URL(page.url()).pathname).toBe(`/annotation/${setId}/image/${img}`);
      expect((await readBack(setId, img)).status).toBe(before);
      expect(problems).toEqual([]);
      await context.close();
    } finally {
      await ownerApi("PATCH", `/api/v1/ui/datasets/${datasetId}/`, { is_public: false });
    }
  });

  it("shows the other user the 404 page for the owner's private set", async () => {
    const { page, problems, context } = await openPage(browser, {
      allow4xx: (u, s) => s === 404 && new URL(u).pathname.startsWith("/annotation/"),
    });
    await signIn(page, server().other);
    const res = await visit(page, `/annotation/${server().setId}`);
    expect(res?.status()).toBe(404);
    await poll(() => page.locator("body").textContent()).toMatch(/not found/i);
    expect(await page.getByTestId("viewer").count()).toBe(0);
    await screenshot(page, "annotate-404");
    // Chromium logs the 404 document as a failed resource; nothing else may go wrong.
    expect(problems.filter((p) => !p.includes("404"))).toEqual([]);
    await context.close();
  });
});
