import { inDataset, insertImagesWhereTheyLive } from "./helpers/dataset-rows";
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { crc32 } from "../src/formats/zip-writer";
import { signPath } from "../src/lib/signing";
import { downloadPath } from "../src/services/export/download";
import { runExportJob } from "../src/services/export/run";
import { call, expectError, expectStatus, get, post } from "./helpers/api";
import { createUser, makePublic, type TestUser } from "./helpers/factories";
import { seedFixtureSet, seedSet } from "./helpers/seed-annotations";

const exportsUrl = (setId: number, query = "") =>
  `/api/v1/ui/annotation-sets/${setId}/exports/${query ? `?${query}` : ""}`;

async function waitForJob(id: number, key: string, until = (j: any) => j.status === "done" || j.status === "failed") {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const job = await expectStatus(get(`/api/v1/jobs/${id}`, key), 200);
    if (until(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A job row as POST .../exports/ writes it, without queueing it: for driving runExportJob by hand. */
async function insertJob(
  user: TestUser,
  setId: number,
  datasetId: number,
  params: Record<string, unknown>,
  state: unknown = null,
) {
  const full = {
    setId,
    format: "csv",
    coordinates: "pixel",
    fullPath: false,
    exportTags: false,
    withoutAnnotations: false,
    filterByTags: null,
    ...params,
  };
  const row = await env.DB.prepare(
    "INSERT INTO jobs (user_id, dataset_id, kind, params, state) VALUES (?, ?, 'export', ?, ?) RETURNING id",
  )
    .bind(user.id, datasetId, JSON.stringify(full), state === null ? null : JSON.stringify(state))
    .first<{ id: number }>();
  return row!.id;
}

async function queue(queueName: string, body: unknown) {
  const batch = createMessageBatch(queueName, [{ id: `m-${Math.random()}`, timestamp: new Date(), attempts: 1, body }]);
  const ctx = createExecutionContext();
  await worker.queue(batch as never, env as never);
  return getQueueResult(batch, ctx);
}

describe("POST .../exports/ and GET /api/v1/jobs/{id}", () => {
  it("queues an export, reports progress, and serves the finished file from a signed URL that matches the GET export", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u, "Fixture set");
    const { job } = await expectStatus(post(exportsUrl(s.setId, "annotation_format=coco"), {}, u.key), 202);
    expect(job).toMatchObject({
      kind: "export",
      status: "queued",
      progress: { done: 0, total: 0 },
      download_url: null,
      error: null,
    });
    const done = await waitForJob(job.id, u.key);
    expect(done.status, JSON.stringify(done)).toBe("done");
    expect(done.progress).toEqual({ done: 14, total: 14 }); // COCO reads the 7 images twice
    expect(done.file_name).toBe("Fixture set.json");
    expect(Date.parse(done.expires_at)).toBeGreaterThan(Date.now() + 6 * 24 * 3600 * 1000);
    expect(done.download_url).toMatch(/^\/files\/exports\/\d+\/Fixture%20set\.json\?exp=\d+&sig=/);

    const file = await call("GET", done.download_url);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("application/json");
    expect(file.headers.get("content-disposition")).toBe('attachment; filename="Fixture set.json"');
    expect(file.headers.get("accept-ranges")).toBe("bytes");
    const viaJob = await file.text();
    const viaGet = await (
      await get(`/api/v1/ui/annotation-sets/${s.setId}/export/?annotation_format=coco`, u.key)
    ).text();
    expect(viaJob).toBe(viaGet);
    expect(done.size).toBe(new TextEncoder().encode(viaGet).length);
  });

  it("takes its parameters from a JSON body too, and runs zips (export_tags) through the same path", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const { job } = await expectStatus(
      post(exportsUrl(s.setId), { annotation_format: "csv", export_tags: true, filter_by_tags: ["train"] }, u.key),
      202,
    );
    const done = await waitForJob(job.id, u.key);
    expect(done.status).toBe("done");
    expect(done.file_name).toBe("annotations.zip");
    const bytes = new Uint8Array(await (await call("GET", done.download_url)).arrayBuffer());
    const { unzipSync, strFromU8 } = await import("fflate");
    const files = unzipSync(bytes);
    expect(
      strFromU8(files["tags.csv"])
        .trim()
        .split("\n")
        .slice(1)
        .every((l) => l.endsWith(",train")),
    ).toBe(true);
  });

  it("serves byte ranges of the file (206, suffix ranges, 416 past the end)", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const { job } = await expectStatus(post(exportsUrl(s.setId, "annotation_format=csv"), {}, u.key), 202);
    const done = await waitForJob(job.id, u.key);
    const whole = await (await call("GET", done.download_url)).text();
    const part = await call("GET", done.download_url, { headers: { range: "bytes=0-8" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 0-8/${whole.length}`);
    expect(await part.text()).toBe("file_name");
    const tail = await call("GET", done.download_url, { headers: { range: "bytes=-4" } });
    expect(tail.status).toBe(206);
    expect(await tail.text()).toBe(whole.slice(-4));
    const open = await call("GET", done.download_url, { headers: { range: `bytes=${whole.length - 3}-` } });
    expect(await open.text()).toBe(whole.slice(-3));
    const beyond = await call("GET", done.download_url, { headers: { range: `bytes=${whole.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe(`bytes */${whole.length}`);
    await beyond.text();
  });

  it("gives two identical requests made while the first is pending the same job, and different ones their own", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const [a, b] = await Promise.all([
      expectStatus(post(exportsUrl(s.setId, "annotation_format=json&filter_by_tags=b,a"), {}, u.key), 202),
      expectStatus(post(exportsUrl(s.setId, "annotation_format=json&filter_by_tags=a,b"), {}, u.key), 202),
    ]);
    expect(a.job.id).toBe(b.job.id);
    const c = await expectStatus(post(exportsUrl(s.setId, "annotation_format=csv"), {}, u.key), 202);
    expect(c.job.id).not.toBe(a.job.id);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE user_id = ?")
      .bind(u.id)
      .first<{ n: number }>();
    expect(rows!.n).toBe(2);
    await waitForJob(a.job.id, u.key);
    await waitForJob(c.job.id, u.key);
  });

  it("answers Remo's 404 for a task/format pair without an exporter, before queueing anything", async () => {
    const u = await createUser();
    const ic = await seedSet(u, {
      task: "image_classification",
      images: [{ name: "c.jpg", width: 8, height: 8, classes: ["Cat"] }],
    });
    await expectError(
      post(exportsUrl(ic.setId, "annotation_format=yolo"), {}, u.key),
      404,
      "Exporter for Image classification task in format yolo not implemented",
    );
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE user_id = ?")
      .bind(u.id)
      .first<{ n: number }>();
    expect(rows!.n).toBe(0);
  });

  it("lets anyone who can read a public set export it, as their own job (an export reads, it does not write)", async () => {
    const owner = await createUser();
    const reader = await createUser();
    const s = await seedFixtureSet(owner);
    await makePublic(owner, s.datasetId);
    const { job } = await expectStatus(post(exportsUrl(s.setId, "annotation_format=csv"), {}, reader.key), 202);
    const ownerJob = await expectStatus(post(exportsUrl(s.setId, "annotation_format=csv"), {}, owner.key), 202);
    expect(ownerJob.job.id).not.toBe(job.id); // jobs are per user: never shared across users
    expect((await waitForJob(job.id, reader.key)).status).toBe("done");
    await expectError(get(`/api/v1/jobs/${job.id}`, owner.key), 404);
    await waitForJob(ownerJob.job.id, owner.key);
  });

  it("answers 404 for another user's job and set, 400 for bad parameters and ids", async () => {
    const owner = await createUser();
    const other = await createUser();
    const s = await seedFixtureSet(owner);
    const { job } = await expectStatus(post(exportsUrl(s.setId), {}, owner.key), 202);
    await expectError(get(`/api/v1/jobs/${job.id}`, other.key), 404);
    await expectError(get(`/api/v1/jobs/999999999`, owner.key), 404);
    await expectError(get(`/api/v1/jobs/nope`, owner.key), 400);
    await expectError(get(`/api/v1/jobs/${job.id}`), 401);
    await expectError(post(exportsUrl(s.setId), {}, other.key), 404);
    await expectError(
      post(exportsUrl(s.setId, "annotation_format=pdf"), {}, owner.key),
      400,
      /^Exporter parameter annotation_format can be/,
    );
    await expectError(
      post(exportsUrl(s.setId), { full_path: "yes" }, owner.key),
      400,
      /^Exporter parameter full_path can be: true or false$/,
    );
    await expectError(
      call("POST", exportsUrl(s.setId), {
        key: owner.key,
        body: "{oops",
        headers: { "content-type": "application/json" },
      }),
      400,
    );
    await waitForJob(job.id, owner.key);
  });
});

describe("signed export downloads", () => {
  it("the hourly cron queues the sweep that deletes expired export files", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const { job } = await expectStatus(post(exportsUrl(s.setId, "annotation_format=csv"), {}, u.key), 202);
    const done = await waitForJob(job.id, u.key);
    const key = `exports/${job.id}/${done.file_name}`;
    await env.DB.prepare("UPDATE jobs SET expires_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), job.id)
      .run();
    await worker.scheduled({ cron: "17 * * * *", scheduledTime: Date.now(), noRetry() {} } as never, env as never);
    const deadline = Date.now() + 15_000;
    while ((await env.BUCKET.head(key)) !== null) {
      if (Date.now() > deadline) throw new Error("expired export still in R2");
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await expectStatus(get(`/api/v1/jobs/${job.id}`, u.key), 200)).download_url).toBeNull();
  });

  it("serves files whose set name has spaces, '%', '/', quotes and non-ASCII", async () => {
    const u = await createUser();
    const s = await seedSet(u, {
      setName: 'Été 50% off/"sale"',
      task: "object_detection",
      images: [{ name: "a.jpg", width: 10, height: 10, objects: [{ coordinates: [1, 1, 5, 5], classes: ["Cat"] }] }],
    });
    const { job } = await expectStatus(post(exportsUrl(s.setId, "annotation_format=csv"), {}, u.key), 202);
    const done = await waitForJob(job.id, u.key);
    expect(done.file_name).toBe('Été 50% off/"sale".csv');
    const res = await call("GET", done.download_url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toBe(
      `attachment; filename="_t_ 50% off/_sale_.csv"; filename*=UTF-8''${encodeURIComponent('Été 50% off/"sale".csv')}`,
    );
    expect(await res.text()).toBe("file_name,classes,xmin,ymin,xmax,ymax\na.jpg,Cat,1,1,5,5\n");
  });

  it("serves the whole file for a malformed or multi-part Range, answers HEAD without a body, 404s a signed path to no export", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const { job } = await expectStatus(post(exportsUrl(s.setId, "annotation_format=csv"), {}, u.key), 202);
    const done = await waitForJob(job.id, u.key);
    const whole = await (await call("GET", done.download_url)).text();
    for (const range of ["bytes=abc", "bytes=0-1,5-6", "items=0-5", "bytes=9-2"]) {
      const res = await call("GET", done.download_url, { headers: { range } });
      expect(res.status, range).toBe(200);
      expect(await res.text()).toBe(whole);
    }
    const head = await call("HEAD", done.download_url);
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(whole.length));
    expect(await head.text()).toBe("");
    const future = Math.floor(Date.now() / 1000) + 600;
    await expectError(call("GET", await signPath(env, "/files/exports/abc/x.csv", future)), 404);
    await expectError(call("GET", await signPath(env, downloadPath(job.id, "other-name.csv"), future)), 404);
  });

  it("refuses an expired link (403), a bad signature (403), no signature (403) and a swept file (404)", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const { job } = await expectStatus(post(exportsUrl(s.setId, "annotation_format=csv"), {}, u.key), 202);
    const done = await waitForJob(job.id, u.key);
    const path = downloadPath(job.id, done.file_name);
    const past = Math.floor(Date.now() / 1000) - 60;
    await expectError(call("GET", await signPath(env, path, past)), 403, /expired/);
    await expectError(call("GET", done.download_url.replace(/sig=[^&]+/, "sig=AAAA")), 403);
    await expectError(call("GET", path), 403);
    // Another job's path with this job's signature is not valid either.
    await expectError(call("GET", done.download_url.replace(`/exports/${job.id}/`, `/exports/${job.id + 1}/`)), 403);

    // The sweep deletes expired files; the job stays, without a link.
    await env.DB.prepare("UPDATE jobs SET expires_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), job.id)
      .run();
    const key = `exports/${job.id}/${done.file_name}`;
    expect(await env.BUCKET.head(key)).not.toBeNull();
    const result = await queue("remo-exports", { type: "expire-exports" });
    expect(result.explicitAcks.length).toBe(1);
    expect(await env.BUCKET.head(key)).toBeNull();
    const after = await expectStatus(get(`/api/v1/jobs/${job.id}`, u.key), 200);
    expect(after.download_url).toBeNull();
    const stillSigned = await signPath(env, path, Math.floor(Date.now() / 1000) + 600);
    await expectError(call("GET", stillSigned), 404);
  });
});

