import { describe, expect, it } from "vitest";
import { expectError, expectStatus, get } from "./helpers/api";
import { createUser, makePublic } from "./helpers/factories";
import { seedSet } from "./helpers/seed-annotations";

/**
 * The legacy global search runs dataset by dataset (issue 13: where each dataset's rows live) and merges the pages
 * by (image id, set id). Its pages must still be Remo's: ascending, no row twice or missing, and the cursor links
 * walk across datasets both ways.
 */
describe("GET /api/v1/ui/search/ over several datasets", () => {
  async function world() {
    const u = await createUser();
    const img = (n: string, cls: string[]) => ({ name: n, width: 64, height: 48, classes: cls });
    const a = await seedSet(u, { task: "image_classification", images: [img("a1.jpg", ["Cat"]), img("a2.jpg", ["Cat"]), img("a3.jpg", ["Dog"])] });
    const b = await seedSet(u, { task: "image_classification", images: [img("b1.jpg", ["Cat"]), img("b2.jpg", ["Cat"])] });
    const c = await seedSet(u, { task: "image_classification", images: [img("c1.jpg", ["Cat", "Dog"]), img("c2.jpg", ["Cat"])] });
    // A second set on dataset a's images: its rows sort beside the first set's.
    const a2 = await seedSet(u, { task: "image_classification", datasetId: a.datasetId, images: [img("a4.jpg", ["Cat"])] });
    const expected = [
      ...["a1.jpg", "a2.jpg"].map((n) => [a.imageIds.get(n)!, a.setId]),
      ...["b1.jpg", "b2.jpg"].map((n) => [b.imageIds.get(n)!, b.setId]),
      ...["c1.jpg", "c2.jpg"].map((n) => [c.imageIds.get(n)!, c.setId]),
      [a2.imageIds.get("a4.jpg")!, a2.setId],
    ].sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    return { u, a, b, c, a2, sets: [a.setId, b.setId, c.setId, a2.setId].join(","), expected };
  }
  const pairs = (body: any) => body.results.map((r: any) => [r.image_id, r.annotation_set_id]);

  it("walks every matching row once, in order, across datasets, with next and then previous links", async () => {
    const { u, sets, expected } = await world();
    const pages: any[] = [];
    let url: string | null = `/api/v1/ui/search/?sets=${sets}&classes=Cat&limit=3`;
    for (let i = 0; url && i < 10; i++) {
      const body: any = await expectStatus(get(url, u.key), 200);
      pages.push(body);
      url = body.next;
    }
    expect(pages.map((p) => p.results.length)).toEqual([3, 3, 1]);
    expect(pages.flatMap(pairs)).toEqual(expected);
    expect(pages[0].previous).toBeNull();
    // Back from the last page: the page before it, the same rows.
    const back = await expectStatus(get(pages[2].previous, u.key), 200);
    expect(pairs(back)).toEqual(pairs(pages[1]));
    expect(back.next).not.toBeNull();
  });

  it("answers one page over all datasets when it fits, and nothing for a class no dataset has", async () => {
    const { u, sets, expected } = await world();
    expect(pairs(await expectStatus(get(`/api/v1/ui/search/?sets=${sets}&classes=Cat`, u.key), 200))).toEqual(expected);
    expect((await expectStatus(get(`/api/v1/ui/search/?sets=${sets}&classes=Zebra`, u.key), 200)).results).toEqual([]);
    await expectError(get(`/api/v1/ui/search/?sets=${sets}&classes=Cat&limit=0`, u.key), 400);
  });

  it("never shows another user's private dataset in the merge; a public one is searched", async () => {
    const { u, a, b, sets } = await world();
    const other = await createUser();
    expect((await expectStatus(get(`/api/v1/ui/search/?sets=${sets}&classes=Cat`, other.key), 200)).results).toEqual([]);
    await makePublic(u, b.datasetId);
    const seen = pairs(await expectStatus(get(`/api/v1/ui/search/?sets=${sets}&classes=Cat`, other.key), 200));
    expect(seen).toEqual([...b.imageIds.values()].map((id) => [id, b.setId]));
    expect(seen.some(([, s]: number[]) => s === a.setId)).toBe(false);
  });
});
