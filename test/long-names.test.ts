import { describe, expect, it } from "vitest";
import { expectStatus, get, post } from "./helpers/api";
import { createDataset, createUser, insertImage } from "./helpers/factories";

// D1 refuses LIKE patterns over 50 bytes; names and search terms here are longer, and must still work.
const LONG = "A very long name that is well past fifty bytes of text, on purpose";

describe("names and search terms longer than D1's LIKE pattern limit", () => {
  it("makes a long dataset name unique as `Name (N)`", async () => {
    const u = await createUser();
    expect((await expectStatus(post("/api/dataset/", { name: LONG }, u.key), 200)).name).toBe(LONG);
    expect((await expectStatus(post("/api/dataset/", { name: LONG }, u.key), 200)).name).toBe(`${LONG} (1)`);
    expect((await expectStatus(post("/api/dataset/", { name: LONG }, u.key), 200)).name).toBe(`${LONG} (2)`);
  });

  it("names upload-created sets uniquely even when the task-derived name is long", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const a = await expectStatus(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: d.id, name: LONG, classes: [] }, u.key), 201);
    expect(a.name).toBe(LONG);
    const { uniqueSetName } = await import("../src/services/annotations/sets");
    const { createDb } = await import("../src/db/client");
    const { env } = await import("cloudflare:test");
    expect(await uniqueSetName(createDb(env.DB), d.id, LONG)).toBe(`${LONG} (1)`);
  });

  it("searches by a long image_name substring and autocompletes a long class prefix", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const img = await insertImage(d.id, { name: `x-${LONG.replace(/ /g, "_")}-y.jpg` });
    await insertImage(d.id, { name: "other.jpg" });
    const term = LONG.replace(/ /g, "_").toLowerCase();
    const found = await expectStatus(get(`/api/v1/ui/datasets/${d.id}/contents/?image_name=${encodeURIComponent(term)}`, u.key), 200);
    expect(found.results.map((r: { image: { id: number } }) => r.image.id)).toEqual([img.id]);
    await expectStatus(post("/api/common-class/", { name: LONG }, u.key), 201);
    const auto = await expectStatus(get(`/api/common-class/?autocomplete=${encodeURIComponent(LONG.slice(0, 60).toUpperCase())}`, u.key), 200);
    expect(auto.results.length).toBeGreaterThanOrEqual(1);
    expect(auto.results[0].name.toLowerCase().startsWith(LONG.slice(0, 60).toLowerCase())).toBe(true);
  });
});