describe("export job: R2 multipart resume and failure", () => {
  // R2 (also Miniflare's) refuses parts under 5 MiB but the last, so these sets are big: rows generated in SQL.
  const PART = 5 * 1024 * 1024;
  async function bigSet(user: TestUser) {
    const s = await seedSet(user, { task: "object_detection", classes: ["Thing"], images: [] });
    // Written where the dataset lives (D1, or its DatasetStore with ids from its block: test/helpers/dataset-rows.ts).
    await insertImagesWhereTheyLive(s.datasetId, 2000, async (db, [first]) => {
      const cls = await db.prepare("SELECT id FROM classes WHERE name = 'Thing'").first<{ id: number }>();
      return db.batch([
          db.prepare(
            "INSERT INTO images (id, dataset_id, original_name, sha256, r2_key, mime, size, width, height) " +
              "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1999) " +
              "SELECT ?2 + i, ?1, printf('a-rather-long-image-file-name-used-by-the-part-tests-%05d.jpg', i), 'sha' || i, 'images/x' || i, 'image/jpeg', 1, 640, 480 FROM n",
          ).bind(s.datasetId, first),
          db.prepare(
            "INSERT INTO annotations (set_id, image_id, status, object_count) SELECT ?1, id, 1, 65 FROM images WHERE dataset_id = ?2",
          ).bind(s.setId, s.datasetId),
          db.prepare(
            "INSERT INTO annotation_objects (annotation_id, set_id, image_id, position, name, kind, coordinates) " +
              "WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 64) " +
              "SELECT a.id, a.set_id, a.image_id, j + 1, 'OBJ', 'bbox', json_array(j, a.image_id % 400, j + 100, a.image_id % 400 + 50) FROM annotations a, k WHERE a.set_id = ?1",
          ).bind(s.setId),
          db.prepare(
            "INSERT INTO annotation_classes (annotation_id, object_id, set_id, image_id, class_id) SELECT annotation_id, id, set_id, image_id, ?2 FROM annotation_objects WHERE set_id = ?1",
          ).bind(s.setId, cls!.id),
        ]);
    });
    return s;
  }

  /** The export job run where its dataset lives, as the queue consumer runs it (src/jobs/index.ts). */
  const runJobIn = (datasetId: number, jobId: number, opts?: { partSize: number }) =>
    inDataset(datasetId, (_db, e) => runExportJob(e, jobId, opts));

  it("uploads fixed-size parts and assembles the same bytes as the GET export", { timeout: 120_000 }, async () => {
    const u = await createUser();
    const s = await bigSet(u);
    const jobId = await insertJob(u, s.setId, s.datasetId, {});
    await runJobIn(s.datasetId, jobId, { partSize: PART });
    const job = await env.DB.prepare("SELECT status, result_key, result_size, state FROM jobs WHERE id = ?")
      .bind(jobId)
      .first<any>();
    expect(job.status).toBe("done");
    expect(job.state).toBeNull();
    const expected = await (
      await get(`/api/v1/ui/annotation-sets/${s.setId}/export/?annotation_format=csv`, u.key)
    ).text();
    expect(expected.length).toBeGreaterThan(2 * PART);
    const obj = await env.BUCKET.get(job.result_key);
    expect(await obj!.text()).toBe(expected);
    expect(job.result_size).toBe(expected.length);
  });

  it("on a retry keeps the parts already uploaded and goes on from the next one", { timeout: 120_000 }, async () => {
    const u = await createUser();
    const s = await bigSet(u);
    const partSize = PART;
    const expected = new TextEncoder().encode(
      await (await get(`/api/v1/ui/annotation-sets/${s.setId}/export/?annotation_format=csv`, u.key)).text(),
    );
    // A first attempt that finished two parts, then died. Its first part holds bytes marked 'X' with the CRC the
    // real bytes have: if the retry re-uploaded part 1, the marks would be gone.
    const jobId = await insertJob(u, s.setId, s.datasetId, {});
    const key = `exports/${jobId}/${(await env.DB.prepare("SELECT name FROM annotation_sets WHERE id = ?").bind(s.setId).first<any>()).name}.csv`;
    const upload = await env.BUCKET.createMultipartUpload(key);
    const marked = expected.slice(0, partSize).fill(88, 0, 4);
    const p1 = await upload.uploadPart(1, marked);
    const p2 = await upload.uploadPart(2, expected.slice(partSize, 2 * partSize));
    const prefixCrc = crc32(expected.subarray(0, 2 * partSize));
    await env.DB.prepare("UPDATE jobs SET status = 'running', state = ? WHERE id = ?")
      .bind(
        JSON.stringify({
          key,
          uploadId: upload.uploadId,
          partSize,
          parts: [p1, p2].map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
          prefixCrc,
        }),
        jobId,
      )
      .run();

    await runJobIn(s.datasetId, jobId, { partSize });
    const job = await env.DB.prepare("SELECT status, result_key FROM jobs WHERE id = ?").bind(jobId).first<any>();
    expect(job.status).toBe("done");
    const got = new Uint8Array(await (await env.BUCKET.get(job.result_key))!.arrayBuffer());
    expect(got.length).toBe(expected.length);
    expect(new TextDecoder().decode(got.subarray(0, 4))).toBe("XXXX");
    expect(new TextDecoder().decode(got.subarray(4))).toBe(new TextDecoder().decode(expected.subarray(4)));
  });

  it("starts the upload over when the data changed since the parts were uploaded", { timeout: 120_000 }, async () => {
    const u = await createUser();
    const s = await bigSet(u);
    const partSize = PART;
    const jobId = await insertJob(u, s.setId, s.datasetId, {});
    const key = `exports/${jobId}/${(await env.DB.prepare("SELECT name FROM annotation_sets WHERE id = ?").bind(s.setId).first<any>()).name}.csv`;
    const upload = await env.BUCKET.createMultipartUpload(key);
    const stale = new Uint8Array(partSize).fill(65);
    const p1 = await upload.uploadPart(1, stale);
    await env.DB.prepare("UPDATE jobs SET status = 'running', state = ? WHERE id = ?")
      .bind(
        JSON.stringify({
          key,
          uploadId: upload.uploadId,
          partSize,
          parts: [{ partNumber: 1, etag: p1.etag }],
          prefixCrc: crc32(stale),
        }),
        jobId,
      )
      .run();
    await expect(runJobIn(s.datasetId, jobId, { partSize })).rejects.toThrow(/changed/);
    expect((await env.DB.prepare("SELECT state FROM jobs WHERE id = ?").bind(jobId).first<any>()).state).toBeNull();
    await runJobIn(s.datasetId, jobId, { partSize });
    const job = await env.DB.prepare("SELECT status, result_key FROM jobs WHERE id = ?").bind(jobId).first<any>();
    const expected = await (
      await get(`/api/v1/ui/annotation-sets/${s.setId}/export/?annotation_format=csv`, u.key)
    ).text();
    expect(await (await env.BUCKET.get(job.result_key))!.text()).toBe(expected);
  });

  it("marks the job failed when its message reaches the dead-letter queue, and drops the unfinished upload", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const jobId = await insertJob(u, s.setId, s.datasetId, {});
    const key = `exports/${jobId}/partial.csv`;
    const upload = await env.BUCKET.createMultipartUpload(key);
    await upload.uploadPart(1, new Uint8Array(10));
    await env.DB.prepare("UPDATE jobs SET status = 'running', state = ? WHERE id = ?")
      .bind(JSON.stringify({ key, uploadId: upload.uploadId, partSize: 10, parts: [], prefixCrc: 0 }), jobId)
      .run();
    const result = await queue("remo-exports-dlq", { type: "export", jobId });
    expect(result.explicitAcks.length).toBe(1);
    const job = await expectStatus(get(`/api/v1/jobs/${jobId}`, u.key), 200);
    expect(job.status).toBe("failed");
    expect(job.error).toMatch(/failed/);
    expect(job.download_url).toBeNull();
    await expect(env.BUCKET.resumeMultipartUpload(key, upload.uploadId).complete([])).rejects.toThrow();
  });

  it("fails a job whose set was deleted, instead of retrying forever", async () => {
    const u = await createUser();
    const s = await seedSet(u, {
      task: "object_detection",
      images: [{ name: "a.jpg", width: 5, height: 5, objects: [{ coordinates: [0, 0, 1, 1], classes: ["A"] }] }],
    });
    const jobId = await insertJob(u, s.setId, s.datasetId, {});
    await env.DB.prepare("DELETE FROM annotation_sets WHERE id = ?").bind(s.setId).run();
    await runExportJob(env as never, jobId);
    const job = await expectStatus(get(`/api/v1/jobs/${jobId}`, u.key), 200);
    expect(job).toMatchObject({ status: "failed", error: "The annotation set no longer exists." });
  });
});
