import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { ZIP_ENTRIES_PER_MESSAGE } from "../src/services/ingest/archive";
import { expectStatus, get } from "./helpers/api";
import { createDataset, createUser } from "./helpers/factories";
import {
  datasetImages,
  fixture,
  FIXTURE_IMAGES,
  newSession,
  uploadMultipart,
  waitForSession,
  zip,
} from "./helpers/upload-helpers";

async function deliver(queueName: string, body: unknown, attempts = 1) {
  const batch = createMessageBatch(queueName, [{ id: `m-${Math.random()}`, timestamp: new Date(), attempts, body }]);
  const ctx = createExecutionContext();
  await worker.queue(batch as never, env as never);
  return getQueueResult(batch, ctx);
}

/** A session whose items are recorded but whose processing we drive by hand (status set as the planner would). */
async function manualSession(files: { name: string; bytes: Uint8Array }[]) {
  const u = await createUser();
  const ds = await createDataset(u);
  const sid = await newSession(u.key, ds.id);
  await expectStatus(uploadMultipart(u.key, ds.id, files, { session_id: sid }), 200);
  const items = await env.DB.prepare("SELECT id FROM upload_items WHERE session_id = ? ORDER BY id")
    .bind(sid)
    .all<{ id: number }>();
  await env.DB.prepare(
    "UPDATE upload_sessions SET status = 'in progress', substatus = 'Processing images', tasks_total = ? WHERE id = ?",
  )
    .bind(items.results.length, sid)
    .run();
  return { u, ds, sid, items: items.results.map((i) => i.id) };
}

/** A tiny GIF header (all the probe reads), distinct per n. */
function gif(n: number): Uint8Array {
  const b = new Uint8Array(64);
  b.set([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, (n % 250) + 1, 0, Math.floor(n / 250) + 1, 0]);
  b[20] = n & 0xff;
  b[21] = n >> 8;
  return b;
}

function tarOf(files: Record<string, Uint8Array>): Uint8Array {
  const enc = new TextEncoder();
  const blocks: Uint8Array[] = [];
  for (const [name, data] of Object.entries(files)) {
    const h = new Uint8Array(512);
    h.set(enc.encode(name), 0);
    h.set(enc.encode("0000644\0"), 100);
    h.set(enc.encode(data.length.toString(8).padStart(11, "0") + "\0"), 124);
    h[156] = 48;
    h.set(enc.encode("ustar\0"), 257);
    h.set(enc.encode("00"), 263);
    h.fill(32, 148, 156);
    h.set(
      enc.encode(
        h
          .reduce((a, b) => a + b, 0)
          .toString(8)
          .padStart(6, "0") + "\0 ",
      ),
      148,
    );
    const body = new Uint8Array(Math.ceil(data.length / 512) * 512);
    body.set(data);
    blocks.push(h, body);
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of blocks) (out.set(b, o), (o += b.length));
  return out;
}

