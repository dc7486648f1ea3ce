import { datasetD1, inDataset } from "./helpers/dataset-rows";
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, expectError, expectStatus, get, post } from "./helpers/api";
import { createDataset, createUser, makePublic } from "./helpers/factories";
import { fixture, FIXTURE_IMAGES, newSession, uploadMultipart, waitForSession } from "./helpers/upload-helpers";

describe("upload sessions: routes and who may use them", () => {
  it("creates a session with Remo's exact status object", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const s = await expectStatus(post("/api/v1/ui/uploads/", { dataset_id: ds.id }, u.key), 201);
    const size = { items: 0, size: 0, human_size: "0 b" };
    const counts = { pending: 0, total: 0, successful: 0, failed: 0, errors: [], warnings: [] };
    expect(s).toEqual({
      session_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      created_at: expect.any(String),
      finished_at: null,
      dataset: { id: ds.id, name: ds.name },
      status: "not complete",
      substatus: "",
      images: counts,
      annotations: counts,
      errors: [],
      warnings: [],
      uploaded: { total: size, images: size, annotations: size, archives: size },
    });
  });

  it("documents the upload routes in the OpenAPI document", async () => {
    const doc = await expectStatus(get("/openapi.json"), 200);
    for (const p of [
      "/api/v1/ui/uploads",
      "/api/v1/ui/uploads/{sid}/status",
      "/api/v1/ui/uploads/{sid}/complete",
      "/api/dataset/{id}/upload",
      "/api/v1/uploads/{sid}/direct",
      "/api/v1/uploads/{sid}/blobs/{n}",
    ])
      expect(Object.keys(doc.paths), p).toContain(p);
    expect(doc.components.schemas.UploadSession.properties.uploaded).toBeTruthy();
  });

  it("lists finished sessions by default and unfinished ones with show_active, newest first", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const open = await newSession(u.key, ds.id);
    const r = await expectStatus(
      uploadMultipart(u.key, ds.id, [{ name: "a.jpg", bytes: await fixture(`images/${FIXTURE_IMAGES[0]}`) }], {
        complete: "true",
      }),
      200,
    );
    await waitForSession(u.key, r.session_id);
    const finished = await expectStatus(get("/api/v1/ui/uploads/", u.key), 200);
    expect(finished.results.map((s: any) => s.session_id)).toEqual([r.session_id]);
    const active = await expectStatus(get("/api/v1/ui/uploads/?show_active=1", u.key), 200);
    expect(active.results.map((s: any) => s.session_id)).toEqual([open]);
  });

  it("lists several finished sessions, each with its own dataset and its own errors", async () => {
    const u = await createUser();
    const d1 = await createDataset(u, `list-a-${Date.now()}`);
    const d2 = await createDataset(u, `list-b-${Date.now()}`);
    const bad = new TextEncoder().encode("not an image at all");
    const ids: string[] = [];
    for (const [ds, name] of [[d1, "junk-one.bin"], [d2, "junk-two.bin"]] as const) {
      const r = await expectStatus(uploadMultipart(u.key, ds.id, [{ name, bytes: bad }], { complete: "true" }), 200);
      await waitForSession(u.key, r.session_id);
      ids.push(r.session_id);
    }
    const list = await expectStatus(get("/api/v1/ui/uploads/", u.key), 200);
    const byId = new Map(list.results.map((s: any) => [s.session_id, s]));
    const [a, b] = ids.map((id) => byId.get(id) as any);
    expect(a.dataset).toEqual({ id: d1.id, name: d1.name });
    expect(b.dataset).toEqual({ id: d2.id, name: d2.name });
    expect(JSON.stringify(a)).toContain("junk-one.bin");
    expect(JSON.stringify(a)).not.toContain("junk-two.bin");
    expect(JSON.stringify(b)).toContain("junk-two.bin");
    // the status route answers the same object as the list
    expect(await expectStatus(get(`/api/v1/ui/uploads/${ids[0]}/status/`, u.key), 200)).toEqual(a);
  });

  it("answers 400 for a missing or bad dataset_id, and 404 with Remo's text for an unknown dataset", async () => {
    const u = await createUser();
    await expectError(post("/api/v1/ui/uploads/", {}, u.key), 400, /dataset_id/);
    await expectError(post("/api/v1/ui/uploads/", { dataset_id: "x" }, u.key), 400, /dataset_id/);
    await expectError(post("/api/v1/ui/uploads/", { dataset_id: 99999999 }, u.key), 404, "Dataset not found");
    await expectError(
      get("/api/v1/ui/uploads/no-such-session/status/", u.key),
      404,
      "session_id: no-such-session was not found",
    );
    await expectError(get("/api/v1/ui/uploads/", undefined), 401);
  });

  it("another user's private dataset is a 404 and a public one a 403, for sessions and uploads", async () => {
    const owner = await createUser();
    const other = await createUser();
    const priv = await createDataset(owner);
    const pub = await createDataset(owner);
    await makePublic(owner, pub.id);
    await expectError(post("/api/v1/ui/uploads/", { dataset_id: priv.id }, other.key), 404, "Dataset not found");
    await expectError(
      post("/api/v1/ui/uploads/", { dataset_id: pub.id }, other.key),
      403,
      "Only admin can edit public datasets.",
    );
    await expectError(post(`/api/dataset/${priv.id}/upload/`, { urls: ["https://example.com/a.jpg"] }, other.key), 404);
    await expectError(
      post(`/api/dataset/${pub.id}/upload/`, { urls: ["https://example.com/a.jpg"] }, other.key),
      403,
      "Only admin can edit public datasets.",
    );
    const jpeg = await fixture(`images/${FIXTURE_IMAGES[0]}`);
    await expectError(uploadMultipart(other.key, pub.id, [{ name: "a.jpg", bytes: jpeg }]), 403);
    const n = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM upload_items i JOIN upload_sessions s ON s.id = i.session_id WHERE s.dataset_id = ?",
    )
      .bind(pub.id)
      .first<any>();
    expect(n.n).toBe(0);
  });

  it("a session of another user is a 404 everywhere (status, complete, append, direct, blobs)", async () => {
    const owner = await createUser();
    const other = await createUser();
    const ds = await createDataset(owner);
    const otherDs = await createDataset(other);
    const sid = await newSession(owner.key, ds.id);
    const notFound = `session_id: ${sid} was not found`;
    await expectError(get(`/api/v1/ui/uploads/${sid}/status/`, other.key), 404, notFound);
    await expectError(post(`/api/v1/ui/uploads/${sid}/complete/`, {}, other.key), 404, notFound);
    await expectError(
      post(`/api/dataset/${otherDs.id}/upload/`, { session_id: sid, urls: [] }, other.key),
      404,
      notFound,
    );
    await expectError(
      post(`/api/v1/uploads/${sid}/direct/`, { files: [{ name: "a.jpg", size: 10 }] }, other.key),
      404,
      notFound,
    );
    await expectError(call("PUT", `/api/v1/uploads/${sid}/blobs/1/`, { key: other.key, body: "x" }), 404, notFound);
    const mine = await expectStatus(get(`/api/v1/ui/uploads/${sid}/status/`, owner.key), 200);
    expect(mine.status).toBe("not complete");
    const list = await expectStatus(get("/api/v1/ui/uploads/?show_active=true", other.key), 200);
    expect(list.results).toEqual([]);
  });

  it("a session belongs to its dataset: appending it to another dataset is a 400", async () => {
    const u = await createUser();
    const a = await createDataset(u);
    const b = await createDataset(u);
    const sid = await newSession(u.key, a.id);
    await expectError(
      post(`/api/dataset/${b.id}/upload/`, { session_id: sid, urls: [] }, u.key),
      400,
      /another dataset/,
    );
  });

  it("validates the set against the task, and takes an existing set from the query as the SDK sends it", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const set = await inDataset(ds.id, (db) =>
      db
        .prepare("INSERT INTO annotation_sets (dataset_id, name, task) VALUES (?, 'Mine', 'image_classification') RETURNING id")
        .bind(ds.id)
        .first<{ id: number }>(),
    );
    await expectError(
      post(
        `/api/dataset/${ds.id}/upload/?annotation_set_id=${set!.id}`,
        { annotation_task: "Object detection", urls: [] },
        u.key,
      ),
      400,
      `Annotation set #${set!.id} task (Image classification) does not match with giving task - Object detection`,
    );
    const jpeg = await fixture(`images/${FIXTURE_IMAGES[1]}`);
    const r = await expectStatus(
      uploadMultipart(
        u.key,
        ds.id,
        [
          { name: FIXTURE_IMAGES[1], bytes: jpeg },
          { name: "labels.csv", bytes: `file_name,class_name\n/abs/path/${FIXTURE_IMAGES[1]},dog;Cat\n` },
        ],
        { complete: "true" },
        `?annotation_set_id=${set!.id}`,
      ),
      200,
    );
    const s = await waitForSession(u.key, r.session_id);
    expect(s.status, JSON.stringify(s)).toBe("done");
    const classes = await datasetD1({ setId: set!.id }).prepare(
      "SELECT c.name FROM annotation_classes ac JOIN classes c ON c.id = ac.class_id WHERE ac.set_id = ? ORDER BY c.name",
    )
      .bind(set!.id)
      .all<{ name: string }>();
    expect(classes.results.map((c) => c.name)).toEqual(["Cat", "Dog"]);
    const sets = await env.DB.prepare("SELECT COUNT(*) AS n FROM annotation_sets WHERE dataset_id = ?")
      .bind(ds.id)
      .first<any>();
    expect(sets.n).toBe(1);
  });

  it("a task without a set creates '<Task> (N)' when the dataset already has sets", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    await inDataset(ds.id, (db) =>
      db
        .prepare("INSERT INTO annotation_sets (dataset_id, name, task) VALUES (?, 'Object detection', 'object_detection') RETURNING id")
        .bind(ds.id)
        .first(),
    );
    const r = await expectStatus(
      uploadMultipart(u.key, ds.id, [{ name: "a.jpg", bytes: await fixture(`images/${FIXTURE_IMAGES[2]}`) }], {
        complete: "true",
        annotation_task: "object-detection",
      }),
      200,
    );
    await waitForSession(u.key, r.session_id);
    const names = await env.DB.prepare("SELECT name FROM annotation_sets WHERE dataset_id = ? ORDER BY id")
      .bind(ds.id)
      .all<{ name: string }>();
    expect(names.results.map((n) => n.name)).toEqual(["Object detection", "Object detection (1)"]);
  });
});
