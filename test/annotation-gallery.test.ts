import { describe, expect, it } from "vitest";
import { call, expectError, expectStatus, get, post } from "./helpers/api";
import { createDataset, createUser, insertImage, makePublic, type TestUser } from "./helpers/factories";

/**
 * Ten images; 2 and 5 skipped; 3, 7 and 8 done (3 with two boxes); 4 tagged (a status -1 row: still not annotated).
 * Positions are 1-based indexes into `ids`.
 */
async function world() {
  const u = await createUser();
  const d = await createDataset(u);
  const ids: number[] = [];
  for (let k = 1; k <= 10; k++) ids.push((await insertImage(d.id, { name: `g${k}.jpg`, width: 100, height: 80 })).id);
  const set = await expectStatus(
    post(
      "/api/v1/ui/annotation-sets/",
      { annotation_task: "Object detection", dataset_id: d.id, name: "S", classes: ["Car"] },
      u.key,
    ),
    201,
  );
  const at = (k: number) => ids[k - 1];
  const status = (k: number, s: string) =>
    expectStatus(post(`/api/v1/ui/annotation-sets/${set.id}/images/${at(k)}/status/`, { status: s }, u.key), 200);
  const box = (x: number, cls: string) => ({
    coordinates: [
      { x, y: 1 },
      { x: x + 10, y: 20 },
    ],
    classes: [{ name: cls }],
  });
  await expectStatus(
    post(
      `/api/dataset/${d.id}/annotation-set/${set.id}/image/${at(3)}/save-annotation/`,
      { objects: [box(1, "Car"), box(30, "Bus")] },
      u.key,
    ),
    200,
  );
  for (const k of [3, 7, 8]) await status(k, "done");
  for (const k of [2, 5]) await status(k, "skipped");
  await expectStatus(
    post(`/api/v1/ui/annotation-sets/${set.id}/images/${at(4)}/tags/`, { name: "blurry" }, u.key),
    201,
  );
  const gallery = `/api/dataset/${d.id}/annotation-set/${set.id}/image/`;
  const groups = { not_annotated: [1, 4, 6, 9, 10].map(at), skipped: [2, 5].map(at), annotated: [3, 7, 8].map(at) };
  return { u, d, set, ids, at, gallery, groups, status };
}

const idsOf = (page: { results: { id: number }[] }) => page.results.map((r) => r.id);

/** Follows `next` (or `previous`) links from `path` to the end, returning every id seen, page by page. */
async function follow(path: string, key: string, link: "next" | "previous") {
  const pages: number[][] = [];
  let url: string | null = path;
  while (url) {
    const page: any = await expectStatus(get(url, key), 200);
    pages.push(idsOf(page));
    url = page[link];
    if (pages.length > 50) throw new Error("links never end");
  }
  return pages;
}

