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

const insightsPath = () => `/annotation-detail/${server().setId}/insights`;

/** The body rows of the table labelled `name`, as the text of each cell (numbers without their `,` grouping). */
async function tableRows(page: Page, name: string): Promise<string[][]> {
  const table = page.getByRole("table", { name, exact: true });
  await table.waitFor();
  return table
    .locator("tbody tr")
    .evaluateAll((rows) =>
      rows.map((r) => [...r.querySelectorAll("td")].map((td) => (td.textContent ?? "").trim().replace(/,/g, ""))),
    );
}

/**
 * What a person sees of a chart: its canvas's CSS size, how many of its pixels are painted, and whether one of them
 * is exactly `color` (any CSS colour; the canvas turns it into RGB). Bars are solid, so a bar's colour is there as is.
 */
async function canvasInfo(page: Page, testId: string, color?: string) {
  return page.getByTestId(testId).evaluate((el, color) => {
    const canvas = el as HTMLCanvasElement;
    const rect = canvas.getBoundingClientRect();
    const px = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    let want: number[] | null = null;
    if (color) {
      const probe = document.createElement("canvas").getContext("2d")!;
      probe.fillStyle = color;
      probe.fillRect(0, 0, 1, 1);
      want = [...probe.getImageData(0, 0, 1, 1).data.slice(0, 3)];
    }
    let painted = 0;
    let hasColor = false;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] > 0) painted++;
      if (want && px[i + 3] === 255 && px[i] === want[0] && px[i + 1] === want[1] && px[i + 2] === want[2])
        hasColor = true;
    }
    return { width: rect.width, height: rect.height, painted, hasColor };
  }, color);
}

