import { env } from "cloudflare:test";
import { datasetD1 } from "./helpers/dataset-rows";
import { describe, expect, it } from "vitest";
import { expectStatus, post } from "./helpers/api";
import { createDataset, createUser, insertImage } from "./helpers/factories";
import { createDb } from "../src/db/client";
import { annotationGallery } from "../src/services/annotations/gallery";

/** The gallery reads a status group only while the page is still short. */
describe("annotation gallery queries", () => {
  it("a page the first group fills reads no other group", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const ids: number[] = [];
    for (let k = 1; k <= 4; k++) ids.push((await insertImage(d.id, { name: `q${k}.jpg`, width: 10, height: 10 })).id);
    const set = await expectStatus(
      post(
        "/api/v1/ui/annotation-sets/",
        { annotation_task: "Object detection", dataset_id: d.id, name: "S", classes: [] },
        u.key,
      ),
      201,
    );
    await expectStatus(
      post(`/api/v1/ui/annotation-sets/${set.id}/images/${ids[3]}/status/`, { status: "done" }, u.key),
      200,
    );

    const seen: string[] = [];
    // The dataset's own database (D1, or its DatasetStore: test/helpers/dataset-rows.ts), watched.
    const d1 = new Proxy(datasetD1(d.id), {
      get(target, prop) {
        if (prop === "prepare")
          return (q: string) => {
            seen.push(q);
            return target.prepare(q);
          };
        const v = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const ctx = {
      db: createDb(d1),
      env,
      user: { id: u.id, email: u.email, name: "Test User", isSuperuser: false, keyId: 0 },
      requestId: "t",
    };
    const url = `http://remo.test/api/dataset/${d.id}/annotation-set/${set.id}/image/`;
    const groupQueries = () => seen.filter((q) => /NOT EXISTS|FROM annotations WHERE set_id/.test(q)).length;

    const page = await annotationGallery(ctx, url, d.id, set.id, { order: "not_annotated", limit: 2 } as any);
    expect(page.results.map((r: { id: number }) => r.id)).toEqual(ids.slice(0, 2));
    expect(page.next).not.toBeNull();
    expect(groupQueries()).toBe(1);

    // A short first group still goes on to the next ones, in order.
    seen.length = 0;
    const all = await annotationGallery(ctx, url, d.id, set.id, { order: "annotated", limit: 10 } as any);
    expect(all.results.map((r: { id: number }) => r.id)).toEqual([ids[3], ...ids.slice(0, 3)]);
    expect(groupQueries()).toBe(3);
  });
});