describe("the annotation tool's gallery: GET /api/dataset/{ds}/annotation-set/{set}/image/", () => {
  it("lists the groups in each of Remo's orders, with the counts", async () => {
    const { u, gallery, groups } = await world();
    const { not_annotated: na, skipped: sk, annotated: an } = groups;
    const first = await expectStatus(get(`${gallery}?limit=100`, u.key), 200);
    expect(idsOf(first)).toEqual([...na, ...sk, ...an]);
    expect(first).toMatchObject({
      count: 10,
      not_annotated_count: 5,
      skipped_count: 2,
      annotated_count: 3,
      next: null,
      previous: null,
    });
    expect(idsOf(await expectStatus(get(`${gallery}?order=not_annotated&limit=100`, u.key), 200))).toEqual([
      ...na,
      ...sk,
      ...an,
    ]);
    expect(idsOf(await expectStatus(get(`${gallery}?order=skipped&limit=100`, u.key), 200))).toEqual([
      ...sk,
      ...na,
      ...an,
    ]);
    expect(idsOf(await expectStatus(get(`${gallery}?order=annotated&limit=100`, u.key), 200))).toEqual([
      ...an,
      ...sk,
      ...na,
    ]);
  });

  it("gives each image its name, size, status, counts, classes and signed URLs", async () => {
    const { u, gallery, at } = await world();
    const page = await expectStatus(get(`${gallery}?order=annotated&limit=1`, u.key), 200);
    const img = page.results[0];
    expect(img).toMatchObject({
      id: at(3),
      name: "g3.jpg",
      width: 100,
      height: 80,
      dimensions: [100, 80],
      status: "done",
      annotates_count: 2,
      objects_count: 2,
      tags_count: 0,
      classes: ["Bus", "Car"],
    });
    expect(img.thumbnail).toMatch(new RegExp(`^/files/images/${at(3)}/thumbnail\\.jpg\\?`));
    expect(img.view).toMatch(new RegExp(`^/files/images/${at(3)}/view\\.jpg\\?`));
    const original = await call("GET", img.original);
    expect(original.status).toBe(200);
    expect((await original.arrayBuffer()).byteLength).toBeGreaterThan(0);
    const tagged = (await expectStatus(get(`${gallery}?image_id=${at(4)}&limit=1`, u.key), 200)).results[0];
    expect(tagged).toMatchObject({
      id: at(4),
      status: "not_annotated",
      tags_count: 1,
      annotates_count: 0,
      classes: [],
    });
  });

  it("steps next and previous from an image across group boundaries", async () => {
    const { u, gallery, groups } = await world();
    const { not_annotated: na, skipped: sk, annotated: an } = groups;
    const next = await expectStatus(get(`${gallery}?image_id=${na[4]}&direction=next&limit=1`, u.key), 200);
    expect(idsOf(next)).toEqual([sk[0]]);
    expect(next.next).toContain(`image_id=${sk[0]}`);
    const prev = await expectStatus(get(`${gallery}?image_id=${sk[0]}&direction=prev&limit=2`, u.key), 200);
    expect(idsOf(prev)).toEqual([na[3], na[4]]);
    expect(idsOf(await expectStatus(get(`${gallery}?image_id=${sk[1]}&direction=next&limit=3`, u.key), 200))).toEqual(
      an,
    );
    const end = await expectStatus(get(`${gallery}?image_id=${an[2]}&direction=next&limit=3`, u.key), 200);
    expect(end).toMatchObject({ results: [], next: null });
    const start = await expectStatus(get(`${gallery}?image_id=${na[0]}&direction=prev`, u.key), 200);
    expect(start).toMatchObject({ results: [], previous: null });
    // Under order=annotated, "next" from the last annotated image is the first skipped one.
    expect(
      idsOf(await expectStatus(get(`${gallery}?order=annotated&image_id=${an[2]}&direction=next&limit=1`, u.key), 200)),
    ).toEqual([sk[0]]);
  });

  it("opens a page around an image when no direction is given", async () => {
    const { u, gallery, groups } = await world();
    const all = [...groups.not_annotated, ...groups.skipped, ...groups.annotated];
    const page = await expectStatus(get(`${gallery}?image_id=${all[5]}&limit=4`, u.key), 200);
    expect(idsOf(page)).toEqual(all.slice(3, 7));
    expect(page.previous).not.toBeNull();
    expect(page.next).not.toBeNull();
    const atStart = await expectStatus(get(`${gallery}?image_id=${all[0]}&limit=4`, u.key), 200);
    expect(idsOf(atStart)).toEqual(all.slice(0, 4));
    expect(atStart.previous).toBeNull();
    const atEnd = await expectStatus(get(`${gallery}?image_id=${all[9]}&limit=4`, u.key), 200);
    expect(idsOf(atEnd)).toEqual(all.slice(6, 10));
    expect(atEnd.next).toBeNull();
  });

  it("walks the whole gallery by following next, and back by following previous, without gaps or repeats", async () => {
    const { u, gallery, groups } = await world();
    const all = [...groups.skipped, ...groups.not_annotated, ...groups.annotated];
    const forward = await follow(`${gallery}?order=skipped&limit=3`, u.key, "next");
    expect(forward.map((p) => p.length)).toEqual([3, 3, 3, 1]);
    expect(forward.flat()).toEqual(all);
    const backward = await follow(
      `${gallery}?order=skipped&limit=3&image_id=${all[9]}&direction=prev`,
      u.key,
      "previous",
    );
    expect(backward.reverse().flat()).toEqual(all.slice(0, 9));
  });

  it("keeps the cursor in the group the tool showed when the image's status changes (image_status)", async () => {
    const { u, gallery, groups, ids, status } = await world();
    const na = groups.not_annotated;
    await status(ids.indexOf(na[1]) + 1, "done");
    // As listed: not annotated. Marked done since: without image_status it now sits among the annotated images.
    const kept = await expectStatus(
      get(`${gallery}?image_id=${na[1]}&direction=next&limit=1&image_status=not_annotated`, u.key),
      200,
    );
    expect(idsOf(kept)).toEqual([na[2]]);
    const moved = await expectStatus(get(`${gallery}?image_id=${na[1]}&direction=next&limit=1`, u.key), 200);
    expect(idsOf(moved)).not.toEqual([na[2]]);
    const first = await expectStatus(get(`${gallery}?limit=2`, u.key), 200);
    expect(first.next).toContain("image_status=not_annotated");
    expect(first.not_annotated_count).toBe(4);
  });

  it("bounds limit and accepts (ignores) tracker_id", async () => {
    const { u, gallery } = await world();
    expect((await expectStatus(get(`${gallery}?limit=1000`, u.key), 200)).results).toHaveLength(10);
    expect((await expectStatus(get(`${gallery}`, u.key), 200)).results).toHaveLength(10);
    await expectError(get(`${gallery}?limit=0`, u.key), 400, /limit/);
    await expectError(get(`${gallery}?limit=1001`, u.key), 400, /limit/);
    await expectError(get(`${gallery}?limit=x`, u.key), 400, /limit/);
    const a = await expectStatus(get(`${gallery}?limit=4`, u.key), 200);
    const b = await expectStatus(get(`${gallery}?limit=4&tracker_id=77`, u.key), 200);
    expect(idsOf(b)).toEqual(idsOf(a));
  });

  it("answers bad input with a 400 or 404 in the envelope, never a 500", async () => {
    const { u, d, set, gallery, at } = await world();
    await expectError(get(`${gallery}?order=newest`, u.key), 400, /order/);
    await expectError(get(`${gallery}?image_id=${at(1)}&direction=up`, u.key), 400, /direction/);
    await expectError(get(`${gallery}?image_id=abc`, u.key), 400, /image_id/);
    await expectError(get(`${gallery}?image_id=-3`, u.key), 400, /image_id/);
    await expectError(get(`${gallery}?tracker_id=abc`, u.key), 400, /tracker_id/);
    await expectError(get(`${gallery}?image_id=${at(1)}&image_status=maybe`, u.key), 400, /image_status/);
    await expectError(get(`/api/dataset/abc/annotation-set/${set.id}/image/`, u.key), 400, /ds/);
    await expectError(get(`/api/dataset/${d.id}/annotation-set/abc/image/`, u.key), 400, /set/);
    const elsewhere = await insertImage((await createDataset(u)).id);
    await expectError(get(`${gallery}?image_id=${elsewhere.id}&direction=next`, u.key), 404);
    await expectError(get(`${gallery}?image_id=999999999`, u.key), 404);
    const other = await createDataset(u);
    await expectError(get(`/api/dataset/${other.id}/annotation-set/${set.id}/image/`, u.key), 404);
    await expectError(get(`/api/dataset/999999999/annotation-set/${set.id}/image/`, u.key), 404);
    await expectError(get(`/api/dataset/${d.id}/annotation-set/999999999/image/`, u.key), 404);
    await expectError(get(gallery), 401);
  });
});

