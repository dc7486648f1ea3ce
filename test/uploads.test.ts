import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectStatus, get } from "./helpers/api";
import { createDataset, createUser } from "./helpers/factories";
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

describe("uploading the Remo object-detection fixture", () => {
  it("ends done with 7 images, every CSV box on its image and every tag applied (zip + CSVs, multipart)", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const sid = await newSession(u.key, ds.id);
    const archive = zip(await fixtureImages());
    const body = await expectStatus(
      uploadMultipart(
        u.key,
        ds.id,
        [
          { name: "images.zip", bytes: archive },
          { name: "annotations.csv", bytes: await fixture("annotations/annotations.csv") },
          { name: "images_tags.csv", bytes: await fixture("annotations/images_tags.csv") },
        ],
        { annotation_task: "Object detection", session_id: sid },
      ),
      200,
    );
    expect(body).toEqual({ session_id: sid });
    const before = await expectStatus(get(`/api/v1/ui/uploads/${sid}/status/`, u.key), 200);
    expect(before.status).toBe("not complete");
    expect(before.uploaded.archives.items).toBe(1);
    expect(before.uploaded.annotations.items).toBe(2);
    expect(before.uploaded.total.size).toBeGreaterThan(archive.length);

    const s = await completeAndWait(u.key, sid);
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(s.images).toMatchObject({ total: 7, successful: 7, failed: 0, pending: 0, errors: [] });
    expect(s.annotations).toMatchObject({ total: 2, successful: 2, failed: 0 });
    expect(s.errors).toEqual([]);
    expect(s.dataset).toEqual({ id: ds.id, name: ds.name });
    expect(s.finished_at).toBeTruthy();
    // Staged bytes and per-task bookkeeping go when the session ends; the images stay.
    const staged = await env.DB.prepare(
      "SELECT r2_key FROM upload_items WHERE session_id = ? AND r2_key LIKE 'uploads/%'",
    )
      .bind(sid)
      .all<{ r2_key: string }>();
    expect(staged.results.length).toBeGreaterThan(0);
    for (const r of staged.results) expect(await env.BUCKET.head(r.r2_key)).toBeNull();
    const notes = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM upload_events WHERE session_id = ? AND level = 'note'",
    )
      .bind(sid)
      .first<any>();
    expect(notes.n).toBe(0);

    const imgs = await datasetImages(ds.id);
    expect(imgs.map((i) => i.original_name)).toEqual([...FIXTURE_IMAGES].sort());
    for (const i of imgs) {
      expect(i.r2_key).toBe(`images/${i.sha256}`);
      expect(await env.BUCKET.head(i.r2_key)).not.toBeNull();
      expect(i.width).toBeGreaterThan(0);
    }
    const counters = await env.DB.prepare("SELECT image_count, size_in_bytes FROM datasets WHERE id = ?")
      .bind(ds.id)
      .first<any>();
    expect(counters.image_count).toBe(7);
    expect(counters.size_in_bytes).toBe(imgs.reduce((n, i) => n + i.size, 0));

    const setId = await sessionSetId(sid);
    const set = await env.DB.prepare("SELECT name, task FROM annotation_sets WHERE id = ?").bind(setId).first<any>();
    expect(set).toEqual({ name: "Object detection", task: "object_detection" });
    expect(await setObjects(setId)).toEqual(await expectedFixtureObjects());
    expect(await setTags(setId)).toEqual(await expectedFixtureTags());
  });
});
