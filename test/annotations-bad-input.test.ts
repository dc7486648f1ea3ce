import { describe, expect, it } from "vitest";
import { call, del, expectError, expectStatus, get, post, put } from "./helpers/api";
import { createDataset, createUser, insertImage } from "./helpers/factories";

async function world() {
  const u = await createUser();
  const d = await createDataset(u);
  const img = await insertImage(d.id, { width: 50, height: 50 });
  const set = await expectStatus(
    post(
      "/api/v1/ui/annotation-sets/",
      { annotation_task: "Object detection", dataset_id: d.id, name: "S", classes: ["Car"] },
      u.key,
    ),
    201,
  );
  const tag = await expectStatus(
    post(`/api/v1/ui/annotation-sets/${set.id}/images/${img.id}/tags/`, { name: "t" }, u.key),
    201,
  );
  return {
    u,
    d,
    img,
    set,
    tag,
    save: `/api/dataset/${d.id}/annotation-set/${set.id}/image/${img.id}/save-annotation/`,
  };
}

describe("bad input to the annotation routes answers 4xx with the envelope, never 500", () => {
  it("save-annotation: content type, shapes and flags", async () => {
    const { u, save } = await world();
    await expectError(
      call("POST", save, { key: u.key, body: "objects=1", headers: { "content-type": "text/plain" } }),
      415,
    );
    await expectError(
      call("POST", save, { key: u.key, body: "{not json", headers: { "content-type": "application/json" } }),
      400,
    );
    await expectError(post(save, { objects: [{ name: "OBJ 1" }] }, u.key), 400, /coordinates/);
    await expectError(
      post(save, { objects: [{ coordinates: [{ x: 1 }, { x: 2, y: 2 }] }] }, u.key),
      400,
      /coordinates/,
    );
    await expectError(
      post(
        save,
        {
          objects: [
            {
              coordinates: [
                { x: 1, y: 1 },
                { x: 2, y: 2 },
              ],
              classes: [{ lower: "car" }],
            },
          ],
        },
        u.key,
      ),
      400,
      /classes/,
    );
    await expectError(post(save, { objects: [], skip_new_classes: "maybe" }, u.key), 400, /skip_new_classes/);
    await expectError(
      post(
        save,
        {
          objects: [
            {
              kind: "circle",
              coordinates: [
                { x: 1, y: 1 },
                { x: 2, y: 2 },
              ],
            },
          ],
        },
        u.key,
      ),
      400,
      /kind/,
    );
    await expectError(
      post(
        save,
        {
          objects: [
            {
              coordinates: [
                { x: 1e400, y: 1 },
                { x: 2, y: 2 },
              ],
            },
          ],
        },
        u.key,
      ),
      400,
    );
  });

  it("status, tags, classes and set tags", async () => {
    const { u, d, img, set, tag } = await world();
    await expectError(
      post(`/api/v1/ui/annotation-sets/${set.id}/images/${img.id}/status/`, { status: 1 }, u.key),
      400,
      /status/,
    );
    await expectError(
      post(`/api/v1/ui/annotation-sets/${set.id}/images/${img.id}/tags/`, { name: 7 }, u.key),
      400,
      /name/,
    );
    await expectError(del(`/api/v1/ui/annotation-sets/${set.id}/images/${img.id}/tags/x/`, u.key), 400, /tag_id/);
    const other = await insertImage((await createDataset(u)).id);
    await expectError(del(`/api/v1/ui/annotation-sets/${set.id}/images/${other.id}/tags/${tag.id}/`, u.key), 404);
    await expectError(
      put(`/api/v1/ui/annotation-sets/${set.id}/classes/${set.classes[0].id}/`, { name: "  " }, u.key),
      400,
      /Class name should not be empty/,
    );
    await expectError(put(`/api/v1/ui/annotation-sets/${set.id}/classes/999999999/`, { name: "X" }, u.key), 404);
    await expectError(del(`/api/v1/ui/annotation-sets/${set.id}/classes/999999999/`, u.key), 404);
    await expectError(
      put(`/api/v1/ui/annotation-sets/${set.id}/tags/${tag.id}/`, { name: " " }, u.key),
      400,
      /Tag name should not be empty/,
    );
    await expectError(put(`/api/v1/ui/annotation-sets/${set.id}/tags/999999999/`, { name: "x" }, u.key), 404);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/images/abc/`, u.key), 400, /image_id/);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/images/999999999/`, u.key), 404);
  });

  it("search parameters", async () => {
    const { u, d, set } = await world();
    await expectError(get(`/api/v1/ui/datasets/${d.id}/contents/?classes=Car&limit=0`, u.key), 400, /limit/);
    await expectError(get(`/api/v1/ui/search/?dataset_id=abc`, u.key), 400, /dataset_id/);
    await expectError(get(`/api/v1/ui/search/?sets=${set.id}&tasks_not=nope`, u.key), 400, /tasks_not/);
    // `direction` without a cursor changes nothing
    const a = await expectStatus(get(`/api/v1/ui/datasets/${d.id}/contents/?tags=t&direction=next`, u.key), 200);
    expect(a.count).toBe(1);
  });

  it("save-annotation without objects or classes is a 400 that keeps the image's objects (an empty list clears)", async () => {
    const { u, save } = await world();
    const box = {
      coordinates: [
        { x: 1, y: 1 },
        { x: 9, y: 9 },
      ],
      classes: ["Car"],
    };
    await expectStatus(post(save, { objects: [box] }, u.key), 200);
    for (const body of [{}, { status: "done" }, { annotation_info: [] }])
      await expectError(post(save, body, u.key), 400, /objects/);
    expect(
      (await expectStatus(get(`${save.replace("save-annotation/", "annotation/")}`, u.key), 200)).annotation_info,
    ).toHaveLength(1);
    await expectStatus(post(save, { objects: [] }, u.key), 200);
    expect(
      (await expectStatus(get(`${save.replace("save-annotation/", "annotation/")}`, u.key), 200)).annotation_info,
    ).toHaveLength(0);
  });

  it("refuses a class name over 255 characters (save-annotation, set creation, class routes) and takes 255", async () => {
    const { u, d, save, set, img } = await world();
    const long = "c".repeat(256);
    const box = (cls: unknown) => ({
      objects: [
        {
          coordinates: [
            { x: 1, y: 1 },
            { x: 9, y: 9 },
          ],
          classes: [cls],
        },
      ],
    });
    await expectError(post(save, box(long), u.key), 400, /at most 255 characters/);
    await expectError(post(save, box({ name: long }), u.key), 400, /at most 255 characters/);
    await expectError(
      post(
        "/api/v1/ui/annotation-sets/",
        { annotation_task: "Object detection", dataset_id: d.id, name: "L", classes: [long] },
        u.key,
      ),
      400,
      /at most 255 characters/,
    );
    // The class and tag routes say why, not "must be a string" (a person typed it in the annotation tool).
    await expectError(
      post(`/api/v1/ui/annotation-sets/${set.id}/classes/`, { name: long }, u.key),
      400,
      /at most 255 characters/,
    );
    await expectError(
      post(`/api/v1/ui/annotation-sets/${set.id}/images/${img.id}/tags/`, { name: long }, u.key),
      400,
      /at most 255 characters/,
    );
    await expectError(
      post(`/api/v1/ui/annotation-sets/${set.id}/classes/`, { name: 7 }, u.key),
      400,
      /must be a string/,
    );
    await expectStatus(post(save, box("c".repeat(255)), u.key), 200);
    expect(set.id).toBeGreaterThan(0);
  });

  it("requires a key on every route", async () => {
    const { d, img, set, save } = await world();
    await expectError(post(save, { objects: [] }), 401);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/annotation-sets/`), 401);
    await expectError(get(`/api/v1/ui/annotation-sets/${set.id}/images/${img.id}/tags/`), 401);
    await expectError(get(`/api/v1/ui/search/?sets=${set.id}`), 401);
    await expectError(get(`/api/v1/sdk/images/${img.id}/`, "not-a-key"), 401);
  });
});
