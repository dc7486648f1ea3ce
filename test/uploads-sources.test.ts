import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { stubInternet } from "./helpers/upload-helpers";
import { expectError, expectStatus, post } from "./helpers/api";
import { createDataset, createUser, insertImage } from "./helpers/factories";
import {
  completeAndWait,
  datasetImages,
  expectedFixtureObjects,
  expectedFixtureTags,
  fixture,
  fixtureImages,
  FIXTURE_IMAGES,
  newSession,
  sessionSetId,
  setObjects,
  setTags,
  uploadMultipart,
  zip,
} from "./helpers/upload-helpers";

afterEach(() => vi.restoreAllMocks());

async function expectFixtureIngested(dsId: number, sid: string, s: any) {
  expect(s.status, JSON.stringify(s)).toBe("done");
  expect(s.images).toMatchObject({ total: 7, successful: 7, failed: 0 });
  expect((await datasetImages(dsId)).map((i) => i.original_name)).toEqual([...FIXTURE_IMAGES].sort());
  const setId = await sessionSetId(sid);
  expect(await setObjects(setId)).toEqual(await expectedFixtureObjects());
  expect(await setTags(setId)).toEqual(await expectedFixtureTags());
}

describe("the fixture through every way in", () => {
  it("multipart image files in two batches, then the CSVs, complete=true on the last request", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const images = Object.entries(await fixtureImages()).map(([name, bytes]) => ({ name, bytes }));
    const { session_id: sid } = await expectStatus(
      uploadMultipart(u.key, ds.id, images.slice(0, 4), { annotation_task: "object_detection" }),
      200,
    );
    await expectStatus(uploadMultipart(u.key, ds.id, images.slice(4), { session_id: sid }), 200);
    await expectStatus(
      uploadMultipart(
        u.key,
        ds.id,
        [
          { name: "annotations.csv", bytes: await fixture("annotations/annotations.csv") },
          { name: "images_tags.csv", bytes: await fixture("annotations/images_tags.csv") },
        ],
        { session_id: sid, complete: "true" },
      ),
      200,
    );
    const { waitForSession } = await import("./helpers/upload-helpers");
    const s = await waitForSession(u.key, sid);
    await expectFixtureIngested(ds.id, sid, s);
    expect(s.uploaded.images).toMatchObject({ items: 7 });
  });

  it("URLs (fetched by the consumer; outbound fetch stubbed)", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const archive = zip(await fixtureImages());
    const csv = await fixture("annotations/annotations.csv");
    const tags = await fixture("annotations/images_tags.csv");
    stubInternet({
      "https://data.example.com/set/images.zip": () =>
        new Response(archive, { headers: { "content-length": String(archive.length) } }),
      "https://data.example.com/set/annotations.csv": () => new Response(csv),
      "https://data.example.com/set/images_tags.csv": () => new Response(tags),
    });
    const sid = await newSession(u.key, ds.id);
    await expectStatus(
      post(
        `/api/dataset/${ds.id}/upload/`,
        {
          session_id: sid,
          annotation_task: "Object detection",
          urls: [
            "https://data.example.com/set/images.zip",
            "https://data.example.com/set/annotations.csv",
            "https://data.example.com/set/images_tags.csv",
          ],
        },
        u.key,
      ),
      200,
    );
    const s = await completeAndWait(u.key, sid);
    await expectFixtureIngested(ds.id, sid, s);
    expect(s.uploaded.archives).toMatchObject({ items: 1, size: archive.length });
  });

  it("local_files: bucket keys and a prefix, images linked in place (not copied)", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const prefix = `incoming/${crypto.randomUUID()}/`;
    for (const [name, bytes] of Object.entries(await fixtureImages()))
      await env.BUCKET.put(`${prefix}images/${name}`, bytes);
    await env.BUCKET.put(`${prefix}annotations.csv`, await fixture("annotations/annotations.csv"));
    await env.BUCKET.put(`${prefix}images_tags.csv`, await fixture("annotations/images_tags.csv"));
    const sid = await newSession(u.key, ds.id);
    await expectStatus(
      post(
        `/api/dataset/${ds.id}/upload/`,
        {
          session_id: sid,
          annotation_task: "Object detection",
          local_files: [`${prefix}images/`, `${prefix}annotations.csv`, `/${prefix}images_tags.csv`],
        },
        u.key,
      ),
      200,
    );
    const s = await completeAndWait(u.key, sid);
    await expectFixtureIngested(ds.id, sid, s);
    for (const img of await datasetImages(ds.id)) {
      expect(img.linked).toBe(1);
      expect(img.r2_key).toBe(`${prefix}images/${img.original_name}`);
    }
    // Linked objects are the user's: the session leaves them where they were.
    expect(await env.BUCKET.head(`${prefix}annotations.csv`)).not.toBeNull();
  });

  it("local_files may not reach the API's own objects: images/, uploads/, exports/, derived/, the root, '..'", async () => {
    const victim = await createUser();
    const theirs = await createDataset(victim);
    const img = await insertImage(theirs.id, { name: "private.jpg" });
    const u = await createUser();
    const ds = await createDataset(u);
    for (const key of ["images/", img.r2Key, "/images/", "uploads/", "exports/1/a.json", "derived/", "", "/", "im", "data/../images/x"]) {
      const body = await expectError(post(`/api/dataset/${ds.id}/upload/`, { local_files: [key] }, u.key), 400);
      expect(body.error).toMatch(/local_files/);
    }
    expect(await datasetImages(ds.id)).toHaveLength(0);
    // A class encoding's local_path is a bucket key too, read under the same rule (covered by userKeyProblem).
    const { userKeyProblem } = await import("../src/storage/blobs");
    expect(userKeyProblem("exports/3/annotations.csv")).toMatch(/exports\//);
    expect(userKeyProblem("team/encodings/labels.csv")).toBeNull();
  });

  it("local_files: an archive in the bucket is read from there (its images stored, the archive left in place)", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const key = `incoming/${crypto.randomUUID()}/uploads/images.zip`;
    await env.BUCKET.put(key, zip(await fixtureImages()));
    const r = await expectStatus(
      post(`/api/dataset/${ds.id}/upload/`, { local_files: [key], complete: true }, u.key),
      200,
    );
    const { waitForSession } = await import("./helpers/upload-helpers");
    const s = await waitForSession(u.key, r.session_id);
    expect(s.status, JSON.stringify(s)).toBe("done");
    const imgs = await datasetImages(ds.id);
    expect(imgs.map((i) => [i.original_name, i.linked, i.r2_key])).toEqual(
      imgs.map((i) => [i.original_name, 0, `images/${i.sha256}`]),
    );
    expect(imgs).toHaveLength(7);
    expect(await env.BUCKET.head(key)).not.toBeNull();
  });

  it("re-uploading the same archive adds nothing and reports every image as Remo's duplicate", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const archive = zip(await fixtureImages());
    const first = await expectStatus(
      uploadMultipart(u.key, ds.id, [{ name: "images.zip", bytes: archive }], { complete: "true" }),
      200,
    );
    const { waitForSession } = await import("./helpers/upload-helpers");
    expect((await waitForSession(u.key, first.session_id)).status).toBe("done");
    const before = await datasetImages(ds.id);

    const again = await expectStatus(
      uploadMultipart(u.key, ds.id, [{ name: "images.zip", bytes: archive }], { complete: "true" }),
      200,
    );
    const s = await waitForSession(u.key, again.session_id);
    expect(s.status).toBe("failed");
    expect(s.images).toMatchObject({ total: 7, successful: 0, failed: 7 });
    expect(s.images.errors.map((e: any) => e.filename).sort()).toEqual([...FIXTURE_IMAGES].sort());
    for (const e of s.images.errors) expect(e.errors).toEqual(["not added (Duplicated image)"]);
    expect(await datasetImages(ds.id)).toEqual(before);
    const counters = await env.DB.prepare("SELECT image_count FROM datasets WHERE id = ?").bind(ds.id).first<any>();
    expect(counters.image_count).toBe(7);
  });

  it("the same bytes under another name are added with Remo's warning and stored once", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const bytes = await fixture(`images/${FIXTURE_IMAGES[0]}`);
    const r = await expectStatus(
      uploadMultipart(
        u.key,
        ds.id,
        [
          { name: "a.jpg", bytes },
          { name: "b.jpg", bytes },
        ],
        { complete: "true" },
      ),
      200,
    );
    const { waitForSession } = await import("./helpers/upload-helpers");
    const s = await waitForSession(u.key, r.session_id);
    expect(s.status).toBe("done");
    expect(s.images.successful).toBe(2);
    expect(s.images.warnings).toEqual([
      { filename: "b.jpg", warnings: ["image correctly added, but we found a duplicate within the dataset: a.jpg"] },
    ]);
    const imgs = await datasetImages(ds.id);
    expect(new Set(imgs.map((i) => i.r2_key)).size).toBe(1);
  });
});