describe("the insights page", () => {
  it("shows the set's numbers as the API gives them, beside charts that are drawn", async () => {
    const { owner, setId, datasetId } = server();
    const insights = await api("GET", `/api/v1/ui/annotation-sets/${setId}/insights/`, owner.key);
    const sets = await api("GET", `/api/v1/ui/datasets/${datasetId}/annotation-sets/?limit=1000`, owner.key);
    const item = sets.results.find((s: { id: number }) => s.id === setId);
    const classes = insights.results.filter((r: any) => r.record_type === "class").map((r: any) => r.class);
    const tags = insights.results.filter((r: any) => r.record_type === "tag").map((r: any) => r.tag);
    // The seeded set has what the page is about: classes, tags, and done images.
    expect(classes.length).toBeGreaterThan(3);
    expect(tags.length).toBeGreaterThan(0);
    expect(item.statistics.done_count).toBeGreaterThan(0);

    const { page, problems, context } = await openPage(browser);
    // Charts are drawn final at once for a person who asks for less motion: the screenshot shows the real bars.
    await page.emulateMedia({ reducedMotion: "reduce" });
    await signIn(page, owner, insightsPath());

    // Title: dataset and set names, each a link back.
    const heading = page.getByRole("heading", { level: 1 });
    await expect.poll(() => heading.textContent()).toContain("Open Images sample");
    expect(await heading.textContent()).toContain("Insights");
    expect(await heading.getByRole("link", { name: "Open Images sample" }).getAttribute("href")).toBe(
      `/datasets/${datasetId}`,
    );
    const setName = (await api("GET", `/api/v1/ui/annotation-sets/${setId}/`, owner.key)).name;
    expect(await heading.getByRole("link", { name: setName }).getAttribute("href")).toBe(`/annotation/${setId}`);

    // Objects and images per class.
    const classRows = await tableRows(page, "Objects and images per class");
    expect(classRows.map((r) => [r[0], Number(r[1]), Number(r[2])])).toEqual(
      classes.map((c: any) => [c.name, c.total_annotation_objects, c.total_images]),
    );
    expect(classRows.reduce((a, r) => a + Number(r[1]), 0)).toBe(insights.total_annotation_objects);

    // Images and objects per tag.
    const tagRows = await tableRows(page, "Images and objects per tag");
    expect(tagRows.map((r) => [r[0], Number(r[1]), Number(r[2])])).toEqual(
      tags.map((t: any) => [t.name, t.total_images, t.total_annotation_objects]),
    );

    // Done / skipped / to do.
    const statusRows = await tableRows(page, "Images by status");
    expect(Object.fromEntries(statusRows.map((r) => [r[0], Number(r[1])]))).toEqual({
      Done: item.statistics.done_count,
      Skipped: item.statistics.skipped_count,
      "To do": item.statistics.todo_count,
    });
    expect(await page.getByTestId("summary-images").textContent()).toBe(String(item.total_images));
    expect(await page.getByTestId("summary-annotated-images").textContent()).toBe(
      String(insights.total_annotated_images),
    );

    // Classes split by tags (objects, in a detection set): the first tags are picked; the table is what
    // ?split_by_tags= answers.
    const picked = tags.slice(0, 3).map((t: any) => t.name);
    const split = await api(
      "GET",
      `/api/v1/ui/annotation-sets/${setId}/insights/?split_by_tags=${encodeURIComponent(picked.join(","))}`,
      owner.key,
    );
    const splitRows = await tableRows(page, "Objects per class and tag");
    expect(splitRows).toEqual(
      split.results
        .filter((r: any) => r.record_type === "class")
        .map((r: any) => [r.class.name, ...picked.map((t: string) => String(r.split_by_tags[t]))]),
    );
    // Unpicking a tag takes its column away.
    await page.getByRole("checkbox", { name: picked[0], exact: true }).uncheck();
    await expect.poll(async () => (await tableRows(page, "Objects per class and tag"))[0].length).toBe(picked.length);
    const headers = await page
      .getByRole("table", { name: "Objects per class and tag" })
      .locator("thead th")
      .allTextContents();
    expect(headers.map((h) => h.trim())).toEqual(["Class", ...picked.slice(1)]);

    // Every chart is drawn: a canvas with a size and painted pixels; the class bars in their class's colour.
    const top = [...classes].sort((a: any, b: any) => b.total_annotation_objects - a.total_annotation_objects)[0];
    for (const [id, color] of [
      ["chart-status", undefined],
      ["chart-class-objects", classColor(top.name)],
      ["chart-class-images", classColor(top.name)],
      ["chart-tags", undefined],
      ["chart-split", undefined],
    ] as const) {
      // Waits for the chart to be drawn (a state, not a time).
      await expect.poll(async () => (await canvasInfo(page, id, color)).hasColor || !color).toBe(true);
      const info = await canvasInfo(page, id, color);
      expect(info.width, id).toBeGreaterThan(100);
      expect(info.height, id).toBeGreaterThan(100);
      expect(info.painted, id).toBeGreaterThan(1000);
    }

    // All of it ran under the page's strict CSP (a violation would be a console error above).
    const shell = await context.request.get(insightsPath());
    expect(shell.headers()["content-security-policy"]).toContain("script-src 'self';");

    await screenshot(page, "insights");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("says what is missing for a set with no images, and draws only images per class for classification", async () => {
    const { owner } = server();
    const ds = await api("POST", "/api/dataset/", owner.key, { name: "Insights of nothing" });
    const set = await api("POST", "/api/v1/ui/annotation-sets/", owner.key, {
      annotation_task: "Image classification",
      classes: ["Cat", "Dog"],
      dataset_id: ds.id,
      name: "Pets",
    });
    const { page, problems, context } = await openPage(browser);
    await signIn(page, owner, `/annotation-detail/${set.id}/insights`);
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toContain("Insights of nothing");
    expect(await tableRows(page, "Images by status")).toEqual([
      ["Done", "0", "–"],
      ["Skipped", "0", "–"],
      ["To do", "0", "–"],
    ]);
    expect(await page.getByText("This dataset has no images yet.").count()).toBe(1);
    expect(await tableRows(page, "Objects and images per class")).toEqual([
      ["Cat", "0", "0", "0.00"],
      ["Dog", "0", "0", "0.00"],
    ]);
    // A classification set counts images, not objects: one chart, images per class.
    expect(await page.locator("canvas").count()).toBe(1);
    expect(await page.getByTestId("chart-class-images").count()).toBe(1);
    expect(await page.getByText("No image in this set is tagged.").count()).toBe(1);
    expect(await page.getByRole("heading", { name: "Classes by tag" }).count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("is the 404 page for another user", async () => {
    const page404 = (u: string, s: number) => s === 404 && new URL(u).pathname === insightsPath();
    const { page, problems, context } = await openPage(browser, { allow4xx: page404 });
    await signIn(page, server().other, "/datasets");
    const res = await visit(page, insightsPath());
    expect(res?.status()).toBe(404);
    await expect.poll(() => page.getByRole("heading", { name: "Not found" }).count()).toBe(1);
    // Nothing of the set leaks: no table, no chart, no dataset name.
    expect(await page.locator("canvas, table").count()).toBe(0);
    expect(await page.textContent("body")).not.toContain("Open Images sample");
    await screenshot(page, "insights-404");
    // Chromium logs the page's own 404 to the console as a failed resource.
    expect(problems.filter((p) => !p.includes("404"))).toEqual([]);
    await context.close();
  });
});