describe("ingest queue consumer", () => {
  it("a retried item message adds nothing twice (images, dataset counters, session counters)", async () => {
    const imgs = await Promise.all(FIXTURE_IMAGES.slice(0, 3).map((n) => fixture(`images/${n}`)));
    const { u, ds, sid, items } = await manualSession([
      { name: "three.zip", bytes: zip({ "a.jpg": imgs[0], "b.jpg": imgs[1], "c.jpg": imgs[2] }) },
    ]);
    // Another task is still outstanding, so the session stays open (and its staging with it).
    await env.DB.prepare("UPDATE upload_sessions SET tasks_total = 2 WHERE id = ?").bind(sid).run();
    const msg = { type: "ingest-item", sessionId: sid, itemId: items[0], from: 0 };
    const first = await deliver("remo-ingest", msg);
    expect(first.explicitAcks).toHaveLength(1);
    // The same message again, as a redelivery would after a crash before the item was marked done.
    await env.DB.prepare("UPDATE upload_items SET status = 'pending' WHERE id = ?").bind(items[0]).run();
    const second = await deliver("remo-ingest", msg, 2);
    expect(second.explicitAcks).toHaveLength(1);
    const tasks = await env.DB.prepare("SELECT status, tasks_done FROM upload_sessions WHERE id = ?")
      .bind(sid)
      .first<any>();
    expect(tasks).toEqual({ status: "in progress", tasks_done: 1 });
    expect((await datasetImages(ds.id)).map((i) => i.original_name)).toEqual(["a.jpg", "b.jpg", "c.jpg"]);
    const counters = await env.DB.prepare("SELECT image_count FROM datasets WHERE id = ?").bind(ds.id).first<any>();
    expect(counters.image_count).toBe(3);
    const s = await expectStatus(get(`/api/v1/ui/uploads/${sid}/status/`, u.key), 200);
    expect(s.images).toMatchObject({ total: 3, successful: 3, failed: 0, errors: [] });
  });

  it("a message that exhausted its retries fails the session with the reason (dead-letter queue)", async () => {
    const { u, sid, items } = await manualSession([
      { name: "a.jpg", bytes: await fixture(`images/${FIXTURE_IMAGES[0]}`) },
    ]);
    // The staged bytes vanish: every attempt fails the same way and is retried, never acked.
    const item = await env.DB.prepare("SELECT r2_key FROM upload_items WHERE id = ?")
      .bind(items[0])
      .first<{ r2_key: string }>();
    await env.BUCKET.delete(item!.r2_key);
    const msg = { type: "ingest-item", sessionId: sid, itemId: items[0], from: 0 };
    const failed = await deliver("remo-ingest", msg);
    expect(failed.retryMessages).toHaveLength(1);
    const r = await deliver("remo-ingest-dlq", msg, 6);
    expect(r.explicitAcks).toHaveLength(1);
    const s = await expectStatus(get(`/api/v1/ui/uploads/${sid}/status/`, u.key), 200);
    expect(s.status).toBe("failed");
    expect(s.errors).toEqual([
      { type: "error", error: `processing of a.jpg failed after repeated retries: object ${item!.r2_key} is gone` },
    ]);
    expect(s.finished_at).toBeTruthy();
  });

  it("a message the consumer cannot process is retried, not acked", async () => {
    const r = await deliver("remo-ingest", { type: "ingest-item", sessionId: "x", itemId: "not-a-number" });
    expect(r.retryMessages).toHaveLength(1);
  });

  it(`a big zip fans out into messages of ${ZIP_ENTRIES_PER_MESSAGE} entries and still ends done once`, async () => {
    const files: Record<string, Uint8Array> = {};
    const n = ZIP_ENTRIES_PER_MESSAGE + 50;
    for (let i = 0; i < n; i++) files[`g${i}.gif`] = gif(i);
    const u = await createUser();
    const ds = await createDataset(u);
    const r = await expectStatus(
      uploadMultipart(u.key, ds.id, [{ name: "many.zip", bytes: zip(files) }], { complete: "true" }),
      200,
    );
    const s = await waitForSession(u.key, r.session_id, 60_000);
    expect(s.status, JSON.stringify(s.errors)).toBe("done");
    expect(s.images.successful).toBe(n);
    const tasks = await env.DB.prepare("SELECT tasks_total, tasks_done FROM upload_sessions WHERE id = ?")
      .bind(r.session_id)
      .first<any>();
    expect(tasks).toEqual({ tasks_total: 2, tasks_done: 2 });
    expect((await datasetImages(ds.id)).length).toBe(n);
  }, 90_000);

  it("big tar and tar.gz archives resume in follow-up messages (by byte offset, by entry index)", async () => {
    const n = ZIP_ENTRIES_PER_MESSAGE + 30;
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < n; i++) files[`t/g${i}.gif`] = gif(i + 1000);
    const tar = tarOf(files);
    const tgz = new Uint8Array(
      await new Response(new Blob([tar]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
    );
    for (const [name, bytes] of [
      ["many.tar", tar],
      ["many.tgz", tgz],
    ] as const) {
      const u = await createUser();
      const ds = await createDataset(u);
      const r = await expectStatus(uploadMultipart(u.key, ds.id, [{ name, bytes }], { complete: "true" }), 200);
      const s = await waitForSession(u.key, r.session_id, 60_000);
      expect(s.status, `${name} ${JSON.stringify(s.errors)}`).toBe("done");
      expect(s.images.successful, name).toBe(n);
      const tasks = await env.DB.prepare("SELECT tasks_total, tasks_done FROM upload_sessions WHERE id = ?")
        .bind(r.session_id)
        .first<any>();
      expect(tasks, name).toEqual({ tasks_total: 2, tasks_done: 2 });
    }
  }, 120_000);

  it("the cron sweep fails sessions never completed within 7 days and deletes their staged bytes; recent ones stay", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const jpeg = await fixture(`images/${FIXTURE_IMAGES[0]}`);
    const old = (await expectStatus(uploadMultipart(u.key, ds.id, [{ name: "a.jpg", bytes: jpeg }]), 200)).session_id;
    const fresh = (await expectStatus(uploadMultipart(u.key, ds.id, [{ name: "b.jpg", bytes: jpeg }]), 200)).session_id;
    await env.DB.prepare("UPDATE upload_sessions SET created_at = '2020-01-01T00:00:00.000Z' WHERE id = ?")
      .bind(old)
      .run();
    const staged = await env.DB.prepare("SELECT r2_key FROM upload_items WHERE session_id = ?")
      .bind(old)
      .first<{ r2_key: string }>();
    expect(await env.BUCKET.head(staged!.r2_key)).not.toBeNull();
    const r = await deliver("remo-ingest", { type: "expire-uploads" });
    expect(r.explicitAcks).toHaveLength(1);
    const s = await expectStatus(get(`/api/v1/ui/uploads/${old}/status/`, u.key), 200);
    expect(s.status).toBe("failed");
    expect(s.errors).toEqual([{ type: "error", error: "Upload session was never completed and expired after 7 days" }]);
    expect(await env.BUCKET.head(staged!.r2_key)).toBeNull();
    expect((await expectStatus(get(`/api/v1/ui/uploads/${fresh}/status/`, u.key), 200)).status).toBe("not complete");
  });

  it("two sessions racing to add the same name: one image row, one duplicate error, counters right", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const a = await fixture(`images/${FIXTURE_IMAGES[0]}`);
    const b = await fixture(`images/${FIXTURE_IMAGES[1]}`);
    const [r1, r2] = await Promise.all([
      expectStatus(uploadMultipart(u.key, ds.id, [{ name: "same.jpg", bytes: a }], { complete: "true" }), 200),
      expectStatus(uploadMultipart(u.key, ds.id, [{ name: "same.jpg", bytes: b }], { complete: "true" }), 200),
    ]);
    const [s1, s2] = await Promise.all([waitForSession(u.key, r1.session_id), waitForSession(u.key, r2.session_id)]);
    expect([s1.status, s2.status].sort()).toEqual(["done", "failed"]);
    const loser = s1.status === "failed" ? s1 : s2;
    expect(loser.images).toMatchObject({ total: 1, successful: 0, failed: 1 });
    expect(loser.images.errors).toEqual([{ filename: "same.jpg", errors: ["not added (Duplicated image)"] }]);
    expect((await datasetImages(ds.id)).map((i) => i.original_name)).toEqual(["same.jpg"]);
    const counters = await env.DB.prepare("SELECT image_count FROM datasets WHERE id = ?").bind(ds.id).first<any>();
    expect(counters.image_count).toBe(1);
  });
});