describe("a set's images: GET /api/v1/ui/annotation-sets/{set}/images/", () => {
  it("lists the dataset's images by id with their status in the set, paginated by following next", async () => {
    const { u, d, set, ids, at } = await world();
    const pages: any[] = [];
    let url: string | null = `/api/v1/ui/annotation-sets/${set.id}/images/?limit=4`;
    while (url) {
      const page: any = await expectStatus(get(url, u.key), 200);
      expect(page.count).toBe(10);
      pages.push(page);
      url = page.next;
    }
    expect(pages.map((p) => p.results.length)).toEqual([4, 4, 2]);
    const all = pages.flatMap((p) => p.results);
    expect(all.map((r) => r.id)).toEqual(ids);
    const byId = new Map(all.map((r) => [r.id, r]));
    expect(byId.get(at(3))).toMatchObject({
      status: "done",
      annotates_count: 2,
      classes: ["Bus", "Car"],
      name: "g3.jpg",
      dataset_id: d.id,
    });
    expect(byId.get(at(2))).toMatchObject({ status: "skipped", annotates_count: 0 });
    expect(byId.get(at(4))).toMatchObject({ status: "not_annotated", tags_count: 1 });
    expect(pages[1].previous).toBe(`/api/v1/ui/annotation-sets/${set.id}/images/?limit=4`);
    await expectError(get(`/api/v1/ui/annotation-sets/${set.id}/images/?limit=0`, u.key), 400, /limit/);
    await expectError(get(`/api/v1/ui/annotation-sets/${set.id}/images/?offset=-1`, u.key), 400, /offset/);
    await expectError(get(`/api/v1/ui/annotation-sets/abc/images/`, u.key), 400, /set/);
    await expectError(get(`/api/v1/ui/annotation-sets/999999999/images/`, u.key), 404);
  });

  it("counts image classes for an image-classification set", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const img = await insertImage(d.id, { width: 50, height: 50 });
    const set = await expectStatus(
      post(
        "/api/v1/ui/annotation-sets/",
        { annotation_task: "Image classification", dataset_id: d.id, name: "C", classes: [] },
        u.key,
      ),
      201,
    );
    await expectStatus(
      post(
        `/api/dataset/${d.id}/annotation-set/${set.id}/image/${img.id}/save-annotation/`,
        { classes: [{ name: "Cat" }, { name: "Pet" }], status: "done" },
        u.key,
      ),
      200,
    );
    const page = await expectStatus(get(`/api/v1/ui/annotation-sets/${set.id}/images/`, u.key), 200);
    expect(page.results[0]).toMatchObject({
      id: img.id,
      status: "done",
      annotates_count: 2,
      objects_count: 0,
      classes: ["Cat", "Pet"],
    });
    const g = await expectStatus(
      get(`/api/dataset/${d.id}/annotation-set/${set.id}/image/?order=annotated`, u.key),
      200,
    );
    expect(g).toMatchObject({ count: 1, annotated_count: 1, results: [{ id: img.id, annotates_count: 2 }] });
  });
});

describe("who sees the gallery and the set's images", () => {
  async function asStranger(owner: TestUser, datasetId: number, setId: number, imageId: number) {
    const stranger = await createUser();
    const paths = [
      `/api/dataset/${datasetId}/annotation-set/${setId}/image/`,
      `/api/dataset/${datasetId}/annotation-set/${setId}/image/?image_id=${imageId}&direction=next`,
      `/api/v1/ui/annotation-sets/${setId}/images/`,
    ];
    return { stranger, paths, owner };
  }

  it("answers 404 to another user for a private dataset, as for a missing one", async () => {
    const { u, d, set, at } = await world();
    const { stranger, paths } = await asStranger(u, d.id, set.id, at(1));
    for (const p of paths) await expectError(get(p, stranger.key), 404);
  });

  it("lets another user read a public dataset's gallery and images", async () => {
    const { u, d, set, at, groups } = await world();
    await makePublic(u, d.id);
    const { stranger, paths } = await asStranger(u, d.id, set.id, at(1));
    for (const p of paths) await expectStatus(get(p, stranger.key), 200);
    const page = await expectStatus(get(paths[0] + "?limit=100", stranger.key), 200);
    expect(idsOf(page)).toEqual([...groups.not_annotated, ...groups.skipped, ...groups.annotated]);
  });
});
